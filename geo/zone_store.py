"""Collaboration zones drawn by planners: create, replace (with a version check), delete."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import psycopg
import shapely
from shapely.geometry import shape

from geo import store
from geo.errors import Conflict, InvalidGeometry, InvalidInput, NotFound
from geo.geometry import slugify

MAX_VERTICES = 10_000
MAX_AREA_KM2 = 50.0


def parse_zone(body: Any) -> tuple[str, str, str | None, Any]:
    """Name, description, area slug and (Multi)Polygon of a GeoJSON Feature body."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput('the body must be a GeoJSON Feature ({"type": "Feature", …})')
    geometry = body.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(
            "a zone's geometry must be a GeoJSON Polygon or MultiPolygon", field="geometry"
        )
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InvalidGeometry(f"the polygon cannot be read: {exc}", field="geometry") from None
    if geom.is_empty:
        raise InvalidGeometry("the polygon is empty", field="geometry")
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise InvalidGeometry(f"at most {MAX_VERTICES:,} vertices", field="geometry")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        raise InvalidGeometry(
            "coordinates out of range: GeoJSON is [longitude, latitude] in WGS 84", field="geometry"
        )
    if not geom.is_valid:
        raise InvalidGeometry(
            f"the polygon is not valid ({shapely.is_valid_reason(geom)}): its edges must not cross",
            field="geometry",
        )
    props = body.get("properties") or {}
    unknown = set(props) - {"name", "description", "area", "version", "slug", "illustrative"}
    if unknown:
        raise InvalidInput(f"unknown properties: {', '.join(sorted(unknown))}", field="properties")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("properties.name is required (at most 200 characters)", field="name")
    description = props.get("description") or ""
    if not isinstance(description, str) or len(description) > 4000:
        raise InvalidInput("description: text of at most 4,000 characters", field="description")
    area = props.get("area")
    return name.strip(), description, area if isinstance(area, str) else None, geom


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
        return store.area_id(conn, area)
    if row[1] is None:
        raise InvalidGeometry(
            "the zone lies in no known area; check the coordinates ([longitude, latitude], WGS 84)",
            field="geometry",
        )
    return int(row[1])


def create_zone(
    conn: psycopg.Connection, body: Any, *, user_id: int, client_id: uuid.UUID | None = None
) -> tuple[str, bool]:
    """Store a new zone; its slug comes from the name (numbered when taken).

    Returns the slug and whether the zone is new: with ``client_id`` a retry of the same body
    returns the stored zone's slug (and ``False``); another body with that id is a `Conflict`.
    """
    name, description, area, geom = parse_zone(body)
    digest = hashlib.sha256(
        json.dumps([name, description, area, shapely.to_geojson(geom)]).encode()
    ).hexdigest()
    with conn.transaction():
        if client_id is not None:
            # Concurrent retries wait here for the first one's commit (the unique key).
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (str(client_id),))
            stored = conn.execute(
                "SELECT slug, body_sha256 FROM zones WHERE client_id = %s", (client_id,)
            ).fetchone()
            if stored is not None:
                if stored[1] != digest:
                    raise Conflict(
                        f"another zone was created with the key {client_id}: use a "
                        "new Idempotency-Key for a new zone"
                    )
                return str(stored[0]), False
        area_id = _area_for(conn, geom, area)
        base = slugify(name) or "zon"
        slug, n = base, 1
        while conn.execute("SELECT 1 FROM zones WHERE slug = %s", (slug,)).fetchone():
            n += 1
            slug = f"{base}-{n}"
        conn.execute(
            "INSERT INTO zones (slug, name, area_id, description, geom, created_by, client_id, "
            "body_sha256) VALUES (%s, %s, %s, %s, ST_Multi(ST_SetSRID(ST_GeomFromWKB(%s), 4326)), "
            "%s, %s, %s)",
            (slug, name, area_id, description, shapely.to_wkb(geom), user_id, client_id, digest),
        )
    return slug, True


def replace_zone(conn: psycopg.Connection, slug: str, body: Any) -> None:
    """Replace a zone; ``properties.version`` must be the stored version (else `Conflict`)."""
    name, description, area, geom = parse_zone(body)
    version = (body.get("properties") or {}).get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInput(
            "properties.version is required: the version you are changing", field="version"
        )
    with conn.transaction():
        area_id = _area_for(conn, geom, area)
        row = conn.execute(
            "UPDATE zones SET name = %s, description = %s, area_id = %s, illustrative = false, "
            "geom = ST_Multi(ST_SetSRID(ST_GeomFromWKB(%s), 4326)), version = version + 1, "
            "updated_at = now() WHERE slug = %s AND version = %s RETURNING id",
            (name, description, area_id, shapely.to_wkb(geom), slug, version),
        ).fetchone()
        if row is None:
            raise store.stale_version(
                conn, "zones", "slug", slug, version, noun="zone", missing=f"no zone {slug!r}"
            )


def delete_zone(conn: psycopg.Connection, slug: str) -> None:
    with conn.transaction():
        row = conn.execute("DELETE FROM zones WHERE slug = %s RETURNING id", (slug,)).fetchone()
        if row is None:
            raise NotFound(f"no zone {slug!r}")
