"""What the meeting report reads besides the layers: weekly trends of reports and walks,
whether the data are synthetic, place and street labels for the map, and how much of the
area the imported street network covers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
import shapely

from geo.db import areas


def reports_per_week(
    conn: psycopg.Connection, *, area: str, since: datetime, until: datetime
) -> list[tuple[date, str, int]]:
    """``(Monday, category, reports)`` of the area's reports in ``[since, until)`` (local weeks;
    dismissed ones left out): aggregates, as every reader of the report may see them."""
    aid = areas.area_id(conn, area)
    rows = conn.execute(
        """
        SELECT date_trunc('week', d.observed_at AT TIME ZONE a.time_zone)::date, d.category,
               count(*)::int
        FROM deviations d JOIN areas a ON a.id = d.area_id
        WHERE d.area_id = %s AND d.observed_at >= %s AND d.observed_at < %s
          AND d.status <> 'dismissed'
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        (aid, since, until),
    ).fetchall()
    return [(r[0], str(r[1]), int(r[2])) for r in rows]


def walks_per_week(
    conn: psycopg.Connection, *, area: str, since: date, until: date
) -> list[tuple[date, int]]:
    """``(Monday, walks done)`` of the area's walks reported or approved, local dates
    ``since``–``until`` inclusive."""
    aid = areas.area_id(conn, area)
    rows = conn.execute(
        """
        SELECT date_trunc('week', wm.local_date)::date, count(*)::int
        FROM walk_money wm
        WHERE wm.area_id = %s AND wm.status IN ('reported', 'approved')
          AND wm.local_date BETWEEN %s AND %s
        GROUP BY 1 ORDER BY 1
        """,
        (aid, since, until),
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def synthetic_in(conn: psycopg.Connection, *, area: str, since: datetime, until: datetime) -> bool:
    """Whether any report or walk of the area and period is synthetic (demo data)."""
    aid = areas.area_id(conn, area)
    row = conn.execute(
        """
        SELECT EXISTS (SELECT 1 FROM deviations WHERE area_id = %(a)s AND synthetic
                       AND observed_at >= %(s)s AND observed_at < %(u)s)
            OR EXISTS (SELECT 1 FROM walks WHERE area_id = %(a)s AND synthetic
                       AND planned_start >= %(s)s AND planned_start < %(u)s)
        """,
        {"a": aid, "s": since, "u": until},
    ).fetchone()
    return bool(row and row[0])


def place_label_points(
    conn: psycopg.Connection, *, area: str, kinds: tuple[str, ...] = ("station", "school")
) -> list[tuple[str, Any]]:
    """``(name, point)`` (lon/lat) of the area's stations and schools, for the map's labels."""
    aid = areas.area_id(conn, area)
    rows = conn.execute(
        "SELECT DISTINCT ON (p.name) p.name, ST_AsBinary(p.geom) FROM places p, areas a "
        "WHERE a.id = %s AND p.kind = ANY(%s) AND ST_Intersects(p.geom, a.geom) "
        "ORDER BY p.name, p.kind = 'station' DESC, p.id",
        (aid, list(kinds)),
    ).fetchall()
    return [(str(r[0]), shapely.from_wkb(bytes(r[1]))) for r in rows]


def street_label_points(conn: psycopg.Connection, *, area: str) -> list[tuple[str, Any]]:
    """``(street name, point)`` (lon/lat): the middle of each named street's longest piece
    inside the area, one label per street."""
    aid = areas.area_id(conn, area)
    rows = conn.execute(
        """
        SELECT DISTINCT ON (e.name) e.name, ST_AsBinary(ST_LineInterpolatePoint(e.geom, 0.5))
        FROM street_edges e, areas a
        WHERE a.id = %s AND e.name IS NOT NULL AND e.geom && a.geom
          AND ST_Intersects(e.geom, a.geom)
        ORDER BY e.name, e.length_m DESC
        """,
        (aid,),
    ).fetchall()
    return [(str(r[0]), shapely.from_wkb(bytes(r[1]))) for r in rows]


def network_share(conn: psycopg.Connection, *, area: str, within_m: float = 150.0) -> float:
    """The share (0–1) of the area within ``within_m`` of an imported street: how much of the
    district the map's street base covers."""
    aid = areas.area_id(conn, area)
    row = conn.execute(
        """
        WITH a AS (SELECT ST_Transform(geom, metric_srid) AS g, geom, metric_srid
                   FROM areas WHERE id = %s),
             s AS (SELECT ST_Union(ST_Buffer(ST_Transform(e.geom, a.metric_srid), %s)) AS g
                   FROM street_edges e, a WHERE e.geom && ST_Expand(a.geom, 0.01))
        SELECT coalesce(ST_Area(ST_Intersection(a.g, s.g)) / nullif(ST_Area(a.g), 0), 0)
        FROM a, s
        """,
        (aid, within_m),
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0
