"""What a route plan reads besides the street network: the area's next scheduled walk (the
default start) and the places' opening hours (migration 0016)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import psycopg
from psycopg.rows import class_row

from geo.errors import InvalidInput, NotFound


def next_walk_start(conn: psycopg.Connection, area: str, *, now: datetime) -> datetime | None:
    """The planned start of the area's next walk that is not over (planned or under way; not
    cancelled), or None when none is scheduled."""
    row = conn.execute(
        """
        SELECT w.planned_start
        FROM walks w JOIN areas a ON a.id = w.area_id
        WHERE a.slug = %s AND w.status IN ('planned', 'ongoing')
          AND coalesce(w.planned_end, w.planned_start + interval '4 hours') > %s
        ORDER BY w.planned_start
        LIMIT 1
        """,
        (area, now),
    ).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class PlanPlace:
    """A place as a route plan needs it: name, lon/lat, and its opening hours (wall clock of
    its area; None when always open)."""

    name: str
    lon: float
    lat: float
    opens: time | None
    closes: time | None
    hours_source: str


def place_for_plan(conn: psycopg.Connection, place_id: int, *, field: str) -> PlanPlace:
    """Place ``place_id`` with its opening hours; `InvalidInput` naming ``field`` if unknown."""
    with conn.cursor(row_factory=class_row(PlanPlace)) as cur:
        row = cur.execute(
            "SELECT name, ST_X(geom) AS lon, ST_Y(geom) AS lat, opens, closes, hours_source "
            "FROM places WHERE id = %s",
            (place_id,),
        ).fetchone()
    if row is None:
        raise InvalidInput(
            f"no place with id {place_id}; GET /api/v1/places lists them", field=field
        )
    return row


def set_place_hours(
    conn: psycopg.Connection,
    place_id: int,
    *,
    opens: time | None,
    closes: time | None,
    source: str,
) -> PlanPlace:
    """Set (or, with None, clear) place ``place_id``'s opening hours; `NotFound` if unknown.
    Cleared hours keep no source (the table's CHECK)."""
    with conn.transaction(), conn.cursor(row_factory=class_row(PlanPlace)) as cur:
        row = cur.execute(
            "UPDATE places SET opens = %s, closes = %s, hours_source = %s WHERE id = %s "
            "RETURNING name, ST_X(geom) AS lon, ST_Y(geom) AS lat, opens, closes, hours_source",
            (opens, closes, source if opens is not None else "", place_id),
        ).fetchone()
    if row is None:
        raise NotFound(f"no place with id {place_id}; GET /api/v1/places lists them")
    return row
