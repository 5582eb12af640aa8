"""Walk routes, zones and route plans through the API, on the real OpenStreetMap extract."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable

import gpxpy
import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app_paths import static_url
from geo.db.accounts import add_user
from routes.network_io import import_osm
from tests.conftest import DATA_DIR

PASSWORD = "correct horse battery"
OSM = DATA_DIR / "osm_langbro_solberga_west_2020.osm"
TO_3006 = Transformer.from_crs(4326, 3006, always_xy=True)
SPADVAGEN = [(17.9837465, 59.2838017), (17.9840781, 59.2833519)]


@pytest.fixture()
def headers(client: TestClient, conn: psycopg.Connection) -> Callable[[str], dict[str, str]]:
    for role in ("walker", "planner", "partner"):
        add_user(conn, f"r-{role}@example.org", PASSWORD, role=role, organisation="Älvsjö AIK")

    def make(role: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/auth/token", data={"username": f"r-{role}@example.org", "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest.fixture()
def network(conn: psycopg.Connection) -> None:
    """The Långbro street extract, imported inside the test's transaction."""
    import_osm(conn, OSM)


def line(coords: list[tuple[float, float]], name: str = "Kvällsrundan", **props: object):  # type: ignore[no-untyped-def]
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"name": name, **props},
    }


def offset(points: list[tuple[float, float]], dx_m: float) -> list[tuple[float, float]]:
    xs, ys = TO_3006.transform(*zip(*points, strict=True))
    lon, lat = TO_3006.transform(np.asarray(xs) + dx_m, np.asarray(ys), direction="INVERSE")
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def edges_3006(conn: psycopg.Connection) -> shapely.Geometry:
    rows = conn.execute("SELECT ST_AsBinary(ST_Transform(geom, 3006)) FROM street_edges").fetchall()
    return shapely.union_all(shapely.from_wkb([bytes(r[0]) for r in rows]))


def test_planners_write_routes_others_read(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    body = line(SPADVAGEN)
    assert client.post("/api/v1/routes", json=body).status_code == 401
    assert client.post("/api/v1/routes", json=body, headers=headers("walker")).status_code == 403
    r = client.post("/api/v1/routes", json=body, headers=headers("planner"))
    assert r.status_code == 201, r.text
    route = r.json()
    assert route["properties"]["version"] == 1 and route["properties"]["area"] == "langbro"
    assert 50 < route["properties"]["length_m"] < 70
    for role in ("walker", "partner"):
        listed = client.get("/api/v1/routes", headers=headers(role)).json()
        assert route["id"] in [f["id"] for f in listed["features"]]
    assert (
        client.delete(f"/api/v1/routes/{route['id']}", headers=headers("walker")).status_code == 403
    )


def test_put_needs_the_current_version_and_delete_removes(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    h = headers("planner")
    route = client.post("/api/v1/routes", json=line(SPADVAGEN), headers=h).json()
    rid = route["id"]
    renamed = line(SPADVAGEN, "Nytt namn", version=1)
    r = client.put(f"/api/v1/routes/{rid}", json=renamed, headers=h)
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2
    stale = client.put(
        f"/api/v1/routes/{rid}", json=line(SPADVAGEN, "Gammalt", version=1), headers=h
    )
    assert stale.status_code == 409 and "version 2" in stale.json()["detail"]
    missing = client.put(f"/api/v1/routes/{rid}", json=line(SPADVAGEN, "X"), headers=h)
    assert missing.status_code == 422
    assert client.delete(f"/api/v1/routes/{rid}", headers=h).status_code == 204
    assert client.get(f"/api/v1/routes/{rid}", headers=h).status_code == 404


def test_a_retried_creation_is_stored_once(
    client: TestClient,
    headers,  # type: ignore[no-untyped-def]
    conn: psycopg.Connection,
) -> None:
    h = {**headers("planner"), "Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v1/routes", json=line(SPADVAGEN, "En gång"), headers=h)
    again = client.post("/api/v1/routes", json=line(SPADVAGEN, "En gång"), headers=h)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = client.post("/api/v1/routes", json=line(SPADVAGEN, "Annan"), headers=h)
    assert other.status_code == 409
    count = conn.execute("SELECT count(*) FROM walk_routes WHERE name = 'En gång'").fetchone()
    assert count == (1,)
    bad = client.post(
        "/api/v1/routes", json=line(SPADVAGEN), headers={**h, "Idempotency-Key": "not-a-uuid"}
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "body, fragment",
    [
        (
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [17.98, 59.28]},
                "properties": {"name": "x"},
            },
            "LineString",
        ),
        (line([(17.98, 59.28), (17.98, 95.0)]), "out of range"),
        (line([(59.2838, 17.9837), (59.2833, 17.9840)]), "farther than 2 km"),
        (line([(17.98, 59.28), (17.98, 59.28)]), "no length"),
        (line(SPADVAGEN, colour="red"), "unknown properties"),
        (line([(17.3, 59.28), (18.5, 59.28)]), "km long"),
        (
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[17.98, "x"], [17.99, 59.28]]},
                "properties": {"name": "x"},
            },
            "position 0",
        ),
    ],
)
def test_bad_routes_get_a_clear_422(
    client: TestClient,
    headers,
    body: object,  # type: ignore[no-untyped-def]
    fragment: str,
) -> None:
    r = client.post("/api/v1/routes", json=body, headers=headers("planner"))
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"][0]["msg"]


