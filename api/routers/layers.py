"""Map layers as GeoJSON: areas and places (read-only), and collaboration zones (read by all;
drawn, replaced and deleted by planners)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from shapely.geometry import mapping

from api.bodies import BodyRoute, limit
from api.conditional import etag_for, matches
from api.deps import BBoxDep, ConnDep, IdempotencyKeyDep
from api.security import DrawerDep
from geo.db import areas, streets
from geo.db.queries import GEOJSON_DECIMALS
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


IfNoneMatch = Annotated[
    str | None,
    Header(description="The ETag of an answer read before: 304 while it is still the answer"),
]
_CACHEABLE: dict[int | str, dict[str, Any]] = {
    **_FC,
    304: {"description": "Not modified: the layer is the one of the ETag sent"},
}


def cacheable_geojson(text: str, if_none_match: str | None) -> Response:
    """A public layer that rarely changes (districts, zones, places, streets): with an ETag of
    its content, revalidated by the browser's own cache (``no-cache``: stored, but asked for
    again with ``If-None-Match``; a 304 has no body). These layers hold no personal data."""
    etag = etag_for("layer", text)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=text, media_type=GEOJSON, headers=headers)


@router.get("/areas", responses=_CACHEABLE, response_class=Response)
def list_areas(conn: ConnDep, bbox: BBoxDep, if_none_match: IfNoneMatch = None) -> Response:
    """Districts (stadsdelar) with their outline, metric CRS and area in km²."""
    return cacheable_geojson(areas.areas_geojson(conn, bbox=bbox), if_none_match)


@router.get(
    "/areas/{slug}",
    responses=_FEATURE,
    response_class=Response,
)
def get_area(conn: ConnDep, slug: str) -> Response:
    """One district by its slug (e.g. ``solberga``); 404 when there is none."""
    return geojson_response(areas.area_geojson(conn, slug))


@router.get("/zones", responses=_CACHEABLE, response_class=Response)
def list_zones(
    conn: ConnDep,
    bbox: BBoxDep,
    area: Annotated[str | None, Query(description="Area slug, e.g. solberga")] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Collaboration (platssamverkan) zones."""
    return cacheable_geojson(areas.zones_geojson(conn, bbox=bbox, area=area), if_none_match)


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


@router.get("/places", responses=_CACHEABLE, response_class=Response)
def list_places(
    conn: ConnDep,
    bbox: BBoxDep,
    area: Annotated[str | None, Query(description="Area slug, e.g. solberga")] = None,
    kind: Annotated[
        list[str] | None, Query(description="Place kind, repeatable (station, stop, school…)")
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Places: stations, stops, schools, playgrounds, the library, shops…"""
    text = areas.places_geojson(conn, bbox=bbox, area=area, kinds=kind)
    return cacheable_geojson(text, if_none_match)


@router.get("/streets", responses=_CACHEABLE, response_class=Response)
def list_streets(
    conn: ConnDep,
    area: Annotated[str, Query(description="Area slug, e.g. solberga")],
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The imported street network of an area (within 300 m of it) as one MultiLineString
    Feature, the map's layer "Gator" (streets even without a tile server); an empty
    FeatureCollection when no network is imported."""
    lines = streets.street_lines(conn, area=area)
    features = []
    if lines:
        merged = shapely.set_precision(
            shapely.multilinestrings(lines), 10**-GEOJSON_DECIMALS, mode="pointwise"
        )
        features.append(
            {"type": "Feature", "geometry": mapping(merged), "properties": {"area": area}}
        )
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    return cacheable_geojson(text, if_none_match)
