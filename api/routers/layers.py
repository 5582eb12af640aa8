"""Read-only map layers: areas, collaboration zones and places, as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import BBoxDep, ConnDep
from geo import store

router = APIRouter(prefix="/api/v1", tags=["layers"])

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
    return geojson_response(store.areas_geojson(conn, bbox=bbox))


@router.get(
    "/areas/{slug}",
    responses=_FEATURE,
    response_class=Response,
)
def get_area(conn: ConnDep, slug: str) -> Response:
    """One district by its slug (e.g. ``solberga``); 404 when there is none."""
    return geojson_response(store.area_geojson(conn, slug))


@router.get("/zones", responses=_FC, response_class=Response)
def list_zones(
    conn: ConnDep,
    bbox: BBoxDep,
    area: Annotated[str | None, Query(description="Area slug, e.g. solberga")] = None,
) -> Response:
    """Collaboration (platssamverkan) zones."""
    return geojson_response(store.zones_geojson(conn, bbox=bbox, area=area))


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
    return geojson_response(store.places_geojson(conn, bbox=bbox, area=area, kinds=kind))
