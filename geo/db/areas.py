"""Areas (districts), collaboration zones and places in PostGIS: layers, zone edits, demo upserts.

Feature collections are built by PostGIS itself (`geo.db.queries.feature_sql`) and returned as JSON
text, so a large layer (286 places, 21 district outlines) is never turned into Python objects and
back.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, NamedTuple

import psycopg
import shapely
from psycopg import sql
from psycopg.rows import class_row
from shapely import MultiPolygon, Point, Polygon

from geo.db.idempotent import Expr, create_once
from geo.db.queries import (
    bbox_condition,
    feature_collection,
    feature_sql,
    stale_version,
    wkb,
)
from geo.errors import FarFromAreas, InvalidGeometry, InvalidInput, NotFound
from geo.geometry import BBox, slugify
from geo.inputs import Zone, body_digest


def _layer_filter(
    conn: psycopg.Connection, column: str, bbox: BBox | None, area: str | None
) -> tuple[sql.Composable, list[Any]]:
    """The WHERE condition for ``bbox`` and an area slug (joined as ``a``); 404 for an unknown
    area rather than an empty layer."""
    where, params = bbox_condition(column, bbox)
    if area is not None:
        area_id(conn, area)
        where = sql.SQL("{} AND a.slug = %s").format(where)
        params.append(area)
    return where, params


# Exterior rings counter-clockwise, as RFC 7946 asks (the district file has them clockwise).
_AREA_FEATURE = feature_sql(
    id="a.slug",
    geometry="ST_ForcePolygonCCW(a.geom)",
    properties={
        "slug": "a.slug",
        "name": "a.name",
        "kind": "a.kind",
        "metric_crs": "'EPSG:' || a.metric_srid",
        "time_zone": "a.time_zone",
        "area_km2": "round((ST_Area(ST_Transform(a.geom, a.metric_srid)) / 1e6)::numeric, 3)",
        "source": "a.source",
    },
)


def _areas_query(where: sql.Composable) -> sql.Composed:
    return sql.SQL("SELECT a.name AS sort_key, {} AS feature FROM areas a WHERE {}").format(
        _AREA_FEATURE, where
    )


def areas_geojson(conn: psycopg.Connection, *, bbox: BBox | None = None) -> str:
    """All areas (optionally those meeting ``bbox``) as a GeoJSON FeatureCollection."""
    where, params = bbox_condition("a.geom", bbox)
    query = _areas_query(where)
    return feature_collection(conn, query, params)


def area_geojson(conn: psycopg.Connection, slug: str) -> str:
    """One area as a GeoJSON Feature, or `NotFound`."""
    query = _areas_query(sql.SQL("a.slug = %s"))
    row = conn.execute(
        sql.SQL("SELECT f.feature::text FROM ({}) AS f").format(query), (slug,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no area with slug {slug!r}; GET /api/v1/areas lists the areas")
    return str(row[0])


def areas_extent(conn: psycopg.Connection) -> tuple[float, float, float, float] | None:
    """The lon/lat box of every area (None without areas): the extent of the layers."""
    row = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e "
        "FROM areas) x"
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def area_id(conn: psycopg.Connection, slug: str) -> int:
    row = conn.execute("SELECT id FROM areas WHERE slug = %s", (slug,)).fetchone()
    if row is None:
        raise NotFound(f"no area with slug {slug!r}; GET /api/v1/areas lists the areas")
    return int(row[0])


_ZONE_FEATURE = feature_sql(
    id="z.slug",
    geometry="ST_ForcePolygonCCW(z.geom)",
    properties={
        "slug": "z.slug",
        "name": "z.name",
        "area": "a.slug",
        "description": "z.description",
        "illustrative": "z.illustrative",
        "version": "z.version",
    },
)


def time_zone(conn: psycopg.Connection, slug: str) -> str:
    """The area's wall-clock time zone (``Europe/Stockholm``, say); `NotFound` if unknown."""
    row = conn.execute("SELECT time_zone FROM areas WHERE slug = %s", (slug,)).fetchone()
    if row is None:
        raise NotFound(f"no area with slug {slug!r}; GET /api/v1/areas lists the areas")
    return str(row[0])


