"""The coordinate reference systems of the feature service (OGC API – Features Part 2).

Features are stored in WGS 84 (EPSG:4326) with longitude first, which is what OGC calls CRS84;
that is the storage CRS and the default. A client may ask for EPSG:4326 (latitude first, as the
EPSG register defines its axes) or SWEREF 99 TM, EPSG:3006, whose axes the register orders
northing first: coordinates are written in the axis order of the CRS asked for, as Part 2 and
OGC's axis-order policy say (QGIS swaps them back for such a CRS, as does any OGC client).
``bbox`` values given with ``bbox-crs`` are read in that CRS's axis order too.

>>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/3006", field="crs").epsg
3006
>>> CRS84.uri
'http://www.opengis.net/def/crs/OGC/1.3/CRS84'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape

from api.ogc.query import BadQuery
from geo.db.queries import GEOJSON_DECIMALS
from geo.geometry import METRIC_DECIMALS, BBox


@dataclass(frozen=True)
class Crs:
    """A CRS offered: its URI, its EPSG code (None for CRS84) and the decimals written."""

    uri: str
    epsg: int | None
    decimals: int

    @property
    def pyproj_name(self) -> str:
        return "OGC:CRS84" if self.epsg is None else f"EPSG:{self.epsg}"


CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", None, GEOJSON_DECIMALS)
EPSG4326 = Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, GEOJSON_DECIMALS)
EPSG3006 = Crs("http://www.opengis.net/def/crs/EPSG/0/3006", 3006, METRIC_DECIMALS)
SUPPORTED: tuple[Crs, ...] = (CRS84, EPSG4326, EPSG3006)
STORAGE = CRS84
_BY_URI = {c.uri: c for c in SUPPORTED}
# What clients also send for the same CRSs: the https form, the curie and the short codes.
_ALIASES = {
    "[OGC:CRS84]": CRS84,
    "OGC:CRS84": CRS84,
    "[EPSG:4326]": EPSG4326,
    "EPSG:4326": EPSG4326,
    "[EPSG:3006]": EPSG3006,
    "EPSG:3006": EPSG3006,
}


def parse_crs(text: str, *, field: str) -> Crs:
    """The `Crs` a ``crs`` or ``bbox-crs`` value names, or a 400 listing those offered."""
    value = text.strip()
    found = _BY_URI.get(value.replace("https://", "http://", 1)) or _ALIASES.get(value.upper())
    if found is None:
        offered = ", ".join(c.uri for c in SUPPORTED)
        raise BadQuery(f"{field}: {text!r} is not offered; use one of {offered}", field=field)
    return found


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str) -> Transformer:
    # Not always_xy: the authority's axis order is the point (EPSG:4326 lat/lon, 3006 N/E).
    return Transformer.from_crs(src, dst)


def bbox_to_crs84(values: tuple[float, float, float, float], crs: Crs) -> BBox:
    """A ``bbox`` in ``crs`` (its axis order) as a lon/lat box that holds all of it."""
    if crs.epsg is None:
        return BBox(*values)
    t = _transformer(crs.pyproj_name, CRS84.pyproj_name)
    minlon, minlat, maxlon, maxlat = t.transform_bounds(*values, densify_pts=21)
    return BBox(minlon, minlat, maxlon, maxlat)


def _round(xy: np.ndarray, decimals: int) -> np.ndarray:
    return np.round(xy, decimals)


def transform_geometry(geometry: Mapping[str, Any] | None, crs: Crs) -> dict[str, Any] | None:
    """A GeoJSON geometry (CRS84) in ``crs``, with that CRS's decimals; exterior rings
    counter-clockwise in CRS84 (RFC 7946)."""
    if geometry is None:
        return None
    geom = shape(geometry)
    if crs.epsg is None:
        geom = shapely.orient_polygons(geom)
        out = shapely.transform(geom, lambda xy: _round(xy, crs.decimals))
    else:
        t = _transformer(CRS84.pyproj_name, crs.pyproj_name)

        def project(xy: np.ndarray) -> np.ndarray:
            a, b = t.transform(xy[:, 0], xy[:, 1])
            return _round(np.column_stack([a, b]), crs.decimals)

        out = shapely.transform(geom, project)
    return dict(mapping(out))


def transform_features(features: list[dict[str, Any]], crs: Crs) -> list[dict[str, Any]]:
    """``features`` (CRS84) with their geometries in ``crs`` (new dicts; the input is kept)."""
    return [{**f, "geometry": transform_geometry(f.get("geometry"), crs)} for f in features]


def content_crs(crs: Crs) -> str:
    """The ``Content-Crs`` header's value: the URI in angle brackets."""
    return f"<{crs.uri}>"
