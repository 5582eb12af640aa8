"""Mapbox Vector Tiles of the deviation and street layers, and a TileJSON document for each.

``GET /tiles/{collection}/{z}/{x}/{y}.mvt`` (Web Mercator tiles, the XYZ scheme of OSM and
QGIS's "Vector Tiles" connections) and ``GET /tiles/{collection}.json`` (TileJSON 3.0.0). The
collections and who may see them are those of the feature service (`api.ogc.catalogue`):
``deviations`` (single reports from zoom 15, groups of nearby reports with their ``count`` below
it: roles with ``READ_REPORTS``; never who reported, no free text),
``deviation-cells`` and ``deviation-zones`` (the partner counts, k ≥ 3: partners see these only)
and ``streets`` (the imported OpenStreetMap network, public like the areas). Deviations are those
of the last 90 days unless ``datetime`` says otherwise (an RFC 3339 instant or interval; for
the count layers an instant is the 90 days up to it, and the period is widened to whole ISO
weeks, as for their OGC collections: `api.meeting.Request.period`).

Tiles of deviations and of the partner counts carry an ``ETag`` made of what decides them (the
deviations' change counter of the tile's areas, the zones, the tile, the period, the viewer's
capabilities): ``If-None-Match`` with it answers 304, and the same tile for another viewer of
the same kind is sent from this process's cache (`api.conditional.BodyCache`) without being
made again, which is what keeps the low zooms (a whole city's year in one tile) fast.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from shapely.geometry import shape

from api.conditional import BodyCache, etag_for, matches
from api.deps import DbDep, SettingsDep
from api.heavy import BriefOptionalUserDep
from api.ogc import catalogue
from api.ogc.catalogue import SourceQuery
from api.ogc.query import Interval, check_known, parse_datetime, single
from geo.capabilities import Capability
from geo.db import areas, categories, tiles
from geo.db.accounts import Unauthorized, User
from geo.db.guarded import Connections
from geo.errors import NotFound
from geo.geometry import BBox
from maps.layers import TOTAL_FIELD, count_field

router = APIRouter(prefix="/tiles", tags=["vector tiles"])

MVT = "application/vnd.mapbox-vector-tile"
DEVIATION_DAYS = 90
MIN_ZOOM, MAX_ZOOM = 0, tiles.MAX_ZOOM


@dataclass(frozen=True)
class TileLayer:
    id: str
    title: str
    needs: Capability | None
    public: bool
    fields: dict[str, str]
    temporal: bool
    cache: str

    def visible_to(self, user: User | None) -> bool:
        if self.public:
            return True
        return user is not None and (self.needs is None or user.can(self.needs))


_AGG_FIELDS = {"period_fran": "String", "period_till": "String", TOTAL_FIELD: "Number"}
"""The fields of the count layers besides the place and the categories' ``antal_<code>``
(`count_fields`): the wide layout of the export's ``avvikelser_zon`` (`maps.layers`)."""
_PRIVATE = "private, max-age=60"
LAYERS: dict[str, TileLayer] = {
    t.id: t
    for t in (
        TileLayer(
            "deviations",
            "Avvikelser",
            Capability.READ_REPORTS,
            False,
            {
                "id": "String",
                "category": "String",
                "category_sv": "String",
                "colour": "String",
                "observed_at": "String",
                "severity": "Number",
                "status": "String",
                "synthetic": "Boolean",
                "count": "Number",
                "severity_max": "Number",
                "observed_latest": "String",
            },
            True,
            _PRIVATE,
        ),
        TileLayer(
            "deviation-cells",
            "Avvikelser per ruta (250 m)",
            Capability.READ_AGGREGATES,
            False,
            {"ruta": "String", **_AGG_FIELDS},
            True,
            _PRIVATE,
        ),
        TileLayer(
            "deviation-zones",
            "Avvikelser per samverkanszon",
            Capability.READ_AGGREGATES,
            False,
            {"zon": "String", "zon_namn": "String", **_AGG_FIELDS},
            True,
            _PRIVATE,
        ),
        TileLayer(
            "streets",
            "Gatunät (OpenStreetMap)",
            None,
            True,
            {"osm_way_id": "Number", "name": "String", "highway": "String", "length_m": "Number"},
            False,
            # The network changes only with an import: a day in any cache.
            "public, max-age=86400",
        ),
    )
}


def _layer(collection: str, user: User | None) -> TileLayer:
    found = LAYERS.get(collection)
    if user is None and (found is None or not found.public):
        raise Unauthorized("sign in to read these tiles: send Authorization: Bearer <token>")
    if found is None or not found.visible_to(user):
        raise NotFound(f"no tile layer {collection!r}; GET /tiles/{{layer}}.json describes one")
    return found


