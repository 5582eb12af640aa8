"""Heat-map rasters out: a transparent PNG for a map overlay, and the grid as JSON.

Pure: a `geo.heat.Raster` in, bytes and dicts out (no files, database or network).
"""

from __future__ import annotations

import math
from io import BytesIO
from typing import Any

import numpy as np
import shapely
from PIL import Image
from scipy import sparse

from geo.errors import InvalidParameter
from geo.geometry import WGS84, transformer
from geo.heat import Raster

# ColorBrewer 7-class ramps (Cynthia Brewer, colorbrewer2.org), low to high.
RAMPS: dict[str, tuple[str, ...]] = {
    "YlOrRd": ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    # Diverging, for `difference` rasters: blue = fewer reports, red = more.
    "RdBu": ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"),
}
WEB_MERCATOR = 3857
_LATTICE_PX = 16  # exact reprojection every 16 output pixels, bilinear in between (< 1 mm off)
_LUT_SIZE = 511  # odd, so that 0 of a diverging ramp falls exactly on the middle entry


def _rgb(ramp: tuple[str, ...]) -> np.ndarray:
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in ramp], dtype=np.float64)


def _interp_matrix(n: int, step: int) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Lattice positions ``0, step, …, n-1`` and the sparse ``(n, len)`` linear interpolation."""
    lattice = np.unique(np.append(np.arange(0, n, step), n - 1))
    pos = np.interp(np.arange(n), lattice, np.arange(lattice.size, dtype=np.float64))
    lo = np.minimum(pos.astype(np.intp), max(lattice.size - 2, 0))
    hi = np.minimum(lo + 1, lattice.size - 1)
    t = pos - lo
    rows = np.repeat(np.arange(n), 2)
    m = sparse.csr_matrix(
        (np.column_stack([1.0 - t, t]).ravel(), (rows, np.column_stack([lo, hi]).ravel())),
        shape=(n, lattice.size),
    )
    return lattice, m


def _lookup_table(ramp: tuple[str, ...], *, diverging: bool, opacity: float) -> np.ndarray:
    """``_LUT_SIZE + 1`` RGBA rows: the ramp from low to high, then fully transparent."""
    position = np.linspace(0.0, 1.0, _LUT_SIZE)
    colours = _rgb(ramp)
    stop = position * (len(colours) - 1)
    lut = np.zeros((_LUT_SIZE + 1, 4), dtype=np.uint8)
    for channel in range(3):
        lut[:_LUT_SIZE, channel] = np.round(
            np.interp(stop, np.arange(len(colours)), colours[:, channel])
        )
    t = np.abs(2 * position - 1) if diverging else position
    lut[:_LUT_SIZE, 3] = np.round(255 * min(max(opacity, 0.0), 1.0) * np.sqrt(t))
    return lut


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

    Leaflet stretches an image overlay linearly between its lat/lon bounds in Web Mercator
    (EPSG:3857), whereas the SWEREF 99 TM grid is rotated about 2.6° against it at 18° E. So the
    image is a regular grid in EPSG:3857: each pixel centre is projected back into the raster's
    CRS and takes the value of the cell it falls in (nearest cell). Zero, NaN and off-grid pixels
    are fully transparent; opacity grows with the square root of the value up to ``opacity``.

    Parameters
    ----------
    ramp
        ``"YlOrRd"`` (0 … max) or ``"RdBu"`` (diverging, -max … +max, for `difference`).
    max_value
        The value at the top of the ramp; defaults to the raster's largest (absolute) value.
    oversample
        Output pixels per source cell along each axis (the grid is rotated, so 2 keeps its
        staircase edges fine), limited to ``max_size_px`` per side.

    Returns
    -------
    tuple
        PNG bytes; bounds ``[[south, west], [north, east]]`` in degrees (Leaflet's order); the
        legend ``{"unit", "ramp", "max", "stops": [{"value", "colour"}, …]}``.
    """
    if ramp not in RAMPS:
        raise InvalidParameter(
            f"ramp must be one of {', '.join(RAMPS)}; got {ramp!r}", field="ramp"
        )
    diverging = ramp == "RdBu"
    finite = raster.values[np.isfinite(raster.values)]
    if max_value is None:
        max_value = (
            float(np.abs(finite).max())
            if diverging and finite.size
            else (float(finite.max()) if finite.size else 0.0)
        )
    max_value = max(float(max_value), 0.0)

    # Lon/lat bounds of the whole grid: its edges, densified because they curve in lon/lat.
    minx, miny, maxx, maxy = raster.bounds
    outline = shapely.segmentize(
        shapely.box(minx, miny, maxx, maxy), max(maxx - minx, maxy - miny) / 32
    )
    bx, by = shapely.get_coordinates(outline).T
    lon, lat = transformer(raster.epsg, WGS84).transform(bx, by)
    west, east = float(lon.min()), float(lon.max())
    south, north = float(lat.min()), float(lat.max())
    to_merc = transformer(WGS84, WEB_MERCATOR).transform
    (mx0, mx1), (my0, my1) = to_merc(np.array([west, east]), np.array([south, north]))

    # Mercator stretches distances by 1/cos(latitude); keep about `oversample` pixels per cell.
    scale = 1.0 / math.cos(math.radians((south + north) / 2))
    px_m = raster.cell_m * scale / max(1, oversample)
    width = int(min(max_size_px, max(1, math.ceil((mx1 - mx0) / px_m))))
    height = int(min(max_size_px, max(1, math.ceil((my1 - my0) / px_m))))

    # Pixel centres in 3857 → raster CRS, exactly on a coarse lattice and bilinear in between.
    cols, mc = _interp_matrix(width, _LATTICE_PX)
    rows, mr = _interp_matrix(height, _LATTICE_PX)
    gx, gy = np.meshgrid(
        mx0 + (cols + 0.5) * (mx1 - mx0) / width, my1 - (rows + 0.5) * (my1 - my0) / height
    )
    sx, sy = transformer(WEB_MERCATOR, raster.epsg).transform(gx, gy)
    a, _, c, _, e, f = raster.transform
    fcol = (mc @ (mr @ ((sx - c) / a)).T).T  # fractional column of each pixel centre
    frow = (mc @ (mr @ ((sy - f) / e)).T).T
    col, row = np.floor(fcol).astype(np.intp), np.floor(frow).astype(np.intp)
    on_grid = (col >= 0) & (col < raster.width) & (row >= 0) & (row < raster.height)
    value = raster.values.ravel()[np.where(on_grid, row * raster.width + col, 0)]
    value[~on_grid] = np.nan

    # Colour through a lookup table of _LUT_SIZE steps over the ramp, plus a transparent entry
    # for zero, NaN and off-grid pixels; opacity grows with √|t| (t = value / max).
    lut = _lookup_table(RAMPS[ramp], diverging=diverging, opacity=opacity)
    blank = ~np.isfinite(value) | (value == 0)
    value[blank] = 0.0
    t = np.clip(value / max_value, -1.0, 1.0) if max_value > 0 else value
    position = (t + 1) / 2 if diverging else np.maximum(t, 0.0)
    index = np.round(position * (_LUT_SIZE - 1)).astype(np.intp)
    index[blank] = _LUT_SIZE
    buffer = BytesIO()
    Image.fromarray(lut[index], "RGBA").save(buffer, format="PNG", compress_level=3)

    low = -max_value if diverging else 0.0
    steps = len(RAMPS[ramp]) - 1
    stops = [
        {"value": low + (max_value - low) * i / steps, "colour": hex_colour}
        for i, hex_colour in enumerate(RAMPS[ramp])
    ]
    legend = {"unit": raster.unit, "ramp": ramp, "max": max_value, "stops": stops}
    return buffer.getvalue(), [[south, west], [north, east]], legend


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
