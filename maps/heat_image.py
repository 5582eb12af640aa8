"""Heat-map rasters as pictures: a transparent PNG overlay for web maps with its legend, the
colour ramps, and the grid as JSON.

Pure: a `geo.heat.Raster` in, bytes and dicts out (no files, database or network). The
reprojection is GDAL's warper (`rasterio.warp.reproject`) on in-memory arrays, the colours are
matplotlib's colormaps.
"""

from __future__ import annotations

import math
from io import BytesIO
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import Colormap, ListedColormap, Normalize, to_hex
from PIL import Image
from rasterio.crs import CRS
from rasterio.transform import Affine
from rasterio.warp import Resampling, reproject, transform, transform_bounds

from geo.errors import InvalidParameter
from geo.heat import Raster

# The ramps the API offers, by the names it uses, and matplotlib's colormap for each: ColorBrewer
# YlOrRd (Cynthia Brewer, colorbrewer2.org) for densities 0 … max, and RdBu reversed for
# `difference` rasters (-max … +max), so that blue is fewer reports and red more.
RAMPS: dict[str, str] = {"YlOrRd": "YlOrRd", "RdBu": "RdBu_r"}
DIVERGING = frozenset({"RdBu"})
LEGEND_STOPS = 7
WEB_MERCATOR = CRS.from_epsg(3857)
WGS84 = CRS.from_epsg(4326)
_EDGE_POINTS = 32  # points per grid edge when finding its lon/lat bounds (edges curve there)


def colormap(ramp: str = "YlOrRd") -> Colormap:
    """Matplotlib's colormap of an API ramp name (`RAMPS`).

    >>> colormap("YlOrRd").name, colormap("RdBu").name
    ('YlOrRd', 'RdBu_r')
    """
    if ramp not in RAMPS:
        raise InvalidParameter(
            f"ramp must be one of {', '.join(RAMPS)}; got {ramp!r}", field="ramp"
        )
    return matplotlib.colormaps[RAMPS[ramp]]


def faded_colormap(ramp: str = "YlOrRd", *, max_alpha: float = 0.8) -> Colormap:
    """The ramp fading in from transparent at its low end to ``max_alpha`` at its top, so that
    low densities do not hide what lies beneath (the meeting report's map)."""
    colours = colormap(ramp)(np.linspace(0.0, 1.0, 256))
    colours[:, 3] = np.linspace(0.0, max_alpha, 256)
    return ListedColormap(colours, name=f"{RAMPS[ramp]}_fade")


def legend(ramp: str, *, max_value: float, unit: str, stops: int = LEGEND_STOPS) -> dict[str, Any]:
    """``{"unit", "ramp", "max", "stops": [{"value", "colour"}, …]}``: ``stops`` evenly spaced
    values from the low end (0, or ``-max_value`` for a diverging ramp) to ``max_value``.

    >>> [s["colour"] for s in legend("YlOrRd", max_value=2.0, unit="u", stops=2)["stops"]]
    ['#ffffcc', '#800026']
    """
    cmap = colormap(ramp)
    low = -max_value if ramp in DIVERGING else 0.0
    values = np.linspace(low, max_value, stops)
    norm = Normalize(vmin=low, vmax=max_value)
    return {
        "unit": unit,
        "ramp": ramp,
        "max": max_value,
        "stops": [{"value": float(v), "colour": to_hex(cmap(norm(v)))} for v in values.tolist()],
    }


def _overlay_grid(
    raster: Raster, *, oversample: int, max_size_px: int
) -> tuple[tuple[float, float, float, float], Affine, int, int]:
    """The lon/lat bounds ``(west, south, east, north)`` of the whole raster, and the Web
    Mercator grid (transform, width, height) that covers exactly those bounds."""
    west, south, east, north = transform_bounds(
        CRS.from_string(raster.crs), WGS84, *raster.bounds, densify_pts=_EDGE_POINTS
    )
    # Leaflet puts the corners of an image overlay at the Web Mercator images of its lat/lon
    # bounds and stretches linearly in between: so the PNG is a regular grid in EPSG:3857 from
    # exactly these corners.
    (mx0, mx1), (my0, my1) = transform(WGS84, WEB_MERCATOR, [west, east], [south, north])
    # Mercator stretches distances by 1/cos(latitude); keep about `oversample` pixels per cell
    # (the SWEREF 99 TM grid is rotated about 2.6° at 18° E: 2 keeps its staircase edges fine).
    scale = 1.0 / math.cos(math.radians((south + north) / 2))
    px_m = raster.cell_m * scale / max(1, oversample)
    width = int(min(max_size_px, max(1, math.ceil((mx1 - mx0) / px_m))))
    height = int(min(max_size_px, max(1, math.ceil((my1 - my0) / px_m))))
    dst_transform = Affine((mx1 - mx0) / width, 0.0, mx0, 0.0, -(my1 - my0) / height, my1)
    return (west, south, east, north), dst_transform, width, height


