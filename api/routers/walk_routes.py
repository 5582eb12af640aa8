"""Walk routes (planners write, every signed-in user reads), snapping and GPX."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.bodies import BodyRoute, limit, raw_body
from api.deps import ConnDep, IdempotencyKeyDep
from api.headers import attachment
from api.routers.layers import GEOJSON, geojson_response
from api.security import DrawerDep, UserDep
from geo.db import areas, walk_routes
from geo.db.accounts import User
from geo.db.queries import GEOJSON_DECIMALS
from geo.inputs import WalkRoute, body_digest, route_from_points
from geo.inputs.routes import MAX_ROUTE_BODY, SnapPreview
from routes.gpx import MAX_GPX_BYTES, parse_gpx, route_to_gpx
from routes.network_io import network_around
from routes.snap import snap_line

# Bodies are read whole, within each operation's limit, before a connection is taken.
router = APIRouter(
    prefix="/api/v1", tags=["walk routes"], route_class=BodyRoute, strict_content_type=False
)
GPX_BODY = {
    "requestBody": {
        "required": True,
        "description": "A GPX 1.0 or 1.1 file with a track or a route (at most 10 MB)",
        "content": {"application/gpx+xml": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _snap(
    conn: ConnDep, coords: list[tuple[float, float]], area: str | None
) -> tuple[list[tuple[float, float]], dict[str, Any]]:
    """The line through ``coords`` along the streets, and a report of how far each moved."""
    if area is None:
        area = areas.nearest_area(conn, *coords[0])
    # A route may leave its area: the streets where it was drawn are snapped to.
    network = network_around(conn, area, coords)
    snapped = snap_line(network, coords)
    return [(x, y) for x, y in snapped.coords], {
        "moved_m": [round(m, 1) for m in snapped.moved_m],
        "max_moved_m": round(max(snapped.moved_m), 1),
        "length_m": round(snapped.length_m, 1),
    }


def _snapped(conn: ConnDep, route: WalkRoute) -> tuple[WalkRoute, dict[str, Any]]:
    """The route along streets, and a report of how far each drawn vertex moved."""
    line, report = _snap(conn, route.coords, route.area)
    return route.along(line, source="snapped"), report


def _with_snap_report(feature: str, report: dict[str, Any] | None) -> str:
    if report is None:
        return feature
    data = json.loads(feature)
    data["properties"]["snap"] = report
    return json.dumps(data, ensure_ascii=False)


async def _create(
    conn: ConnDep,
    route: WalkRoute,
    *,
    user: User,
    snap: bool,
    key: uuid.UUID | None,
) -> Response:
    def work() -> tuple[str, bool]:
        # The digest is of what the client sent (and whether it asked for snapping), so that a
        # retry is recognised although the stored line is the snapped one.
        digest = body_digest(route, snap=snap)
        stored, report = route, None
        if snap:
            stored, report = _snapped(conn, route)
        feature, created = walk_routes.create_route(
            conn,
            stored,
            user_id=user.id,
            client_id=key,
            digest=digest,
            waypoints=route.coords if snap else None,
        )
        return _with_snap_report(feature, report), created

    feature, created = await run_in_threadpool(work)
    return Response(feature, status_code=201 if created else 200, media_type=GEOJSON)


@router.get("/routes", response_class=Response)
def list_routes(conn: ConnDep, user: UserDep, area: str | None = None) -> Response:
    """Walk routes as a GeoJSON FeatureCollection (``?area=`` filters)."""
    return geojson_response(walk_routes.list_routes(conn, area=area))


@router.post(
    "/routes", status_code=201, response_class=Response, openapi_extra=limit(MAX_ROUTE_BODY)
)
async def create_route(
    route: WalkRoute,
    conn: ConnDep,
    user: DrawerDep,
    key: IdempotencyKeyDep,
    snap: Annotated[bool, Query(description="Snap the line to the street network")] = False,
) -> Response:
    """Create a walk route from a GeoJSON LineString Feature (``properties.name``, optional
    ``area`` and ``notes``). With ``?snap=true`` the line follows the streets: shortest paths
    between the drawn vertices, each moved to the nearest point of a street;
    ``properties.snap`` says how far each moved. A snapped route keeps the drawn vertices as
    ``properties.waypoints``: edit it by them, and ``PUT`` them back with ``?snap=true``."""
    return await _create(conn, route, user=user, snap=snap, key=key)


@router.post("/routes/snap", response_class=Response, openapi_extra=limit(MAX_ROUTE_BODY))
async def preview_snap(line: SnapPreview, conn: ConnDep, user: DrawerDep) -> Response:
    """The line a route of these waypoints would follow along the streets, without storing
    anything (the page's preview before "Spara"): a LineString Feature whose properties hold
    ``length_m``, ``waypoints`` (as sent) and ``snap`` (how far each waypoint moved). A waypoint
    far from every street is a 422 ``not_near_network`` that names it."""

    def work() -> str:
        walk_routes.check_line(conn, line.coords, area=line.properties.area)
        coords, report = _snap(conn, line.coords, line.properties.area)
        return json.dumps(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [
                        [round(x, GEOJSON_DECIMALS), round(y, GEOJSON_DECIMALS)] for x, y in coords
                    ],
                },
                "properties": {
                    "length_m": report["length_m"],
                    "waypoints": [list(c) for c in line.coords],
                    "snap": report,
                },
            },
            ensure_ascii=False,
        )

    return Response(await run_in_threadpool(work), media_type=GEOJSON)


@router.post(
    "/routes/gpx",
    status_code=201,
    response_class=Response,
    openapi_extra=limit(MAX_GPX_BYTES, **GPX_BODY),
)
async def import_gpx(
    raw: Annotated[bytes, Depends(raw_body)],
    conn: ConnDep,
    user: DrawerDep,
    key: IdempotencyKeyDep,
    name: Annotated[str, Query(min_length=1, max_length=200)],
    area: str | None = None,
    snap: bool = False,
) -> Response:
    """Create a walk route from an uploaded GPX track or route (the request body, as sent by
    ``curl --data-binary @walk.gpx``), at most 10 MB."""
    route = route_from_points(parse_gpx(raw), name=name, area=area, source="gpx")
    return await _create(conn, route, user=user, snap=snap, key=key)


@router.get(
    "/routes/{route_id}.gpx",
    response_class=Response,
    responses={200: {"content": {"application/gpx+xml": {}}}},
)
def route_gpx(conn: ConnDep, user: UserDep, route_id: int) -> Response:
    """The route as GPX 1.1 (a track, and the planned stops as waypoints) for a phone app."""
    feature = json.loads(walk_routes.get_route(conn, route_id))
    name, coords = walk_routes.route_geometry(conn, route_id)
    stops = _stops(feature["properties"].get("plan"))
    text = route_to_gpx(name, coords, stops=stops)
    filename = re.sub(r"[^\w-]+", "-", name).strip("-") or f"route-{route_id}"
    return Response(
        text,
        media_type="application/gpx+xml",
        headers={"Content-Disposition": attachment(f"{filename}.gpx")},
    )


class _Stop:
    def __init__(self, stop: dict[str, Any]) -> None:
        self.name = str(stop.get("name", ""))
        self.lon = float(stop["lon"])
        self.lat = float(stop["lat"])
        self.arrive_s = float(stop.get("arrive_min", 0)) * 60


def _stops(plan: Any) -> list[_Stop]:
    """The waypoints of a stored plan: the stops with a position (plans stored before the
    plan's stops were checked may have others; the track is the GPX file's point)."""
    stops = plan.get("stops") if isinstance(plan, dict) else None
    kept = []
    for stop in stops if isinstance(stops, list) else []:
        try:
            kept.append(_Stop(stop))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return [s for s in kept if math.isfinite(s.lon + s.lat + s.arrive_s)]


@router.get("/routes/{route_id}", response_class=Response)
def get_route(conn: ConnDep, user: UserDep, route_id: int) -> Response:
    return geojson_response(walk_routes.get_route(conn, route_id))


@router.put("/routes/{route_id}", response_class=Response, openapi_extra=limit(MAX_ROUTE_BODY))
async def replace_route(
    route: WalkRoute,
    conn: ConnDep,
    user: DrawerDep,
    route_id: int,
    snap: bool = False,
) -> Response:
    """Replace a route; ``properties.version`` must be the version you changed (else 409).

    With ``?snap=true`` the line sent is the route's waypoints (``properties.waypoints`` of a
    snapped route, moved, added or removed): it is snapped again and they are kept; without,
    the line is stored as sent and the route has no waypoints."""

    def work() -> str:
        stored, report = route, None
        if snap:
            stored, report = _snapped(conn, route)
        feature = walk_routes.replace_route(
            conn, route_id, stored, waypoints=route.coords if snap else None
        )
        return _with_snap_report(feature, report)

    return Response(await run_in_threadpool(work), media_type=GEOJSON)


@router.delete("/routes/{route_id}", status_code=204)
def delete_route(conn: ConnDep, user: DrawerDep, route_id: int) -> Response:
    walk_routes.delete_route(conn, route_id)
    return Response(status_code=204)
