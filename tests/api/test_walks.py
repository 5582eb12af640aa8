"""The walks API through real HTTP on the real PostGIS: the schedule, sign-ups, start and end,
the track, the report back, plan vs walked, the walker's own views, and who may do what."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import _role_headers

Headers = Callable[[str], dict[str, str]]
STATION = [18.010451, 59.278549]  # Älvsjö station
FAR = [15.0, 62.0]  # in the forests of Jämtland


def now() -> datetime:
    return datetime.now(UTC)


def walk_body(**overrides: Any) -> dict[str, Any]:
    """A walk of Älvsjö AIK under way now (started 30 minutes ago, 4 hours long)."""
    start = now() - timedelta(minutes=30)
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organisation": "Älvsjö AIK",
        "meeting_point": {"type": "Point", "coordinates": STATION},
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=4)).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture()
def other_club(client: TestClient, conn: psycopg.Connection) -> Headers:
    """Bearer headers of a user of a role of Kulturföreningen Solan (another club)."""
    return _role_headers(client, conn, prefix="solan", organisation="Kulturföreningen Solan")


def user_id(conn: psycopg.Connection, email: str) -> int:
    row = conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()
    assert row is not None
    return int(row[0])


def create(client: TestClient, signed_in: Headers, **overrides: Any) -> dict[str, Any]:
    r = client.post("/api/v1/walks", json=walk_body(**overrides), headers=signed_in("planner"))
    assert r.status_code == 201, r.text
    walk: dict[str, Any] = r.json()
    return walk


def points(start: datetime, coords: list[tuple[float, float]], step_s: int = 30) -> list[Any]:
    return [
        {
            "lon": lon,
            "lat": lat,
            "accuracy_m": 8,
            "recorded_at": (start + timedelta(seconds=step_s * i)).isoformat(),
        }
        for i, (lon, lat) in enumerate(coords)
    ]


def along(n: int, *, dlon: float = 0.0002) -> list[tuple[float, float]]:
    """``n`` positions eastward from the station, ≈ 11 m apart."""
    return [(STATION[0] + dlon * i, STATION[1]) for i in range(n)]


def report_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "started_at": (now() - timedelta(minutes=30)).isoformat(),
        "ended_at": now().isoformat(),
        "walkers_present": 3,
        "youths_met": 25,
        "mood": "calm",
        "contacts": ["police", "field_workers"],
        "summary": "Lugnt vid stationen.",
    }
    body.update(overrides)
    return body


def error_type(response: Any) -> str:
    detail = response.json()["detail"]
    return str(detail[0]["type"])


# -- the schedule ---------------------------------------------------------------------------------


def test_create_is_idempotent_and_planners_only(client: TestClient, signed_in: Headers) -> None:
    body = walk_body(walkers_needed=4)
    r = client.post("/api/v1/walks", json=body, headers=signed_in("planner"))
    assert r.status_code == 201, r.text
    walk = r.json()
    assert walk["id"] == body["id"] and walk["status"] == "planned"
    assert walk["organisation"]["name"] == "Älvsjö AIK" and walk["area"]
    assert walk["walkers_needed"] == 4 and walk["version"] == 1
    again = client.post("/api/v1/walks", json=body, headers=signed_in("planner"))
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    other = client.post(
        "/api/v1/walks", json={**body, "notes": "annat"}, headers=signed_in("planner")
    )
    assert other.status_code == 409 and other.json()["code"] == "key_reused"
    for role in ("walker", "partner"):
        r = client.post("/api/v1/walks", json=walk_body(), headers=signed_in(role))
        assert r.status_code == 403, role
    assert client.post("/api/v1/walks", json=walk_body()).status_code == 401


@pytest.mark.parametrize(
    ("overrides", "status", "kind", "loc"),
    [
        # A walk ending before it starts.
        (
            {"planned_end": (now() - timedelta(hours=2)).isoformat()},
            422,
            "ends_before_start",
            ["body", "planned_end"],
        ),
        # A meeting point far from every area.
        (
            {"meeting_point": {"type": "Point", "coordinates": FAR}},
            422,
            "far_from_areas",
            ["body", "meeting_point"],
        ),
        # Coordinates sent as [lat, lon].
        (
            {"meeting_point": {"type": "Point", "coordinates": STATION[::-1]}},
            422,
            "lonlat_swapped",
            ["body", "meeting_point"],
        ),
        # An unknown organisation.
        ({"organisation": "Okänd förening"}, 422, "value_error", ["body", "organisation"]),
        ({"meeting_point": None}, 422, "meeting_point_missing", ["body", "meeting_point"]),
        ({"walkers_needed": 0}, 422, "greater_than_equal", ["body", "walkers_needed"]),
    ],
)
def test_bad_walks_are_a_clear_422_and_store_nothing(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Headers,
    overrides: dict[str, Any],
    status: int,
    kind: str,
    loc: list[str],
) -> None:
    body = walk_body(**overrides)
    r = client.post("/api/v1/walks", json=body, headers=signed_in("planner"))
    assert r.status_code == status, r.text
    assert error_type(r) == kind
    assert r.json()["detail"][0]["loc"] == loc
    assert conn.execute("SELECT 1 FROM walks WHERE id = %s", (body["id"],)).fetchone() is None


def test_series_makes_no_duplicates(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "organisation": "Kulturföreningen Solan",
        "meeting_point": {"type": "Point", "coordinates": STATION},
        "first_date": "2027-03-05",
        "last_date": "2027-03-27",
        "days": "fri-sat",
        "start_time": "21:00",
        "end_time": "01:00",
        "skip_dates": ["2027-03-13"],
    }
    r = client.post("/api/v1/walks/series", json=body, headers=signed_in("planner"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["created"] == 7 and len(made["walks"]) == 7
    assert made["walks"][0]["planned_start"].startswith("2027-03-05T20:00:00")
    again = client.post("/api/v1/walks/series", json=body, headers=signed_in("planner"))
    assert again.status_code == 200 and again.json()["created"] == 0
    assert {w["id"] for w in again.json()["walks"]} == {w["id"] for w in made["walks"]}
    listed = client.get(
        "/api/v1/walks",
        params={
            "since": "2027-03-01",
            "until": "2027-03-31",
            "organisation": "Kulturföreningen Solan",
        },
        headers=signed_in("walker"),
    )
    assert listed.status_code == 200 and listed.json()["numberMatched"] == 7
    bad = client.post(
        "/api/v1/walks/series",
        json={**body, "id": str(uuid.uuid4()), "last_date": "2027-03-01"},
        headers=signed_in("planner"),
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "last_date"]


def test_list_and_read_by_role(client: TestClient, signed_in: Headers, other_club: Headers) -> None:
    walk = create(
        client,
        signed_in,
        planned_start="2027-05-07T21:00:00+02:00",
        planned_end="2027-05-08T01:00:00+02:00",
    )
    params = {"since": "2027-05-07", "until": "2027-05-07"}
    r = client.get("/api/v1/walks", params=params, headers=signed_in("walker"))
    assert r.status_code == 200
    assert [w["id"] for w in r.json()["walks"]] == [walk["id"]]
    assert r.json()["numberMatched"] == 1
    partner = client.get("/api/v1/walks", params=params, headers=signed_in("partner"))
    assert partner.status_code == 200
    assert partner.json() == {
        "numberMatched": 1,
        "by_status": {
            "planned": 1,
            "ongoing": 0,
            "reported": 0,
            "approved": 0,
            "rejected": 0,
            "cancelled": 0,
        },
    }
    assert (
        client.get(f"/api/v1/walks/{walk['id']}", headers=signed_in("partner")).status_code == 403
    )
    assert client.get("/api/v1/walks", params=params).status_code == 401
    bad = client.get("/api/v1/walks", params={"status": "nope"}, headers=signed_in("walker"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]
    bad = client.get("/api/v1/walks", params={"since": "fredag"}, headers=signed_in("walker"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]
    # Sign-ups by name for the club and planners, not for another club.
    assert (
        client.post(f"/api/v1/walks/{walk['id']}/signups", headers=signed_in("walker")).status_code
        == 200
    )
    own = client.get(f"/api/v1/walks/{walk['id']}", headers=signed_in("walker")).json()
    assert own["signed_up"] == 1 and len(own["signups"]) == 1
    planner = client.get(f"/api/v1/walks/{walk['id']}", headers=signed_in("planner")).json()
    assert len(planner["signups"]) == 1
    other = client.get(f"/api/v1/walks/{walk['id']}", headers=other_club("walker")).json()
    assert other["signed_up"] == 1 and "signups" not in other
    missing = client.get(f"/api/v1/walks/{uuid.uuid4()}", headers=signed_in("walker"))
    assert missing.status_code == 404


def test_patch_with_version_and_cancel(client: TestClient, signed_in: Headers) -> None:
    walk = create(client, signed_in)
    url = f"/api/v1/walks/{walk['id']}"
    r = client.patch(url, json={"version": 1, "walkers_needed": 8}, headers=signed_in("planner"))
    assert r.status_code == 200 and r.json()["walkers_needed"] == 8 and r.json()["version"] == 2
    stale = client.patch(url, json={"version": 1, "notes": "x"}, headers=signed_in("planner"))
    assert stale.status_code == 409
    assert (
        client.patch(
            url, json={"version": 2, "notes": "x"}, headers=signed_in("walker")
        ).status_code
        == 403
    )
    bad = client.patch(
        url,
        json={"version": 2, "planned_end": (now() - timedelta(hours=3)).isoformat()},
        headers=signed_in("planner"),
    )
    assert bad.status_code == 422, bad.text
    cancel = client.patch(
        url, json={"version": 2, "cancel_reason": "Snöstorm"}, headers=signed_in("planner")
    )
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled" and cancel.json()["cancel_reason"] == "Snöstorm"
    # A report for a cancelled walk.
    report = client.post(f"{url}/report", json=report_body(), headers=signed_in("walker"))
    assert report.status_code == 409 and report.json()["code"] == "walk_cancelled"
    assert client.get(f"{url}/report", headers=signed_in("planner")).status_code == 404


# -- walkers --------------------------------------------------------------------------------------


def test_sign_up_withdraw_and_guests(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers, other_club: Headers
) -> None:
    walk = create(client, signed_in)
    url = f"/api/v1/walks/{walk['id']}"
    r = client.post(f"{url}/signups", headers=signed_in("walker"))
    assert r.status_code == 200 and r.json()["signed_up"] == 1
    assert client.post(f"{url}/signups", headers=signed_in("walker")).json()["signed_up"] == 1
    # A walker signing up for another club's walk.
    other = client.post(f"{url}/signups", headers=other_club("walker"))
    assert other.status_code == 403 and other.json()["code"] == "not_your_club"
    assert client.post(f"{url}/signups").status_code == 401
    assert client.post(f"{url}/signups", headers=signed_in("partner")).status_code == 403
    r = client.delete(f"{url}/signups", headers=signed_in("walker"))
    assert r.status_code == 200 and r.json()["signed_up"] == 0
    # Guests: a planner or the leader, not another walker.
    r = client.put(f"{url}/guests", json={"guests": 2}, headers=signed_in("planner"))
    assert r.status_code == 200 and r.json()["guests"] == 2
    no = client.put(f"{url}/guests", json={"guests": 3}, headers=signed_in("walker"))
    assert no.status_code == 403
    leader = user_id(conn, "s-walker@example.org")
    r = client.patch(
        url, json={"version": walk["version"], "leader_id": leader}, headers=signed_in("planner")
    )
    assert r.status_code == 200, r.text
    r = client.put(f"{url}/guests", json={"guests": 3}, headers=signed_in("walker"))
    assert r.status_code == 200 and r.json()["guests"] == 3
    for bad in ({"guests": -1}, {"guests": 101}, {"guests": "två"}, {}):
        assert (
            client.put(f"{url}/guests", json=bad, headers=signed_in("planner")).status_code == 422
        )


def test_start_end_and_deviations_during_the_walk(
    client: TestClient, signed_in: Headers, other_club: Headers
) -> None:
    walk = create(client, signed_in)
    url = f"/api/v1/walks/{walk['id']}"

    def deviation(headers: dict[str, str]) -> Any:
        return client.post(
            "/api/v1/deviations",
            json={
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": STATION},
                "properties": {
                    "id": str(uuid.uuid4()),
                    "category": "skadegorelse",
                    "observed_at": (now() - timedelta(minutes=1)).isoformat(),
                    "severity": 2,
                    "walk_id": walk["id"],
                },
            },
            headers=headers,
        )

    planned = deviation(signed_in("walker"))
    assert planned.status_code == 422 and error_type(planned) == "walk_not_ongoing"
    assert planned.json()["detail"][0]["loc"] == ["body", "properties", "walk_id"]
    assert client.post(f"{url}/start", headers=other_club("walker")).status_code == 403
    assert client.post(f"{url}/end", headers=signed_in("walker")).status_code == 409
    r = client.post(f"{url}/start", headers=signed_in("walker"))
    assert r.status_code == 200 and r.json()["status"] == "ongoing" and r.json()["started_at"]
    assert client.post(f"{url}/start", headers=signed_in("walker")).status_code == 200
    ongoing = deviation(signed_in("walker"))
    assert ongoing.status_code == 201, ongoing.text
    assert ongoing.json()["properties"]["walk_id"] == walk["id"]
    another = deviation(other_club("walker"))
    assert another.status_code == 422 and error_type(another) == "walk_not_ongoing"
    r = client.post(f"{url}/end", headers=signed_in("walker"))
    assert r.status_code == 200 and r.json()["ended_at"]
    # Within the hour after the end, a report may still carry the walk.
    assert deviation(signed_in("walker")).status_code == 201
    assert client.post(f"{url}/start", headers=signed_in("planner")).status_code == 403


def test_a_report_queued_during_a_walk_is_taken_when_it_arrives_hours_later(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    """The walk_id rule looks at when the report was observed, not when it arrives: a phone
    that was offline until long after the walk still gets its report stored, once."""
    walk = create(client, signed_in)
    conn.execute(
        "UPDATE walks SET status = 'ongoing', started_at = %s, ended_at = %s WHERE id = %s",
        (now() - timedelta(hours=5), now() - timedelta(hours=3), walk["id"]),
    )

    def report(observed: datetime, report_id: uuid.UUID) -> Any:
        return client.post(
            "/api/v1/deviations",
            json={
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": STATION},
                "properties": {
                    "id": str(report_id),
                    "category": "skadegorelse",
                    "observed_at": observed.isoformat(),
                    "severity": 2,
                    "walk_id": walk["id"],
                },
            },
            headers=signed_in("walker"),
        )

    during, observed = uuid.uuid4(), now() - timedelta(hours=4)
    first = report(observed, during)
    assert first.status_code == 201, first.text
    assert report(observed, during).status_code == 200  # a resend: stored once
    n = conn.execute("SELECT count(*) FROM deviations WHERE id = %s", (during,)).fetchone()
    assert n == (1,)
    after = report(now() - timedelta(minutes=30), uuid.uuid4())  # 2.5 h after the walk's end
    assert after.status_code == 422 and error_type(after) == "walk_not_ongoing"


# -- tracks ---------------------------------------------------------------------------------------


def test_track_batches_are_cleaned_and_a_retry_is_stored_once(
    client: TestClient, signed_in: Headers, other_club: Headers
) -> None:
    walk = create(client, signed_in)
    url = f"/api/v1/walks/{walk['id']}/track/points"
    t0 = now() - timedelta(minutes=20)
    batch = points(t0, along(10))
    batch[3]["accuracy_m"] = 120  # worse than 50 m
    batch.append(  # outside the walk's time ± 1 hour
        {**batch[0], "recorded_at": (t0 - timedelta(hours=3)).isoformat()}
    )
    batch.append(  # 5 km in 30 s: a GPS jump
        {
            "lon": STATION[0] + 0.09,
            "lat": STATION[1],
            "accuracy_m": 5,
            "recorded_at": (t0 + timedelta(seconds=310)).isoformat(),
        }
    )
    r = client.post(url, json={"points": batch}, headers=signed_in("walker"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "stored": 9,
        "dropped": {"inaccurate": 1, "outside_time": 1, "too_fast": 1, "duplicates": 0},
    }
    retry = client.post(url, json={"points": batch}, headers=signed_in("walker"))
    assert retry.status_code == 200
    assert retry.json()["stored"] == 0 and retry.json()["dropped"]["duplicates"] >= 9
    track = client.get(f"/api/v1/walks/{walk['id']}/track", headers=signed_in("walker")).json()
    assert track["geometry"]["type"] == "MultiLineString"
    assert track["properties"]["points"] == 9 and track["properties"]["length_m"] > 80
    assert client.post(url, json={"points": batch}, headers=other_club("walker")).status_code == 403
    assert client.post(url, json={"points": batch}, headers=signed_in("planner")).status_code == 403
    assert client.post(url, json={"points": []}, headers=signed_in("walker")).status_code == 422
    assert (
        client.get(f"/api/v1/walks/{walk['id']}/track", headers=signed_in("partner")).status_code
        == 403
    )


def _gpx(coords: list[tuple[float, float]], start: datetime) -> str:
    pts = "".join(
        f'<trkpt lat="{lat}" lon="{lon}"><time>'
        f"{(start + timedelta(seconds=30 * i)).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        for i, (lon, lat) in enumerate(coords)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Pass</name><trkseg>'
        f"{pts}</trkseg></trk></gpx>"
    )


def test_track_upload_gpx_and_back(client: TestClient, signed_in: Headers) -> None:
    walk = create(client, signed_in)
    url = f"/api/v1/walks/{walk['id']}/track"
    gpx = _gpx(along(20), now() - timedelta(minutes=25))
    headers = {**signed_in("planner"), "Content-Type": "application/gpx+xml"}
    r = client.post(url, content=gpx.encode(), headers=headers)
    assert r.status_code == 200, r.text
    feature = r.json()
    assert feature["geometry"]["type"] == "MultiLineString"
    assert feature["properties"]["points"] == 20
    assert feature["properties"]["dropped"]["too_fast"] == 0
    back = client.get(f"{url}.gpx", headers=signed_in("walker"))
    assert back.status_code == 200 and back.headers["content-type"].startswith(
        "application/gpx+xml"
    )
    assert back.text.count("<trkpt") == 20
    # The same limits and bad-input rules as the route GPX import.
    broken = client.post(url, content=b"<gpx><trk>", headers=headers)
    assert broken.status_code == 422
    big = client.post(url, content=b" " * (10 * 1024 * 1024 + 1), headers=headers)
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    assert (
        client.post(
            url,
            content=gpx.encode(),
            headers={**signed_in("partner"), "Content-Type": "application/gpx+xml"},
        ).status_code
        == 403
    )


def test_plan_vs_walked_on_a_walk_along_its_route(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    route_coords = along(30)
    plan = {
        "stops": [
            {"name": "Stationen", "lon": route_coords[2][0], "lat": route_coords[2][1]},
            {"name": "Långt bort", "lon": STATION[0], "lat": STATION[1] + 0.01},
        ]
    }
    row = conn.execute(
        "INSERT INTO walk_routes (name, geom, plan) VALUES ('Stationsrundan', "
        "ST_SetSRID(ST_MakeLine(ST_MakePoint(%s, %s), ST_MakePoint(%s, %s)), 4326), %s) "
        "RETURNING id",
        (*route_coords[0], *route_coords[-1], json.dumps(plan)),
    ).fetchone()
    assert row is not None
    walk = create(client, signed_in, route_id=row[0])
    url = f"/api/v1/walks/{walk['id']}"
    r = client.post(
        f"{url}/track/points",
        json={"points": points(now() - timedelta(minutes=25), route_coords)},
        headers=signed_in("walker"),
    )
    assert r.status_code == 200 and r.json()["stored"] == 30
    result = client.get(f"{url}/plan-vs-walked", headers=signed_in("planner"))
    assert result.status_code == 200, result.text
    body = result.json()
    assert 300 < body["length_walked_m"] < 360  # 29 steps of ≈ 11.4 m
    assert body["route_share_within_50m"] > 0.95
    assert body["stops"] == [
        {"name": "Stationen", "passed": True},
        {"name": "Långt bort", "passed": False},
    ]
    assert client.get(f"{url}/plan-vs-walked", headers=signed_in("walker")).status_code == 403


# -- the report back ------------------------------------------------------------------------------


def test_report_once_and_correct_it(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers, other_club: Headers
) -> None:
    walk = create(client, signed_in, walkers_needed=6)
    url = f"/api/v1/walks/{walk['id']}/report"
    body = report_body()
    assert client.post(url, json=body, headers=other_club("walker")).status_code == 403
    assert client.post(url, json=body, headers=signed_in("partner")).status_code == 403
    r = client.post(url, json=body, headers=signed_in("walker"))
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["id"] == body["id"] and report["short_of_walkers"] is True
    again = client.post(url, json=body, headers=signed_in("walker"))
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    second = client.post(url, json=report_body(), headers=signed_in("walker"))
    assert second.status_code == 409 and second.json()["code"] == "report_exists"
    stored = client.get(f"/api/v1/walks/{walk['id']}", headers=signed_in("planner")).json()
    assert stored["status"] == "reported" and stored["walkers"] == 3
    # The summary only to the club and planners.
    assert client.get(url, headers=signed_in("planner")).json()["summary"] == body["summary"]
    assert client.get(url, headers=signed_in("walker")).json()["summary"] == body["summary"]
    other = client.get(url, headers=other_club("walker"))
    assert other.status_code == 200 and "summary" not in other.json()
    assert client.get(url, headers=signed_in("partner")).status_code == 403
    # A correction by the reporter, with the version read.
    fixed = {**body, "walkers_present": 6, "version": report["version"]}
    r = client.patch(url, json=fixed, headers=signed_in("walker"))
    assert r.status_code == 200, r.text
    assert r.json()["walkers_present"] == 6 and r.json()["short_of_walkers"] is False
    stale = client.patch(url, json=fixed, headers=signed_in("walker"))
    assert stale.status_code == 409
    planner = client.patch(
        url, json={**fixed, "version": r.json()["version"]}, headers=signed_in("planner")
    )
    assert planner.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"walkers_present": 101}, ["body", "walkers_present"]),
        ({"youths_met": -1}, ["body", "youths_met"]),
        ({"mood": "glad"}, ["body", "mood"]),
        ({"contacts": ["brandkåren"]}, ["body", "contacts", 0]),
        ({"summary": "x" * 2001}, ["body", "summary"]),
        ({"ended_at": (now() - timedelta(hours=1)).isoformat()}, ["body", "ended_at"]),
        ({"ended_at": (now() + timedelta(hours=2)).isoformat()}, ["body", "ended_at"]),
    ],
)
def test_bad_reports_are_a_clear_422_and_store_nothing(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Headers,
    overrides: dict[str, Any],
    loc: list[Any],
) -> None:
    walk = create(client, signed_in)
    r = client.post(
        f"/api/v1/walks/{walk['id']}/report",
        json=report_body(**overrides),
        headers=signed_in("walker"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc
    row = conn.execute("SELECT count(*) FROM walk_reports WHERE walk_id = %s", (walk["id"],))
    assert row.fetchone() == (0,)


# -- the walker's own and the planners' flags -----------------------------------------------------


def test_my_walk_tonight_and_my_walks(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    headers = signed_in("walker")
    nothing = client.get("/api/v1/me/walk-tonight", headers=headers)
    assert nothing.status_code == 200 and nothing.json() == {"walk": None}
    start = now() + timedelta(hours=2)
    walk = create(
        client,
        signed_in,
        planned_start=start.isoformat(),
        planned_end=(start + timedelta(hours=4)).isoformat(),
    )
    later = create(
        client,
        signed_in,
        planned_start=(start + timedelta(days=7)).isoformat(),
        planned_end=(start + timedelta(days=7, hours=4)).isoformat(),
    )
    assert client.post(f"/api/v1/walks/{walk['id']}/signups", headers=headers).status_code == 200
    tonight = client.get("/api/v1/me/walk-tonight", headers=headers).json()["walk"]
    assert tonight["id"] == walk["id"]
    assert tonight["meeting_point"]["type"] == "Point"
    assert tonight["contacts"]["police"] and tonight["contacts"]["emergency"] == "112"
    assert [s["user_id"] for s in tonight["signups"]] == [user_id(conn, "s-walker@example.org")]
    mine = client.get("/api/v1/me/walks", headers=headers)
    assert mine.status_code == 200
    upcoming = {w["id"] for w in mine.json()["upcoming"]}
    club = {w["id"] for w in mine.json()["club"]}
    assert walk["id"] in upcoming and later["id"] not in upcoming
    assert {walk["id"], later["id"]} <= club
    assert client.get("/api/v1/me/walks", headers=signed_in("partner")).status_code == 403
    assert client.get("/api/v1/me/walk-tonight").status_code == 401


def test_walks_to_report_include_those_never_started(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers, other_club: Headers
) -> None:
    headers = signed_in("walker")
    start = now() - timedelta(hours=6)
    walk = create(
        client,
        signed_in,
        planned_start=start.isoformat(),
        planned_end=(start + timedelta(hours=4)).isoformat(),
    )
    # Sign-ups close at the planned end: the walker signed up before it.
    conn.execute(
        "INSERT INTO walk_signups (walk_id, user_id) VALUES (%s, %s)",
        (walk["id"], user_id(conn, "s-walker@example.org")),
    )
    not_mine = create(
        client,
        signed_in,
        planned_start=start.isoformat(),
        planned_end=(start + timedelta(hours=4)).isoformat(),
    )
    old = now() - timedelta(days=9)
    too_old = create(
        client,
        signed_in,
        planned_start=old.isoformat(),
        planned_end=(old + timedelta(hours=4)).isoformat(),
    )
    conn.execute(
        "INSERT INTO walk_signups (walk_id, user_id) VALUES (%s, %s)",
        (too_old["id"], user_id(conn, "s-walker@example.org")),
    )
    under_way = create(client, signed_in)  # planned end still to come, not ended
    assert client.post(f"/api/v1/walks/{under_way['id']}/signups", headers=headers).is_success

    mine = client.get("/api/v1/me/walks", headers=headers)
    assert mine.status_code == 200, mine.text
    to_report = mine.json()["to_report"]
    assert [w["id"] for w in to_report] == [walk["id"]]
    assert to_report[0]["status"] == "planned" and to_report[0]["started_at"] is None
    assert [s["user_id"] for s in to_report[0]["signups"]] == [
        user_id(conn, "s-walker@example.org")
    ]
    assert not_mine["id"] not in {w["id"] for w in mine.json()["upcoming"]}
    # Another club's walker is not asked to report Älvsjö AIK's walk.
    theirs = client.get("/api/v1/me/walks", headers=other_club("walker"))
    assert theirs.status_code == 200 and theirs.json()["to_report"] == []

    report = report_body(
        started_at=start.isoformat(), ended_at=(start + timedelta(hours=4)).isoformat()
    )
    sent = client.post(f"/api/v1/walks/{walk['id']}/report", json=report, headers=headers)
    assert sent.status_code == 201, sent.text
    after = client.get("/api/v1/me/walks", headers=headers).json()
    assert after["to_report"] == []


def test_flags_for_planners(client: TestClient, signed_in: Headers) -> None:
    start = now() + timedelta(days=2)
    short = create(
        client,
        signed_in,
        planned_start=start.isoformat(),
        planned_end=(start + timedelta(hours=4)).isoformat(),
        walkers_needed=10,
    )
    old = now() - timedelta(days=3)
    unreported = create(
        client,
        signed_in,
        planned_start=old.isoformat(),
        planned_end=(old + timedelta(hours=4)).isoformat(),
    )
    r = client.get("/api/v1/walks/flags", params={"days": 7}, headers=signed_in("planner"))
    assert r.status_code == 200, r.text
    assert short["id"] in {w["id"] for w in r.json()["short_of_walkers"]}
    assert unreported["id"] in {w["id"] for w in r.json()["unreported"]}
    assert unreported["id"] not in {w["id"] for w in r.json()["short_of_walkers"]}
    assert client.get("/api/v1/walks/flags", headers=signed_in("walker")).status_code == 403
    bad = client.get("/api/v1/walks/flags", params={"days": 0}, headers=signed_in("planner"))
    assert bad.status_code == 422
