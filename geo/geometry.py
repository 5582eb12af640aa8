"""Geometry checks and CRS helpers shared by the whole service.

Storage and the API use WGS 84 (EPSG:4326) in GeoJSON's lon/lat order; metric work (buffers,
distances, grids) runs in the area's metric CRS, SWEREF 99 TM (EPSG:3006) for Swedish areas.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer
from shapely import Geometry

from geo.errors import InvalidParameter

WGS84 = 4326
SWEREF99TM = 3006
# The wall clock of the Swedish areas: the default of every area's ``time_zone`` (migration
# 0007), as SWEREF 99 TM is the default of its ``metric_srid``.
DEFAULT_TIME_ZONE = "Europe/Stockholm"
WGS84_DECIMALS = 6
"""Decimals of a degree in every coordinate the service writes (API, OGC API, every export
file, GPX): 6 decimals are about 0.1 m, finer than a phone's GPS can tell."""
METRIC_DECIMALS = 1
"""Decimals of a coordinate in metres (EPSG:3006): 0.1 m, the precision of `WGS84_DECIMALS`."""

# A position in WGS 84 degrees, GeoJSON order: (longitude, latitude).
LonLat = tuple[float, float]

BBOX_FORM = "minlon,minlat,maxlon,maxlat in degrees (WGS 84), for example 17.97,59.26,18.06,59.30"


@dataclass(frozen=True)
class BBox:
    """A lon/lat box in WGS 84."""

    minlon: float
    minlat: float
    maxlon: float
    maxlat: float

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.minlon, self.minlat, self.maxlon, self.maxlat)


def parse_bbox(text: str, *, field: str = "bbox") -> BBox:
    """Parse ``minlon,minlat,maxlon,maxlat`` into a `BBox`, or raise `InvalidParameter`.

    >>> parse_bbox("17.97,59.26,18.06,59.30")
    BBox(minlon=17.97, minlat=59.26, maxlon=18.06, maxlat=59.3)
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise InvalidParameter(
            f"{field} must be four numbers, {BBOX_FORM}; got {len(parts)} value(s)", field=field
        )
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise InvalidParameter(
            f"{field} must be four numbers, {BBOX_FORM}; got {text!r}", field=field
        ) from None
    if not all(math.isfinite(v) for v in (minlon, minlat, maxlon, maxlat)):
        raise InvalidParameter(f"{field} must be finite numbers, {BBOX_FORM}", field=field)
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180):
        raise InvalidParameter(
            f"{field}: longitudes must be between -180 and 180 ({BBOX_FORM})", field=field
        )
    if not (-90 <= minlat <= 90 and -90 <= maxlat <= 90):
        raise InvalidParameter(
            f"{field}: latitudes must be between -90 and 90 ({BBOX_FORM}); "
            "did you swap longitude and latitude?",
            field=field,
        )
    if minlon > maxlon or minlat > maxlat:
        raise InvalidParameter(
            f"{field}: the minimum must come before the maximum ({BBOX_FORM})", field=field
        )
    return BBox(minlon, minlat, maxlon, maxlat)


@lru_cache(maxsize=32)
def transformer(src_epsg: int, dst_epsg: int) -> Transformer:
    """A cached lon/lat-ordered transformer (``always_xy``: x = longitude / easting)."""
    return Transformer.from_crs(src_epsg, dst_epsg, always_xy=True)


def to_metric(geom: Geometry, epsg: int = SWEREF99TM) -> Geometry:
    """``geom`` from WGS 84 lon/lat into the metric CRS ``epsg``."""
    return shapely.transform(geom, transformer(WGS84, epsg).transform, interleaved=False)


def to_wgs84(geom: Geometry, epsg: int = SWEREF99TM) -> Geometry:
    """``geom`` from the metric CRS ``epsg`` back to WGS 84 lon/lat."""
    return shapely.transform(geom, transformer(epsg, WGS84).transform, interleaved=False)


def slugify(name: str) -> str:
    """A URL slug of a Swedish place name.

    >>> slugify("ÖRBY SLOTT")
    'orby-slott'
    >>> slugify("Älvsjö")
    'alvsjo'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def display_name(upper: str) -> str:
    """A district name as people write it: ``ENSKEDE GÅRD`` → ``Enskede gård``.

    >>> display_name("ÖRBY SLOTT")
    'Örby slott'
    """
    return upper.strip().capitalize()


# A mapping of metric coordinates to WGS 84: a pyproj Transformer, or a function
# (x, y) -> (lon, lat) on arrays.
ToWgs84 = Transformer | Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def lonlat_function(
    to_wgs84: ToWgs84 | None, crs: str
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A vectorised ``(x, y) -> (lon, lat)`` from a Transformer, a function or None (``crs``)."""
    if to_wgs84 is None:
        return transformer(int(crs.split(":")[-1]), WGS84).transform  # type: ignore[no-any-return]
    if isinstance(to_wgs84, Transformer):
        return to_wgs84.transform  # type: ignore[no-any-return]
    return to_wgs84
