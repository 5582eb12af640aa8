"""The demo's synthetic club season: walks around the load date, reported with tracks along the
imported streets, the demo walker's walk tonight; idempotent, and regenerated on refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
import shapely

from geo.db import walk_tracks, walk_views
from geo.db.accounts import add_demo_users
from geo.db.demo_season import load_demo_season
from geo.db.walks import Actor
from geo.synthetic import SYNTHETIC_PREFIX
from routes.network_io import import_osm
from routes.tracks import plan_vs_walked
from tests.conftest import DATA_DIR

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# A Tuesday afternoon: the walk tonight is on a weekday.
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.fixture()
def season(conn: psycopg.Connection) -> dict[str, int]:
    import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")
    add_demo_users(conn)
    return load_demo_season(conn, DATA_DIR, now=NOW).changed


def demo_walker(conn: psycopg.Connection) -> Actor:
    row = conn.execute(
        "SELECT id, organisation_id FROM users WHERE email = 'vandrare@demo.nattvandring.example'"
    ).fetchone()
    assert row is not None
    return Actor(int(row[0]), int(row[1]))


def test_the_season_friday_and_saturday_walks_of_both_clubs(
    conn: psycopg.Connection, season: dict[str, int]
) -> None:
    rows = conn.execute(
        "SELECT o.name, w.planned_start, w.status, w.synthetic, w.source, a.slug "
        "FROM walks w JOIN organisations o ON o.id = w.organisation_id "
        "JOIN areas a ON a.id = w.area_id ORDER BY w.planned_start"
    ).fetchall()
    assert season["walks"] == len(rows) > 20
    assert all(r[3] and r[4] == "demo" and r[5] == "solberga" for r in rows)
    days = {(r[0], r[1].astimezone(STOCKHOLM).weekday()) for r in rows}
    assert ("Älvsjö AIK", 4) in days and ("Kulturföreningen Solan", 5) in days
    # Plus tonight's walk of Älvsjö AIK on this Tuesday.
    assert {d for org, d in days if org == "Kulturföreningen Solan"} == {5}
    assert {d for org, d in days if org == "Älvsjö AIK"} == {4, 1}
    statuses = {r[2] for r in rows if r[1] < NOW - timedelta(days=1)}
    assert statuses == {"reported", "planned", "cancelled"}
    assert {r[2] for r in rows if r[1] > NOW} == {"planned"}


def test_past_walks_are_reported_synthetically_with_tracks_on_real_streets(
    conn: psycopg.Connection, season: dict[str, int]
) -> None:
    reports = conn.execute(
        "SELECT r.synthetic, r.summary, w.walkers = r.walkers_present, w.track IS NOT NULL "
        "FROM walk_reports r JOIN walks w ON w.id = r.walk_id"
    ).fetchall()
    assert len(reports) == season["walk_reports"] > 10
    assert all(r[0] and r[1].startswith(SYNTHETIC_PREFIX) and r[2] and r[3] for r in reports)
    # Every track point lies within 25 m of an imported street.
    off = conn.execute(
        """
        SELECT count(*) FROM walk_track_points p
        WHERE NOT EXISTS (SELECT 1 FROM street_edges e
                          WHERE ST_DWithin(e.geom::geography, p.geom::geography, 25))
        """
    ).fetchone()
    assert off == (0,)
    tracks = walk_tracks.walked_tracks(
        conn, area="solberga", since=NOW - timedelta(weeks=9), until=NOW
    )
    assert len(tracks["features"]) == season["walk_reports"]
    # Meeting export's layer: the walkers of each walk and the route's name.
    props = tracks["features"][0]["properties"]
    assert props["walkers"] >= 3 and props["route"].endswith("(syntetisk)")
    # The planners' flag: one walk of the past was not reported.
    assert len(walk_views.unreported(conn, now=NOW)) == 1


def test_the_demo_walker_has_a_walk_tonight(
    conn: psycopg.Connection, season: dict[str, int]
) -> None:
    tonight = walk_views.my_walk_tonight(conn, demo_walker(conn), now=NOW)
    assert tonight is not None
    start = datetime.fromisoformat(tonight["planned_start"]).astimezone(STOCKHOLM)
    assert start.date() == NOW.date() and start.hour == 21
    assert tonight["leader"]["display_name"] == "Demovandrare"
    assert tonight["signups"][0]["display_name"] == "Demovandrare"
    assert tonight["meeting_place"]["name"] == "Spadvägen"
    assert tonight["route_geometry"]["type"] == "LineString"
    assert tonight["contacts"]["police"] == "114 14"


def test_a_second_load_changes_nothing_and_refresh_regenerates(
    conn: psycopg.Connection, season: dict[str, int]
) -> None:
    before = conn.execute("SELECT array_agg(xmin::text ORDER BY id) FROM walks").fetchone()
    assert load_demo_season(conn, DATA_DIR, now=NOW + timedelta(days=3)).changed == {}
    assert conn.execute("SELECT array_agg(xmin::text ORDER BY id) FROM walks").fetchone() == before
    later = NOW + timedelta(days=10)
    refreshed = load_demo_season(conn, DATA_DIR, now=later, refresh=True).changed
    assert refreshed["walks_removed"] == season["walks"]
    assert walk_views.my_walk_tonight(conn, demo_walker(conn), now=later) is not None


def test_loaded_in_the_small_hours_the_walk_is_soon(conn: psycopg.Connection) -> None:
    import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")
    add_demo_users(conn)
    early = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # 04:30 in Stockholm
    load_demo_season(conn, DATA_DIR, now=early)
    tonight = walk_views.my_walk_tonight(conn, demo_walker(conn), now=early)
    assert tonight is not None
    assert datetime.fromisoformat(tonight["planned_start"]) - early <= timedelta(hours=1)


def test_plan_vs_walked_of_a_demo_walk(conn: psycopg.Connection, season: dict[str, int]) -> None:
    row = conn.execute(
        "SELECT id FROM walks WHERE status = 'reported' ORDER BY planned_start LIMIT 1"
    ).fetchone()
    assert row is not None
    inputs = walk_tracks.plan_inputs(conn, row[0])
    assert inputs["epsg"] == 3006 and inputs["stops"] == []
    result = plan_vs_walked(
        shapely.from_wkb(inputs["track_wkb"]),
        route=shapely.from_wkb(inputs["route_wkb"]),
        stops=inputs["stops"],
        epsg=inputs["epsg"],
    )
    assert 2400 < result.walked_m < 5600
    assert result.planned_m is not None and 2900 < result.planned_m < 3600
    # Both walks start at the meeting point along the same streets: some of the plan is walked.
    assert result.planned_share_walked is not None and 0 < result.planned_share_walked <= 1


def test_refresh_removes_the_demo_walks_ledger_rows_and_nothing_else(
    conn: psycopg.Connection, season: dict[str, int]
) -> None:
    from geo.db import approvals

    # An agreement that covers the season (the demo's own agreements ended in 2025).
    conn.execute(
        "INSERT INTO agreements (name, kind, starts_on, ends_on, rate_sek) "
        "VALUES ('Testavtal säsongen', 'agreement', %s, %s, 1700)",
        ((NOW - timedelta(days=90)).date(), (NOW + timedelta(days=90)).date()),
    )
    conn.execute(
        "INSERT INTO agreement_parties (agreement_id, organisation_id) "
        "SELECT a.id, o.id FROM agreements a, organisations o "
        "WHERE a.name = 'Testavtal säsongen' AND o.name = 'Älvsjö AIK'"
    )
    planner = conn.execute(
        "SELECT id, organisation_id FROM users WHERE email = 'planerare@demo.nattvandring.example'"
    ).fetchone()
    assert planner is not None
    walk = conn.execute(
        "SELECT w.id FROM walks w JOIN organisations o ON o.id = w.organisation_id "
        "WHERE w.source = 'demo' AND w.status = 'reported' AND o.name = 'Älvsjö AIK' LIMIT 1"
    ).fetchone()
    assert walk is not None
    _, approval = approvals.approve(conn, walk[0], Actor(int(planner[0]), int(planner[1])))
    assert approval["status"] == "paid" and approval["amount_sek"] == 1700
    count = "SELECT count(*) FROM ledger_entries WHERE walk_id = %s"
    assert conn.execute(count, (walk[0],)).fetchone() == (1,)
    # Outside the demo's reset the row cannot be removed.
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation), conn.transaction():
        conn.execute("DELETE FROM ledger_entries WHERE walk_id = %s", (walk[0],))
    load_demo_season(conn, DATA_DIR, now=NOW + timedelta(days=10), refresh=True)
    assert conn.execute(count, (walk[0],)).fetchone() == (0,)
    # The season is made again (walks keyed by club and day): nothing of it is approved.
    assert conn.execute("SELECT count(*) FROM walks WHERE status = 'approved'").fetchone() == (0,)
    # The reset was for that transaction only.
    assert conn.execute("SELECT current_setting('nattvandring.demo_reset', true)").fetchone() in (
        ("",),
        (None,),
        ("off",),
    )
