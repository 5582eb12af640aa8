"""Walks (pass) in PostGIS: the walked tracks that maps and exports show."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from geo.db import areas
from geo.db.queries import feature_collection, feature_sql

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
    """Tracks of completed walks in the period: date (local), number of walkers, route name."""
    area_id = areas.area_id(conn, area)
    query = sql.SQL(
        """
        SELECT w.planned_start AS sort_key, {feature} AS feature
        FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
             CROSS JOIN (SELECT time_zone FROM areas WHERE id = %s) a
        WHERE w.track IS NOT NULL AND w.status IN ('completed', 'approved')
          AND w.planned_start >= %s AND w.planned_start < %s
          AND (w.area_id = %s OR ST_Intersects(w.track, (SELECT geom FROM areas WHERE id = %s)))
        """
    ).format(feature=_TRACK_FEATURE)
    result: dict[str, Any] = json.loads(
        feature_collection(conn, query, [area_id, since, until, area_id, area_id])
    )
    return result
