"""Route plans over HTTP: clock times (the default start), opening hours of places and
candidates, Swedish reasons for what is left out, and plans for two groups."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import gpxpy
import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import add_user
from routes.network_io import import_osm
from tests.api.test_walk_routes import OSM, PASSWORD, SPADVAGEN, _plan

Headers = Callable[[str], dict[str, str]]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
ROUNDING = timedelta(seconds=7)  # wait_min has one decimal (6 s), arrive whole seconds


@pytest.fixture()
def headers(client: TestClient, conn: psycopg.Connection) -> Headers:
    for role in ("planner", "partner"):
        add_user(conn, f"g-{role}@example.org", PASSWORD, role=role, organisation="Älvsjö AIK")

    def make(role: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/auth/token", data={"username": f"g-{role}@example.org", "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest.fixture()
def network(conn: psycopg.Connection) -> None:
    """The Långbro street extract, imported inside the test's transaction."""
    import_osm(conn, OSM)


def _point(lon: float, lat: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [lon, lat]}


# Street corners of western Solberga/Långbro (the real OSM extract), around the school.
CORNERS = [
    ("Spadvägen", SPADVAGEN[0]),
    ("Krattvägen", (17.9790, 59.2820)),
    ("Sländvägen", (17.9770, 59.2843)),
    ("Långbrodalsvägen", (17.9852, 59.2815)),
    ("Stråket", (17.9805, 59.2856)),
    ("Torget", (17.9760, 59.2825)),
]


def _candidates(**extra: dict[str, object]) -> list[dict[str, object]]:
    return [
        {"name": name, "point": _point(*lonlat), "priority": 3 - i % 3, **extra.get(name, {})}
        for i, (name, lonlat) in enumerate(CORNERS)
    ]


def test_stops_have_clock_times_and_left_out_stops_say_why_in_swedish(
    client: TestClient, headers: Headers, network: None
) -> None:
    far = {"name": "Älvsjö station", "point": _point(18.0104, 59.2786), "priority": 5}
    r = _plan(
        client,
        headers("planner"),
        candidates=[*_candidates(), far],
        duration_min=60,
        start_at="2026-12-04T21:00:00+01:00",
    )
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert props["start_at"] == "2026-12-04T21:00:00+01:00"
    prev = datetime.fromisoformat(props["start_at"])
    for s in props["stops"]:
        arrive, leave = datetime.fromisoformat(s["arrive"]), datetime.fromisoformat(s["leave"])
        assert arrive.utcoffset() == timedelta(hours=1)
        assert arrive >= prev and s["wait_min"] == 0
        assert leave - arrive == timedelta(minutes=s["dwell_min"])
        assert arrive - datetime.fromisoformat(props["start_at"]) == pytest.approx(
            timedelta(minutes=s["arrive_min"]), abs=timedelta(seconds=4)
        )
        prev = leave
    assert datetime.fromisoformat(props["end_at"]) >= prev
    station = {lo["name"]: lo for lo in props["left_out"]}["Älvsjö station"]
    assert station["code"] == "far_from_network"
    assert station["reason_sv"].startswith("ligger ") and "m från gatunätet" in station["reason_sv"]
    assert all(lo["reason_sv"] and lo["code"] for lo in props["left_out"])


