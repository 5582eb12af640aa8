"""Walk routes in PostGIS: create (idempotently), read, replace (with a version check), delete.

A route is a LineString in WGS 84 with a name, an area, notes and a version that goes up with
every change; a PUT must name the version it changes, so two planners editing at once cannot
overwrite each other unknowingly (the second gets a conflict).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from shapely import LineString, from_wkb, to_wkb

from geo.db import areas
from geo.db.idempotent import Expr, create_once
from geo.db.queries import feature_collection, feature_sql, geometry_json
from geo.errors import Conflict, FarFromAreas, InvalidGeometry, InvalidInput, NotFound
from geo.geometry import LonLat
from geo.inputs import MAX_LENGTH_M, WalkRoute, body_digest

NEAR_AREA_M = 2000


def _check_place(conn: psycopg.Connection, route: WalkRoute) -> int | None:
    """The route's area id (given, or the area it runs through); checks length and position."""
    return check_line(conn, route.coords, area=route.area)


def check_line(
    conn: psycopg.Connection, coords: Sequence[LonLat], *, area: str | None = None
) -> int:
    """The id of a route line's area (``area``, or the one it runs through most); `InvalidGeometry`
    when it is longer than a walk route may be, `FarFromAreas` when it lies far from every area
    (swapped coordinates, say), `NotFound` for an unknown ``area``."""
    wkb = to_wkb(LineString(coords))
    row = conn.execute(
        """
        WITH r AS (SELECT ST_SetSRID(ST_GeomFromWKB(%s), 4326) AS geom)
        SELECT ST_Length(r.geom::geography),
               (SELECT a.id FROM areas a
                WHERE ST_DWithin(a.geom::geography, r.geom::geography, %s)
                ORDER BY ST_Length(ST_Intersection(a.geom, r.geom)::geography) DESC, a.id
                LIMIT 1)
        FROM r
        """,
        (wkb, NEAR_AREA_M),
    ).fetchone()
    assert row is not None
    length_m, nearest = row
    if length_m > MAX_LENGTH_M:
        raise InvalidGeometry(
            f"the route is {length_m / 1000:.1f} km long; a walk route may be at most "
            f"{MAX_LENGTH_M / 1000:g} km (is it in lon/lat, EPSG:4326?)",
            field="geometry",
        )
    if nearest is None:
        raise FarFromAreas(
            f"the route is farther than {NEAR_AREA_M / 1000:g} km from every known area; check "
            "the coordinates (GeoJSON order is [longitude, latitude], WGS 84)",
            field="geometry",
        )
    if area is not None:
        return areas.area_id(conn, area)
    return int(nearest)


_FEATURE = sql.SQL(
    "SELECT r.name AS sort_key, {} AS feature "
    "FROM walk_routes r LEFT JOIN areas a ON a.id = r.area_id"
).format(
    feature_sql(
        id="r.id",
        geometry="r.geom",
        properties={
            "id": "r.id",
            "name": "r.name",
            "area": "a.slug",
            "notes": "r.notes",
            "version": "r.version",
            "source": "r.source",
            "length_m": "round(ST_Length(r.geom::geography)::numeric, 1)",
            "plan": "r.plan",
            # The points a snapped route was drawn by (`create_route`), or null.
            "waypoints": sql.SQL("({} -> 'coordinates')").format(geometry_json("r.waypoints")),
            "created_at": "r.created_at",
            "updated_at": "r.updated_at",
        },
    )
)


