"""The demo's club season of Solberga: SYNTHETIC walks around the load date.

Friday walks of Älvsjö AIK and Saturday walks of Kulturföreningen Solan (``walk_season`` in
``data/demo_solberga.json``), meeting at a real bus stop in the street extract's part of
Solberga. The walks that have ended are reported back with generated reports and tracks along
real streets of the imported network; the demo walker leads, and is signed up for, a walk
tonight (relative to the load time, even on a weekday). Every walk, report and track is marked
synthetic.

It runs after the demo users exist and the street network is imported (``demo load`` does it in
that order). A second load changes nothing; ``refresh`` replaces the season with one around now.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import shapely
from shapely import LineString

from geo.db import walk_schedule, walk_views
from geo.db.demo import DEMO_FILE, LoadReport
from geo.geometry import SWEREF99TM, to_metric, to_wgs84
from geo.inputs.walks import WalkIn
from geo.synthetic import SYNTHETIC_NAMESPACE, SYNTHETIC_PREFIX

logger = logging.getLogger(__name__)

REPORT_SUMMARY = f"{SYNTHETIC_PREFIX} demorapport (genererad, inte en verklig återrapport)"
CANCEL_REASON = f"{SYNTHETIC_PREFIX}: inställd, för få anmälda"
MOODS = ("calm", "mixed", "unsettled")
MOOD_WEIGHTS = (0.6, 0.3, 0.1)
CONTACTS = ("field_workers", "police", "ambulance", "parents", "school")
CONTACT_CHANCE = (0.5, 0.25, 0.03, 0.2, 0.1)
TRACK_STEP = timedelta(minutes=1)


@dataclass(frozen=True)
class _Graph:
    """Street edges around the meeting point: node → [(neighbour, coords from node)]."""

    adjacent: dict[int, list[tuple[int, np.ndarray]]]
    start: int


def _graph(conn: psycopg.Connection, lon: float, lat: float) -> _Graph | None:
    rows = conn.execute(
        """
        SELECT e.source, e.target, ST_AsBinary(e.geom) FROM street_edges e
        WHERE e.geom && ST_Expand(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 0.03)
        ORDER BY e.osm_way_id, e.seq
        """,
        (lon, lat),
    ).fetchall()
    if not rows:
        return None
    adjacent: dict[int, list[tuple[int, np.ndarray]]] = {}
    for source, target, wkb in rows:
        coords = shapely.get_coordinates(shapely.from_wkb(bytes(wkb)))
        adjacent.setdefault(int(source), []).append((int(target), coords))
        adjacent.setdefault(int(target), []).append((int(source), coords[::-1]))
    start = conn.execute(
        """
        SELECT n.id FROM street_nodes n
        WHERE n.id = ANY(%s)
        ORDER BY n.geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1
        """,
        (list(adjacent), lon, lat),
    ).fetchone()
    assert start is not None
    return _Graph(adjacent, int(start[0]))


def _street_walk(graph: _Graph, rng: np.random.Generator, length_m: float) -> LineString:
    """A walk along the streets from the start node, not turning back unless at a dead end."""
    node, previous = graph.start, -1
    coords: list[np.ndarray] = []
    walked = 0.0
    while walked < length_m:
        options = [o for o in graph.adjacent[node] if o[0] != previous] or graph.adjacent[node]
        nxt, piece = options[int(rng.integers(len(options)))]
        coords.append(piece if not coords else piece[1:])
        # Metres in SWEREF 99 TM; 1e-9 keeps a zero-length piece from looping for ever.
        walked += max(float(to_metric(LineString(piece), SWEREF99TM).length), 1e-9)
        previous, node = node, nxt
    return LineString(np.vstack(coords))


def _timed_points(
    line: LineString, start: datetime, end: datetime, rng: np.random.Generator
) -> list[tuple[datetime, float, float, float]]:
    """Positions along ``line`` once a minute from ``start`` to ``end`` at an even pace."""
    metric = to_metric(line, SWEREF99TM)
    steps = int((end - start) / TRACK_STEP)
    out = []
    for i in range(steps + 1):
        p = to_wgs84(metric.interpolate(metric.length * i / steps), SWEREF99TM)
        out.append((start + i * TRACK_STEP, p.x, p.y, float(rng.uniform(4, 20))))
    return out


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, zone)


def _season_dates(
    spec: dict[str, Any], now: datetime, zone: ZoneInfo
) -> list[tuple[str, date, bool]]:
    """(organisation, local date, tonight?) of every walk of the season, in date order."""
    today = now.astimezone(zone).date()
    first = today - timedelta(weeks=spec["weeks_back"])
    last = today + timedelta(weeks=spec["weeks_ahead"])
    out = []
    for club in spec["clubs"]:
        day = first
        while day <= last:
            if day.weekday() == club["weekday"] and not (
                day == today and club["organisation"] == spec["tonight_organisation"]
            ):
                out.append((club["organisation"], day, False))
            day += timedelta(days=1)
    out.append((spec["tonight_organisation"], today, True))
    return sorted(out, key=lambda item: (item[1], item[0]))


def load_demo_season(
    conn: psycopg.Connection,
    data_dir: Path,
    *,
    now: datetime | None = None,
    refresh: bool = False,
) -> LoadReport:
    """Load the synthetic walk season (once; ``refresh`` replaces it with one around now)."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    with (data_dir / DEMO_FILE).open(encoding="utf-8") as fh:
        spec = json.load(fh)["walk_season"]
    report = LoadReport()
    with conn.transaction():
        if refresh:
            # The ledger is append-only; the demo's own synthetic rows are the one exception
            # (the trigger of schema 0009 lets them go while this transaction says so).
            conn.execute("SELECT set_config('nattvandring.demo_reset', 'on', true)")
            conn.execute(
                "DELETE FROM ledger_entries l USING walks w WHERE w.id = l.walk_id "
                "AND w.source = 'demo' AND w.synthetic AND l.synthetic"
            )
            conn.execute("SELECT set_config('nattvandring.demo_reset', 'off', true)")
            cur = conn.execute("DELETE FROM walks WHERE source = 'demo' AND synthetic")
            report.add("walks_removed", cur.rowcount)
            conn.execute(
                "DELETE FROM walk_routes WHERE client_id = %s", (spec["route"]["client_id"],)
            )
        elif conn.execute("SELECT 1 FROM walks WHERE source = 'demo' LIMIT 1").fetchone():
            return report
        _load(conn, spec, now=now, report=report)
    return report


