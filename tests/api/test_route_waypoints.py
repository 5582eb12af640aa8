"""Walk routes by waypoints: a snap preview that stores nothing, snapped routes that keep the
points the planner drew, and editing them by those points (snapped again), over the API on the
real Långbro street extract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from routes.network_io import import_osm
from tests.conftest import DATA_DIR

Auth = Callable[[str], dict[str, str]]
OSM = DATA_DIR / "osm_langbro_solberga_west_2020.osm"
TO_3006 = Transformer.from_crs(4326, 3006, always_xy=True)
# Spadvägen, then along to Västerängsvägen by Johan Skytteskolan (real streets of the extract).
WAYPOINTS = [
    (17.9837465, 59.2838017),
    (17.9840781, 59.2833519),
    (17.9817760, 59.2782385),
    (17.9836232, 59.2774143),
]


@pytest.fixture()
def network(conn: psycopg.Connection) -> None:
    """The Långbro street extract, imported inside the test's transaction."""
    import_osm(conn, OSM)


def _line(coords: list[tuple[float, float]], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
        "properties": props,
    }


def _streets_3006(conn: psycopg.Connection) -> shapely.Geometry:
    rows = conn.execute("SELECT ST_AsBinary(ST_Transform(geom, 3006)) FROM street_edges").fetchall()
    return shapely.union_all(shapely.from_wkb([bytes(r[0]) for r in rows]))


def _off_street_m(conn: psycopg.Connection, coords: list[list[float]]) -> float:
    streets = _streets_3006(conn)
    xs, ys = TO_3006.transform(*zip(*coords, strict=True))
    return float(max(streets.distance(shapely.Point(x, y)) for x, y in zip(xs, ys, strict=True)))


def _close(a: list[list[float]], b: list[tuple[float, float]]) -> bool:
    return len(a) == len(b) and all(
        abs(p[0] - q[0]) < 1e-6 and abs(p[1] - q[1]) < 1e-6 for p, q in zip(a, b, strict=True)
    )


def test_a_snap_preview_follows_the_streets_and_stores_nothing(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth, network: None
) -> None:
    planner = signed_in("planner")
    before = conn.execute("SELECT count(*) FROM walk_routes").fetchone()
    r = client.post("/api/v1/routes/snap", json=_line(WAYPOINTS), headers=planner)
    assert r.status_code == 200, r.text
    f = r.json()
    coords = f["geometry"]["coordinates"]
    assert len(coords) > len(WAYPOINTS)  # along the streets, not straight between the points
    assert _off_street_m(conn, coords) < 1.0
    props = f["properties"]
    assert _close(props["waypoints"], WAYPOINTS)
    assert len(props["snap"]["moved_m"]) == len(WAYPOINTS)
    assert props["snap"]["max_moved_m"] < 30
    xs, ys = TO_3006.transform(*zip(*WAYPOINTS, strict=True))
    straight = shapely.LineString(list(zip(xs, ys, strict=True)))
    assert props["length_m"] >= straight.length * 0.99
    assert conn.execute("SELECT count(*) FROM walk_routes").fetchone() == before
    # With an area named; the same line.
    r2 = client.post("/api/v1/routes/snap", json=_line(WAYPOINTS, area="langbro"), headers=planner)
    assert r2.status_code == 200, r2.text
    assert r2.json()["geometry"] == f["geometry"]


def test_snap_preview_errors(client: TestClient, signed_in: Auth, network: None) -> None:
    planner = signed_in("planner")
    url = "/api/v1/routes/snap"
    # A waypoint far from every imported street (Älvsjö station): a 422 that names it.
    r = client.post(url, json=_line([WAYPOINTS[0], (18.0104, 59.2786)]), headers=planner)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == "not_near_network"
    assert "vertex 1" in r.json()["detail"][0]["msg"]
    for body in (
        _line([WAYPOINTS[0]]),
        _line([(59.28, 17.98), (59.29, 17.99)]),
        _line(WAYPOINTS, name="Ett namn"),
        _line(WAYPOINTS, area=3),
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [17.98, 59.28]}},
        {"type": "LineString", "coordinates": WAYPOINTS},
    ):
        r = client.post(url, json=body, headers=planner)
        assert r.status_code == 422, (body, r.text)
    r = client.post(url, json=_line(WAYPOINTS, area="nowhere"), headers=planner)
    assert r.status_code == 404
    assert client.post(url, json=_line(WAYPOINTS), headers=signed_in("walker")).status_code == 403
    assert client.post(url, json=_line(WAYPOINTS)).status_code == 401


def test_a_snapped_route_keeps_its_waypoints_and_is_edited_by_them(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth, network: None
) -> None:
    planner = signed_in("planner")
    r = client.post(
        "/api/v1/routes",
        params={"snap": "true"},
        json=_line(WAYPOINTS, name="Långbrorundan"),
        headers=planner,
    )
    assert r.status_code == 201, r.text
    route = r.json()
    assert route["properties"]["source"] == "snapped"
    assert _close(route["properties"]["waypoints"], WAYPOINTS)
    assert len(route["geometry"]["coordinates"]) > len(WAYPOINTS)
    first_line = route["geometry"]
    # The list says the same.
    listed = client.get("/api/v1/routes", headers=planner).json()
    mine = next(f for f in listed["features"] if f["id"] == route["id"])
    assert _close(mine["properties"]["waypoints"], WAYPOINTS)

    # Edit by the waypoints: drop the last one and snap again.
    moved = WAYPOINTS[:3]
    body = _line(moved, name="Långbrorundan", version=route["properties"]["version"])
    r = client.put(
        f"/api/v1/routes/{route['id']}", params={"snap": "true"}, json=body, headers=planner
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["properties"]["version"] == route["properties"]["version"] + 1
    assert _close(edited["properties"]["waypoints"], moved)
    assert edited["geometry"] != first_line
    assert edited["properties"]["length_m"] < route["properties"]["length_m"]
    assert _off_street_m(conn, edited["geometry"]["coordinates"]) < 1.0
    assert len(edited["properties"]["snap"]["moved_m"]) == 3
    stored = conn.execute(
        "SELECT ST_NPoints(waypoints), ST_NPoints(geom) > 3 FROM walk_routes WHERE id = %s",
        (route["id"],),
    ).fetchone()
    assert stored == (3, True)

    # A feature read with GET goes back as it is (its waypoints are read-only, ignored).
    read = client.get(f"/api/v1/routes/{route['id']}", headers=planner).json()
    read["properties"]["name"] = "Långbrorundan kort"
    r = client.put(f"/api/v1/routes/{route['id']}", json=read, headers=planner)
    assert r.status_code == 200, r.text
    # Stored as sent (no snapping): the line is its own waypoints.
    assert r.json()["properties"]["waypoints"] is None
    assert r.json()["properties"]["source"] == "snapped"
    assert r.json()["geometry"] == edited["geometry"]


def test_a_drawn_route_has_no_waypoints(client: TestClient, signed_in: Auth) -> None:
    r = client.post(
        "/api/v1/routes", json=_line(WAYPOINTS[:2], name="Rakt"), headers=signed_in("planner")
    )
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["waypoints"] is None
    assert r.json()["properties"]["source"] == "drawn"
