"""The meeting export as one HTML map: opened from ``file://`` in Chromium with the network off,
it draws every layer of the export and asks nothing of any server; user text stays text."""

from __future__ import annotations

import hashlib
import html
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page
from shapely.geometry import shape

from geo.db import connection
from geo.db.accounts import add_user

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"
CANARY = "Kanarie Karlsson 070-765 43 21"


def _headers(client: TestClient, conn: psycopg.Connection, role: str) -> dict[str, str]:
    email = f"html-{role}-{uuid.uuid4().hex[:6]}@example.org"
    add_user(conn, email, PASSWORD, role=role, organisation="Polisen")
    r = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture()
def period(client: TestClient, conn: psycopg.Connection) -> dict[str, str]:
    """The last 60 days of Solberga, with a zone named like a script inside Solberga and a
    report whose note holds personal data."""
    planner = _headers(client, conn, "planner")
    inside = shape(client.get("/api/v1/areas/solberga").json()["geometry"]).representative_point()
    d = 0.0006
    ring = [
        [inside.x - d, inside.y - d],
        [inside.x + d, inside.y - d],
        [inside.x + d, inside.y + d],
        [inside.x - d, inside.y + d],
        [inside.x - d, inside.y - d],
    ]
    zone = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": XSS, "description": XSS},
    }
    r = client.post("/api/v1/zones", json=zone, headers=planner)
    assert r.status_code == 201 and r.json()["properties"]["area"] == "solberga", r.text
    conn.execute(
        "INSERT INTO deviations (id, category, observed_at, severity, description, area_id, geom)"
        " VALUES (%s, 'narkotika', %s, 2, %s, (SELECT id FROM areas WHERE slug = 'solberga'),"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (uuid.uuid4(), datetime.now(UTC) - timedelta(days=2), CANARY, inside.x, inside.y),
    )
    today = date.today()
    return {"area": "solberga", "since": str(today - timedelta(days=60)), "until": str(today)}


