"""Map layers as GeoJSON: areas and places (read-only), and collaboration zones (read by all;
drawn, replaced and deleted by planners)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.bodies import BodyRoute, limit
from api.deps import BBoxDep, ConnDep, IdempotencyKeyDep
from api.security import DrawerDep
from geo.db import areas
from geo.inputs import Zone
from geo.inputs.zones import MAX_ZONE_BODY

# Zone bodies are read whole (at most 1 MB) before a connection is taken: `api.bodies`.
router = APIRouter(
    prefix="/api/v1", tags=["layers"], route_class=BodyRoute, strict_content_type=False
)

GEOJSON = "application/geo+json"
_FC: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "A GeoJSON FeatureCollection (WGS 84)"}
}

_FEATURE: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "A GeoJSON Feature (WGS 84)"}
}


def geojson_response(text: str) -> Response:
    return Response(content=text, media_type=GEOJSON)


@router.get("/areas", responses=_FC, response_class=Response)
def list_areas(conn: ConnDep, bbox: BBoxDep) -> Response:
    """Districts (stadsdelar) with their outline, metric CRS and area in km²."""
    return geojson_response(areas.areas_geojson(conn, bbox=bbox))


@router.get(
    "/areas/{slug}",
    responses=_FEATURE,
    response_class=Response,
)
def get_area(conn: ConnDep, slug: str) -> Response:
    """One district by its slug (e.g. ``solberga``); 404 when there is none."""
    return geojson_response(areas.area_geojson(conn, slug))


@router.get("/zones", responses=_FC, response_class=Response)
def list_zones(
    conn: ConnDep,
    bbox: BBoxDep,
    area: Annotated[str | None, Query(description="Area slug, e.g. solberga")] = None,
) -> Response:
    """Collaboration (platssamverkan) zones."""
    return geojson_response(areas.zones_geojson(conn, bbox=bbox, area=area))


@router.post(
    "/zones",
    status_code=201,
    response_class=Response,
    responses=_FEATURE,
    openapi_extra=limit(MAX_ZONE_BODY),
)
async def create_zone(
    zone: Zone,
    conn: ConnDep,
    user: DrawerDep,
    key: IdempotencyKeyDep,
) -> Response:
    """Draw a collaboration zone: a GeoJSON (Multi)Polygon Feature with ``properties.name``
    (optional ``description``, ``area``). Planners and admins. With an ``Idempotency-Key`` a
    retry is stored once (200 with the stored zone)."""
    slug, created = await run_in_threadpool(
        areas.create_zone, conn, zone, user_id=user.id, client_id=key
    )
    return Response(_zone(conn, slug), status_code=201 if created else 200, media_type=GEOJSON)


@router.put(
    "/zones/{slug}", response_class=Response, responses=_FEATURE, openapi_extra=limit(MAX_ZONE_BODY)
)
async def replace_zone(
    zone: Zone,
    conn: ConnDep,
    user: DrawerDep,
    slug: str,
) -> Response:
    """Replace a zone's outline and properties; ``properties.version`` must be current (409)."""
    await run_in_threadpool(areas.replace_zone, conn, slug, zone)
    return geojson_response(_zone(conn, slug))


@router.delete("/zones/{slug}", status_code=204)
def delete_zone(conn: ConnDep, user: DrawerDep, slug: str) -> Response:
    areas.delete_zone(conn, slug)
    return Response(status_code=204)


def _zone(conn: ConnDep, slug: str) -> str:
    fc = json.loads(areas.zones_geojson(conn))
    return json.dumps(next(f for f in fc["features"] if f["id"] == slug), ensure_ascii=False)


@router.get("/places", responses=_FC, response_class=Response)
def list_places(
    conn: ConnDep,
    bbox: BBoxDep,
    area: Annotated[str | None, Query(description="Area slug, e.g. solberga")] = None,
    kind: Annotated[
        list[str] | None, Query(description="Place kind, repeatable (station, stop, school…)")
    ] = None,
) -> Response:
    """Places: stations, stops, schools, playgrounds, the library, shops…"""
    return geojson_response(areas.places_geojson(conn, bbox=bbox, area=area, kinds=kind))
