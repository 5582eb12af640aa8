"""Mapbox Vector Tiles made by PostGIS (``ST_AsMVT``) in the Web Mercator tile grid.

A tile ``z/x/y`` is the envelope PostGIS gives for it (``ST_TileEnvelope``, EPSG:3857); the rows
inside it, found through the GiST index on their WGS 84 geometry, are clipped and quantised by
``ST_AsMVTGeom`` into the tile's 4096 × 4096 grid with a 64-unit buffer (so lines and symbols do
not break at tile edges). Each function returns the tile's bytes (empty when nothing is in it:
an empty tile is a valid tile).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from geo.db.deviations import list_version
from geo.geometry import BBox

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


def _tile(
    conn: psycopg.Connection, layer: str, rows: sql.Composable, params: dict[str, Any]
) -> bytes:
    query = sql.SQL(
        """
        WITH bounds AS (
            SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
                   ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326)
                       AS box
        ), mvt AS ({rows})
        SELECT ST_AsMVT(mvt, {layer}, {extent}, 'geom') FROM mvt WHERE mvt.geom IS NOT NULL
        """
    ).format(rows=rows, layer=sql.Literal(layer), extent=sql.Literal(EXTENT))
    with conn.transaction():
        # PostGIS functions are costed high, so PostgreSQL JIT-compiles a tile's query, which
        # takes longer than running it (150–500 ms at low zooms: `bench/tiles.py`).
        conn.execute("SET LOCAL jit = off")
        row = conn.execute(query, {**params, "margin": BUFFER / EXTENT}).fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _geom(column: str) -> sql.Composed:
    return sql.SQL("ST_AsMVTGeom(ST_Transform({}, 3857), b.env, {}, {}, true) AS geom").format(
        sql.SQL(column), sql.Literal(EXTENT), sql.Literal(BUFFER)
    )


DETAIL_ZOOM = 15
"""From this zoom a deviation tile holds each report; below it, groups (`GROUP_UNITS`)."""
GROUP_UNITS = 64
"""Below `DETAIL_ZOOM`, the reports of one category within 64 of the tile's 4096 units (at zoom
14 about 150 m, at 12 about 600 m: a few pixels on screen) are one feature with their
``count``, so that a year of reports in a district's tile stays small (`bench/tiles.py`)."""


