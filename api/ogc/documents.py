"""The JSON documents of the feature service and their links (OGC API – Features Part 1,
``/req/core/root-success``, ``/req/core/fc-md-success``, ``/req/core/fc-response``…).

Every link is absolute, made from the request's base URL, so that a client behind a proxy with
a root path still finds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from api.ogc import crs as ogc_crs
from api.ogc.catalogue import Collection
from geo.db.follow_up import SYNTHETIC_NOTE

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
SYNTHETIC = f"{SYNTHETIC_NOTE}: genererade avvikelser, inte verkliga rapporter"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


def link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def landing(base: str, app_base: str) -> dict[str, Any]:
    """The landing page: links to the API definition, the conformance and the collections."""
    return {
        "title": "nattvandring – OGC API Features",
        "description": "Deviations, hot spots, zones, places and walk routes of the night-walk "
        "programmes as OGC API – Features collections (GeoJSON; CRS84, EPSG:4326, EPSG:3006). "
        "Sign in with a bearer token (Authorization header) to see more than the public layers.",
        "links": [
            link(f"{base}", "self", JSON, "Denna sida"),
            link(f"{base}/api", "service-desc", OPENAPI, "API-definition (OpenAPI 3.0)"),
            link(f"{app_base}/docs", "service-doc", "text/html", "API-dokumentation"),
            link(f"{base}/conformance", "conformance", JSON, "Överensstämmelse"),
            link(f"{base}/collections", "data", JSON, "Samlingar"),
        ],
    }


def conformance(base: str) -> dict[str, Any]:
    return {
        "conformsTo": list(CONFORMANCE),
        "links": [link(f"{base}/conformance", "self", JSON, "")],
    }


def collection(base: str, c: Collection, extent: Sequence[float] | None) -> dict[str, Any]:
    """A collection's description (``/req/core/sfc-md-success``; Part 2's ``crs`` and
    ``storageCrs``)."""
    here = f"{base}/collections/{c.id}"
    doc: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "links": [
            link(here, "self", JSON, c.title),
            link(f"{here}/items", "items", GEOJSON, f"{c.title} (GeoJSON)"),
        ],
        "crs": [x.uri for x in ogc_crs.SUPPORTED],
        "storageCrs": ogc_crs.STORAGE.uri,
    }
    ext: dict[str, Any] = {}
    if extent is not None:
        ext["spatial"] = {"bbox": [list(extent)], "crs": ogc_crs.CRS84.uri}
    if c.temporal is not None:
        ext["temporal"] = {"interval": [[None, None]], "trs": TRS}
    if ext:
        doc["extent"] = ext
    if c.properties:
        doc["x-properties"] = {name: {"type": kind} for name, kind in c.properties}
    return doc


def collections(base: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "links": [link(f"{base}/collections", "self", JSON, "Samlingar")],
        "collections": docs,
    }


def _with(query: Mapping[str, str], **changes: int) -> str:
    params = {**query, **{k: str(v) for k, v in changes.items()}}
    return urlencode(params)


def items(
    base: str,
    c: Collection,
    features: list[dict[str, Any]],
    *,
    number_matched: int,
    query: Mapping[str, str],
    limit: int,
    offset: int,
    synthetic: bool = False,
) -> dict[str, Any]:
    """A page of items with ``numberMatched``, ``numberReturned``, ``timeStamp`` and the links
    ``self``, ``collection``, ``next`` (when there is more) and ``prev``."""
    here = f"{base}/collections/{c.id}/items"
    links = [
        link(f"{here}?{_with(query)}".rstrip("?"), "self", GEOJSON, "Denna sida"),
        link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
    ]
    if offset + len(features) < number_matched:
        links.append(
            link(
                f"{here}?{_with(query, offset=offset + limit, limit=limit)}",
                "next",
                GEOJSON,
                "Nästa sida",
            )
        )
    if offset > 0:
        links.append(
            link(
                f"{here}?{_with(query, offset=max(0, offset - limit), limit=limit)}",
                "prev",
                GEOJSON,
                "Föregående sida",
            )
        )
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "numberMatched": number_matched,
        "numberReturned": len(features),
        "features": features,
        "links": links,
    }
    if synthetic:
        doc["note"] = SYNTHETIC
    return doc


def feature(base: str, c: Collection, f: dict[str, Any]) -> dict[str, Any]:
    here = f"{base}/collections/{c.id}/items/{f.get('id')}"
    return {
        **f,
        "links": [
            link(here, "self", GEOJSON, "Detta objekt"),
            link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
        ],
    }
