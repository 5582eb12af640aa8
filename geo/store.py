"""Reads and writes of areas, zones and places in PostGIS.

Feature collections are built by PostGIS itself (``ST_AsGeoJSON``, 6 decimals ≈ 0.1 m) and returned
as JSON text, so a large layer is never turned into Python objects and back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from shapely import Geometry, MultiPolygon, Point, Polygon, to_wkb

from geo.errors import Conflict, InvalidGeometry, NattvandringError, NotFound
from geo.geometry import BBox

GEOJSON_DECIMALS = 6


def _bbox_condition(column: str, bbox: BBox | None) -> tuple[sql.Composable, list[Any]]:
    if bbox is None:
        return sql.SQL("true"), []
    # ST_MakeEnvelope + ST_Intersects lets the planner use the GiST index on the column.
    return (
        sql.SQL("ST_Intersects({}, ST_MakeEnvelope(%s, %s, %s, %s, 4326))").format(
            sql.Identifier(*column.split("."))
        ),
        list(bbox.as_tuple()),
    )


def _layer_filter(
    conn: psycopg.Connection, column: str, bbox: BBox | None, area: str | None
) -> tuple[sql.Composable, list[Any]]:
    """The WHERE condition for ``bbox`` and an area slug (joined as ``a``); 404 for an unknown
    area rather than an empty layer."""
    where, params = _bbox_condition(column, bbox)
    if area is not None:
        area_id(conn, area)
        where = sql.SQL("{} AND a.slug = %s").format(where)
        params.append(area)
    return where, params


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


_AREA_FEATURE = sql.SQL(
    """
    SELECT a.name AS sort_key,
           json_build_object(
               'type', 'Feature',
               'id', a.slug,
               'geometry', ST_AsGeoJSON(a.geom, {decimals})::json,
               'properties', json_build_object(
                   'slug', a.slug,
                   'name', a.name,
                   'kind', a.kind,
                   'metric_crs', 'EPSG:' || a.metric_srid,
                   'area_km2',
                   round((ST_Area(ST_Transform(a.geom, a.metric_srid)) / 1e6)::numeric, 3),
                   'source', a.source)) AS feature
    FROM areas a
    WHERE {where}
    """
)


def areas_geojson(conn: psycopg.Connection, *, bbox: BBox | None = None) -> str:
    """All areas (optionally those meeting ``bbox``) as a GeoJSON FeatureCollection."""
    where, params = _bbox_condition("a.geom", bbox)
    query = _AREA_FEATURE.format(decimals=sql.Literal(GEOJSON_DECIMALS), where=where)
    return feature_collection(conn, query, params)


def area_geojson(conn: psycopg.Connection, slug: str) -> str:
    """One area as a GeoJSON Feature, or `NotFound`."""
    query = _AREA_FEATURE.format(
        decimals=sql.Literal(GEOJSON_DECIMALS), where=sql.SQL("a.slug = %s")
    )
    row = conn.execute(
        sql.SQL("SELECT f.feature::text FROM ({}) AS f").format(query), (slug,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no area with slug {slug!r}; GET /api/v1/areas lists the areas")
    return str(row[0])


def area_id(conn: psycopg.Connection, slug: str) -> int:
    row = conn.execute("SELECT id FROM areas WHERE slug = %s", (slug,)).fetchone()
    if row is None:
        raise NotFound(f"no area with slug {slug!r}; GET /api/v1/areas lists the areas")
    return int(row[0])


def zones_geojson(
    conn: psycopg.Connection, *, bbox: BBox | None = None, area: str | None = None
) -> str:
    """Collaboration zones as a GeoJSON FeatureCollection, filtered by ``bbox`` and area slug."""
    where, params = _layer_filter(conn, "z.geom", bbox, area)
    query = sql.SQL(
        """
        SELECT z.name AS sort_key,
               json_build_object(
                   'type', 'Feature',
                   'id', z.slug,
                   'geometry', ST_AsGeoJSON(z.geom, {decimals})::json,
                   'properties', json_build_object(
                       'slug', z.slug,
                       'name', z.name,
                       'area', a.slug,
                       'description', z.description,
                       'illustrative', z.illustrative,
                       'version', z.version)) AS feature
        FROM zones z LEFT JOIN areas a ON a.id = z.area_id
        WHERE {where}
        """
    ).format(decimals=sql.Literal(GEOJSON_DECIMALS), where=where)
    return feature_collection(conn, query, params)


def places_geojson(
    conn: psycopg.Connection,
    *,
    bbox: BBox | None = None,
    area: str | None = None,
    kinds: list[str] | None = None,
) -> str:
    """Places as a GeoJSON FeatureCollection, filtered by ``bbox``, area slug and kinds."""
    where, params = _layer_filter(conn, "p.geom", bbox, area)
    if kinds:
        where = sql.SQL("{} AND p.kind = ANY(%s)").format(where)
        params.append(list(kinds))
    query = sql.SQL(
        """
        SELECT p.kind || ':' || p.name || ':' || p.id AS sort_key,
               json_build_object(
                   'type', 'Feature',
                   'id', p.id,
                   'geometry', ST_AsGeoJSON(p.geom, {decimals})::json,
                   'properties', json_build_object(
                       'id', p.id,
                       'name', p.name,
                       'kind', p.kind,
                       'area', a.slug,
                       'source', p.source)) AS feature
        FROM places p LEFT JOIN areas a ON a.id = p.area_id
        WHERE {where}
        """
    ).format(decimals=sql.Literal(GEOJSON_DECIMALS), where=where)
    return feature_collection(conn, query, params)


def tonight_routes_geojson(conn: psycopg.Connection, *, now: datetime) -> str:
    """Walk routes of walks that are under way or start within 18 hours of ``now``.

    A walk without a planned end is taken to last four hours (a night walk's usual length).
    """
    query = sql.SQL(
        """
        SELECT w.planned_start::text || r.id AS sort_key,
               json_build_object(
                   'type', 'Feature',
                   'id', r.id,
                   'geometry', ST_AsGeoJSON(r.geom, {decimals})::json,
                   'properties', json_build_object(
                       'route_id', r.id,
                       'name', r.name,
                       'walk_id', w.id,
                       'planned_start', w.planned_start,
                       'planned_end', w.planned_end,
                       'organisation', o.name,
                       'area', a.slug)) AS feature
        FROM walks w
        JOIN walk_routes r ON r.id = w.route_id
        JOIN organisations o ON o.id = w.organisation_id
        LEFT JOIN areas a ON a.id = r.area_id
        WHERE w.status IN ('planned', 'completed')
          AND w.planned_start <= %s + interval '18 hours'
          AND coalesce(w.planned_end, w.planned_start + interval '4 hours') >= %s
        """
    ).format(decimals=sql.Literal(GEOJSON_DECIMALS))
    return feature_collection(conn, query, [now, now])


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


def database_health(conn: psycopg.Connection) -> dict[str, str]:
    """Server and PostGIS versions and the schema version, read from the live database."""
    row = conn.execute(
        "SELECT current_setting('server_version'), postgis_lib_version(), "
        "(SELECT max(version) FROM schema_migrations)"
    ).fetchone()
    assert row is not None
    return {"postgresql": str(row[0]), "postgis": str(row[1]), "schema_version": str(row[2])}


# -- writes --------------------------------------------------------------------------------------


def _wkb(geom: Geometry) -> bytes:
    if geom.is_empty or not geom.is_valid:
        raise InvalidGeometry(f"invalid or empty {geom.geom_type}")
    return bytes(to_wkb(geom, include_srid=False))


def upsert_area(
    conn: psycopg.Connection,
    *,
    slug: str,
    name: str,
    geom: Polygon | MultiPolygon,
    metric_srid: int,
    source: str,
) -> tuple[int, bool]:
    """Insert or update an area by slug; return its id and whether the row changed.

    An unchanged row is not rewritten, so loading the same data twice changes nothing.
    """
    mp = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
    row = conn.execute(
        """
        INSERT INTO areas (slug, name, metric_srid, source, geom)
        VALUES (%s, %s, %s, %s, ST_SetSRID(ST_GeomFromWKB(%s), 4326))
        ON CONFLICT (slug) DO UPDATE
            SET name = EXCLUDED.name, metric_srid = EXCLUDED.metric_srid,
                source = EXCLUDED.source, geom = EXCLUDED.geom, updated_at = now()
            WHERE (areas.name, areas.metric_srid, areas.source)
                      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.metric_srid, EXCLUDED.source)
               OR NOT ST_Equals(areas.geom, EXCLUDED.geom)
        RETURNING id
        """,
        (slug, name, metric_srid, source, _wkb(mp)),
    ).fetchone()
    return (int(row[0]), True) if row else (area_id(conn, slug), False)


def upsert_zone(
    conn: psycopg.Connection,
    *,
    slug: str,
    name: str,
    area_slug: str,
    description: str,
    illustrative: bool,
    geom: Polygon | MultiPolygon,
) -> tuple[int, bool]:
    """Insert or update a collaboration zone by slug; return its id and whether it changed."""
    mp = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
    aid = area_id(conn, area_slug)
    row = conn.execute(
        """
        INSERT INTO zones (slug, name, area_id, description, illustrative, geom)
        VALUES (%s, %s, %s, %s, %s, ST_SetSRID(ST_GeomFromWKB(%s), 4326))
        ON CONFLICT (slug) DO UPDATE
            SET name = EXCLUDED.name, area_id = EXCLUDED.area_id,
                description = EXCLUDED.description, illustrative = EXCLUDED.illustrative,
                geom = EXCLUDED.geom, updated_at = now()
            WHERE (zones.name, zones.area_id, zones.description, zones.illustrative)
                      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.area_id, EXCLUDED.description,
                                        EXCLUDED.illustrative)
               OR NOT ST_Equals(zones.geom, EXCLUDED.geom)
        RETURNING id
        """,
        (slug, name, aid, description, illustrative, _wkb(mp)),
    ).fetchone()
    if row:
        return int(row[0]), True
    found = conn.execute("SELECT id FROM zones WHERE slug = %s", (slug,)).fetchone()
    assert found is not None
    return int(found[0]), False


def upsert_places(conn: psycopg.Connection, places: list[dict[str, Any]]) -> int:
    """Insert or update places by ``source_key``; the area is the one containing the point.

    Each dict has ``source_key``, ``name``, ``kind``, ``source``, ``attributes`` and ``point`` (a
    shapely Point in lon/lat). Returns the number of rows inserted or changed.
    """
    changed = 0
    with conn.cursor() as cur:
        for p in places:
            point: Point = p["point"]
            cur.execute(
                """
                WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS geom)
                INSERT INTO places (source_key, name, kind, source, attributes, area_id, geom)
                SELECT %s, %s, %s, %s, %s::jsonb,
                       (SELECT a.id FROM areas a WHERE ST_Intersects(a.geom, pt.geom)
                        ORDER BY a.id LIMIT 1),
                       pt.geom
                FROM pt
                ON CONFLICT (source_key) DO UPDATE
                    SET name = EXCLUDED.name, kind = EXCLUDED.kind, source = EXCLUDED.source,
                        attributes = EXCLUDED.attributes, area_id = EXCLUDED.area_id,
                        geom = EXCLUDED.geom
                    WHERE (places.name, places.kind, places.source, places.attributes,
                           places.area_id)
                              IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.source,
                                                EXCLUDED.attributes, EXCLUDED.area_id)
                       OR NOT ST_Equals(places.geom, EXCLUDED.geom)
                """,
                (
                    point.x,
                    point.y,
                    p["source_key"],
                    p["name"],
                    p["kind"],
                    p["source"],
                    json.dumps(p.get("attributes", {}), ensure_ascii=False, sort_keys=True),
                ),
            )
            changed += cur.rowcount
    return changed