def test_the_default_start_is_this_evening_or_the_next_walk(
    client: TestClient, headers: Headers, network: None
) -> None:
    h = headers("planner")
    r = client.get("/api/v1/route-plans/default-start", params={"area": "langbro"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    today = datetime.now(UTC).astimezone(STOCKHOLM).date()
    assert body["source"] == "evening" and body["time_zone"] == "Europe/Stockholm"
    assert body["local"] == f"{today.isoformat()}T21:00"
    plan = _plan(client, h, candidates=_candidates())
    assert plan.status_code == 200, plan.text
    assert plan.json()["properties"]["start_at"] == body["start_at"]

    soon = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, second=0)
    walk = {
        "id": str(uuid.uuid4()),
        "organisation": "Älvsjö AIK",
        "area": "langbro",
        "meeting_point": _point(17.9815, 59.2830),
        "planned_start": soon.isoformat(),
        "planned_end": (soon + timedelta(hours=3)).isoformat(),
    }
    w = client.post("/api/v1/walks", json=walk, headers=h)
    assert w.status_code == 201, w.text
    body = client.get(
        "/api/v1/route-plans/default-start", params={"area": "langbro"}, headers=h
    ).json()
    assert body["source"] == "walk"
    assert datetime.fromisoformat(body["start_at"]) == soon
    assert (
        client.get(
            "/api/v1/route-plans/default-start", params={"area": "atlantis"}, headers=h
        ).status_code
        == 404
    )
    partner = client.get(
        "/api/v1/route-plans/default-start", params={"area": "langbro"}, headers=headers("partner")
    )
    assert partner.status_code == 403


def test_a_place_is_visited_only_while_it_is_open(
    client: TestClient, headers: Headers, network: None, conn: psycopg.Connection
) -> None:
    h = headers("planner")
    # The school closes at 21:30: the walk must be there by 21:20 (10 min dwell).
    school = conn.execute(
        "UPDATE places SET opens = '17:00', closes = '21:30', hours_source = 'test' "
        "WHERE name = 'Johan Skytteskolan' AND kind = 'school' RETURNING id"
    ).fetchone()
    assert school is not None
    cands = _candidates(
        Spadvägen={"opens": "22:00", "closes": "23:00"},  # waits until it opens
        Krattvägen={"opens": "08:00", "closes": "16:00"},  # closed all evening
    )
    r = _plan(
        client,
        h,
        start={"type": "Point", "coordinates": [17.9790, 59.2820]},
        candidates=cands,
        must_visit=[school[0]],
        duration_min=90,
        start_at="2026-12-04T21:00:00+01:00",
    )
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    stops = {s["name"]: s for s in props["stops"]}
    visit = stops["Johan Skytteskolan"]
    assert visit["hours"] == "17:00–21:30"
    assert datetime.fromisoformat(visit["leave"]) <= datetime(2026, 12, 4, 21, 30, tzinfo=STOCKHOLM)
    spad = stops["Spadvägen"]
    begin = datetime.fromisoformat(spad["arrive"]) + timedelta(minutes=spad["wait_min"])
    assert begin >= datetime(2026, 12, 4, 22, 0, tzinfo=STOCKHOLM) - ROUNDING
    assert spad["wait_min"] > 0 or datetime.fromisoformat(spad["arrive"]).hour >= 22
    closed = {lo["name"]: lo for lo in props["left_out"]}["Krattvägen"]
    assert closed["code"] == "closed" and "öppet 08:00–16:00" in closed["reason_sv"]
    # The places layer carries the hours.
    place = client.get("/api/v1/places?kind=school").json()["features"]
    mine = next(f for f in place if f["id"] == school[0])["properties"]
    assert (mine["opens"], mine["closes"], mine["hours_source"]) == ("17:00", "21:30", "test")


def test_a_must_visit_place_closed_all_walk_long_is_a_422(
    client: TestClient, headers: Headers, network: None, conn: psycopg.Connection
) -> None:
    school = conn.execute(
        "UPDATE places SET opens = '08:00', closes = '16:00', hours_source = 'test' "
        "WHERE name = 'Johan Skytteskolan' AND kind = 'school' RETURNING id"
    ).fetchone()
    assert school is not None
    r = _plan(
        client, headers("planner"), must_visit=[school[0]], start_at="2026-12-04T21:00:00+01:00"
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == "closed_during_walk"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"opens": "08:00"}, "both opens and closes"),
        ({"opens": "24:00", "closes": "02:00"}, "pattern"),
        ({"opens": "20:00", "closes": "20:00"}, "must differ"),
    ],
)
def test_bad_opening_hours_are_422(
    client: TestClient, headers: Headers, network: None, extra: dict[str, str], fragment: str
) -> None:
    r = _plan(client, headers("planner"), candidates=_candidates(Spadvägen=extra))
    assert r.status_code == 422, r.text
    assert fragment in r.text


