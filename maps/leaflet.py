"""The one place where GeoJSON's [lon, lat] turns into Leaflet's and folium's [lat, lon]."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def latlon(lon: float, lat: float) -> list[float]:
    """Leaflet's ``[lat, lon]`` for a GeoJSON position ``(lon, lat)``.

    >>> latlon(18.0104, 59.2786)
    [59.2786, 18.0104]
    """
    return [lat, lon]


def _positions(coords: Any) -> Iterator[tuple[float, float]]:
    if coords and isinstance(coords[0], (int, float)):
        yield float(coords[0]), float(coords[1])
        return
    for c in coords:
        yield from _positions(c)


def bounds_latlon(geojson: dict[str, Any]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of a Feature or FeatureCollection, or None if empty.

    >>> point = {"type": "Point", "coordinates": [18.0, 59.3]}
    >>> bounds_latlon({"type": "Feature", "geometry": point})
    [[59.3, 18.0], [59.3, 18.0]]
    """
    features = geojson["features"] if geojson.get("type") == "FeatureCollection" else [geojson]
    points = [
        p for f in features if f.get("geometry") for p in _positions(f["geometry"]["coordinates"])
    ]
    if not points:
        return None
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return [latlon(min(lons), min(lats)), latlon(max(lons), max(lats))]