def _load(
    conn: psycopg.Connection, spec: dict[str, Any], *, now: datetime, report: LoadReport
) -> None:
    rng = np.random.default_rng(spec["seed"])
    place = conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom) FROM places WHERE name = %s ORDER BY id LIMIT 1",
        (spec["meeting_place"],),
    ).fetchone()
    if place is None:
        logger.warning("no place %r: load the demo places first", spec["meeting_place"])
        return
    place_id, lon, lat = int(place[0]), float(place[1]), float(place[2])
    zone_row = conn.execute(
        "SELECT time_zone FROM areas WHERE slug = %s", (spec["area"],)
    ).fetchone()
    assert zone_row is not None
    zone = ZoneInfo(str(zone_row[0]))
    walker = conn.execute(
        "UPDATE users SET display_name = coalesce(display_name, %s) "
        "WHERE lower(email) = %s RETURNING id, organisation_id",
        (spec["walker_display_name"], spec["walker"]),
    ).fetchone()
    graph = _graph(conn, lon, lat)
    if graph is None:
        logger.warning("no street network near %s: the demo walks get no tracks", place[0])
    route_id = None
    if graph is not None:
        route = _street_walk(graph, rng, spec["route"]["length_m"])
        row = conn.execute(
            """
            INSERT INTO walk_routes (area_id, name, notes, geom, client_id, source, length_m)
            SELECT a.id, %s, %s, g, %s, 'drawn', ST_Length(g::geography)
            FROM areas a, (SELECT ST_SetSRID(ST_GeomFromWKB(%s), 4326) AS g) x
            WHERE a.slug = %s
            RETURNING id
            """,
            (
                spec["route"]["name"],
                f"{SYNTHETIC_PREFIX} demorunda längs verkliga gator",
                spec["route"]["client_id"],
                shapely.to_wkb(route),
                spec["area"],
            ),
        ).fetchone()
        assert row is not None
        route_id = int(row[0])
        report.add("walk_routes", 1)
    start_t, end_t = time.fromisoformat(spec["start_time"]), time.fromisoformat(spec["end_time"])
    past = [d for d in _season_dates(spec, now, zone) if not d[2]]
    # One walk of the past left unreported (the planners' flag) and one cancelled.
    ended = [i for i, (_, day, _) in enumerate(past) if _local(day, end_t, zone) < now]
    unreported = ended[-3] if len(ended) >= 3 else None
    cancelled = ended[len(ended) // 2] if len(ended) >= 5 else None
    for organisation, day, tonight in _season_dates(spec, now, zone):
        start = _local(day, start_t, zone)
        end = _local(day + timedelta(days=1) if end_t <= start_t else day, end_t, zone)
        if tonight and start - now > walk_views.TONIGHT:
            # Loaded in the small hours: tonight's walk is in an hour, not at 21:00.
            start = now.replace(minute=0) + timedelta(hours=1)
            end = start + timedelta(hours=4)
        walk = WalkIn(
            id=uuid.uuid5(SYNTHETIC_NAMESPACE, f"walk:{organisation}:{day.isoformat()}"),
            organisation=organisation,
            area=spec["area"],
            meeting_place=place_id,
            planned_start=start,
            planned_end=end,
            route_id=route_id,
            leader_id=int(walker[0]) if tonight and walker else None,
            notes=f"{SYNTHETIC_PREFIX} demopass",
        )
        walk_schedule.create_walk(conn, walk, user_id=None, synthetic=True)
        report.add("walks", 1)
        guests = int(rng.integers(spec["guests"][0], spec["guests"][1] + 1))
        conn.execute("UPDATE walks SET guests = %s WHERE id = %s", (guests, walk.id))
        if tonight and walker:
            conn.execute(
                "INSERT INTO walk_signups (walk_id, user_id) VALUES (%s, %s)",
                (walk.id, walker[0]),
            )
            report.add("walk_signups", 1)
        past_index = next((k for k, d in enumerate(past) if d[:2] == (organisation, day)), None)
        if tonight or end >= now or past_index == unreported:
            continue
        if past_index == cancelled:
            conn.execute(
                "UPDATE walks SET status = 'cancelled', cancel_reason = %s WHERE id = %s",
                (CANCEL_REASON, walk.id),
            )
            continue
        _report(conn, walk, graph, rng, spec, reporter=walker, report=report)


def _report(
    conn: psycopg.Connection,
    walk: WalkIn,
    graph: _Graph | None,
    rng: np.random.Generator,
    spec: dict[str, Any],
    *,
    reporter: Any,
    report: LoadReport,
) -> None:
    started = walk.planned_start + timedelta(minutes=int(rng.integers(-5, 15)))
    ended = walk.planned_end + timedelta(minutes=int(rng.integers(-20, 10)))
    present = int(rng.integers(3, 8))
    mood = str(rng.choice(MOODS, p=MOOD_WEIGHTS))
    contacts = [c for c, p in zip(CONTACTS, CONTACT_CHANCE, strict=True) if rng.random() < p]
    own = reporter is not None and walk.organisation == spec["tonight_organisation"]
    conn.execute(
        """
        INSERT INTO walk_reports (id, walk_id, reporter_id, started_at, ended_at,
                                  walkers_present, youths_met, mood, contacts, summary, synthetic)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true)
        """,
        (
            uuid.uuid5(SYNTHETIC_NAMESPACE, f"walk-report:{walk.id}"),
            walk.id,
            int(reporter[0]) if own else None,
            started,
            ended,
            present,
            int(rng.integers(5, 60)),
            mood,
            contacts,
            REPORT_SUMMARY,
        ),
    )
    report.add("walk_reports", 1)
    track_wkb = None
    if graph is not None:
        low, high = spec["track_length_m"]
        line = _street_walk(graph, rng, float(rng.uniform(low, high)))
        points = _timed_points(line, started, ended, rng)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO walk_track_points (walk_id, recorded_at, accuracy_m, geom) "
                "VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                [(walk.id, t, acc, x, y) for t, x, y, acc in points],
            )
        report.add("walk_track_points", len(points))
        track_wkb = shapely.to_wkb(LineString([(x, y) for _, x, y, _ in points]))
    conn.execute(
        """
        UPDATE walks SET status = 'reported', started_at = %s, ended_at = %s, walkers = %s,
               track = CASE WHEN %s::bytea IS NULL THEN NULL
                            ELSE ST_Multi(ST_SetSRID(ST_GeomFromWKB(%s::bytea), 4326)) END
        WHERE id = %s
        """,
        (started, ended, present, track_wkb, track_wkb, walk.id),
    )
