"""Deviation aggregates for partners: the same numbers as the partner export, nothing smaller
than 3, no single report, no personal data (DESIGN.md decisions 5 and 8)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from geo.db.accounts import add_user

PASSWORD = "correct horse battery"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
PERIOD = {"area": "solberga", "since": "2021-01-04", "until": "2021-02-28"}
STATION = (18.0104, 59.2786)  # in the zone "Älvsjö station/centrum"
CANARY = "Kanarie Karlsson 070-765 43 21"


@pytest.fixture()
def seeded(conn: psycopg.Connection) -> None:
    """In a quiet period: 9 reports near the station on one Friday night, 4 the next week, 3 of
    another category, and 2 lone ones elsewhere (to be suppressed)."""
    reporter = add_user(
        conn, "agg-reporter@example.org", PASSWORD, role="walker", organisation="Älvsjö AIK"
    )
    rng = np.random.default_rng(11)
    rows = [("narkotika", datetime(2021, 1, 15, 22, i, tzinfo=STOCKHOLM), None) for i in range(9)]
    rows += [("narkotika", datetime(2021, 1, 22, 23, i, tzinfo=STOCKHOLM), None) for i in range(4)]
    rows += [("brand", datetime(2021, 1, 16, 1, i, tzinfo=STOCKHOLM), None) for i in range(3)]
    rows += [
        ("brand", datetime(2021, 2, 2, 21, 0, tzinfo=STOCKHOLM), (17.995, 59.285)),
        ("brand", datetime(2021, 2, 9, 21, 0, tzinfo=STOCKHOLM), (18.000, 59.290)),
    ]
    for category, at, where in rows:
        lon, lat = where or (
            STATION[0] + rng.normal(0, 1.5e-4),
            STATION[1] + rng.normal(0, 0.8e-4),
        )
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, description, "
            "reporter_id, organisation_id, area_id, geom) VALUES (%s, %s, %s, 2, %s, %s, %s, "
            "(SELECT id FROM areas WHERE slug = 'solberga'), "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (
                uuid.uuid4(),
                category,
                at,
                CANARY,
                reporter.id,
                reporter.organisation_id,
                lon,
                lat,
            ),
        )


def aggregates(client: TestClient, headers: dict[str, str], **params: str):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/deviation-aggregates", params={**PERIOD, **params}, headers=headers)


@pytest.mark.parametrize("bucket", ["week", "night"])
def test_the_same_numbers_as_the_partner_export(
    client: TestClient,
    auth,  # type: ignore[no-untyped-def]
    seeded: None,
    tmp_path: Path,
    bucket: str,
) -> None:
    h = auth("partner")
    r = aggregates(client, h, bucket=bucket)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["bucket"] == bucket
    assert fc["min_count"] == 3 and fc["cell_m"] == 250
    zones = {
        (p["zone"], p["category"], p["period"], p["count"])
        for f in fc["features"]
        if (p := f["properties"])["layer"] == "zone"
    }
    cells = {
        (p["cell"], p["category"], p["period"], p["count"]): shape(f["geometry"])
        for f in fc["features"]
        if (p := f["properties"])["layer"] == "cell"
    }

    export = client.get(
        "/api/v1/exports/meeting", params={**PERIOD, "format": "gpkg", "bucket": bucket}, headers=h
    )
    assert export.status_code == 200, export.text
    path = tmp_path / "export.gpkg"
    path.write_bytes(export.content)
    per = "vecka" if bucket == "week" else "natt"
    zone_layer = pyogrio.read_dataframe(path, layer=f"avvikelser_zon_{per}")
    cell_layer = pyogrio.read_dataframe(path, layer=f"avvikelser_ruta_{per}")
    zone_period = pyogrio.read_dataframe(path, layer="avvikelser_zon")

    def unpivot(frame: Any, place: str) -> set[tuple[str, str, str, int]]:
        """The export's one feature per place and period, a count column per category."""
        counts = [c for c in frame.columns if c.startswith("antal_") and c != "antal_totalt"]
        out = set()
        for row in frame.to_dict("records"):
            shown = {c: int(row[c]) for c in counts if not pd.isna(row[c])}
            assert shown and sum(shown.values()) == row["antal_totalt"]
            out |= {
                (row[place], c.removeprefix("antal_"), row["period"], n) for c, n in shown.items()
            }
        return out

    assert zones == unpivot(zone_layer, "zon")
    assert set(cells) == unpivot(cell_layer, "ruta")
    assert len(zone_layer) == len({(r.zon, r.period) for r in zone_layer.itertuples()})
    # The layer of the whole period: one feature per zone, the sums of the buckets' counts.
    assert sorted(zone_period["zon"]) == sorted({z[0] for z in zones})
    for row in zone_period.to_dict("records"):
        for code in {z[1] for z in zones}:
            shown = sum(z[3] for z in zones if z[0] == row["zon"] and z[1] == code)
            assert (0 if pd.isna(row[f"antal_{code}"]) else row[f"antal_{code}"]) == shown
    # The seeded reports: 9 + 4 narkotika in two weeks (two nights), 3 brand; lone ones left out.
    assert sum(z[3] for z in zones if z[1] == "narkotika") == 13
    assert sum(z[3] for z in zones if z[1] == "brand") == 3
    if bucket == "week":
        assert {z[2] for z in zones} == {"2021-W02", "2021-W03"}
    # The same cell squares as the export, to the API's 6 decimals.
    squares = {(c[0], c[2]): g for c, g in cells.items()}
    for r in cell_layer.itertuples():
        ours = squares[(r.ruta, r.period)]
        assert shapely.equals_exact(ours, r.geometry, tolerance=1e-6)
    coords = shapely.get_coordinates(list(cells.values()))
    assert np.array_equal(coords, np.round(coords, 6))


