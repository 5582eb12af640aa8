"""Meeting exports through the API and the CLI: every format read back, privacy canaries, audit."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pyogrio
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import add_user

PASSWORD = "correct horse battery"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
CANARIES = ["Anna Andersson", "070-123 45 67", "19800101-1234", "kanarie@example.org"]
PERIOD = {"area": "solberga", "since": "2021-01-04", "until": "2021-02-28"}
STATION = (18.0104, 59.2786)  # in the zone "Älvsjö station/centrum"


@pytest.fixture()
def seeded(conn: psycopg.Connection) -> dict[str, object]:
    """Reports with canaries in their text by a reporter with a canary e-mail, in a quiet
    period: 12 near the station (one week), 2 lone ones elsewhere (to be suppressed)."""
    reporter = add_user(
        conn, "kanarie@example.org", PASSWORD, role="walker", organisation="Anna Anderssons klubb"
    )
    rng = np.random.default_rng(3)
    rows = []
    for i in range(12):
        rows.append(
            (
                STATION[0] + rng.normal(0, 2e-4),
                STATION[1] + rng.normal(0, 1e-4),
                datetime(2021, 1, 15, 22, i, tzinfo=STOCKHOLM),
            )
        )
    rows.append((17.995, 59.285, datetime(2021, 2, 2, 21, 0, tzinfo=STOCKHOLM)))
    rows.append((18.000, 59.290, datetime(2021, 2, 9, 21, 0, tzinfo=STOCKHOLM)))
    for lon, lat, at in rows:
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, description, "
            "reporter_id, organisation_id, area_id, geom) VALUES (%s, 'narkotika', %s, 2, %s, "
            "%s, %s, (SELECT id FROM areas WHERE slug = 'solberga'), "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (
                uuid.uuid4(),
                at,
                "Såg Anna Andersson, ring 070-123 45 67, pnr 19800101-1234",
                reporter.id,
                reporter.organisation_id,
                lon,
                lat,
            ),
        )
    return {"reports": len(rows)}


def get(client: TestClient, headers: dict[str, str], **params: object):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/exports/meeting", params={**PERIOD, **params}, headers=headers)


def all_text(content: bytes) -> str:
    """Every byte of a file as text, zips unpacked, SQLite tables dumped."""
    if content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return "\n".join(all_text(z.read(n)) for n in z.namelist())
    text = content.decode("utf-8", errors="replace")
    if content[:16] == b"SQLite format 3\x00":
        path = Path(f"/tmp/nv-canary-{uuid.uuid4()}.gpkg")
        path.write_bytes(content)
        try:
            db = sqlite3.connect(path)
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for t in tables:
                text += "\n".join(str(r) for r in db.execute(f'SELECT * FROM "{t}"'))  # noqa: S608
            db.close()
        finally:
            path.unlink()
    return text


def test_roles(client: TestClient, auth, seeded: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/exports/meeting", params=PERIOD).status_code == 401
    assert get(client, auth("walker")).status_code == 403
    assert get(client, auth("partner"), profile="detail").status_code == 403
    assert get(client, auth("partner")).status_code == 200
    assert get(client, auth("planner"), profile="detail").status_code == 200
    r = get(client, auth("planner"), include_descriptions="true")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
        "query",
        "include_descriptions",
    ]
    assert get(client, auth("planner"), since="2021-03-01").status_code == 422
    assert get(client, auth("planner"), format="docx").status_code == 422
    assert get(client, auth("planner"), area="atlantis").status_code == 404


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "csv", "shp", "pdf"])
def test_partner_files_carry_no_personal_data(
    client: TestClient,
    auth,
    seeded: dict[str, object],
    fmt: str,  # type: ignore[no-untyped-def]
) -> None:
    r = get(client, auth("partner"), format=fmt)
    assert r.status_code == 200, r.text
    assert r.headers["x-content-sha256"] and "attachment" in r.headers["content-disposition"]
    if fmt == "pdf":
        path = Path(f"/tmp/nv-{uuid.uuid4()}.pdf")
        path.write_bytes(r.content)
        try:
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
            ).stdout
        finally:
            path.unlink()
        assert "Underlag för platssamverkan" in text and "Solberga" in text
        assert "Narkotika" in text  # the category table
    else:
        text = all_text(r.content)
    for canary in CANARIES:
        assert canary not in text, (fmt, canary)


def test_partner_geopackage_layers_counts_and_styles(
    client: TestClient,
    auth,
    seeded: dict[str, object],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    r = get(client, auth("partner"), format="gpkg")
    path = tmp_path / "export.gpkg"
    path.write_bytes(r.content)
    names = [name for name, _ in pyogrio.list_layers(path)]
    for layer in (
        "omraden",
        "samverkanszoner",
        "platser",
        "varmekarta",
        "hotspots",
        "avvikelser_zon",
        "avvikelser_ruta",
        "avvikelser_zon_vecka",
        "avvikelser_ruta_vecka",
    ):
        assert layer in names
    assert "avvikelser" not in names  # no single reports in the partner profile
    info = pyogrio.read_info(path, layer="avvikelser_ruta")
    assert info["crs"] == "EPSG:4326"
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["antal_totalt"].startswith("int")
    assert types["period_fran"].startswith("datetime64")
    cells = pyogrio.raw.read(path, layer="avvikelser_ruta")[3]
    counts = cells[list(info["fields"]).index("antal_totalt")]
    # The 12 station reports fall in one or two cells of one week; the lone ones are left out.
    assert counts.sum() >= 9 and (counts >= 3).all()
    zones = pyogrio.raw.read(path, layer="avvikelser_zon")
    zinfo = pyogrio.read_info(path, layer="avvikelser_zon")
    zcounts = zones[3][list(zinfo["fields"]).index("antal_totalt")]
    assert (zcounts >= 3).all() and zcounts.sum() == 12
    # One feature per zone for the period (the weeks are in avvikelser_zon_vecka).
    zone_ids = zones[3][list(zinfo["fields"]).index("zon")]
    assert len(zone_ids) == len(set(zone_ids)) >= 1
    weeks = pyogrio.read_info(path, layer="avvikelser_zon_vecka")
    assert "period_start" in list(weeks["fields"]) and weeks["features"] >= len(zone_ids)
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and "avvikelser_ruta" in out.stdout
    assert "Warning" not in out.stderr and "ERROR" not in out.stderr
    with sqlite3.connect(path) as db:
        styled = {
            row[0] for row in db.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault")
        }
    assert {"avvikelser_ruta", "hotspots"} <= styled


def test_detail_profile_and_descriptions(
    client: TestClient,
    auth,
    seeded: dict[str, object],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    plain = get(client, auth("planner"), profile="detail", format="csv")
    assert plain.status_code == 200
    text = plain.content.decode()
    assert text.count("\n") == 14 + 1  # header and 14 reports
    assert "Anna Andersson" not in text and "kanarie@example.org" not in text
    full = get(
        client, auth("planner"), profile="detail", format="csv", include_descriptions="true"
    ).content.decode()
    assert "Anna Andersson" in full and "kanarie@example.org" not in full


def test_every_export_leaves_one_audit_row(
    client: TestClient,
    auth,
    seeded: dict[str, object],
    conn: psycopg.Connection,  # type: ignore[no-untyped-def]
) -> None:
    before = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'export.meeting'"
    ).fetchone()
    r1 = get(client, auth("partner"), format="gpkg")
    r2 = get(client, auth("planner"), format="pdf")
    get(client, auth("walker"), format="gpkg")  # refused: no file, no row
    client.get("/api/v1/exports/meeting/preview", params=PERIOD, headers=auth("planner"))
    after = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'export.meeting'"
    ).fetchone()
    assert before is not None and after is not None and after[0] - before[0] == 2
    assert client.get("/api/v1/audit", headers=auth("partner")).status_code == 403
    rows = client.get(
        "/api/v1/audit", params={"action": "export.meeting"}, headers=auth("planner")
    ).json()
    newest, older = rows[0], rows[1]
    assert newest["user"] == "e-planner@example.org" and newest["details"]["format"] == "pdf"
    assert newest["details"]["sha256"] == r2.headers["x-content-sha256"]
    assert older["user"] == "e-partner@example.org" and older["details"]["profile"] == "partner"
    assert older["details"]["sha256"] == r1.headers["x-content-sha256"]
    assert older["details"]["rows"]["avvikelser_zon"] >= 1


def test_preview_counts_rows_per_layer(
    client: TestClient,
    auth,  # type: ignore[no-untyped-def]
    seeded: dict[str, object],
) -> None:
    p = client.get("/api/v1/exports/meeting/preview", params=PERIOD, headers=auth("planner")).json()
    layers = {layer["name"]: layer["rows"] for layer in p["layers"]}
    assert p["reports"] == 14 and layers["avvikelser_zon"] >= 1
    assert p["suppressed_cell_reports"] >= 2


def test_cli_export_meeting(live_db_url: str, tmp_path: Path) -> None:
    # The CLI commits (a user, an audit row): on the live server's database, not the session's.
    env = {"NATTVANDRING_DATABASE_URL": live_db_url, "PATH": "/usr/bin:/bin"}
    cli = str(Path(sys.executable).parent / "nattvandring")
    with psycopg.connect(live_db_url, autocommit=True) as conn:
        email = f"cli-{uuid.uuid4().hex[:6]}@example.org"
        add_user(conn, email, PASSWORD, role="planner", organisation="Polisen")
    out = tmp_path / "mote.gpkg"
    done = subprocess.run(
        [
            cli,
            "export",
            "meeting",
            "--area",
            "solberga",
            "--since",
            "2026-01-01",
            "--until",
            "2026-03-31",
            "--format",
            "gpkg",
            "--user",
            email,
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "SHA-256" in done.stdout and "audit row" in done.stdout
    assert "avvikelser_ruta" in [name for name, _ in pyogrio.list_layers(out)]
    refused = subprocess.run(
        [
            cli,
            "export",
            "meeting",
            "--since",
            "2026-01-01",
            "--until",
            "2026-03-31",
            "--user",
            "nobody@example.org",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "no enabled user" in refused.stderr