def get_route(conn: psycopg.Connection, route_id: int) -> str:
    row = conn.execute(
        sql.SQL("SELECT f.feature::text FROM ({} WHERE r.id = %s) f").format(_FEATURE),
        (route_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no walk route {route_id}")
    return str(row[0])


def route_geometry(
    conn: psycopg.Connection, route_id: int
) -> tuple[str, list[tuple[float, float]]]:
    """A route's name and its positions (lon, lat) as stored (for GPX: not rounded to the
    API's `GEOJSON_DECIMALS`)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT name, ST_AsBinary(geom) AS wkb FROM walk_routes WHERE id = %s", (route_id,)
        ).fetchone()
    if row is None:
        raise NotFound(f"no walk route {route_id}")
    line = from_wkb(bytes(row["wkb"]))
    return str(row["name"]), [(float(x), float(y)) for x, y in line.coords]


def list_routes(conn: psycopg.Connection, *, area: str | None = None) -> str:
    where, params = sql.SQL("true"), []
    if area is not None:
        where = sql.SQL("r.area_id = %s")
        params.append(areas.area_id(conn, area))
    return feature_collection(conn, sql.SQL("{} WHERE {}").format(_FEATURE, where), params)


def create_route(
    conn: psycopg.Connection,
    route: WalkRoute,
    *,
    user_id: int,
    client_id: uuid.UUID | None,
    digest: str | None = None,
    waypoints: Sequence[LonLat] | None = None,
) -> tuple[str, bool]:
    """Store a route; with ``client_id`` a retry returns the stored one (and ``False``).

    ``digest`` is that of the request (`geo.inputs.body_digest`; by default the route's own):
    a route snapped to the streets is stored as snapped, but a retry sends what was drawn.
    ``waypoints``: the points the line was snapped from (what the planner drew), kept so that
    the route is edited by them.
    """
    area_id = _check_place(conn, route)
    wkb = to_wkb(LineString(route.coords))
    route_id, created = create_once(
        conn,
        "walk_routes",
        key=client_id,
        digest=digest or body_digest(route),
        values={
            "area_id": area_id,
            "name": route.name,
            "notes": route.notes,
            "geom": Expr("ST_SetSRID(ST_GeomFromWKB(%s), 4326)", wkb),
            "created_by": user_id,
            "source": route.source(),
            "length_m": Expr("ST_Length(ST_SetSRID(ST_GeomFromWKB(%s), 4326)::geography)", wkb),
            "plan": json.dumps(route.plan) if route.plan else None,
            "waypoints": _waypoints(waypoints),
        },
        conflict=f"another route was created with the key {client_id}: use a new "
        "Idempotency-Key for a new route",
    )
    return get_route(conn, int(route_id)), created


def _waypoints(waypoints: Sequence[LonLat] | None) -> Expr | None:
    if waypoints is None:
        return None
    return Expr("ST_SetSRID(ST_GeomFromWKB(%s), 4326)", to_wkb(LineString(waypoints)))


def replace_route(
    conn: psycopg.Connection,
    route_id: int,
    route: WalkRoute,
    *,
    waypoints: Sequence[LonLat] | None = None,
) -> str:
    """Replace a route's line and properties; ``properties.version`` must be the stored one.

    ``waypoints`` as for `create_route`; None clears them (the line is then as drawn).
    """
    version = route.version
    if version is None:
        raise InvalidInput(
            "properties.version is required: the version you are changing "
            "(GET the route to see it)",
            field="properties.version",
        )
    area_id = _check_place(conn, route)
    with conn.transaction():
        row = conn.execute(
            """
            UPDATE walk_routes SET name = %s, notes = %s, area_id = %s,
                   geom = ST_SetSRID(ST_GeomFromWKB(%s), 4326), source = %s,
                   length_m = ST_Length(ST_SetSRID(ST_GeomFromWKB(%s), 4326)::geography),
                   waypoints = ST_SetSRID(ST_GeomFromWKB(%s), 4326),
                   version = version + 1, updated_at = now()
            WHERE id = %s AND version = %s
            RETURNING id
            """,
            (
                route.name,
                route.notes,
                area_id,
                to_wkb(LineString(route.coords)),
                route.source(),
                to_wkb(LineString(route.coords)),
                to_wkb(LineString(waypoints)) if waypoints is not None else None,
                route_id,
                version,
            ),
        ).fetchone()
        if row is None:
            raise areas.stale_version(
                conn,
                "walk_routes",
                "id",
                route_id,
                version,
                noun="route",
                missing=f"no walk route {route_id}",
            )
    return get_route(conn, route_id)


def delete_route(conn: psycopg.Connection, route_id: int) -> None:
    """Delete a route; one that walks refer to cannot be deleted (their history needs it)."""
    with conn.transaction():
        used = conn.execute(
            "SELECT count(*) FROM walks WHERE route_id = %s", (route_id,)
        ).fetchone()
        if used and used[0]:
            raise Conflict(
                f"walk route {route_id} is used by {used[0]} walk(s) and cannot be "
                "deleted; rename it instead"
            )
        row = conn.execute(
            "DELETE FROM walk_routes WHERE id = %s RETURNING id", (route_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no walk route {route_id}")


def tonight_routes_geojson(conn: psycopg.Connection, *, now: datetime) -> str:
    """Walk routes of walks that are under way or start within 18 hours of ``now``.

    A walk without a planned end is taken to last four hours (a night walk's usual length).
    """
    feature = feature_sql(
        id="r.id",
        geometry="r.geom",
        properties={
            "route_id": "r.id",
            "name": "r.name",
            "walk_id": "w.id",
            "planned_start": "w.planned_start",
            "planned_end": "w.planned_end",
            "organisation": "o.name",
            "area": "a.slug",
        },
    )
    query = sql.SQL(
        """
        SELECT w.planned_start::text || r.id AS sort_key, {feature} AS feature
        FROM walks w
        JOIN walk_routes r ON r.id = w.route_id
        JOIN organisations o ON o.id = w.organisation_id
        LEFT JOIN areas a ON a.id = r.area_id
        WHERE w.status IN ('planned', 'ongoing')
          AND w.planned_start <= %s + interval '18 hours'
          AND coalesce(w.planned_end, w.planned_start + interval '4 hours') >= %s
        """
    ).format(feature=feature)
    return feature_collection(conn, query, [now, now])
