"""Heat maps and hot spots of an area's deviations (walkers, planners and admins)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from api.deps import DbDep, SettingsDep
from api.heavy import HeavyAnalystDep
from api.routers.layers import GEOJSON
from geo import heat, hotspots, isopleths
from geo.analysis import (
    HeatParams,
    HotspotParams,
    PointSelection,
    Window,
    heat_map,
    hotspot_map,
)
from geo.db.deviations import select_points
from geo.db.guarded import Connections
from geo.timeofweek import parse_days, parse_hours
from maps import heat_image

router = APIRouter(prefix="/api/v1", tags=["heat maps and hot spots"])

DEFAULT_PERIOD = timedelta(days=90)


@dataclass(frozen=True)
class Filters:
    area: str
    zone: str | None
    window: Window
    categories: list[str] | None
    compare: bool


def filters(
    settings: SettingsDep,
    area: Annotated[str | None, Query(description="Area slug (default: the app's area)")] = None,
    zone: Annotated[str | None, Query(description="Only this collaboration zone")] = None,
    since: Annotated[
        datetime | None,
        Query(description="Start, ISO 8601 with zone (default: 90 days before until)"),
    ] = None,
    until: Annotated[datetime | None, Query(description="End (default: now)")] = None,
    category: Annotated[list[str] | None, Query(description="Repeatable")] = None,
    days: Annotated[
        str | None,
        Query(description="Days of week a window starts, e.g. fri-sat, fre-lör, mon,wed"),
    ] = None,
    hours: Annotated[
        str | None, Query(description="Local hours, e.g. 20-02 (across midnight)")
    ] = None,
    compare: Annotated[
        Literal["previous"] | None,
        Query(description="previous: compare with the previous period of the same length"),
    ] = None,
) -> Filters:
    end = until or datetime.now(UTC)
    start = since or end - DEFAULT_PERIOD
    window = Window(start, end, parse_days(days), parse_hours(hours), days, hours)
    return Filters(area or settings.default_area, zone, window, category, compare == "previous")


FiltersDep = Annotated[Filters, Depends(filters)]


def _select(db: Connections, f: Filters, *, margin_m: float) -> PointSelection:
    """The points, read over a connection that is given back before the computing starts."""
    since = f.window.previous().since if f.compare else f.window.since
    with db.connection() as conn:
        return select_points(
            conn,
            area=f.area,
            zone=f.zone,
            since=since,
            until=f.window.until,
            categories=f.categories,
            margin_m=margin_m,
        )


def _parameters(f: Filters, selection: PointSelection, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "area": f.area,
        "zone": f.zone,
        "region": selection.region_name,
        **f.window.describe(),
        "category": f.categories,
        "compare": "previous" if f.compare else None,
        **extra,
    }


@router.get(
    "/heatmap",
    response_class=Response,
    responses={
        200: {"content": {"application/geo+json": {}, "image/png": {}, "application/json": {}}}
    },
)
def heatmap(
    db: DbDep,
    user: HeavyAnalystDep,
    f: FiltersDep,
    bandwidth_m: Annotated[
        float,
        Query(
            ge=10,
            le=2000,
            description="Kernel bandwidth, metres (Gaussian: standard deviation; quartic: radius)",
        ),
    ] = 150,
    cell_m: Annotated[float, Query(ge=5, le=500, description="Cell size, metres")] = 25,
    kernel: Literal["gaussian", "quartic"] = "gaussian",
    half_life_days: Annotated[float | None, Query(gt=0, le=3650, description="Time decay")] = None,
    format: Literal["geojson", "png", "json", "overlay"] = "geojson",  # noqa: A002
) -> Response:
    """A kernel density estimate of the area's deviations in reports per km² per week.

    ``geojson``: the isopleths (smallest regions holding 50/75/90 % of the density);
    ``png``: a transparent image for a map overlay, its lat/lon bounds in the ``X-Bounds``
    header; ``overlay``: the PNG as a data URL with bounds and legend, in JSON; ``json``: the
    grid (EPSG:3006, rasterio's transform order, rows north to south). With
    ``compare=previous`` the values are the change from the previous period of the same length.
    """
    params = HeatParams(
        bandwidth_m=bandwidth_m, cell_m=cell_m, kernel=kernel, half_life_days=half_life_days
    )
    margin = 4 * bandwidth_m if kernel == "gaussian" else bandwidth_m
    selection = _select(db, f, margin_m=margin)
    raster = heat_map(selection, f.window, params)
    if f.compare:
        raster = heat.difference(raster, heat_map(selection, f.window.previous(), params))
    parameters = _parameters(f, selection, params.describe())
    if format == "json":
        return JSONResponse(heat_image.raster_json(raster, parameters=parameters))
    if format == "geojson":
        if f.compare:
            fc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
            parameters["note"] = "isopleths of a difference are not defined; use png or json"
        else:
            fc = isopleths.isopleths_geojson(raster)
        fc["parameters"] = parameters
        return Response(json.dumps(fc, ensure_ascii=False), media_type=GEOJSON)
    png, bounds, legend = heat_image.raster_png(raster, ramp="RdBu" if f.compare else "YlOrRd")
    if format == "png":
        return Response(
            png,
            media_type="image/png",
            headers={"X-Bounds": json.dumps(bounds), "Cache-Control": "private, max-age=60"},
        )
    return JSONResponse(
        {
            "image": "data:image/png;base64," + base64.b64encode(png).decode(),
            "bounds": bounds,
            "legend": legend,
            "parameters": parameters,
        }
    )


@router.get("/hotspots", response_class=Response)
def get_hotspots(
    db: DbDep,
    user: HeavyAnalystDep,
    f: FiltersDep,
    cell_m: Annotated[float, Query(ge=25, le=1000, description="Cell size, metres")] = 100,
    shape: Literal["square", "hex"] = "square",
    all_cells: Annotated[
        bool, Query(description="Also the cells that are not significant")
    ] = False,
) -> Response:
    """Getis-Ord Gi* hot and cold spots of report counts on a grid, classified at 90/95/99 %
    confidence after a Benjamini–Hochberg false-discovery-rate correction (GeoJSON polygons).

    With ``compare=previous`` each cell says whether it is a ``new``, ``persistent`` or
    ``gone`` hot spot against the previous period of the same length.
    """
    params = HotspotParams(cell_m=cell_m, shape=shape, significant_only=not all_cells)
    selection = _select(db, f, margin_m=0)
    fc = hotspot_map(selection, f.window, params, compare_previous=f.compare)
    fc["parameters"] = _parameters(f, selection, params.describe())
    fc["legend"] = hotspots.legend()
    return Response(json.dumps(fc, ensure_ascii=False), media_type=GEOJSON)
