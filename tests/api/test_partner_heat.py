"""A partner's heat map and hot spots honour k ≥ 3 (issue 18, item 5; DESIGN.md decision 8).

A partner export of a period with one report (or two, or a cluster of three and a lone one far
off) must have no heat-map isopleth or hot-spot cell near a lone report; the cluster of three
still shows, at its 250 m cell's centre.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# A quiet period of the test database (the demo's reports are later): nothing else is near.
PERIOD = {"area": "solberga", "since": "2019-03-04", "until": "2019-03-31"}
LONE = (18.0104, 59.2786)  # by Älvsjö station
FAR = (17.9990, 59.2880)  # about 1.2 km away
TO_M = Transformer.from_crs(4326, 3006, always_xy=True)
NEAR_M = 400.0  # no shape of a partner's file may come this close to a lone report


def _insert(conn: psycopg.Connection, points: list[tuple[float, float]]) -> None:
    for i, (lon, lat) in enumerate(points):
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, area_id, geom) "
            "VALUES (%s, 'narkotika', %s, 2, (SELECT id FROM areas WHERE slug = 'solberga'), "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (uuid.uuid4(), datetime(2019, 3, 15, 22, i, tzinfo=STOCKHOLM), lon, lat),
        )


def _shapes(client: TestClient, headers: dict[str, str], profile: str) -> dict[str, list]:  # type: ignore[type-arg]
    """The heat-map and hot-spot shapes of a GeoJSON export, in EPSG:3006."""
    r = client.get(
        "/api/v1/exports/meeting",
        params={**PERIOD, "format": "geojson", "profile": profile},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    out: dict[str, list] = {}  # type: ignore[type-arg]
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        for name in ("varmekarta", "hotspots"):
            fc = json.loads(z.read(f"{name}.geojson"))
            out[name] = [
                shapely.transform(shape(f["geometry"]), lambda xy: _to_m(xy))
                for f in fc["features"]
            ]
    return out


def _to_m(xy):  # type: ignore[no-untyped-def]
    x, y = TO_M.transform(xy[:, 0], xy[:, 1])
    return shapely.get_coordinates(shapely.points(x, y))


def _distance_m(geoms: list, lonlat: tuple[float, float]) -> float:  # type: ignore[type-arg]
    point = shapely.Point(*TO_M.transform(*lonlat))
    return min((g.distance(point) for g in geoms), default=float("inf"))


@pytest.mark.parametrize("lone_reports", [1, 2])
def test_a_partner_file_of_one_or_two_reports_has_no_heat_or_hot_spot(
    client: TestClient, auth, conn: psycopg.Connection, lone_reports: int
) -> None:  # type: ignore[no-untyped-def]
    _insert(conn, [(LONE[0] + 1e-4 * i, LONE[1]) for i in range(lone_reports)])
    partner = _shapes(client, auth("partner"), "partner")
    assert partner["varmekarta"] == [] and partner["hotspots"] == []
    # The planner's detail file of the same period does draw them: the rule is the profile's.
    detail = _shapes(client, auth("planner"), "detail")
    assert _distance_m(detail["varmekarta"], LONE) < 50


def test_a_cluster_of_three_shows_and_the_lone_report_far_off_does_not(
    client: TestClient, auth, conn: psycopg.Connection
) -> None:  # type: ignore[no-untyped-def]
    # Three reports a few metres apart (one 250 m cell) and one far off.
    cx, cy = TO_M.transform(*FAR)
    cell_centre = ((cx // 250 + 0.5) * 250, (cy // 250 + 0.5) * 250)
    _insert(conn, [(FAR[0] + 3e-5 * i, FAR[1]) for i in range(3)] + [LONE])
    partner = _shapes(client, auth("partner"), "partner")
    assert partner["varmekarta"], "the cluster of three is a heat map"
    assert _distance_m(partner["varmekarta"], LONE) > NEAR_M
    assert _distance_m(partner["hotspots"], LONE) > NEAR_M
    # The isopleths are centred on the cell's centre, not on the reports.
    inner = min(partner["varmekarta"], key=lambda g: g.area)
    assert inner.centroid.distance(shapely.Point(*cell_centre)) < 15
    detail = _shapes(client, auth("planner"), "detail")
    assert _distance_m(detail["varmekarta"], LONE) < 50


def test_a_cell_counts_for_a_partner_only_with_three_reports_in_one_week(
    client: TestClient, auth, conn: psycopg.Connection
) -> None:  # type: ignore[no-untyped-def]
    """Four reports in one 250 m cell, two a week in weeks 11 and 12 of 2019: never three in a
    week, so no heat map for a partner (else the maps of weeks 11 and 11-12 would differ by
    week 12's two reports); a third in week 12 makes the cell count."""
    for day in (12, 13, 19, 20):  # Tuesdays and Wednesdays of weeks 11 and 12
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, area_id, geom) "
            "VALUES (%s, 'narkotika', %s, 2, (SELECT id FROM areas WHERE slug = 'solberga'), "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (uuid.uuid4(), datetime(2019, 3, day, 22, 0, tzinfo=STOCKHOLM), *FAR),
        )
    partner = _shapes(client, auth("partner"), "partner")
    assert partner["varmekarta"] == [] and partner["hotspots"] == []
    assert _distance_m(_shapes(client, auth("planner"), "detail")["varmekarta"], FAR) < 50
    _insert(conn, [FAR])  # 2019-03-15, a Friday of week 11: three that week
    assert _shapes(client, auth("partner"), "partner")["varmekarta"]


def test_a_partner_gets_no_heat_map_or_hot_spots_of_single_reports(
    client: TestClient, auth
) -> None:  # type: ignore[no-untyped-def]
    """The only heat maps a partner gets are those of the export: the analysis API shows single
    reports' surroundings, so it is for roles that may read single reports."""
    partner = auth("partner")
    for path in ("/api/v1/heatmap", "/api/v1/hotspots"):
        assert client.get(path, params={"area": "solberga"}, headers=partner).status_code == 403
