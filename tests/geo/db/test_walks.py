"""Walks in PostGIS: create (idempotently), series, list, patch, cancel, sign-ups, start/end,
tracks, the report back, and the planners' and walkers' views, on the real test database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
import pytest

from geo.db import walk_reports, walk_schedule, walk_tracks, walk_views, walks
from geo.db.accounts import add_user
from geo.db.walks import Actor
from geo.errors import Conflict, Forbidden, InvalidGeometry, InvalidInput, NotFound
from geo.inputs.walks import ReportIn, SeriesIn, TrackPoint, WalkIn, WalkPatch, parse
from routes.tracks import build_track, clean_track, read_track_upload

STATION = (18.010451, 59.278549)
PASSWORD = "långt-lösenord-1"
NOW = datetime(2026, 9, 4, 12, 0, tzinfo=UTC)  # a Friday
START = datetime(2026, 9, 4, 19, 0, tzinfo=UTC)  # 21:00 in Stockholm


def walk_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organisation": "Älvsjö AIK",
        "meeting_point": {"type": "Point", "coordinates": list(STATION)},
        "planned_start": START.isoformat(),
        "planned_end": (START + timedelta(hours=4)).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture()
def people(conn: psycopg.Connection) -> dict[str, Actor]:
    made = {}
    for key, org, role in (
        ("walker", "Älvsjö AIK", "walker"),
        ("walker2", "Älvsjö AIK", "walker"),
        ("solan", "Kulturföreningen Solan", "walker"),
        ("planner", "Hägersten-Älvsjö stadsdelsförvaltning", "planner"),
    ):
        user = add_user(
            conn, f"{key}-{uuid.uuid4().hex[:6]}@example.org", PASSWORD, role=role, organisation=org
        )
        conn.execute("UPDATE users SET display_name = %s WHERE id = %s", (key.title(), user.id))
        made[key] = Actor(user.id, user.organisation_id)
    return made


def create(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    walk, new = walk_schedule.create_walk(conn, parse(WalkIn, walk_body(**overrides)), user_id=None)
    assert new
    return walk


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


# -- create ---------------------------------------------------------------------------------------


def test_create_is_idempotent_by_id(conn: psycopg.Connection) -> None:
    body = walk_body()
    first, new = walk_schedule.create_walk(conn, parse(WalkIn, body), user_id=None)
    assert new
    assert first["organisation"]["name"] == "Älvsjö AIK"
    assert first["area"] == "solberga"
    assert first["status"] == "planned"
    assert first["walkers_needed"] == 6
    assert first["meeting_point"]["coordinates"] == list(STATION)
    again, new = walk_schedule.create_walk(conn, parse(WalkIn, body), user_id=None)
    assert not new and again["id"] == first["id"]
    with pytest.raises(Conflict, match="different walk"):
        walk_schedule.create_walk(conn, parse(WalkIn, {**body, "notes": "annat"}), user_id=None)
    assert count(conn, "walks") == 1


def test_walkers_needed_comes_from_the_agreement(conn: psycopg.Connection) -> None:
    conn.execute(
        "UPDATE agreements SET walkers_per_walk = 8 WHERE name = 'IOP nattvandring hösten 2025'"
    )
    walk = create(
        conn,
        planned_start="2025-10-03T21:00+02:00",
        planned_end="2025-10-04T01:00+02:00",
    )
    assert walk["walkers_needed"] == 8
    assert create(conn, walkers_needed=4)["walkers_needed"] == 4


def test_meeting_place_by_id(conn: psycopg.Connection) -> None:
    place = conn.execute("SELECT id FROM places WHERE name = 'Älvsjö station'").fetchone()
    assert place is not None
    body = walk_body(meeting_place=place[0])
    del body["meeting_point"]
    walk, _ = walk_schedule.create_walk(conn, parse(WalkIn, body), user_id=None)
    assert walk["meeting_place"] == {"id": place[0], "name": "Älvsjö station"}
    assert walk["meeting_point"]["type"] == "Point"


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"organisation": "Okänd klubb"}, InvalidInput, "organisation"),
        ({"organisation": "Polisen"}, InvalidInput, "organisation"),
        (
            {"meeting_point": {"type": "Point", "coordinates": [11.97, 57.70]}},
            InvalidGeometry,
            "meeting_point",
        ),
        (
            {"meeting_point": {"type": "Point", "coordinates": [59.278549, 18.010451]}},
            InvalidGeometry,
            "meeting_point",
        ),
        ({"route_id": 999999}, InvalidInput, "route_id"),
        ({"meeting_place": 999999, "meeting_point": None}, InvalidInput, "meeting_place"),
        ({"area": "alvsjo-centrum-finns-inte"}, NotFound, None),
    ],
)
def test_bad_walks_are_refused_naming_the_field_and_store_nothing(
    conn: psycopg.Connection, overrides: dict[str, Any], error: type[Exception], field: str | None
) -> None:
    body = {k: v for k, v in walk_body(**overrides).items() if v is not None}
    with pytest.raises(error) as info:
        walk_schedule.create_walk(conn, parse(WalkIn, body), user_id=None)
    assert getattr(info.value, "field", None) == field
    assert count(conn, "walks") == 0


def test_swapped_meeting_point_says_so(conn: psycopg.Connection) -> None:
    body = walk_body(meeting_point={"type": "Point", "coordinates": [STATION[1], STATION[0]]})
    with pytest.raises(InvalidGeometry, match="swapped"):
        walk_schedule.create_walk(conn, parse(WalkIn, body), user_id=None)


def test_leader_must_be_of_the_club(conn: psycopg.Connection, people: dict[str, Actor]) -> None:
    with pytest.raises(InvalidInput) as info:
        create(conn, leader_id=people["solan"].user_id)
    assert info.value.field == "leader_id"
    walk = create(conn, leader_id=people["walker"].user_id)
    assert walk["leader"] == {"id": people["walker"].user_id, "display_name": "Walker"}


def test_the_database_refuses_what_the_rules_refuse(conn: psycopg.Connection) -> None:
    walk = create(conn)
    for statement in (
        "UPDATE walks SET planned_end = planned_start - interval '1 hour' WHERE id = %s",
        "UPDATE walks SET planned_end = planned_start + interval '13 hours' WHERE id = %s",
        "UPDATE walks SET status = 'cancelled' WHERE id = %s",
        "UPDATE walks SET status = 'completed' WHERE id = %s",
        "UPDATE walks SET walkers_needed = 0 WHERE id = %s",
        "UPDATE walks SET meeting_point = ST_SetSRID(ST_MakePoint(18, 100), 4326) WHERE id = %s",
        "UPDATE walks SET status = 'ongoing' WHERE id = %s",
    ):
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute(statement, (walk["id"],))
    base = (
        "INSERT INTO walk_reports (id, walk_id, started_at, ended_at, walkers_present, "
        "youths_met, mood, contacts) VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s)"
    )
    for values in (
        (START, START - timedelta(hours=1), 5, 5, "calm", []),
        (START, START + timedelta(hours=1), 101, 5, "calm", []),
        (START, START + timedelta(hours=1), 5, 1001, "calm", []),
        (START, START + timedelta(hours=1), 5, 5, "lugnt", []),
        (START, START + timedelta(hours=1), 5, 5, "calm", ["firemen"]),
    ):
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute(base, (walk["id"], *values))


# -- series ---------------------------------------------------------------------------------------


def series_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organisation": "Kulturföreningen Solan",
        "meeting_point": {"type": "Point", "coordinates": list(STATION)},
        "first_date": "2026-09-04",
        "last_date": "2026-12-19",
        "days": "fri-sat",
        "start_time": "21:00",
        "end_time": "01:00",
        "skip_dates": ["2026-10-30", "2026-10-31"],
    }
    body.update(overrides)
    return body


def test_a_season_at_once_and_again_without_duplicates(conn: psycopg.Connection) -> None:
    series = parse(SeriesIn, series_body())
    made, new = walk_schedule.create_series(conn, series, user_id=None)
    # 2026-09-04 … 2026-12-19: 16 Fridays and 16 Saturdays, less the two skipped.
    assert new == len(made) == 30
    starts = [datetime.fromisoformat(w["planned_start"]) for w in made]
    local = [s.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Stockholm")) for s in starts]
    assert {t.time() for t in local} == {time(21, 0)}
    assert {t.weekday() for t in local} == {4, 5}
    assert date(2026, 10, 30) not in {t.date() for t in local}
    # Summer time until 25 October, then winter time: the UTC hour moves, the local one not.
    assert starts[0].astimezone(UTC).hour == 19 and starts[-1].astimezone(UTC).hour == 20
    again, new = walk_schedule.create_series(conn, series, user_id=None)
    assert new == 0 and [w["id"] for w in again] == [w["id"] for w in made]
    assert count(conn, "walks") == 30


def test_a_changed_series_stores_nothing(conn: psycopg.Connection) -> None:
    body = series_body(last_date="2026-09-30")
    walk_schedule.create_series(conn, parse(SeriesIn, body), user_id=None)
    before = count(conn, "walks")
    changed = parse(SeriesIn, {**body, "last_date": "2026-10-31", "start_time": "20:00"})
    with pytest.raises(Conflict):
        walk_schedule.create_series(conn, changed, user_id=None)
    assert count(conn, "walks") == before


# -- list, get, patch, cancel ---------------------------------------------------------------------


def test_list_filters_and_counts_only(conn: psycopg.Connection) -> None:
    walk_schedule.create_series(
        conn, parse(SeriesIn, series_body(last_date="2026-09-30")), user_id=None
    )
    create(conn)
    every = walks.list_walks(conn)
    assert every["numberMatched"] == 9
    solan = walks.list_walks(conn, organisation="Kulturföreningen Solan")
    assert solan["numberMatched"] == 8
    assert {w["organisation"]["name"] for w in solan["walks"]} == {"Kulturföreningen Solan"}
    # Dates are local days, until inclusive: 4 September has two walks (one of each club).
    day = walks.list_walks(conn, since=date(2026, 9, 4), until=date(2026, 9, 4))
    assert day["numberMatched"] == 2
    times = walks.list_walks(
        conn,
        since=datetime(2026, 9, 5, 0, 0, tzinfo=UTC),
        until=datetime(2026, 9, 6, 0, 0, tzinfo=UTC),
    )
    assert times["numberMatched"] == 1
    counts = walks.list_walks(conn, area="solberga", counts_only=True)
    assert counts == {
        "numberMatched": 9,
        "by_status": {
            "planned": 9,
            "ongoing": 0,
            "reported": 0,
            "approved": 0,
            "rejected": 0,
            "cancelled": 0,
        },
    }
    assert "walks" not in counts
    with pytest.raises(InvalidInput) as info:
        walks.list_walks(conn, status="completed")
    assert info.value.field == "status"
    with pytest.raises(InvalidInput) as info:
        walks.list_walks(conn, organisation="Ingen")
    assert info.value.field == "organisation"
    with pytest.raises(InvalidInput) as info:
        walks.list_walks(conn, since=datetime(2026, 9, 5))
    assert info.value.field == "since"


def test_patch_checks_the_version(conn: psycopg.Connection) -> None:
    walk = create(conn)
    wid = uuid.UUID(walk["id"])
    later = (START + timedelta(hours=1)).isoformat()
    patched = walk_schedule.patch_walk(
        conn, wid, parse(WalkPatch, {"version": 1, "planned_start": later}), user_id=None
    )
    assert patched["version"] == 2
    assert datetime.fromisoformat(patched["planned_start"]) == START + timedelta(hours=1)
    with pytest.raises(Conflict, match="version 2"):
        walk_schedule.patch_walk(
            conn, wid, parse(WalkPatch, {"version": 1, "notes": "x"}), user_id=None
        )
    with pytest.raises(InvalidInput) as info:
        walk_schedule.patch_walk(
            conn,
            wid,
            parse(WalkPatch, {"version": 2, "planned_end": START.isoformat()}),
            user_id=None,
        )
    assert info.value.field == "planned_end"
    with pytest.raises(NotFound):
        walk_schedule.patch_walk(
            conn, uuid.uuid4(), parse(WalkPatch, {"version": 1, "notes": "x"}), user_id=None
        )


def test_cancel_with_a_reason_then_no_report(
    conn: psycopg.Connection, people: dict[str, Actor]
) -> None:
    walk = create(conn)
    wid = uuid.UUID(walk["id"])
    with pytest.raises(InvalidInput) as info:
        walk_schedule.cancel_walk(conn, wid, "  ", user_id=None)
    assert info.value.field == "cancel_reason"
    cancelled = walk_schedule.cancel_walk(conn, wid, "Åskväder", user_id=people["planner"].user_id)
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "Åskväder"
    with pytest.raises(Conflict, match="cancelled"):
        walk_reports.create_report(
            conn, wid, report_in(), people["walker"], now=START + timedelta(hours=5)
        )
    assert count(conn, "walk_reports") == 0
    with pytest.raises(Conflict):
        walk_schedule.cancel_walk(conn, wid, "igen", user_id=None)


# -- walkers --------------------------------------------------------------------------------------


def test_sign_up_for_own_club_until_the_end(
    conn: psycopg.Connection, people: dict[str, Actor]
) -> None:
    wid = uuid.UUID(create(conn)["id"])
    walk, new = walks.sign_up(conn, wid, people["walker"], now=NOW)
    assert new and walk["signed_up"] == 1
    assert walk["signups"] == [{"user_id": people["walker"].user_id, "display_name": "Walker"}]
    _, new = walks.sign_up(conn, wid, people["walker"], now=NOW)
    assert not new
    with pytest.raises(Forbidden, match="club"):
        walks.sign_up(conn, wid, people["solan"], now=NOW)
    with pytest.raises(Conflict, match="ended"):
        walks.sign_up(conn, wid, people["walker2"], now=START + timedelta(hours=4))
    assert count(conn, "walk_signups") == 1
    # Names are for the club and planners only.
    assert "signups" not in walks.get_walk(conn, wid, names_for=people["solan"].organisation_id)
    assert "signups" in walks.get_walk(conn, wid, all_names=True)
    walk = walks.withdraw(conn, wid, people["walker"], now=NOW)
    assert walk["signed_up"] == 0


def test_guests_by_the_leader_or_a_planner(
    conn: psycopg.Connection, people: dict[str, Actor]
) -> None:
    wid = uuid.UUID(create(conn, leader_id=people["walker"].user_id)["id"])
    assert walks.set_guests(conn, wid, 3, people["walker"], planner=False)["guests"] == 3
    with pytest.raises(Forbidden):
        walks.set_guests(conn, wid, 4, people["walker2"], planner=False)
    assert walks.set_guests(conn, wid, 2, people["planner"], planner=True)["guests"] == 2
    with pytest.raises(InvalidInput) as info:
        walks.set_guests(conn, wid, 101, people["planner"], planner=True)
    assert info.value.field == "guests"


def test_short_of_walkers_and_unreported(
    conn: psycopg.Connection, people: dict[str, Actor]
) -> None:
    soon = create(conn)
    full = create(conn, walkers_needed=1)
    walks.sign_up(conn, uuid.UUID(full["id"]), people["walker"], now=NOW)
    create(conn, planned_start="2026-09-20T21:00+02:00", planned_end="2026-09-21T01:00+02:00")
    short = walk_views.short_of_walkers(conn, now=NOW)
    assert [w["id"] for w in short] == [soon["id"]]
    assert walk_views.unreported(conn, now=START + timedelta(days=1)) == []
    late = walk_views.unreported(conn, now=START + timedelta(days=2, hours=5))
    assert {w["id"] for w in late} == {soon["id"], full["id"]}


def test_my_walk_tonight(conn: psycopg.Connection, people: dict[str, Actor]) -> None:
    route = conn.execute(
        "INSERT INTO walk_routes (name, geom) VALUES ('Stationsrundan', "
        "ST_GeomFromText('LINESTRING(18.0104 59.2786, 18.0050 59.2800)', 4326)) RETURNING id"
    ).fetchone()
    assert route is not None
    walk = create(conn, route_id=route[0], leader_id=people["walker2"].user_id)
    wid = uuid.UUID(walk["id"])
    assert walk_views.my_walk_tonight(conn, people["walker"], now=NOW) is None
    walks.sign_up(conn, wid, people["walker"], now=NOW)
    walk_views.set_area_contacts(conn, "solberga", field_worker="08-508 250 00")
    tonight = walk_views.my_walk_tonight(conn, people["walker"], now=NOW)
    assert tonight is not None and tonight["id"] == walk["id"]
    assert tonight["route"]["name"] == "Stationsrundan"
    assert tonight["route_geometry"]["type"] == "LineString"
    assert tonight["leader"]["display_name"] == "Walker2"
    assert tonight["signups"] == [{"user_id": people["walker"].user_id, "display_name": "Walker"}]
    assert tonight["contacts"] == {
        "field_worker": "08-508 250 00",
        "police": "114 14",
        "emergency": "112",
    }
    # The leader has it too; a walk more than 12 h away is not tonight's.
    assert walk_views.my_walk_tonight(conn, people["walker2"], now=NOW) is not None
    assert (
        walk_views.my_walk_tonight(conn, people["walker"], now=START - timedelta(hours=13)) is None
    )


def test_area_contacts_are_checked(conn: psycopg.Connection) -> None:
    with pytest.raises(InvalidInput) as info:
        walk_views.set_area_contacts(conn, "solberga", police="ring polisen")
    assert info.value.field == "police"
    with pytest.raises(NotFound):
        walk_views.set_area_contacts(conn, "ingenstans", police="114 14")
    numbers = walk_views.set_area_contacts(
        conn, "solberga", emergency="112", field_worker="+46 8 1"
    )
    assert numbers == {"field_worker": "+46 8 1", "police": "114 14", "emergency": "112"}


# -- the walk, its track and its report -----------------------------------------------------------


def report_in(**overrides: Any) -> ReportIn:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "started_at": START.isoformat(),
        "ended_at": (START + timedelta(hours=4)).isoformat(),
        "walkers_present": 5,
        "youths_met": 40,
        "mood": "mixed",
        "contacts": ["police", "field_workers"],
        "summary": "Lugnt vid stationen, en grupp vid skolan.",
    }
    body.update(overrides)
    return parse(ReportIn, body)


def test_start_track_end_and_report(conn: psycopg.Connection, people: dict[str, Actor]) -> None:
    wid = uuid.UUID(create(conn)["id"])
    with pytest.raises(Conflict, match="hour before"):
        walks.start_walk(conn, wid, people["walker"], now=NOW)
    with pytest.raises(Forbidden):
        walks.start_walk(conn, wid, people["solan"], now=START)
    started = walks.start_walk(conn, wid, people["walker"], now=START)
    assert started["status"] == "ongoing"
    assert walks.start_walk(conn, wid, people["walker"], now=START)["version"] == started["version"]

    points = [
        TrackPoint(
            recorded_at=START + timedelta(minutes=i), lon=STATION[0] + 0.0008 * i, lat=STATION[1]
        )
        for i in range(10)
    ]
    bad = [
        TrackPoint(recorded_at=START - timedelta(hours=2), lon=STATION[0], lat=STATION[1]),
        TrackPoint(recorded_at=START + timedelta(minutes=10, seconds=30), lon=18.05, lat=59.3),
        TrackPoint(
            recorded_at=START + timedelta(minutes=11),
            lon=STATION[0],
            lat=STATION[1],
            accuracy_m=80,
        ),
    ]
    ctx = walk_tracks.track_context(conn, wid, people["walker"])
    cleaned = clean_track(
        [*points, *bad],
        window_start=ctx.window_start,
        window_end=ctx.window_end,
        stored=ctx.stored,
        epsg=ctx.epsg,
    )
    assert (cleaned.outside_time, cleaned.too_fast, cleaned.inaccurate) == (1, 1, 1)
    assert walk_tracks.store_track(conn, wid, cleaned.kept, build_track(cleaned.kept)) == 10
    # The same batch again (a retry): nothing new.
    ctx = walk_tracks.track_context(conn, wid, people["walker"])
    again = clean_track(
        points,
        window_start=ctx.window_start,
        window_end=ctx.window_end,
        stored=ctx.stored,
        epsg=ctx.epsg,
    )
    assert again.duplicates == 10
    assert walk_tracks.store_track(conn, wid, again.kept, build_track(again.kept)) == 0
    feature = walk_tracks.track_feature(conn, wid)
    assert feature["geometry"]["type"] == "MultiLineString"
    assert feature["properties"]["points"] == 10
    assert 350 < feature["properties"]["length_m"] < 450

    ended = walks.end_walk(conn, wid, people["walker"], now=START + timedelta(hours=4))
    assert ended["ended_at"] is not None
    report, new = walk_reports.create_report(
        conn, wid, report_in(walkers_present=4), people["walker"], now=START + timedelta(hours=5)
    )
    assert new and report["short_of_walkers"] is True
    assert report["contacts"] == ["field_workers", "police"]
    walk = walks.get_walk(conn, wid)
    assert walk["status"] == "reported" and walk["walkers"] == 4
    tracks = walk_tracks.walked_tracks(
        conn, area="solberga", since=START - timedelta(days=1), until=START + timedelta(days=1)
    )
    assert len(tracks["features"]) == 1 and tracks["features"][0]["properties"]["walkers"] == 4


def test_report_idempotent_second_is_a_conflict_correct_by_the_reporter(
    conn: psycopg.Connection, people: dict[str, Actor]
) -> None:
    wid = uuid.UUID(create(conn)["id"])
    after = START + timedelta(hours=5)
    with pytest.raises(Forbidden):
        walk_reports.create_report(conn, wid, report_in(), people["solan"], now=after)
    with pytest.raises(InvalidInput) as info:
        walk_reports.create_report(conn, wid, report_in(), people["walker"], now=NOW)
    assert info.value.field == "ended_at"
    assert count(conn, "walk_reports") == 0
    # Not started in the app: the report's times count.
    body = report_in()
    walk_reports.create_report(conn, wid, body, people["walker"], now=after)
    stored, new = walk_reports.create_report(conn, wid, body, people["walker"], now=after)
    assert not new and stored["id"] == str(body.id)
    with pytest.raises(Conflict, match="has a report already"):
        walk_reports.create_report(conn, wid, report_in(), people["walker2"], now=after)
    assert count(conn, "walk_reports") == 1
    walk = walks.get_walk(conn, wid)
    assert datetime.fromisoformat(walk["started_at"]) == START
    fixed = report_in(id=str(body.id), youths_met=12)
    with pytest.raises(Forbidden):
        walk_reports.correct_report(conn, wid, fixed, people["walker2"], now=after, version=1)
    corrected = walk_reports.correct_report(
        conn, wid, fixed, people["walker"], now=after, version=1
    )
    assert corrected["youths_met"] == 12 and corrected["version"] == 2
    conn.execute(
        "UPDATE walks SET status = 'approved', approved_at = now(), approval_no = 1 WHERE id = %s",
        (wid,),
    )
    with pytest.raises(Conflict, match="approved"):
        walk_reports.correct_report(conn, wid, fixed, people["walker"], now=after, version=2)


def test_patch_meeting_place_route_and_leader(
    conn: psycopg.Connection, people: dict[str, Actor]
) -> None:
    route = conn.execute(
        "INSERT INTO walk_routes (name, geom) VALUES ('Runda', "
        "ST_GeomFromText('LINESTRING(18.0104 59.2786, 18.0050 59.2800)', 4326)) RETURNING id"
    ).fetchone()
    place = conn.execute("SELECT id FROM places WHERE name = 'Spadvägen' LIMIT 1").fetchone()
    assert route is not None and place is not None
    walk = create(conn, route_id=route[0], leader_id=people["walker"].user_id)
    wid = uuid.UUID(walk["id"])
    patched = walk_schedule.patch_walk(
        conn,
        wid,
        parse(
            WalkPatch,
            {"version": 1, "meeting_place": place[0], "route_id": None, "leader_id": None},
        ),
        user_id=None,
    )
    assert patched["meeting_place"]["name"] == "Spadvägen"
    assert patched["route"] is None and patched["leader"] is None
    # Spadvägen lies in Långbro, within 2 km of Solberga: the walk stays Solberga's.
    assert patched["area"] == "solberga"
    with pytest.raises(InvalidInput) as info:
        walk_schedule.patch_walk(
            conn,
            wid,
            parse(WalkPatch, {"version": 2, "leader_id": people["solan"].user_id}),
            user_id=None,
        )
    assert info.value.field == "leader_id"
    cancelled = walk_schedule.patch_walk(
        conn, wid, parse(WalkPatch, {"version": 2, "cancel_reason": "Snöstorm"}), user_id=None
    )
    assert cancelled["status"] == "cancelled" and cancelled["version"] == 3
    audit = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'walk.cancel' AND subject = %s",
        (str(wid),),
    ).fetchone()
    assert audit == (1,)


def test_a_walkers_sign_up_list(conn: psycopg.Connection, people: dict[str, Actor]) -> None:
    mine = create(conn)
    other = create(
        conn,
        leader_id=people["walker"].user_id,
        planned_start="2026-09-05T21:00+02:00",
        planned_end="2026-09-06T01:00+02:00",
    )
    create(conn, organisation="Kulturföreningen Solan")
    walks.sign_up(conn, uuid.UUID(mine["id"]), people["walker"], now=NOW)
    listed = walk_views.club_walks(conn, people["walker"], now=NOW)
    assert [(w["id"], w["signed_up_by_me"], w["leading"]) for w in listed] == [
        (mine["id"], True, False),
        (other["id"], False, True),
    ]
    assert [
        w["id"]
        for w in walk_views.club_walks(conn, people["walker"], now=START + timedelta(hours=5))
    ] == [other["id"]]


def test_an_uploaded_track_replaces_the_recorded_one(
    conn: psycopg.Connection, people: dict[str, Actor]
) -> None:
    wid = uuid.UUID(create(conn)["id"])
    ctx = walk_tracks.track_context(conn, wid, people["walker"])
    recorded = [
        TrackPoint(recorded_at=START, lon=STATION[0], lat=STATION[1]),
        TrackPoint(
            recorded_at=START + timedelta(minutes=1), lon=STATION[0] + 0.001, lat=STATION[1]
        ),
    ]
    walk_tracks.store_track(conn, wid, recorded, build_track(recorded))
    trkpts = "".join(
        f'<trkpt lat="{STATION[1]}" lon="{STATION[0] + 0.0005 * i}">'
        f"<time>{(START + timedelta(minutes=2 * i)).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        for i in range(5)
    ) + (f'<trkpt lat="{STATION[1]}" lon="{STATION[0]}"><time>2026-09-05T08:00:00Z</time></trkpt>')
    gpx = (
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{trkpts}</trkseg></trk></gpx>"
    )
    cleaned = clean_track(
        read_track_upload(gpx.encode()),
        window_start=ctx.window_start,
        window_end=ctx.window_end,
        epsg=ctx.epsg,
    )
    assert cleaned.outside_time == 1 and len(cleaned.kept) == 5
    assert (
        walk_tracks.store_track(conn, wid, cleaned.kept, build_track(cleaned.kept), replace=True)
        == 5
    )
    assert walk_tracks.track_feature(conn, wid)["properties"]["points"] == 5
    # A planner may upload too; a cancelled walk takes no track.
    walk_schedule.cancel_walk(conn, wid, "Inställd", user_id=None)
    with pytest.raises(Conflict, match="cancelled"):
        walk_tracks.track_context(conn, wid, people["planner"], planner=True)
