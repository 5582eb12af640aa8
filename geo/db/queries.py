"""Pieces of SQL that every table family uses: filters, Features and FeatureCollections,
versioned updates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from shapely import Geometry, to_wkb

from geo.errors import InvalidGeometry, NattvandringError, NotFound, StaleVersion
from geo.geometry import WGS84_DECIMALS, BBox

GEOJSON_DECIMALS = WGS84_DECIMALS
"""Decimals of every coordinate the API writes (`geo.geometry.WGS84_DECIMALS`, ≈ 0.1 m)."""

SqlExpr = str | sql.Composable
"""A SQL expression of the query's own text (a constant, never user input), or a composable."""

_PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _inline(value: SqlExpr) -> tuple[str, list[sql.Composable]]:
    """``value`` as template text (braces escaped) with ``{}`` where a composable goes."""
    if isinstance(value, sql.SQL):
        value = value.as_string(None)
    if isinstance(value, str):
        return value.replace("{", "{{").replace("}", "}}"), []
    return "{}", [value]


def geometry_json(geometry: str) -> sql.Composed:
    """A geometry expression (the query's own text) as GeoJSON ``json`` with `GEOJSON_DECIMALS`
    decimals: for a geometry that is a field of an object rather than a Feature's.

    >>> print(geometry_json("w.meeting_point").as_string(None))
    ST_AsGeoJSON(w.meeting_point, 6)::json
    """
    return sql.SQL("ST_AsGeoJSON({}, {})::json").format(
        sql.SQL(geometry), sql.Literal(GEOJSON_DECIMALS)
    )


def feature_sql(
    *,
    geometry: SqlExpr,
    properties: Mapping[str, SqlExpr],
    id: SqlExpr | None = None,  # noqa: A002 (GeoJSON's own name)
    strip_nulls: bool = False,
) -> sql.Composed:
    """A GeoJSON Feature built by PostGIS: the one template every layer uses.

    Parameters
    ----------
    geometry
        A geometry expression in WGS 84 (EPSG:4326), written with `GEOJSON_DECIMALS` decimals.
    properties
        Property name (letters, digits, ``_``) → SQL expression, in the order they are written.
    id
        The Feature's ``id`` expression; none when None.
    strip_nulls
        Leave out properties whose value is null (``json_strip_nulls``), so that a property
        hidden from a viewer is absent rather than null.

    Examples
    --------
    >>> f = feature_sql(id="p.id", geometry="p.geom", properties={"name": "p.name"})
    >>> print(f.as_string(None))  # doctest: +NORMALIZE_WHITESPACE
    json_build_object('type', 'Feature', 'id', p.id, 'geometry', ST_AsGeoJSON(p.geom, 6)::json,
    'properties', json_build_object('name', p.name))
    """
    # One flat template with placeholders only for the composables the caller passed (such as a
    # `sql.Literal`): a query with this Feature is composed and sent many times a second (each
    # POST of a report answers with its Feature), and a tree of small pieces costs 10× more.
    prop_parts: list[sql.Composable] = []
    pairs = []
    for name, value in properties.items():
        if not _PROPERTY_NAME.match(name):
            raise ValueError(f"a property name must be letters, digits and _; got {name!r}")
        text, found = _inline(value)
        pairs.append(f"'{name}', {text}")
        prop_parts += found
    props = f"json_build_object({', '.join(pairs)})"
    if strip_nulls:
        props = f"json_strip_nulls({props})"
    head, id_parts = "", list[sql.Composable]()
    if id is not None:
        text, id_parts = _inline(id)
        head = f" 'id', {text},"
    geom, geom_parts = _inline(geometry)
    template = (
        f"json_build_object('type', 'Feature',{head} 'geometry', "
        f"ST_AsGeoJSON({geom}, {GEOJSON_DECIMALS})::json, 'properties', {props})"
    )
    parts = [*id_parts, *geom_parts, *prop_parts]  # in the template's order
    return sql.SQL(template).format(*parts)


def bbox_condition(column: str, bbox: BBox | None) -> tuple[sql.Composable, list[Any]]:
    if bbox is None:
        return sql.SQL("true"), []
    # ST_MakeEnvelope + ST_Intersects lets the planner use the GiST index on the column.
    return (
        sql.SQL("ST_Intersects({}, ST_MakeEnvelope(%s, %s, %s, %s, 4326))").format(
            sql.Identifier(*column.split("."))
        ),
        list(bbox.as_tuple()),
    )


def unpack_float8(packed: bytes) -> np.ndarray:
    """A column sent as ``string_agg(float8send(x), ''::bytea)``: big-endian float8s.

    >>> unpack_float8(bytes.fromhex("3ff0000000000000" "4000000000000000")).tolist()
    [1.0, 2.0]
    """
    return np.frombuffer(bytes(packed), dtype=">f8").astype(np.float64)


def feature_collection(conn: psycopg.Connection, query: sql.Composable, params: list[Any]) -> str:
    """A FeatureCollection (JSON text) of a query's ``feature`` column, ordered by ``sort_key``."""
    wrapped = sql.SQL(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "
        "coalesce(json_agg(f.feature ORDER BY f.sort_key), '[]'::json))::text "
        "FROM ({}) AS f"
    ).format(query)
    row = conn.execute(wrapped, params).fetchone()
    assert row is not None
    return str(row[0])


def stale_version(
    conn: psycopg.Connection,
    table: str,
    key_column: str,
    key: object,
    sent: int,
    *,
    noun: str,
    missing: str,
) -> NattvandringError:
    """Why a versioned update changed no row: `NotFound` (``missing``) when the row is gone,
    else a `Conflict` naming the stored version (optimistic concurrency)."""
    row = conn.execute(
        sql.SQL("SELECT version FROM {} WHERE {} = %s").format(
            sql.Identifier(table), sql.Identifier(key_column)
        ),
        (key,),
    ).fetchone()
    if row is None:
        return NotFound(missing)
    return StaleVersion(
        f"the {noun} was changed by someone else (now version {row[0]}, you sent "
        f"{sent}): reload it and make your change again"
    )


def wkb(geom: Geometry) -> bytes:
    if geom.is_empty or not geom.is_valid:
        raise InvalidGeometry(f"invalid or empty {geom.geom_type}")
    return bytes(to_wkb(geom, include_srid=False))
