"""A walk's track in PostGIS: the cleaning context (time window, metric CRS, the points kept so
far), storing cleaned points once, the track as a Feature, what plan vs walked needs, and the
walked tracks that maps and exports show. The cleaning itself is `routes.tracks`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from shapely import Geometry, to_wkb

from geo.db import areas
from geo.db.queries import feature_collection, feature_sql
from geo.db.walks import Actor, check_club, walk_row
from geo.errors import (
    NotFound,
    WalkCancelled,
)
from geo.inputs.walks import TrackPoint

# -- tracks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackContext:
    """What cleaning a walk's track needs: its time window, metric CRS and the kept points."""

    walk_id: uuid.UUID
    window_start: datetime
    window_end: datetime
    epsg: int
    stored: list[TrackPoint] = field(default_factory=list)


def track_context(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, planner: bool = False
) -> TrackContext:
    """The walk's time window (planned and walked times together), for a walker of its club or
    a planner; a cancelled walk takes no track.

    The walk's row is locked for the rest of the caller's transaction, so that two batches
    at once are cleaned one after the other. The API combines the three steps::

        ctx = track_context(conn, walk_id, actor)
        cleaned = routes.tracks.clean_track(batch.points, window_start=ctx.window_start,
                                            window_end=ctx.window_end, stored=ctx.stored,
                                            epsg=ctx.epsg)
        store_track(conn, walk_id, cleaned.kept, routes.tracks.build_track(cleaned.kept))

    (an uploaded file: `routes.tracks.read_track_upload`, no ``stored``, ``replace=True``).
    """
    stored = walk_row(conn, walk_id)
    if not planner:
        check_club(stored, actor, "record its track")
    if stored["status"] == "cancelled":
        raise WalkCancelled("the walk was cancelled: it has no track")
    end = stored["planned_end"] or stored["planned_start"] + timedelta(hours=4)
    times = [
        t
        for t in (stored["planned_start"], end, stored["started_at"], stored["ended_at"])
        if t is not None
    ]
    srid = conn.execute(
        "SELECT coalesce((SELECT metric_srid FROM areas WHERE id = %s), 3006)",
        (stored["area_id"],),
    ).fetchone()
    assert srid is not None
    points = [
        TrackPoint(recorded_at=r[0], lon=r[1], lat=r[2], accuracy_m=r[3])
        for r in conn.execute(
            "SELECT recorded_at, ST_X(geom), ST_Y(geom), accuracy_m FROM walk_track_points "
            "WHERE walk_id = %s ORDER BY recorded_at",
            (walk_id,),
        )
    ]
    return TrackContext(walk_id, min(times), max(times), int(srid[0]), points)


def store_track(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    points: Sequence[TrackPoint],
    track: Geometry | None,
    *,
    replace: bool = False,
) -> int:
    """Store cleaned points (a retried batch once) and the walk's track line built from all of
    them; ``replace`` drops the earlier points first (an uploaded track). Returns the number
    of points added."""
    with conn.transaction():
        walk_row(conn, walk_id)
        if replace:
            conn.execute("DELETE FROM walk_track_points WHERE walk_id = %s", (walk_id,))
        # One statement for the batch; a point at a time already stored is a retry.
        cur = conn.execute(
            """
            INSERT INTO walk_track_points (walk_id, recorded_at, accuracy_m, geom)
            SELECT %s, u.t, u.a, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326)
            FROM unnest(%s::timestamptz[], %s::float8[], %s::float8[], %s::float8[])
                 AS u(t, a, x, y)
            ON CONFLICT DO NOTHING
            """,
            (
                walk_id,
                [p.recorded_at for p in points],
                [p.accuracy_m for p in points],
                [p.lon for p in points],
                [p.lat for p in points],
            ),
        )
        added = max(cur.rowcount, 0)
        conn.execute(
            "UPDATE walks SET track = CASE WHEN %(wkb)s::bytea IS NULL THEN NULL ELSE "
            "ST_Multi(ST_SetSRID(ST_GeomFromWKB(%(wkb)s::bytea), 4326)) END, "
            "updated_at = now() WHERE id = %(id)s",
            {"wkb": to_wkb(track) if track is not None else None, "id": walk_id},
        )
    return added


def track_feature(conn: psycopg.Connection, walk_id: uuid.UUID) -> dict[str, Any]:
    """The walk's track as a GeoJSON Feature (MultiLineString, or null geometry when none)."""
    row = conn.execute(
        sql.SQL("SELECT {}::text FROM walks w WHERE w.id = %s").format(_WALK_TRACK), (walk_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    feature: dict[str, Any] = json.loads(row[0])
    return feature


_WALK_TRACK = feature_sql(
    id="w.id",
    geometry="w.track",
    properties={
        "walk_id": "w.id",
        "points": "(SELECT count(*) FROM walk_track_points t WHERE t.walk_id = w.id)",
        "length_m": "round(coalesce(ST_Length(w.track::geography), 0)::numeric, 1)",
    },
)


def plan_inputs(conn: psycopg.Connection, walk_id: uuid.UUID) -> dict[str, Any]:
    """What plan vs walked needs: the track and the planned route (WKB), the route plan's stops
    (name, lon, lat) and the area's metric CRS."""
    row = conn.execute(
        """
        SELECT ST_AsBinary(w.track), ST_AsBinary(r.geom), r.plan,
               coalesce(a.metric_srid, 3006)
        FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
        LEFT JOIN areas a ON a.id = w.area_id WHERE w.id = %s
        """,
        (walk_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    stops = []
    plan = row[2] or {}
    for s in plan.get("stops", []) if isinstance(plan, dict) else []:
        if isinstance(s, dict) and {"lon", "lat"} <= set(s):
            stops.append((str(s.get("name", "")), float(s["lon"]), float(s["lat"])))
    return {
        "track_wkb": bytes(row[0]) if row[0] else None,
        "route_wkb": bytes(row[1]) if row[1] else None,
        "stops": stops,
        "epsg": int(row[3]),
    }


# -- maps and exports -----------------------------------------------------------------------------


_TRACK_FEATURE = feature_sql(
    geometry="w.track",
    properties={
        # The walk's local date in the area's own time zone (``areas.time_zone``).
        "date": "(coalesce(w.started_at, w.planned_start) AT TIME ZONE a.time_zone)::date",
        "walkers": "w.walkers",
        "route": "r.name",
    },
)


def walked_tracks(
    conn: psycopg.Connection, *, area: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """Tracks of walks reported (or approved) in the period: date (local), number of walkers,
    route name."""
    area_id = areas.area_id(conn, area)
    query = sql.SQL(
        """
        SELECT w.planned_start AS sort_key, {feature} AS feature
        FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
             CROSS JOIN (SELECT time_zone FROM areas WHERE id = %s) a
        WHERE w.track IS NOT NULL AND w.status IN ('reported', 'approved')
          AND w.planned_start >= %s AND w.planned_start < %s
          AND (w.area_id = %s OR ST_Intersects(w.track, (SELECT geom FROM areas WHERE id = %s)))
        """
    ).format(feature=_TRACK_FEATURE)
    result: dict[str, Any] = json.loads(
        feature_collection(conn, query, [area_id, since, until, area_id, area_id])
    )
    return result
