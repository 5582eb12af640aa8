"""Isopleths of a heat map: the smallest regions that hold a given share of the density.

Pure computation on a `geo.heat.Raster` in metres; `isopleths_geojson` gives the regions in
WGS 84 lon/lat for a map or an export. Nothing here touches files, the database or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from rasterio.features import shapes
from rasterio.transform import Affine
from shapely import Geometry

from geo.errors import InvalidParameter
from geo.geometry import ToWgs84, lonlat_function
from geo.heat import Raster


def isopleths(
    raster: Raster, *, levels: tuple[float, ...] = (0.5, 0.75, 0.9)
) -> list[tuple[float, Geometry]]:
    """The smallest sets of cells that hold each share of the total density.

    For each level p (ascending), the cells are taken from the densest down until they hold p
    of the total; every cell at least as dense as the last one taken is included, so the areas
    are nested. Returns ``(threshold, geometry)`` pairs: the density of the least dense cell
    inside, and the cells' union as a (Multi)Polygon in the raster's CRS. A raster with no
    positive density gives ``[]``.
    """
    if not all(0.0 < p < 1.0 for p in levels):
        raise InvalidParameter(
            "levels must be shares between 0 and 1, such as 0.5,0.75,0.9", field="levels"
        )
    values = np.where(np.isfinite(raster.values), raster.values, 0.0)
    values = np.maximum(values, 0.0)
    total = float(values.sum())
    if total <= 0.0:
        return []
    ordered = np.sort(values, axis=None)[::-1]
    cumulative = np.cumsum(ordered)
    result = []
    for p in sorted(levels):
        k = min(int(np.searchsorted(cumulative, p * total)), ordered.size - 1)
        threshold = float(ordered[k])
        selected = values >= threshold
        polygons = [
            shapely.geometry.shape(geom)
            for geom, _ in shapes(
                selected.astype(np.uint8), mask=selected, transform=Affine(*raster.transform)
            )
        ]
        result.append((threshold, shapely.union_all(polygons)))
    return result


def _round_coords(geom: Geometry, fn: Callable[..., Any]) -> Geometry:
    # 1e-7 degrees is about a centimetre: enough for cell edges, and it keeps the JSON small.
    def lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = fn(x, y)
        return np.round(lon, 7), np.round(lat, 7)

    return shapely.transform(geom, lambda xy: np.column_stack(lonlat(xy[:, 0], xy[:, 1])))


def isopleths_geojson(
    raster: Raster, *, levels: tuple[float, ...] = (0.5, 0.75, 0.9), to_wgs84: ToWgs84 | None = None
) -> dict[str, Any]:
    """The isopleths as a GeoJSON FeatureCollection in WGS 84 lon/lat.

    Features come largest first (90 %, 75 %, 50 %) so that a map draws the inner ones on top.
    Properties: ``level`` (0.5), ``percent`` (50), ``threshold`` (density at the boundary) and
    ``unit``. ``to_wgs84`` defaults to the raster's CRS → EPSG:4326.
    """
    fn = lonlat_function(to_wgs84, raster.crs)
    features = []
    for level, (threshold, geom) in sorted(
        zip(sorted(levels), isopleths(raster, levels=levels), strict=False), reverse=True
    ):
        features.append(
            {
                "type": "Feature",
                # Exterior rings anticlockwise, as RFC 7946 asks.
                "geometry": shapely.geometry.mapping(
                    shapely.orient_polygons(_round_coords(geom, fn))
                ),
                "properties": {
                    "level": level,
                    "percent": _percent(level),
                    "threshold": threshold,
                    "unit": raster.unit,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _percent(level: float) -> float | int:
    percent = level * 100
    return int(round(percent)) if abs(percent - round(percent)) < 1e-9 else percent