def to_web_mercator(
    raster: Raster, *, oversample: int = 2, max_size_px: int = 2048
) -> tuple[np.ndarray, list[list[float]]]:
    """The raster resampled onto a regular Web Mercator (EPSG:3857) grid, as Leaflet draws an
    image overlay, with that grid's bounds ``[[south, west], [north, east]]`` in degrees.

    Nearest neighbour: every pixel takes the value of the source cell its centre falls in, so a
    cell keeps its value (a bilinear mix would spread a single cell's value into its
    neighbours and lower its peak). NaN (no data, outside the area mask) and pixels off the grid
    are NaN.
    """
    (west, south, east, north), dst_transform, width, height = _overlay_grid(
        raster, oversample=oversample, max_size_px=max_size_px
    )
    out = np.full((height, width), np.nan, dtype=np.float64)
    reproject(
        source=np.ascontiguousarray(raster.values, dtype=np.float64),
        destination=out,
        src_transform=Affine(*raster.transform),
        src_crs=CRS.from_string(raster.crs),
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs=WEB_MERCATOR,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return out, [[south, west], [north, east]]


def raster_png(
    raster: Raster,
    *,
    ramp: str = "YlOrRd",
    max_value: float | None = None,
    opacity: float = 0.75,
    oversample: int = 2,
    max_size_px: int = 2048,
) -> tuple[bytes, list[list[float]], dict[str, Any]]:
    """A transparent RGBA PNG of the raster for a Leaflet ``ImageOverlay``, with bounds and legend.

    The image is the raster reprojected to Web Mercator (`to_web_mercator`). Zero, NaN and
    off-grid pixels are fully transparent; opacity grows with the square root of the value up
    to ``opacity`` at ``max_value``.

    Parameters
    ----------
    ramp
        ``"YlOrRd"`` (0 … max) or ``"RdBu"`` (diverging, -max … +max, for `difference`).
    max_value
        The value at the top of the ramp; defaults to the raster's largest (absolute) value.
    oversample
        Output pixels per source cell along each axis, limited to ``max_size_px`` per side.

    Returns
    -------
    tuple
        PNG bytes; bounds ``[[south, west], [north, east]]`` in degrees (Leaflet's order); the
        legend ``{"unit", "ramp", "max", "stops": [{"value", "colour"}, …]}``.
    """
    cmap = colormap(ramp)
    diverging = ramp in DIVERGING
    finite = raster.values[np.isfinite(raster.values)]
    if max_value is None:
        if not finite.size:
            max_value = 0.0
        else:
            max_value = float(np.abs(finite).max() if diverging else finite.max())
    max_value = max(float(max_value), 0.0)

    value, bounds = to_web_mercator(raster, oversample=oversample, max_size_px=max_size_px)
    blank = ~np.isfinite(value) | (value == 0)
    value[blank] = 0.0
    low = -max_value if diverging else 0.0
    rgba = cmap(Normalize(vmin=low, vmax=max_value, clip=True)(value), bytes=True)
    strength = np.clip(np.abs(value) / max_value, 0.0, 1.0) if max_value > 0 else value
    rgba[..., 3] = np.round(255 * min(max(opacity, 0.0), 1.0) * np.sqrt(strength))
    rgba[blank] = 0
    buffer = BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue(), bounds, legend(ramp, max_value=max_value, unit=raster.unit)


def raster_json(raster: Raster, *, parameters: dict[str, Any]) -> dict[str, Any]:
    """The raster as JSON: grid, unit, values (rows north → south, NaN → null) and parameters."""
    values = raster.values.astype(object)
    values[~np.isfinite(raster.values)] = None
    return {
        "crs": raster.crs,
        "transform": list(raster.transform),
        "width": raster.width,
        "height": raster.height,
        "unit": raster.unit,
        "values": values.tolist(),
        "parameters": parameters,
    }
