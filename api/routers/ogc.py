"""OGC API – Features at ``/ogc``: the landing page, conformance, the collections a viewer may
see (`api.ogc.catalogue`), their items and single Features (Part 1 Core and GeoJSON; Part 2 CRS
by reference for EPSG:4326 and EPSG:3006).

Authentication is the API's bearer token (``Authorization: Bearer …``, as QGIS sends it from an
"API header" authentication configuration). The landing page, the conformance and the public
layers (areas, zones, places) are readable without one; a collection the viewer may not see is
a 404 like one that does not exist (a 401 without a sign-in), so its existence does not leak.
Query parameters the service does not know are a 400 (``bad_query``), as Part 1 permits; a
format other than JSON or GeoJSON (``f``, ``Accept``) a 406.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import DbDep, SettingsDep
from api.heavy import BriefOptionalUserDep
from api.ogc import catalogue, documents, openapi
from api.ogc import crs as ogc_crs
from api.ogc.catalogue import Collection, SourceQuery
from api.ogc.query import (
    COMMON_PARAMS,
    DEFAULT_LIMIT,
    ITEMS_PARAMS,
    MAX_LIMIT,
    check_known,
    parse_bbox_values,
    parse_datetime,
    parse_limit,
    parse_offset,
    single,
)
from api.settings import AppSettings
from geo.db import areas
from geo.db.accounts import Unauthorized, User
from geo.errors import NotAcceptable
from geo.geometry import BBox

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])

_NOT_ACCEPTABLE = {
    "description": "A format other than JSON or GeoJSON (`f`, `Accept`): `not_acceptable`",
    "content": {documents.JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_JSON_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {documents.JSON: {}}, "description": "A JSON document"},
    406: _NOT_ACCEPTABLE,
}
_GEOJSON_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {documents.GEOJSON: {}}, "description": "GeoJSON"},
    406: _NOT_ACCEPTABLE,
}
# What ``f`` may say, and the media types of ``Accept`` that these answers satisfy.
_F_VALUES = {"json", "geojson", "application/json", "application/geo+json"}
_ACCEPTED = frozenset({"*/*", "application/*", documents.JSON, documents.GEOJSON})
_API_ACCEPTED = _ACCEPTED | {"application/vnd.oai.openapi+json", "application/openapi+json"}


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        "style": "form",
        "explode": False,
    }


_CRS_SCHEMA = {"type": "string", "format": "uri", "enum": [c.uri for c in ogc_crs.SUPPORTED]}
_F = _param("f", "The format: json or geojson (the default)", {"enum": ["json", "geojson"]})
_CRS = _param("crs", "The CRS of the answer's coordinates (its axis order)", _CRS_SCHEMA)
_AREA = _param("area", "Area slug, for the collections of one area", {"type": "string"})
# Part 1's (and Part 2's) parameters as the OpenAPI fragments of the standards describe them,
# for the OpenAPI documents only: they are read by hand (`api.ogc.query`) so that an unknown one
# or a value that cannot be read is a 400 (``bad_query``), as Part 1 asks, not FastAPI's 422.
PARAMETERS: dict[str, dict[str, Any]] = {
    "bbox": _param(
        "bbox",
        "minx,miny,maxx,maxy in bbox-crs (default CRS84: lon/lat)",
        {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
    ),
    "bbox-crs": _param("bbox-crs", "The CRS of bbox", _CRS_SCHEMA),
    "datetime": _param(
        "datetime",
        "RFC 3339 date-time (with its zone), date, or interval start/end (.. an open end)",
        {"type": "string"},
    ),
    "limit": _param(
        "limit",
        f"Features per page (more than {MAX_LIMIT} is taken as {MAX_LIMIT})",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    "offset": _param("offset", "Features to skip", {"type": "integer", "minimum": 0, "default": 0}),
    "crs": _CRS,
    "f": _F,
    "area": _AREA,
}
_ITEMS_PARAMETERS = [
    PARAMETERS[name]
    for name in ("bbox", "bbox-crs", "datetime", "limit", "offset", "crs", "f", "area")
]
_ITEM_PARAMETERS = [_CRS, _F, _AREA]


def _multi(request: Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    return found


def _check_format(
    request: Request, params: dict[str, list[str]], accepted: frozenset[str] = _ACCEPTED
) -> None:
    """A 406 for an ``f`` or an ``Accept`` that no answer here meets (JSON is the default)."""
    f = single(params, "f")
    if f is not None and f.lower() not in _F_VALUES:
        raise NotAcceptable(f"f={f!r} is not offered: the service answers in JSON and GeoJSON")
    accept = request.headers.get("accept")
    if accept and f is None:
        types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
        if types and not types & accepted:
            raise NotAcceptable(
                f"Accept: {accept} is not offered: the service answers in application/json and "
                "application/geo+json"
            )


def _bases(request: Request) -> tuple[str, str]:
    app_base = str(request.base_url).rstrip("/")
    return f"{app_base}/ogc", app_base


def _json(doc: dict[str, Any], media_type: str = documents.JSON, **headers: str) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False), media_type=media_type, headers=headers)


def _simple(request: Request, accepted: frozenset[str] = _ACCEPTED) -> dict[str, list[str]]:
    params = _multi(request)
    check_known(params, COMMON_PARAMS)
    _check_format(request, params, accepted)
    return params


def _collection(collection_id: str, user: User | None) -> Collection:
    found = catalogue.BY_ID.get(collection_id)
    if user is None and (found is None or not found.public):
        raise Unauthorized(
            "sign in to read this collection: send Authorization: Bearer <token> "
            "(POST /api/v1/auth/token gives one)"
        )
    return catalogue.collection(collection_id, user)


@router.get("", response_class=Response, responses=_JSON_DOC, openapi_extra={"parameters": [_F]})
async def landing_page(request: Request) -> Response:
    """The landing page: links to the API definition, the conformance and the collections."""
    _simple(request)
    base, app_base = _bases(request)
    return _json(documents.landing(base, app_base))


@router.get(
    "/conformance",
    response_class=Response,
    responses=_JSON_DOC,
    openapi_extra={"parameters": [_F]},
)
async def conformance(request: Request) -> Response:
    """The conformance classes the service implements."""
    _simple(request)
    return _json(documents.conformance(_bases(request)[0]))


@router.get(
    "/api",
    response_class=Response,
    responses={
        200: {"content": {documents.OPENAPI: {}}, "description": "OpenAPI 3.0"},
        406: _NOT_ACCEPTABLE,
    },
    openapi_extra={"parameters": [_F]},
)
async def service_description(request: Request) -> Response:
    """The feature service's API definition in OpenAPI 3.0 (the landing page's
    ``service-desc``): the ``/ogc`` operations of ``/openapi.json`` (OpenAPI 3.1)."""
    _simple(request, _API_ACCEPTED)
    doc = openapi.service_description(
        request.app.openapi(), _bases(request)[1], parameters=PARAMETERS
    )
    return _json(doc, documents.OPENAPI)


def _extent(db: DbDep) -> tuple[float, float, float, float] | None:
    with db.connection() as conn:
        return areas.areas_extent(conn)


@router.get(
    "/collections",
    response_class=Response,
    responses=_JSON_DOC,
    openapi_extra={"parameters": [_F]},
)
def list_collections(request: Request, db: DbDep, user: BriefOptionalUserDep) -> Response:
    """The collections the caller may read (the public ones without a sign-in)."""
    _simple(request)
    base = _bases(request)[0]
    extent = _extent(db)
    docs = [documents.collection(base, c, extent) for c in catalogue.visible(user)]
    return _json(documents.collections(base, docs))


@router.get(
    "/collections/{collection_id}",
    response_class=Response,
    responses=_JSON_DOC,
    openapi_extra={"parameters": [_F]},
)
def describe_collection(
    request: Request, db: DbDep, user: BriefOptionalUserDep, collection_id: str
) -> Response:
    """One collection: its extent, CRSs and links; 404 when there is none or it is not yours."""
    _simple(request)
    c = _collection(collection_id, user)
    return _json(documents.collection(_bases(request)[0], c, _extent(db)))


def _source_query(
    params: dict[str, list[str]], c: Collection, user: User | None, settings: AppSettings
) -> tuple[SourceQuery, ogc_crs.Crs]:
    check_known(params, ITEMS_PARAMS | c.params)
    bbox: BBox | None = None
    text = single(params, "bbox")
    bbox_crs_text = single(params, "bbox-crs")
    bbox_crs = (
        ogc_crs.parse_crs(bbox_crs_text, field="bbox-crs") if bbox_crs_text else ogc_crs.CRS84
    )
    if text is not None:
        bbox = ogc_crs.bbox_to_crs84(parse_bbox_values(text), bbox_crs)
    crs_text = single(params, "crs")
    out_crs = ogc_crs.parse_crs(crs_text, field="crs") if crs_text else ogc_crs.CRS84
    when = single(params, "datetime")
    query = SourceQuery(
        user=user,
        bbox=bbox,
        interval=parse_datetime(when) if when is not None else None,
        limit=parse_limit(single(params, "limit")),
        offset=parse_offset(single(params, "offset")),
        area=single(params, "area") if "area" in c.params else None,
        default_area=settings.default_area,
    )
    return query, out_crs


@router.get(
    "/collections/{collection_id}/items",
    response_class=Response,
    responses=_GEOJSON_DOC,
    openapi_extra={"parameters": _ITEMS_PARAMETERS},
)
async def get_items(
    request: Request,
    db: DbDep,
    user: BriefOptionalUserDep,
    settings: SettingsDep,
    collection_id: str,
) -> Response:
    """A page of a collection's Features (GeoJSON) with ``numberMatched``, ``numberReturned``
    and ``next``/``prev`` links. ``bbox`` (with ``bbox-crs``), ``datetime`` (RFC 3339 instant
    or interval, ``..`` open), ``limit`` (1–5000, default 100), ``offset``, ``crs`` (CRS84,
    EPSG:4326, EPSG:3006) and, for the collections of one area, ``area``."""
    c = _collection(collection_id, user)
    params = _multi(request)
    q, out_crs = _source_query(params, c, user, settings)
    _check_format(request, params)
    page = await run_in_threadpool(c.source, db, q)
    features = ogc_crs.transform_features(page.features, out_crs)
    base = _bases(request)[0]
    flat = {k: v[0] for k, v in params.items()}
    assert q.limit is not None
    doc = documents.items(
        base,
        c,
        features,
        number_matched=page.number_matched,
        query=flat,
        limit=q.limit,
        offset=q.offset,
        synthetic=page.synthetic,
    )
    return _json(doc, documents.GEOJSON, **{"Content-Crs": ogc_crs.content_crs(out_crs)})


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=Response,
    responses=_GEOJSON_DOC,
    openapi_extra={"parameters": _ITEM_PARAMETERS},
)
async def get_item(
    request: Request,
    db: DbDep,
    user: BriefOptionalUserDep,
    settings: SettingsDep,
    collection_id: str,
    feature_id: str,
) -> Response:
    """One Feature by its id (``crs`` as for the items); 404 when there is none."""
    c = _collection(collection_id, user)
    params = _multi(request)
    check_known(params, {"f", "crs"} | c.params)
    _check_format(request, params)
    crs_text = single(params, "crs")
    out_crs = ogc_crs.parse_crs(crs_text, field="crs") if crs_text else ogc_crs.CRS84
    q = SourceQuery(
        user=user,
        area=single(params, "area") if "area" in c.params else None,
        default_area=settings.default_area,
    )
    found = await run_in_threadpool(catalogue.read_item, db, c, q, feature_id)
    out = {**found, "geometry": ogc_crs.transform_geometry(found.get("geometry"), out_crs)}
    doc = documents.feature(_bases(request)[0], c, out)
    return _json(doc, documents.GEOJSON, **{"Content-Crs": ogc_crs.content_crs(out_crs)})
