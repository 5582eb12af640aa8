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
    row = conn.execute(query, {**params, "margin": BUFFER / EXTENT}).fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _geom(column: str) -> sql.Composed:
    return sql.SQL("ST_AsMVTGeom(ST_Transform({}, 3857), b.env, {}, {}, true) AS geom").format(
        sql.SQL(column), sql.Literal(EXTENT), sql.Literal(BUFFER)
    )


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
    """Single reports observed in ``[since, until)``: id, category (code, Swedish name,
    colour), observed_at (ISO 8601, UTC), severity, status, synthetic; never who reported and
    no free text (a tile is a map, not a list of reports)."""
    rows = sql.SQL(
        """
        SELECT {geom}, d.id::text AS id, d.category, c.name_sv AS category_sv,
               c.colour, to_char(d.observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                   AS observed_at,
               d.severity, d.status, d.synthetic
        FROM deviations d JOIN deviation_categories c ON c.code = d.category, bounds b
        WHERE ST_Intersects(d.geom, b.box)
          AND (%(since)s::timestamptz IS NULL OR d.observed_at >= %(since)s)
          AND (%(until)s::timestamptz IS NULL OR d.observed_at < %(until)s)
        """
    ).format(geom=_geom("d.geom"))
    return _tile(conn, layer, rows, {"z": z, "x": x, "y": y, "since": since, "until": until})


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
