"""Pieces of SQL that every table family uses: filters, FeatureCollections, versioned updates."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from shapely import Geometry, to_wkb

from geo.errors import Conflict, InvalidGeometry, NattvandringError, NotFound
from geo.geometry import BBox

GEOJSON_DECIMALS = 6


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
    return Conflict(
        f"the {noun} was changed by someone else (now version {row[0]}, you sent "
        f"{sent}): reload it and make your change again"
    )


def wkb(geom: Geometry) -> bytes:
    if geom.is_empty or not geom.is_valid:
        raise InvalidGeometry(f"invalid or empty {geom.geom_type}")
    return bytes(to_wkb(geom, include_srid=False))