def test_two_groups_get_two_routes_from_one_meeting_point(
    client: TestClient, headers: Headers, network: None
) -> None:
    h = headers("planner")
    body = {
        "candidates": _candidates(),
        "duration_min": 30,
        "start_at": "2026-12-04T21:00:00+01:00",
    }
    r = _plan(client, h, groups=2, **body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["properties"]["groups"] == 2
    groups = fc["features"]
    assert [f["properties"]["group"] for f in groups] == [1, 2]
    names = [s["name"] for f in groups for s in f["properties"]["stops"]]
    assert len(names) == len(set(names)) and all(f["properties"]["stops"] for f in groups)
    assert groups[0]["geometry"]["coordinates"][0] == groups[1]["geometry"]["coordinates"][0]
    for f in groups:
        p = f["properties"]
        assert p["duration_min"] <= 30 and p["start_at"] == "2026-12-04T21:00:00+01:00"
        gpx = gpxpy.parse(p["gpx"])
        assert gpx.name == p["name"] and len(gpx.waypoints) == len(p["stops"])
    total = sum(f["properties"]["priority_collected"] for f in groups)
    assert fc["properties"]["priority_collected"] == pytest.approx(total)
    assert {lo["name"] for lo in fc["properties"]["left_out"]} == {n for n, _ in CORNERS} - set(
        names
    )
    single = _plan(client, h, **body).json()
    assert single["type"] == "Feature"
    assert total >= single["properties"]["priority_collected"]
    one = _plan(client, h, groups=1, **body).json()
    assert one["type"] == "Feature" and "group" not in one["properties"]
    for bad in (0, 4, "two"):
        assert _plan(client, h, groups=bad, **body).status_code == 422


def test_planners_set_a_places_opening_hours(
    client: TestClient, headers: Headers, network: None, conn: psycopg.Connection
) -> None:
    row = conn.execute(
        "SELECT id FROM places WHERE name = 'Johan Skytteskolan' AND kind = 'school'"
    ).fetchone()
    assert row is not None
    url = f"/api/v1/places/{row[0]}/hours"
    h = headers("planner")
    body = {"opens": "18:00", "closes": "01:00", "source": "fritidsgårdens schema"}
    r = client.put(url, json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": row[0],
        "name": "Johan Skytteskolan",
        "opens": "18:00",
        "closes": "01:00",
        "hours_source": "fritidsgårdens schema",
    }
    place = next(
        f for f in client.get("/api/v1/places?kind=school").json()["features"] if f["id"] == row[0]
    )
    assert (place["properties"]["opens"], place["properties"]["closes"]) == ("18:00", "01:00")
    # A plan that must visit it at 17:00 waits until it opens.
    plan = _plan(
        client,
        h,
        candidates=[],
        must_visit=[row[0]],
        duration_min=120,
        start_at="2026-12-04T17:00:00+01:00",
    ).json()["properties"]
    (visit,) = [s for s in plan["stops"] if s["name"] == "Johan Skytteskolan"]
    begin = datetime.fromisoformat(visit["arrive"]) + timedelta(minutes=visit["wait_min"])
    # wait_min is rounded to 0.1 min (6 s), arrive to the second.
    assert begin >= datetime(2026, 12, 4, 18, 0, tzinfo=STOCKHOLM) - ROUNDING
    assert visit["wait_min"] > 0
    cleared = client.put(url, json={"opens": None, "closes": None}, headers=h)
    assert cleared.status_code == 200 and cleared.json()["hours_source"] == ""
    assert client.put(url, json={"opens": "08:00", "closes": None}, headers=h).status_code == 422
    assert client.put(url, json=body, headers=headers("partner")).status_code == 403
    assert client.put(url, json=body).status_code == 401
    assert client.put("/api/v1/places/999999/hours", json=body, headers=h).status_code == 404