def test_partners_see_no_report_and_no_small_count(
    client: TestClient,
    auth,  # type: ignore[no-untyped-def]
    seeded: None,
) -> None:
    r = aggregates(client, auth("partner"))
    assert r.status_code == 200
    assert CANARY not in r.text and "agg-reporter" not in r.text
    features = r.json()["features"]
    assert features and all(f["properties"]["count"] >= 3 for f in features)
    allowed = {
        "layer",
        "zone",
        "zone_name",
        "cell",
        "category",
        "category_sv",
        "colour",
        "bucket",
        "period",
        "period_start",
        "count",
    }
    assert set().union(*(f["properties"] for f in features)) <= allowed
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)
    # No cell holds the lone reports (1 each).
    lone = [shapely.Point(17.995, 59.285), shapely.Point(18.000, 59.290)]
    cells = [shape(f["geometry"]) for f in features if f["properties"]["layer"] == "cell"]
    assert not any(c.intersects(p) for c in cells for p in lone)
    # Partners have no single report through any door.
    assert client.get("/api/v1/deviations", headers=auth("partner")).status_code == 403


def test_who_may_read_them_and_bad_parameters(
    client: TestClient,
    auth,  # type: ignore[no-untyped-def]
    seeded: None,
) -> None:
    assert client.get("/api/v1/deviation-aggregates", params=PERIOD).status_code == 401
    assert aggregates(client, auth("walker")).status_code == 403
    for role in ("planner", "admin", "partner"):
        assert aggregates(client, auth(role)).status_code == 200
    h = auth("partner")
    bad = aggregates(client, h, bucket="month")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "bucket"]
    swapped = aggregates(client, h, since="2021-03-01", until="2021-02-01")
    assert swapped.status_code == 422 and swapped.json()["detail"][0]["loc"] == ["query", "since"]
    assert aggregates(client, h, since="2015-01-01").status_code == 422
    assert aggregates(client, h, since="not-a-date").status_code == 422
    assert aggregates(client, h, area="atlantis").status_code == 404
    empty = aggregates(client, h, since="2020-01-01", until="2020-01-31")
    assert empty.status_code == 200 and empty.json()["features"] == []


def test_me_says_what_the_account_may_do(client: TestClient, auth) -> None:  # type: ignore[no-untyped-def]
    partner = client.get("/api/v1/auth/me", headers=auth("partner")).json()
    assert partner["role"] == "partner" and partner["email"] == "e-partner@example.org"
    assert partner["capabilities"] == ["export_partner", "read_aggregates", "read_walk_counts"]
    planner = client.get("/api/v1/auth/me", headers=auth("planner")).json()
    assert {"read_reports", "triage", "see_reporters"} <= set(planner["capabilities"])
    assert "administer" not in planner["capabilities"]
