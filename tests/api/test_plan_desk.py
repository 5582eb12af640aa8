"""The planners' desk on /plan in headless Chromium over real HTTP (issue 15): the triage of
reports (status changed from the list, from the popup and several at once, each change
audited; the count of new reports since the planner last looked), the zone list (edit and
delete), and a snapped route edited by its waypoints and snapped again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page

from geo.db import connection
from routes.network_io import import_osm
from tests.browser import sign_in
from tests.conftest import DATA_DIR

VIEW = {"width": 1280, "height": 900}
WAYPOINTS = [
    (17.9837465, 59.2838017),
    (17.9840781, 59.2833519),
    (17.9817760, 59.2782385),
    (17.9836232, 59.2774143),
]


def _token(base: str, email: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _rows(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with connection.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


@pytest.fixture()
def planner_page(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEW)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
        assert errors == []
    finally:
        context.close()


def _open_plan(page: Page, base: str, users: dict[str, tuple[str, str]], loaded: str) -> Page:
    email, password = users["planner"]
    return sign_in(page, base, email, password, path="/plan", loaded=loaded)


def test_triage_from_the_list_the_popup_and_several_at_once(
    planner_page: Page,
    live_server: str,
    live_db_url: str,
    web_users: dict[str, tuple[str, str]],
) -> None:
    walker = _token(live_server, *web_users["walker"])
    token = f"desk{uuid.uuid4().hex[:8]}"
    ids = []
    for i in range(4):
        rid = str(uuid.uuid4())
        body = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [18.0104 + i * 0.0008, 59.2786]},
            "properties": {
                "id": rid,
                "category": "skadegorelse",
                "observed_at": (datetime.now(UTC) - timedelta(minutes=10 + i)).isoformat(),
                "severity": 2,
                "description": f"Krossad ruta {token} nr {i}",
            },
        }
        r = httpx.post(f"{live_server}/api/v1/deviations", json=body, headers=walker)
        assert r.status_code == 201, r.text
        ids.append(rid)

    page = _open_plan(planner_page, live_server, web_users, "body[data-triage-new]")
    assert int(page.get_attribute("body", "data-triage-new") or 0) >= 4
    assert "sedan du senast tittade" in page.inner_text("#nv-triage-new")
    page.fill("#nv-triage-form [name=q]", token)
    page.wait_for_selector("body[data-triage='4']", state="attached")
    rows = page.locator("#nv-triage-list li")
    assert rows.count() == 4
    # User text is text: the description shows as written.
    assert token in page.inner_text("#nv-triage-list")

    # From the list: confirm the first (newest) one.
    page.click(f"#nv-triage-list li[data-deviation-id='{ids[0]}'] button[data-status=confirmed]")
    page.wait_for_selector("body[data-triage='3']", state="attached")
    # From the popup: dismiss the second.
    page.click(f"#nv-triage-list li[data-deviation-id='{ids[1]}'] button:has-text('Visa')")
    popup = page.locator(f".nv-triage-popup[data-deviation-id='{ids[1]}']")
    popup.wait_for()
    assert token in popup.inner_text()
    popup.locator("button[data-status=dismissed]").click()
    page.wait_for_selector("body[data-triage='2']", state="attached")
    # Several at once: tick the other two and confirm them.
    page.check("#nv-triage-all")
    page.click("#nv-triage-confirm")
    page.wait_for_selector("body[data-triage='0']", state="attached")
    # They show among the confirmed ones.
    page.select_option("#nv-triage-form [name=status]", "confirmed")
    page.wait_for_selector("body[data-triage='3']", state="attached")

    statuses = dict(
        _rows(live_db_url, "SELECT id::text, status FROM deviations WHERE id = ANY(%s)", ids)
    )
    assert statuses == {
        ids[0]: "confirmed",
        ids[1]: "dismissed",
        ids[2]: "confirmed",
        ids[3]: "confirmed",
    }
    audit = _rows(
        live_db_url,
        "SELECT l.subject, l.details->>'status', u.email FROM audit_log l "
        "JOIN users u ON u.id = l.user_id "
        "WHERE l.action = 'deviation.status' AND l.subject = ANY(%s)",
        ids,
    )
    planner_email = web_users["planner"][0]
    assert sorted((a[0], a[1]) for a in audit) == sorted(statuses.items())
    assert {a[2] for a in audit} == {planner_email}

    # "Markera som sedda": none new since.
    page.select_option("#nv-triage-form [name=area]", "")
    page.click("#nv-triage-seen")
    page.wait_for_selector("body[data-triage-new='0']", state="attached")
    assert page.is_hidden("#nv-triage-badge")
    seen = _rows(
        live_db_url,
        "SELECT count(*) FROM triage_seen s JOIN users u ON u.id = s.user_id WHERE u.email = %s",
        planner_email,
    )
    assert seen == [(1,)]


def test_zones_are_listed_edited_and_deleted(
    planner_page: Page,
    live_server: str,
    live_db_url: str,
    web_users: dict[str, tuple[str, str]],
) -> None:
    planner = _token(live_server, *web_users["planner"])
    name = f"Torget {uuid.uuid4().hex[:6]}"
    ring = [[18.009, 59.278], [18.012, 59.278], [18.012, 59.2795], [18.009, 59.2795]]
    zone = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        "properties": {"name": name, "description": "Före"},
    }
    r = httpx.post(f"{live_server}/api/v1/zones", json=zone, headers=planner)
    assert r.status_code == 201, r.text
    slug = r.json()["id"]

    page = _open_plan(planner_page, live_server, web_users, "body[data-zones]")
    item = page.locator(f"#nv-zone-list li[data-zone='{slug}']")
    assert name in item.inner_text() and "Före" in item.inner_text()
    item.locator("button[data-action=edit-zone]").click()
    editor = page.locator(f"#nv-zone-list li.nv-zone-editor[data-zone='{slug}']")
    editor.locator(".nv-zone-name").fill(name + " norra")
    described = "<b>Efter</b>: samverkan med fastighetsägaren"
    editor.locator(".nv-zone-description-input").fill(described)
    editor.locator("button[data-action=save-zone]").click()
    page.wait_for_selector(
        f"#nv-zone-list li[data-zone='{slug}']:not(.nv-zone-editor):has-text('norra')"
    )
    text = page.inner_text(f"#nv-zone-list li[data-zone='{slug}']")
    assert "<b>Efter</b>: samverkan" in text  # as text, never HTML
    assert _rows(
        live_db_url, "SELECT name, description, version FROM zones WHERE slug = %s", slug
    ) == [(name + " norra", described, 2)]

    # Delete, after a confirmation (dismissing it keeps the zone).
    messages: list[str] = []

    def answer(dialog) -> None:  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.dismiss() if len(messages) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.click(f"#nv-zone-list li[data-zone='{slug}'] button[data-action=delete-zone]")
    page.wait_for_timeout(300)
    assert _rows(live_db_url, "SELECT count(*) FROM zones WHERE slug = %s", slug) == [(1,)]
    page.click(f"#nv-zone-list li[data-zone='{slug}'] button[data-action=delete-zone]")
    page.wait_for_selector(f"#nv-zone-list li[data-zone='{slug}']", state="detached")
    assert len(messages) == 2 and name in messages[0]
    assert _rows(live_db_url, "SELECT count(*) FROM zones WHERE slug = %s", slug) == [(0,)]


def test_a_snapped_route_is_edited_by_its_waypoints(
    planner_page: Page,
    live_server: str,
    live_db_url: str,
    web_users: dict[str, tuple[str, str]],
) -> None:
    with connection.connect(live_db_url, autocommit=True) as conn:
        import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")  # as `demo load` does
    planner = _token(live_server, *web_users["planner"])
    name = f"Långbro {uuid.uuid4().hex[:6]}"
    body = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in WAYPOINTS]},
        "properties": {"name": name},
    }
    r = httpx.post(f"{live_server}/api/v1/routes?snap=true", json=body, headers=planner)
    assert r.status_code == 201, r.text
    route = r.json()
    vertices = len(route["geometry"]["coordinates"])
    assert vertices > 2 * len(WAYPOINTS)

    page = _open_plan(planner_page, live_server, web_users, "body[data-routes]")
    item = page.locator(f"#nv-route-list li[data-route-id='{route['id']}']")
    # Routes in distinct colours, with a legend.
    assert name in page.inner_text("#nv-route-legend")
    strokes = page.eval_on_selector_all(
        "path.nv-saved-route", "ps => ps.map(p => p.getAttribute('stroke'))"
    )
    assert len(set(strokes)) == min(len(strokes), 10)
    item.locator("button:has-text('Visa')").click()
    page.evaluate("window.nattvandringPlan.map.closePopup()")
    item.locator("button[data-action=edit]").click()
    page.wait_for_selector("body[data-snap-preview]", state="attached")
    # One handle per waypoint, not one per vertex of the street line.
    assert page.locator(".nv-waypoint").count() == len(WAYPOINTS)
    assert page.locator(".leaflet-editing-icon").count() == 0
    # Remove the last waypoint: the line is snapped again and shown before it is saved.
    first_preview = page.get_attribute("body", "data-snap-preview")
    page.locator(".nv-waypoint").nth(3).click()
    page.wait_for_selector("body[data-waypoints='3']", state="attached")
    page.wait_for_function(
        "n => document.body.getAttribute('data-snap-preview') "
        "&& document.body.getAttribute('data-snap-preview') !== n",
        arg=first_preview,
    )
    assert "Förhandsvisning" in page.inner_text("#nv-edit-status")
    assert _rows(live_db_url, "SELECT version FROM walk_routes WHERE id = %s", route["id"]) == [
        (1,)
    ]
    item.locator("button[data-action=edit]").click()  # "Spara ändringar"
    page.wait_for_selector(f"#nv-route-list li[data-route-id='{route['id']}']:has-text('v2')")
    stored = _rows(
        live_db_url,
        "SELECT version, ST_NPoints(waypoints), source, length_m < %s FROM walk_routes "
        "WHERE id = %s",
        route["properties"]["length_m"],
        route["id"],
    )
    assert stored == [(2, 3, "snapped", True)]

    # A route snapped before routes kept their waypoints: edited by a few points of its line.
    with connection.connect(live_db_url, autocommit=True) as conn:
        conn.execute("UPDATE walk_routes SET waypoints = NULL WHERE id = %s", (route["id"],))
    page.reload()
    page.wait_for_selector("body[data-routes]", state="attached")
    item.locator("button[data-action=edit]").click()
    page.wait_for_selector("body[data-snap-preview]", state="attached")
    handles = page.locator(".nv-waypoint").count()
    assert 2 <= handles <= 25 and handles < vertices
    assert page.locator(".leaflet-editing-icon").count() == 0
    assert "tagna ur linjen" in page.inner_text("#nv-edit-hint")
    page.click("#nv-edit-cancel")
    page.wait_for_selector("body:not([data-waypoints])", state="attached")
    assert page.locator(".nv-waypoint").count() == 0


def test_a_new_route_shows_its_snapped_line_before_it_is_saved(
    planner_page: Page,
    live_server: str,
    live_db_url: str,
    web_users: dict[str, tuple[str, str]],
) -> None:
    with connection.connect(live_db_url, autocommit=True) as conn:
        import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")  # as `demo load` does
    name = f"Ritad {uuid.uuid4().hex[:6]}"
    page = _open_plan(planner_page, live_server, web_users, "body[data-routes]")
    page.evaluate("window.nattvandringPlan.map.setView([59.2806, 17.9830], 16)")
    box = page.locator("#map").bounding_box()
    assert box is not None
    drawn = WAYPOINTS[1:]
    pixels = page.evaluate(
        "pts => pts.map(([lon, lat]) => window.nattvandringPlan.map"
        ".latLngToContainerPoint([lat, lon])).map(p => [p.x, p.y])",
        [list(p) for p in drawn],
    )
    assert page.is_checked("#nv-snap")
    page.click("#nv-draw-route")
    for x, y in pixels:
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(250)
    page.mouse.click(box["x"] + pixels[-1][0], box["y"] + pixels[-1][1])  # finishes the line
    page.wait_for_selector("#nv-save-drawn:not([hidden])")
    page.wait_for_selector("body[data-snap-preview]", state="attached")
    assert int(page.get_attribute("body", "data-snap-preview") or 0) > len(drawn)
    assert page.locator("path.nv-snap-preview").count() == 1
    assert "längs gatorna" in page.inner_text("#nv-edit-status")
    assert _rows(live_db_url, "SELECT count(*) FROM walk_routes WHERE name = %s", name) == [(0,)]
    page.fill("#nv-drawn-name", name)
    page.click("#nv-drawn-save")
    page.wait_for_selector(f"#nv-route-list li:has-text('{name}')")
    assert page.locator("path.nv-snap-preview").count() == 0
    stored = _rows(
        live_db_url,
        "SELECT source, ST_NPoints(waypoints), ST_NPoints(geom) > 3 FROM walk_routes "
        "WHERE name = %s",
        name,
    )
    assert stored == [("snapped", 3, True)]