def tile_bbox(z: int, x: int, y: int) -> BBox:
    """The lon/lat box of the Web Mercator tile ``z/x/y`` (XYZ: y = 0 in the north).

    >>> tile_bbox(0, 0, 0).maxlat > 85
    True
    """
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return BBox(x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def _interval(request: Request, layer: TileLayer) -> tuple[datetime | None, datetime | None, Any]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    allowed = {"datetime"} if layer.temporal else set()
    if layer.id in catalogue.BY_ID and "area" in catalogue.BY_ID[layer.id].params:
        allowed.add("area")
    if layer.id == "deviations":
        allowed.discard("area")
    check_known(params, allowed)
    text = single(params, "datetime")
    if text is None:
        # From the start of the hour: the default period, and so the tile and its ETag, stay
        # the same for an hour unless a report changes.
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        return now - timedelta(days=DEVIATION_DAYS), None, params
    interval = parse_datetime(text)
    return interval.start, interval.until_exclusive(), params


def _aggregate_tile(
    db: Connections, layer: TileLayer, q: SourceQuery, z: int, x: int, y: int
) -> bytes:
    page = catalogue.BY_ID[layer.id].source(db, q)
    wkb = [shapely.to_wkb(shape(f["geometry"])) for f in page.features]
    props = [f["properties"] for f in page.features]
    with db.connection() as conn:
        return tiles.polygons_tile(conn, z, x, y, layer=layer.id, wkb=wkb, properties=props)


@router.get(
    "/{collection}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "A Mapbox Vector Tile"}},
)
async def get_tile(
    request: Request,
    db: DbDep,
    user: BriefOptionalUserDep,
    settings: SettingsDep,
    collection: str,
    z: Annotated[int, Path(ge=MIN_ZOOM, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    if_none_match: Annotated[
        str | None,
        Header(description="The ETag of this tile read before: 304 while it is still the tile"),
    ] = None,
) -> Response:
    """One tile (EPSG:3857, 4096 units, 64 of buffer); an empty tile where there is nothing.

    Deviation and count tiles have an ``ETag``; sent back in ``If-None-Match`` it gives a 304
    without a body while no report of the tile's areas (nor a zone) has changed."""
    layer = _layer(collection, user)
    if x >= 2**z or y >= 2**z:
        raise NotFound(f"no tile {z}/{x}/{y}: at zoom {z}, x and y run from 0 to {2**z - 1}")
    since, until, params = _interval(request, layer)
    headers = {"Cache-Control": layer.cache}
    if not layer.public:
        headers["Vary"] = "Authorization, Cookie"
    etag: str | None = None
    cache = _cache(request)
    if layer.temporal:

        def version() -> str:
            with db.connection() as conn:
                return tiles.tile_version(
                    conn, bbox=tile_bbox(z, x, y), with_zones=layer.id == "deviation-zones"
                )

        assert user is not None  # temporal layers are never public (`_layer`)
        etag = etag_for(
            "tile",
            layer.id,
            z,
            x,
            y,
            since,
            until,
            single(params, "area"),
            settings.default_area,
            await run_in_threadpool(version),
            sorted(user.capabilities),
            user.organisation_id,
        )
        headers["ETag"] = etag
        if matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        cached = cache.get(etag)
        if cached is not None:
            return Response(cached, media_type=MVT, headers=headers)

    def make() -> bytes:
        if layer.id == "streets":
            with db.connection() as conn:
                return tiles.streets_tile(conn, z, x, y)
        if layer.id == "deviations":
            with db.connection() as conn:
                return tiles.deviations_tile(conn, z, x, y, since=since, until=until)
        interval = Interval(since, until - timedelta(microseconds=1) if until else None)
        q = SourceQuery(
            user=user,
            bbox=tile_bbox(z, x, y),
            interval=interval,
            area=single(params, "area"),
            default_area=settings.default_area,
        )
        return _aggregate_tile(db, layer, q, z, x, y)

    body = await run_in_threadpool(make)
    if etag is not None:
        cache.put(etag, body)
    return Response(body, media_type=MVT, headers=headers)


def count_fields(conn: Any, layer: TileLayer) -> dict[str, str]:
    """The layer's fields; for a count layer with an ``antal_<code>`` per category of the
    ``deviation_categories`` table before ``antal_totalt``, as its tiles have them."""
    if TOTAL_FIELD not in layer.fields:
        return layer.fields
    codes = [c["code"] for c in categories.categories_json(conn)]
    fields = {k: v for k, v in layer.fields.items() if k != TOTAL_FIELD}
    return fields | {count_field(code): "Number" for code in codes} | {TOTAL_FIELD: "Number"}


def _cache(request: Request) -> BodyCache:
    """This process's cache of tiles by ETag (`api.conditional.BodyCache`, made by `create_app`)."""
    cache: BodyCache = request.app.state.tile_cache
    return cache


@router.get("/{collection}.json", response_class=Response)
def tilejson(request: Request, db: DbDep, user: BriefOptionalUserDep, collection: str) -> Response:
    """The layer's TileJSON 3.0.0: the tile URL template, zooms, bounds and fields."""
    layer = _layer(collection, user)
    with db.connection() as conn:
        extent = areas.areas_extent(conn)
        fields = count_fields(conn, layer)
    base = str(request.base_url).rstrip("/")
    doc: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": f"nattvandring: {layer.title}"
        + (" (the last 90 days unless ?datetime=)" if layer.temporal else ""),
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "vector_layers": [{"id": layer.id, "description": layer.title, "fields": fields}],
    }
    if extent is not None:
        doc["bounds"] = list(extent)
        doc["center"] = [(extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2, 13]
    return Response(
        json.dumps(doc, ensure_ascii=False),
        media_type="application/json",
        headers={"Cache-Control": layer.cache},
    )