def deviations_tile(
    conn: psycopg.Connection,
    z: int,
    x: int,
    y: int,
    *,
    since: datetime | None,
    until: datetime | None,
    layer: str = "deviations",
) -> bytes:
    """Reports observed in ``[since, until)``, never who reported and no free text (a tile is
    a map, not a list of reports).

    From `DETAIL_ZOOM` one feature per report: id, category (code, Swedish name, colour),
    observed_at (ISO 8601, UTC), severity, status, synthetic, count (1). Below it one feature
    per category and group of nearby reports: category, category_sv, colour, count,
    severity_max, observed_latest (the last report's UTC date), synthetic (any of them).
    """
    params = {"z": z, "x": x, "y": y, "since": since, "until": until}
    where = sql.SQL(
        """
        FROM deviations d JOIN deviation_categories c ON c.code = d.category, bounds b
        WHERE ST_Intersects(d.geom, b.box)
          AND (%(since)s::timestamptz IS NULL OR d.observed_at >= %(since)s)
          AND (%(until)s::timestamptz IS NULL OR d.observed_at < %(until)s)
        """
    )
    utc = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    if z >= DETAIL_ZOOM:
        rows = sql.SQL(
            """
            SELECT {geom}, d.id::text AS id, d.category, c.name_sv AS category_sv, c.colour,
                   {observed} AS observed_at, d.severity, d.status, d.synthetic, 1 AS count
            {where}
            """
        ).format(geom=_geom("d.geom"), observed=sql.SQL(utc.format("d.observed_at")), where=where)
        return _tile(conn, layer, rows, params)
    # The group of a report is computed from its Web Mercator position directly (the tile's
    # 4096 units, y downwards as MVT counts): cheaper than clipping each point with
    # ST_AsMVTGeom when a tile holds tens of thousands of them. Each ``OFFSET 0`` keeps the
    # planner from inlining a subquery: the transformed point is computed once per report, and
    # the tile's ``geom IS NOT NULL`` is checked on the few hundred groups rather than pushed
    # down to every report (where it would compute each group's point again); the category's
    # name and colour are joined to the groups, not to every report.
    rows = sql.SQL(
        """
        SELECT ST_MakePoint((q.gx + 0.5) * {units}, (q.gy + 0.5) * {units}) AS geom, q.category,
               c.name_sv AS category_sv, c.colour, q.count, q.severity_max,
               to_char(q.latest AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS observed_latest,
               q.synthetic
        FROM (SELECT g.gx, g.gy, g.category, count(*)::int AS count,
                     max(g.severity) AS severity_max, max(g.observed_at) AS latest,
                     bool_or(g.synthetic) AS synthetic
              FROM (SELECT floor((ST_X(t.g) - ST_XMin(b.env)) / (ST_XMax(b.env) - ST_XMin(b.env))
                                 * {groups})::int AS gx,
                           floor((ST_YMax(b.env) - ST_Y(t.g)) / (ST_YMax(b.env) - ST_YMin(b.env))
                                 * {groups})::int AS gy,
                           t.category, t.severity, t.observed_at, t.synthetic
                    FROM (SELECT ST_Transform(d.geom, 3857) AS g, d.category, d.severity,
                                 d.observed_at, d.synthetic
                          FROM deviations d, bounds b
                          WHERE ST_Intersects(d.geom, b.box)
                            AND (%(since)s::timestamptz IS NULL OR d.observed_at >= %(since)s)
                            AND (%(until)s::timestamptz IS NULL OR d.observed_at < %(until)s)
                          OFFSET 0) t,
                         bounds b) g
              GROUP BY g.gx, g.gy, g.category
              OFFSET 0) q
        JOIN deviation_categories c ON c.code = q.category
        """
    ).format(units=sql.Literal(GROUP_UNITS), groups=sql.Literal(EXTENT // GROUP_UNITS))
    return _tile(conn, layer, rows, params)


def streets_tile(conn: psycopg.Connection, z: int, x: int, y: int) -> bytes:
    """The walkable street network imported from OpenStreetMap: name, highway, length_m."""
    rows = sql.SQL(
        """
        SELECT {geom}, e.osm_way_id, e.name, e.highway, round(e.length_m::numeric, 1) AS length_m
        FROM street_edges e, bounds b
        WHERE ST_Intersects(e.geom, b.box)
        """
    ).format(geom=_geom("e.geom"))
    return _tile(conn, "streets", rows, {"z": z, "x": x, "y": y})


def polygons_tile(
    conn: psycopg.Connection,
    z: int,
    x: int,
    y: int,
    *,
    layer: str,
    wkb: list[bytes],
    properties: list[dict[str, Any]],
) -> bytes:
    """Polygons computed outside the database (the partner counts of `geo.privacy`) as a
    tile: ``wkb`` (WGS 84) and the properties of each (``ST_AsMVT`` takes a jsonb column's
    keys as properties, numbers as numbers)."""
    rows = sql.SQL(
        """
        SELECT {geom}, t.p
        FROM (SELECT ST_SetSRID(ST_GeomFromWKB(g), 4326) AS g, p
              FROM unnest(%(wkb)s::bytea[], %(props)s::jsonb[]) AS u(g, p)) t, bounds b
        WHERE ST_Intersects(t.g, b.box)
        """
    ).format(geom=_geom("t.g"))
    params: dict[str, Any] = {
        "z": z,
        "x": x,
        "y": y,
        "wkb": wkb,
        "props": [Jsonb(p) for p in properties],
    }
    return _tile(conn, layer, rows, params)


def tile_version(conn: psycopg.Connection, *, bbox: BBox, with_zones: bool = False) -> str:
    """A text that changes whenever a deviation tile (or a partner count tile) of ``bbox`` may
    change: the deviations' version of the areas near the box (`deviations.list_version`,
    bumped by every report, change of status and category), and with ``with_zones`` the
    collaboration zones (a zone drawn, changed or deleted). The tile cache's ETags hold it."""
    version = list_version(conn, bbox=bbox)
    if not with_zones:
        return str(version)
    row = conn.execute(
        "SELECT count(*), coalesce(max(id), 0), coalesce(max(updated_at)::text, '') FROM zones"
    ).fetchone()
    assert row is not None
    return f"{version}:{row[0]}:{row[1]}:{row[2]}"
