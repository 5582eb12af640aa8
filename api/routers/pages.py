"""Web pages (Swedish): the situation map."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import ConnDep, SettingsDep
from geo import store
from geo.errors import NotFound
from maps.situation import situation_map_html

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse)
def situation_map(conn: ConnDep, settings: SettingsDep) -> HTMLResponse:
    """The situation map (lägesbild) of the default area, with areas, zones and places."""
    try:
        focus = json.loads(store.area_geojson(conn, settings.default_area))
    except NotFound:
        focus = None  # no demo data loaded: show whatever areas there are
    page = situation_map_html(
        areas=json.loads(store.areas_geojson(conn)),
        zones=json.loads(store.zones_geojson(conn)),
        places=json.loads(store.places_geojson(conn)),
        focus=focus,
        tile_url=settings.tile_url or None,
        tile_attribution=settings.tile_attribution,
    )
    return HTMLResponse(page)
