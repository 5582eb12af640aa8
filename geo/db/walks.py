"""Walks (pass) in PostGIS: the walked tracks that maps and exports show."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg

from geo.db import areas


def walked_tracks(
    conn: psycopg.Connection, *, area: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """Tracks of completed walks in the period: date (local), number of walkers, route name."""
    area_id = areas.area_id(conn, area)
    row = conn.execute(
        """
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
            json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(w.track, 6)::json,
                              'properties', json_build_object(
                                  'date', (coalesce(w.started_at, w.planned_start)
                                           AT TIME ZONE a.time_zone)::date,
                                  'walkers', w.walkers, 'route', r.name))
            ORDER BY w.planned_start), '[]'::json))::text
        FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
             CROSS JOIN (SELECT time_zone FROM areas WHERE id = %s) a
        WHERE w.track IS NOT NULL AND w.status IN ('completed', 'approved')
          AND w.planned_start >= %s AND w.planned_start < %s
          AND (w.area_id = %s OR ST_Intersects(w.track, (SELECT geom FROM areas WHERE id = %s)))
        """,
        (area_id, since, until, area_id, area_id),
    ).fetchone()
    assert row is not None
    result: dict[str, Any] = json.loads(row[0])
    return result
