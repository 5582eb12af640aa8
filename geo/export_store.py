"""What a meeting export reads from PostGIS, and the audit trail of exports.

Deviations leave the database here without reporter or organisation (the columns are never
selected), and descriptions only when the caller asks for them (the detail profile with
``include_descriptions``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
import shapely

from geo import store
from geo.privacy import Deviations


def deviations(
    conn: psycopg.Connection,
    *,
    area: str,
    since: datetime,
    until: datetime,
    with_descriptions: bool = False,
) -> Deviations:
    """The area's reports observed in ``[since, until)``, dismissed ones left out, as columns."""
    area_id = store.area_id(conn, area)
    description = "d.description" if with_descriptions else "NULL::text"
    # Packed float8 columns and one text per column (see `deviation_store.select_points`).
    row = conn.execute(
        f"""
        SELECT coalesce(string_agg(float8send(ST_X(d.geom)), ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(ST_Y(d.geom)), ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(extract(epoch FROM d.observed_at)::float8),
                                   ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(d.severity::float8), ''::bytea), ''::bytea),
               coalesce(json_agg(d.category), '[]'), coalesce(json_agg(d.id), '[]'),
               coalesce(json_agg({description}), '[]')
        FROM deviations d
        WHERE d.area_id = %s AND d.observed_at >= %s AND d.observed_at < %s
          AND d.status <> 'dismissed'
        """,  # noqa: S608 (a constant column choice; the values are parameters)
        (area_id, since, until),
    ).fetchone()
    assert row is not None
    floats = store.unpack_float8
    epoch = floats(row[2])
    return Deviations(
        lon=floats(row[0]),
        lat=floats(row[1]),
        category=np.array(row[4], dtype=object),
        observed_at=(epoch * 1e6).astype("datetime64[us]"),
        severity=floats(row[3]).astype(np.int64),
        description=np.array(row[6], dtype=object) if with_descriptions else None,
        id=np.array(row[5], dtype=object),
    )


def walked_tracks(
    conn: psycopg.Connection, *, area: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """Tracks of completed walks in the period: date (local), number of walkers, route name."""
    area_id = store.area_id(conn, area)
    row = conn.execute(
        """
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
            json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(w.track, 6)::json,
                              'properties', json_build_object(
                                  'date', (coalesce(w.started_at, w.planned_start)
                                           AT TIME ZONE 'Europe/Stockholm')::date,
                                  'walkers', w.walkers, 'route', r.name))
            ORDER BY w.planned_start), '[]'::json))::text
        FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
        WHERE w.track IS NOT NULL AND w.status IN ('completed', 'approved')
          AND w.planned_start >= %s AND w.planned_start < %s
          AND (w.area_id = %s OR ST_Intersects(w.track, (SELECT geom FROM areas WHERE id = %s)))
        """,
        (since, until, area_id, area_id),
    ).fetchone()
    assert row is not None
    result: dict[str, Any] = json.loads(row[0])
    return result


def street_lines(conn: psycopg.Connection, *, area: str, buffer_m: float = 300.0) -> list[Any]:
    """The imported streets within ``buffer_m`` of the area (for a map's base), lon/lat."""
    area_id = store.area_id(conn, area)
    rows = conn.execute(
        """
        SELECT ST_AsBinary(e.geom) FROM street_edges e, areas a
        WHERE a.id = %s AND e.geom && ST_Expand(a.geom, %s / 50000.0)
          AND ST_DWithin(e.geom::geography, a.geom::geography, %s)
        """,
        (area_id, buffer_m, buffer_m),
    ).fetchall()
    return list(shapely.from_wkb([bytes(r[0]) for r in rows])) if rows else []


def area_outline(conn: psycopg.Connection, area: str) -> tuple[str, Any]:
    """The area's name and outline (lon/lat)."""
    row = conn.execute(
        "SELECT name, ST_AsBinary(geom) FROM areas WHERE slug = %s", (area,)
    ).fetchone()
    if row is None:
        store.area_id(conn, area)  # raises NotFound with the usual message
    assert row is not None
    return str(row[0]), shapely.from_wkb(bytes(row[1]))


def write_audit(
    conn: psycopg.Connection, *, user_id: int, action: str, subject: str, details: dict[str, Any]
) -> int:
    """Append an audit row (who, when, what) and return its id."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO audit_log (user_id, action, subject, details) "
            "VALUES (%s, %s, %s, %s::jsonb) RETURNING id",
            (user_id, action, subject, json.dumps(details, ensure_ascii=False, default=str)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def list_audit(
    conn: psycopg.Connection, *, action: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Audit rows, newest first, with the e-mail and role of who did it."""
    rows = conn.execute(
        """
        SELECT l.id, l.at, u.email, u.role, l.action, l.subject, l.details
        FROM audit_log l LEFT JOIN users u ON u.id = l.user_id
        WHERE (%s::text IS NULL OR l.action = %s)
        ORDER BY l.at DESC, l.id DESC LIMIT %s OFFSET %s
        """,
        (action, action, limit, offset),
    ).fetchall()
    return [
        {
            "id": r[0],
            "at": r[1].isoformat(),
            "user": r[2],
            "role": r[3],
            "action": r[4],
            "subject": r[5],
            "details": r[6],
        }
        for r in rows
    ]