def _open_offline(browser: Browser, path: Path) -> tuple[Page, list[str], list[str]]:
    """The file in a browser with no network: every request that is not for a file is refused
    (and recorded)."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_offline(True)
    requests: list[str] = []
    context.on("request", lambda req: requests.append(req.url))
    context.route(lambda url: not url.startswith("file:"), lambda route: route.abort())
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    return page, requests, problems


def test_the_html_map_opens_offline_and_draws_the_partner_layers(
    client: TestClient,
    conn: psycopg.Connection,
    period: dict[str, str],
    browser: Browser,
    tmp_path: Path,
) -> None:
    partner = _headers(client, conn, "partner")
    r = client.get("/api/v1/exports/meeting", params={**period, "format": "html"}, headers=partner)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '-partner.html"' in r.headers["content-disposition"]
    text = r.text
    # Partner rules as in every other format: no free text, no single reports.
    assert CANARY not in text and "070-765" not in text
    assert XSS not in text  # escaped: folium's tooltips use innerHTML
    preview = client.get(
        "/api/v1/exports/meeting/preview", params={**period, "format": "html"}, headers=partner
    ).json()
    layers: list[dict[str, Any]] = [layer for layer in preview["layers"] if layer["rows"]]
    names = {layer["name"] for layer in layers}
    assert {"omraden", "samverkanszoner", "platser"} <= names
    assert "avvikelser" not in names  # the single reports are the detail profile's
    assert {"avvikelser_ruta", "avvikelser_zon"} & names

    path = tmp_path / "samverkan.html"
    path.write_bytes(r.content)
    page, requests, problems = _open_offline(browser, path)
    try:
        page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
        # One SVG path per row: polygons, lines and the places' circle markers.
        assert page.locator(".leaflet-overlay-pane path").count() == sum(
            layer["rows"] for layer in layers
        )
        overlays = page.inner_text(".leaflet-control-layers-overlays")
        for layer in layers:
            assert layer["title"] in overlays
        # The zone's tooltip shows the name as text: folium builds it with innerHTML, so the
        # export escapes it first.
        shown = page.evaluate(
            """() => {
                const layers = Object.keys(window).filter(
                    k => k.startsWith("geo_json_") && window[k] instanceof L.GeoJSON);
                for (const key of layers) {
                    let found = null;
                    window[key].eachLayer(l => {
                        if (l.feature.properties.namn === "&lt;img src=x onerror=alert(1)&gt;") {
                            found = l;
                        }
                    });
                    if (found) {
                        const box = window[key].getTooltip()._content(found);
                        document.body.appendChild(box);
                        const images = box.querySelectorAll("img").length;
                        return { text: box.textContent, images };
                    }
                }
                return null;
            }"""
        )
        assert shown is not None and XSS in shown["text"] and shown["images"] == 0
        page.wait_for_timeout(300)
        assert problems == []
        assert set(requests) <= {path.as_uri()}
    finally:
        page.context.close()

    audit = client.get(
        "/api/v1/audit",
        params={"action": "export.meeting"},
        headers=_headers(client, conn, "admin"),
    ).json()
    details = audit[0]["details"]
    assert details["format"] == "html" and details["profile"] == "partner"
    assert details["file"].endswith(".html") and details["rows"]["samverkanszoner"] >= 1


def test_partners_get_no_detail_html_and_an_unknown_format_is_422(
    client: TestClient, conn: psycopg.Connection, period: dict[str, str]
) -> None:
    partner = _headers(client, conn, "partner")
    detail = client.get(
        "/api/v1/exports/meeting",
        params={**period, "format": "html", "profile": "detail"},
        headers=partner,
    )
    assert detail.status_code == 403
    bad = client.get("/api/v1/exports/meeting", params={**period, "format": "htm"}, headers=partner)
    assert bad.status_code == 422 and "html" in bad.text


def test_the_detail_html_map_carries_single_reports_for_planners(
    client: TestClient, conn: psycopg.Connection, period: dict[str, str]
) -> None:
    planner = _headers(client, conn, "planner")
    r = client.get(
        "/api/v1/exports/meeting",
        params={**period, "format": "html", "profile": "detail"},
        headers=planner,
    )
    assert r.status_code == 200
    assert "nv-avvikelser" in r.text  # the single reports' layer (its paths' class)
    assert CANARY not in r.text  # no descriptions unless asked
    with_text = client.get(
        "/api/v1/exports/meeting",
        params={**period, "format": "html", "profile": "detail", "include_descriptions": "true"},
        headers=planner,
    )
    assert html.escape(CANARY) in with_text.text


def test_the_cli_writes_the_same_kind_of_html_map(
    live_db_url: str, browser: Browser, tmp_path: Path
) -> None:
    # The CLI commits (a user, an audit row): on the live server's database, not the session's.
    with connection.connect(live_db_url, autocommit=True) as conn:
        email = f"cli-html-{uuid.uuid4().hex[:6]}@example.org"
        add_user(conn, email, PASSWORD, role="partner", organisation="Polisen")
    out = tmp_path / "mote.html"
    today = date.today()
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "nattvandring"),
            "export",
            "meeting",
            "--area",
            "solberga",
            "--since",
            str(today - timedelta(days=60)),
            "--until",
            str(today),
            "--format",
            "html",
            "--user",
            email,
            "--out",
            str(out),
        ],
        env={"NATTVANDRING_DATABASE_URL": live_db_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert f"SHA-256 {digest}" in done.stdout
    with connection.connect(live_db_url) as conn:
        row = conn.execute(
            "SELECT details FROM audit_log WHERE details->>'sha256' = %s", (digest,)
        ).fetchone()
    assert row is not None and row[0]["format"] == "html" and row[0]["profile"] == "partner"
    page, requests, problems = _open_offline(browser, out)
    try:
        page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
        assert page.locator(".leaflet-overlay-pane path").count() == sum(row[0]["rows"].values())
        assert problems == [] and set(requests) <= {out.as_uri()}
    finally:
        page.context.close()