def zones_geojson(
    conn: psycopg.Connection, *, bbox: BBox | None = None, area: str | None = None
) -> str:
    """Collaboration zones as a GeoJSON FeatureCollection, filtered by ``bbox`` and area slug."""
    where, params = _layer_filter(conn, "z.geom", bbox, area)
    query = sql.SQL(
        """
        SELECT z.name AS sort_key, {feature} AS feature
        FROM zones z LEFT JOIN areas a ON a.id = z.area_id
        WHERE {where}
        """
    ).format(feature=_ZONE_FEATURE, where=where)
    return feature_collection(conn, query, params)


_PLACE_FEATURE = feature_sql(
    id="p.id",
    geometry="p.geom",
    properties={
        "id": "p.id",
        "name": "p.name",
        "kind": "p.kind",
        "area": "a.slug",
        "source": "p.source",
        # Opening hours (migration 0016): wall clock of the area, null when always open.
        "opens": "to_char(p.opens, 'HH24:MI')",
        "closes": "to_char(p.closes, 'HH24:MI')",
        "hours_source": "p.hours_source",
    },
)


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
        SELECT p.kind || ':' || p.name || ':' || p.id AS sort_key, {feature} AS feature
        FROM places p LEFT JOIN areas a ON a.id = p.area_id
        WHERE {where}
        """
    ).format(feature=_PLACE_FEATURE, where=where)
    return feature_collection(conn, query, params)


# -- writes --------------------------------------------------------------------------------------


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
        (slug, name, metric_srid, source, wkb(mp)),
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
        (slug, name, aid, description, illustrative, wkb(mp)),
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


MAX_AREA_KM2 = 50.0


def _area_for(conn: psycopg.Connection, geom: Any, area: str | None) -> int:
    row = conn.execute(
        """
        WITH z AS (SELECT ST_SetSRID(ST_GeomFromWKB(%s), 4326) AS g)
        SELECT ST_Area(z.g::geography) / 1e6,
               (SELECT a.id FROM areas a WHERE ST_Intersects(a.geom, z.g)
                ORDER BY ST_Area(ST_Intersection(a.geom, z.g)) DESC, a.id LIMIT 1)
        FROM z
        """,
        (shapely.to_wkb(geom),),
    ).fetchone()
    assert row is not None
    if row[0] > MAX_AREA_KM2:
        raise InvalidGeometry(
            f"the zone covers {row[0]:.0f} km²; at most {MAX_AREA_KM2:g} km² (is it in lon/lat?)",
            field="geometry",
        )
    if area is not None:
        return area_id(conn, area)
    if row[1] is None:
        raise FarFromAreas(
            "the zone lies in no known area; check the coordinates ([longitude, latitude], WGS 84)",
            field="geometry",
        )
    return int(row[1])


def create_zone(
    conn: psycopg.Connection, zone: Zone, *, user_id: int, client_id: uuid.UUID | None = None
) -> tuple[str, bool]:
    """Store a new zone; its slug comes from the name (numbered when taken).

    Returns the slug and whether the zone is new: with ``client_id`` a retry of the same body
    returns the stored zone's slug (and ``False``); another body with that id is a conflict
    (`geo.db.idempotent`).
    """
    props, geom = zone.properties, zone.shape

    def values() -> dict[str, Any]:
        # Inside the key's lock: a retry that waited finds the zone instead of a second slug.
        area_id = _area_for(conn, geom, props.area)
        base = slugify(props.name) or "zon"
        # Concurrent zones of one name take their slugs one after the other (the lock is held
        # until the transaction ends), as if sent in turn: else both pick the same free slug
        # and one fails on the unique key.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"zones:{base}",))
        slug, n = base, 1
        while conn.execute("SELECT 1 FROM zones WHERE slug = %s", (slug,)).fetchone():
            n += 1
            slug = f"{base}-{n}"
        return {
            "slug": slug,
            "name": props.name,
            "area_id": area_id,
            "description": props.description,
            "geom": Expr("ST_Multi(ST_SetSRID(ST_GeomFromWKB(%s), 4326))", shapely.to_wkb(geom)),
            "created_by": user_id,
        }

    slug, created = create_once(
        conn,
        "zones",
        key=client_id,
        digest=body_digest(zone),
        values=values,
        returning="slug",
        conflict=f"another zone was created with the key {client_id}: use a new "
        "Idempotency-Key for a new zone",
    )
    return str(slug), created


def replace_zone(conn: psycopg.Connection, slug: str, zone: Zone) -> None:
    """Replace a zone; ``properties.version`` must be the stored version (else `Conflict`)."""
    props, geom = zone.properties, zone.shape
    version = props.version
    if version is None:
        raise InvalidInput(
            "properties.version is required: the version you are changing",
            field="properties.version",
        )
    with conn.transaction():
        area_id = _area_for(conn, geom, props.area)
        row = conn.execute(
            "UPDATE zones SET name = %s, description = %s, area_id = %s, illustrative = false, "
            "geom = ST_Multi(ST_SetSRID(ST_GeomFromWKB(%s), 4326)), version = version + 1, "
            "updated_at = now() WHERE slug = %s AND version = %s RETURNING id",
            (props.name, props.description, area_id, shapely.to_wkb(geom), slug, version),
        ).fetchone()
        if row is None:
            raise stale_version(
                conn, "zones", "slug", slug, version, noun="zone", missing=f"no zone {slug!r}"
            )


def delete_zone(conn: psycopg.Connection, slug: str) -> None:
    with conn.transaction():
        row = conn.execute("DELETE FROM zones WHERE slug = %s RETURNING id", (slug,)).fetchone()
        if row is None:
            raise NotFound(f"no zone {slug!r}")


def area_outline(conn: psycopg.Connection, area: str) -> tuple[str, Any]:
    """The area's name and outline (lon/lat)."""
    row = conn.execute(
        "SELECT name, ST_AsBinary(geom) FROM areas WHERE slug = %s", (area,)
    ).fetchone()
    if row is None:
        area_id(conn, area)  # raises NotFound with the usual message
    assert row is not None
    return str(row[0]), shapely.from_wkb(bytes(row[1]))