def test_an_oversized_body_is_413(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    huge = json.dumps(line(SPADVAGEN, notes="x" * (3 * 1024 * 1024)))
    r = client.post("/api/v1/routes", content=huge, headers=headers("planner"))
    assert r.status_code == 413


def test_snap_follows_the_streets_and_reports_the_moves(
    client: TestClient,
    headers,
    network: None,
    conn: psycopg.Connection,  # type: ignore[no-untyped-def]
) -> None:
    drawn = offset(SPADVAGEN, 15.0)  # drawn 15 m east of Spadvägen
    r = client.post(
        "/api/v1/routes", params={"snap": "true"}, json=line(drawn), headers=headers("planner")
    )
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert props["source"] == "snapped"
    assert len(props["snap"]["moved_m"]) == 2 and props["snap"]["max_moved_m"] < 60
    streets = edges_3006(conn)
    coords = r.json()["geometry"]["coordinates"]
    xs, ys = TO_3006.transform(*zip(*coords, strict=True))
    assert max(streets.distance(shapely.Point(x, y)) for x, y in zip(xs, ys, strict=True)) < 1.0
    # A vertex far from every street (eastern Solberga has none imported): a clear 422.
    far = client.post(
        "/api/v1/routes",
        params={"snap": "true"},
        json=line([SPADVAGEN[0], (18.0104, 59.2786)]),
        headers=headers("planner"),
    )
    assert far.status_code == 422
    assert "vertex 1" in far.json()["detail"][0]["msg"]
    # Drawn for Solberga but along Västerängsvägen by Johan Skytteskolan in Långbro, over 1 km
    # from Solberga: snapped to Västerängsvägen, not to the nearest street near Solberga.
    vasterangsvagen = offset([(17.9817760, 59.2782385), (17.9836232, 59.2774143)], 15.0)
    other = client.post(
        "/api/v1/routes",
        params={"snap": "true"},
        json=line(vasterangsvagen, area="solberga"),
        headers=headers("planner"),
    )
    assert other.status_code == 201, other.text
    assert other.json()["properties"]["snap"]["max_moved_m"] < 60


def test_gpx_file_names_keep_swedish_letters(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    """RFC 6266: ``filename*`` in UTF-8 keeps å, ä, ö; ``filename`` is the ASCII fallback."""
    h = headers("planner")
    route = client.post("/api/v1/routes", json=line(SPADVAGEN, "Kvällsrundan Älvsjö"), headers=h)
    r = client.get(f"/api/v1/routes/{route.json()['id']}.gpx", headers=h)
    disposition = r.headers["content-disposition"]
    assert 'filename="Kvallsrundan-Alvsjo.gpx"' in disposition
    assert "filename*=UTF-8''Kv%C3%A4llsrundan-%C3%84lvsj%C3%B6.gpx" in disposition


def test_gpx_download_and_upload_round_trip(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    h = headers("planner")
    route = client.post("/api/v1/routes", json=line(SPADVAGEN, "GPX-runda"), headers=h).json()
    r = client.get(f"/api/v1/routes/{route['id']}.gpx", headers=headers("walker"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/gpx+xml")
    assert 'filename="GPX-runda.gpx"' in r.headers["content-disposition"]
    gpx = gpxpy.parse(r.text)
    points = [(p.longitude, p.latitude) for p in gpx.tracks[0].segments[0].points]
    # The one coordinate precision of every file: 6 decimals (≈ 0.1 m).
    assert points == [pytest.approx(p, abs=5.1e-7) for p in SPADVAGEN]
    assert all(len(repr(v).split(".")[1]) <= 6 for p in points for v in p)
    uploaded = client.post(
        "/api/v1/routes/gpx", params={"name": "Från telefonen"}, content=r.content, headers=h
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["properties"]["source"] == "gpx"
    # Read back, the GPX file's positions are the API's too: 6 decimals (≈ 0.1 m).
    coords = uploaded.json()["geometry"]["coordinates"]
    assert coords == [pytest.approx(list(p), abs=5.1e-7) for p in SPADVAGEN]
    assert all(len(repr(v).split(".")[1]) <= 6 for c in coords for v in c)
    broken = client.post(
        "/api/v1/routes/gpx", params={"name": "Trasig"}, content=b"<gpx><trk>", headers=h
    )
    assert broken.status_code == 422 and "GPX" in broken.json()["detail"][0]["msg"]


def test_zones_drawn_by_planners(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    h = headers("planner")
    ring = [
        [17.980, 59.282],
        [17.985, 59.282],
        [17.985, 59.285],
        [17.980, 59.285],
        [17.980, 59.282],
    ]
    zone = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "Krattvägen runt", "description": "Ny zon"},
    }
    assert client.post("/api/v1/zones", json=zone, headers=headers("walker")).status_code == 403
    r = client.post("/api/v1/zones", json=zone, headers=h)
    assert r.status_code == 201, r.text
    slug = r.json()["id"]
    assert slug == "krattvagen-runt" and r.json()["properties"]["area"] == "langbro"
    assert slug in [f["id"] for f in client.get("/api/v1/zones").json()["features"]]
    zone["properties"]["version"] = 1
    assert (
        client.put(f"/api/v1/zones/{slug}", json=zone, headers=h).json()["properties"]["version"]
        == 2
    )
    assert client.put(f"/api/v1/zones/{slug}", json=zone, headers=h).status_code == 409
    bowtie = {
        **zone,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [17.98, 59.282],
                    [17.985, 59.285],
                    [17.985, 59.282],
                    [17.98, 59.285],
                    [17.98, 59.282],
                ]
            ],
        },
    }
    bad = client.post("/api/v1/zones", json=bowtie, headers=h)
    assert bad.status_code == 422 and "not valid" in bad.json()["detail"][0]["msg"]
    assert client.delete(f"/api/v1/zones/{slug}", headers=h).status_code == 204


def test_a_retried_zone_is_stored_once(
    client: TestClient,
    headers,  # type: ignore[no-untyped-def]
    conn: psycopg.Connection,
) -> None:
    ring = [[17.980, 59.282], [17.985, 59.282], [17.985, 59.285], [17.980, 59.282]]
    zone = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "Två gånger"},
    }
    h = {**headers("planner"), "Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v1/zones", json=zone, headers=h)
    again = client.post("/api/v1/zones", json=zone, headers=h)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["id"] == again.json()["id"] == "tva-ganger"
    other = client.post("/api/v1/zones", json={**zone, "properties": {"name": "Annan"}}, headers=h)
    assert other.status_code == 409
    assert conn.execute("SELECT count(*) FROM zones WHERE name = 'Två gånger'").fetchone() == (1,)
    # Without a key every POST is a new zone, as before.
    plain = client.post("/api/v1/zones", json=zone, headers=headers("planner"))
    assert plain.status_code == 201 and plain.json()["id"] == "tva-ganger-2"
    bad = client.post("/api/v1/zones", json=zone, headers={**h, "Idempotency-Key": "not-a-uuid"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def _plan(client: TestClient, h: dict[str, str], **body: object):  # type: ignore[no-untyped-def]
    base = {
        "area": "langbro",
        "start": {"type": "Point", "coordinates": [17.9815, 59.2830]},
        "duration_min": 120,
        "time_limit_s": 0.5,
    }
    return client.post("/api/v1/route-plans", json={**base, **body}, headers=h)


def test_a_route_plan_along_the_streets_within_the_budget(
    client: TestClient,
    headers,
    network: None,
    conn: psycopg.Connection,  # type: ignore[no-untyped-def]
) -> None:
    h = headers("planner")
    candidates = [
        {
            "name": "Spadvägen",
            "point": {"type": "Point", "coordinates": list(SPADVAGEN[0])},
            "priority": 3,
        },
        {
            "name": "Krattvägen",
            "point": {"type": "Point", "coordinates": [17.9790, 59.2820]},
            "priority": 2,
        },
        {
            "name": "Långt bort",
            "point": {"type": "Point", "coordinates": [18.0104, 59.2786]},
            "priority": 5,
        },
    ]
    school = conn.execute(
        "SELECT id FROM places WHERE name = 'Johan Skytteskolan' AND kind = 'school'"
    ).fetchone()
    assert school is not None
    r = _plan(
        client,
        h,
        start={"place_id": school[0]},
        candidates=candidates,
        duration_min=60,
        start_at="2026-11-27T20:00:00+01:00",
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    props = plan["properties"]
    assert props["duration_min"] <= 60
    assert {s["name"] for s in props["stops"]} == {"Spadvägen", "Krattvägen"}
    assert [lo["name"] for lo in props["left_out"]] == ["Långt bort"]
    assert "street" in props["left_out"][0]["reason"]
    arrivals = [s["arrive_min"] for s in props["stops"]]
    assert arrivals == sorted(arrivals) and props["stops"][0]["arrive"].startswith("2026-11-27T")
    # Along the streets: every vertex on an edge; the length is the line's own length.
    streets = edges_3006(conn)
    xs, ys = TO_3006.transform(*zip(*plan["geometry"]["coordinates"], strict=True))
    assert max(streets.distance(shapely.Point(x, y)) for x, y in zip(xs, ys, strict=True)) < 1.0
    assert shapely.LineString(list(zip(xs, ys, strict=True))).length == pytest.approx(
        props["length_m"], rel=0.01
    )
    # Without candidates the area's hot spots are used.
    default = _plan(client, h)
    assert default.status_code == 200, default.text
    assert default.json()["properties"]["stops"], default.json()["properties"]["left_out"]


def test_a_meeting_point_outside_the_area_brings_its_streets(
    client: TestClient,
    headers,
    network: None,
    conn: psycopg.Connection,  # type: ignore[no-untyped-def]
) -> None:
    """Johan Skytteskolan lies in Långbro, over 1 km from Solberga: a walk for Solberga that meets
    there walks from the school's own streets, not from the nearest street inside Solberga."""
    school = conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom) FROM places "
        "WHERE name = 'Johan Skytteskolan' AND kind = 'school'"
    ).fetchone()
    assert school is not None
    candidates = [
        {
            "name": "Spadvägen",
            "priority": 3,
            "point": {"type": "Point", "coordinates": list(SPADVAGEN[0])},
        }
    ]
    r = _plan(
        client,
        headers("planner"),
        area="solberga",
        start={"place_id": school[0]},
        candidates=candidates,
        duration_min=60,
    )
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert [s["name"] for s in props["stops"]] == ["Spadvägen"]
    first = r.json()["geometry"]["coordinates"][0]
    x0, y0 = TO_3006.transform(school[1], school[2])
    x1, y1 = TO_3006.transform(*first)
    # A cycleway passes 9 m from the stop; nodes lie at most 50 m apart along it.
    assert math.hypot(x1 - x0, y1 - y0) < 40


@pytest.mark.parametrize(
    "body, fragment, status",
    [
        (
            {"start": {"type": "Point", "coordinates": [18.0104, 59.2786]}},
            "from the nearest street",
            422,
        ),
        ({"duration_min": -5}, "greater than 0", 422),
        ({"duration_min": 100000}, "less than or equal to 720", 422),
        ({"start": {"place_id": 999999}}, "no place with id 999999", 422),
        (
            {
                "must_visit": [
                    {"name": "Långt", "point": {"type": "Point", "coordinates": [17.9785, 59.2750]}}
                ],
                "duration_min": 5,
            },
            "more than the budget",
            422,
        ),
        ({"area": "orby-slott"}, "nattvandring import osm FILE.osm.pbf --area orby-slott", 404),
        ({"area": "atlantis"}, "atlantis", 404),
    ],
)
def test_route_plan_errors_say_what_to_fix(
    client: TestClient,
    headers,
    network: None,
    body: dict[str, object],
    fragment: str,  # type: ignore[no-untyped-def]
    status: int,
) -> None:
    r = _plan(client, headers("planner"), **body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    text = detail if isinstance(detail, str) else " ".join(d["msg"] for d in detail)
    assert fragment in text


def test_route_plan_errors_carry_a_code_and_their_figures(
    client: TestClient,
    headers,
    network: None,  # type: ignore[no-untyped-def]
) -> None:
    """Programs (and the pages' Swedish texts) read ``type`` and ``ctx``, not the message."""
    h = headers("planner")
    far = _plan(client, h, start={"type": "Point", "coordinates": [18.0104, 59.2786]}).json()
    item = far["detail"][0]
    assert item["type"] == "not_near_network" and item["loc"] == ["body", "start"]
    assert item["ctx"]["distance_m"] > 300
    short = _plan(
        client,
        h,
        duration_min=5,
        must_visit=[
            {"name": "Långt", "point": {"type": "Point", "coordinates": [17.9785, 59.2750]}}
        ],
    ).json()
    assert short["detail"][0]["type"] == "budget_too_short"
    assert short["detail"][0]["ctx"]["shortfall_min"] >= 1
    none = _plan(client, h, area="orby-slott")
    assert none.status_code == 404 and none.json()["code"] == "network_not_imported"


def test_the_planners_page_is_for_planners(client: TestClient, conn: psycopg.Connection) -> None:
    assert client.get("/plan", follow_redirects=False).headers["location"] == "/login?next=/plan"
    for role, status in (("walker", 403), ("planner", 200)):
        add_user(conn, f"p-{role}@example.org", PASSWORD, role=role, organisation="Polisen")
        client.post("/login", data={"username": f"p-{role}@example.org", "password": PASSWORD})
        r = client.get("/plan")
        assert r.status_code == status
    assert static_url("plan.js") in r.text and "leaflet.draw.js" in r.text
    assert "Föreslå rutt" in r.text and "Rita rutt" in r.text