def place_point(conn: psycopg.Connection, place_id: int, *, field: str) -> tuple[str, float, float]:
    """The name and lon/lat of place ``place_id``; `InvalidInput` naming ``field`` if unknown."""
    row = conn.execute(
        "SELECT name, ST_X(geom), ST_Y(geom) FROM places WHERE id = %s", (place_id,)
    ).fetchone()
    if row is None:
        raise InvalidInput(
            f"no place with id {place_id}; GET /api/v1/places lists them", field=field
        )
    return str(row[0]), float(row[1]), float(row[2])


def nearest_place_names(
    conn: psycopg.Connection, points: list[tuple[float, float]], *, within_m: float = 250.0
) -> list[str | None]:
    """The name of the nearest place within ``within_m`` metres of each lon/lat point, or None."""
    names: list[str | None] = []
    for lon, lat in points:
        row = conn.execute(
            "SELECT name FROM places WHERE ST_DWithin(geom::geography, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s) "
            "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1",
            (lon, lat, within_m, lon, lat),
        ).fetchone()
        names.append(str(row[0]) if row else None)
    return names


def nearest_area(conn: psycopg.Connection, lon: float, lat: float) -> str:
    """The slug of the area nearest to a lon/lat point (`InvalidInput` when there is none)."""
    row = conn.execute(
        "SELECT slug FROM areas ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1",
        (lon, lat),
    ).fetchone()
    if row is None:
        raise InvalidInput("there are no areas; load the demo or add an area first")
    return str(row[0])


class AreaNetwork(NamedTuple):
    slug: str
    name: str
    network: bool  # whether any imported street meets the area's box


class PlaceRow(NamedTuple):
    id: int
    name: str
    kind: str


def areas_with_network(conn: psycopg.Connection) -> list[AreaNetwork]:
    """Slug, name and whether any imported street meets the area's box, by name."""
    with conn.cursor(row_factory=class_row(AreaNetwork)) as cur:
        return cur.execute(
            "SELECT a.slug, a.name, EXISTS (SELECT 1 FROM street_edges e WHERE e.geom && a.geom) "
            "AS network FROM areas a ORDER BY a.name"
        ).fetchall()
