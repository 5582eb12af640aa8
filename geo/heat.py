"""Heat maps: a kernel density estimate of deviation reports on a grid in a metric CRS.

Everything here is pure computation on arrays in metres (SWEREF 99 TM, EPSG:3006, for Swedish
areas): the caller transforms coordinates first. Densities are in reports per km² per week, so
maps of periods of different lengths compare. `geo.isopleths` outlines a raster's densest
parts and `maps.heat_image` turns a raster into a map overlay or JSON; nothing here touches
files, the database or the network.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from rasterio.features import geometry_mask
from rasterio.transform import Affine
from scipy import signal
from shapely import Geometry

from geo.errors import InvalidParameter
from geo.grid import check_cell_count

UNIT = "reports per km² per week"
MAX_CELLS = 4_000_000
KERNELS = ("gaussian", "quartic")
GAUSSIAN_TRUNCATE_SD = 4.0  # the Gaussian kernel is cut at 4 standard deviations (~3e-4 of peak)
M2_PER_KM2 = 1e6
_BIN_THREADS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True, eq=False)
class Raster:
    """A grid of values in a metric CRS, row 0 at the NORTH edge.

    ``transform`` is in rasterio/affine order ``(a, b, c, d, e, f)``: the upper-left corner of
    cell (row, col) is ``x = a*col + b*row + c``, ``y = d*col + e*row + f``; here always
    ``(cell_m, 0, west, 0, -cell_m, north)``. Cells outside the area mask are NaN (no data).
    """

    values: np.ndarray
    transform: tuple[float, float, float, float, float, float]
    crs: str = "EPSG:3006"
    unit: str = UNIT

    @property
    def height(self) -> int:
        return int(self.values.shape[0])

    @property
    def width(self) -> int:
        return int(self.values.shape[1])

    @property
    def cell_m(self) -> float:
        return float(self.transform[0])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the whole grid in the raster's CRS."""
        a, _, c, _, e, f = self.transform
        return (c, f + e * self.height, c + a * self.width, f)

    @property
    def epsg(self) -> int:
        return int(self.crs.split(":")[-1])

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """The x and y of every cell centre, each of shape ``(height, width)``."""
        a, _, c, _, e, f = self.transform
        x = c + a * (np.arange(self.width) + 0.5)
        y = f + e * (np.arange(self.height) + 0.5)
        xx, yy = np.meshgrid(x, y)
        return xx, yy


def _check_grid(
    bounds: tuple[float, float, float, float], cell_m: float
) -> tuple[float, float, int, int]:
    """West, north, width and height of the grid snapped outwards to multiples of ``cell_m``.

    Snapping makes every raster of the same cell size share one lattice, so rasters of two
    periods (or of overlapping areas) line up cell for cell.
    """
    if not (5.0 <= cell_m <= 500.0):
        raise InvalidParameter(
            f"cell_m must be between 5 and 500 metres; got {cell_m:g}", field="cell_m"
        )
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InvalidParameter("bounds must be finite numbers in metres", field="bbox")
    if minx >= maxx or miny >= maxy:
        raise InvalidParameter(
            "bounds must be (minx, miny, maxx, maxy) with minx < maxx and miny < maxy",
            field="bbox",
        )
    west = math.floor(minx / cell_m + 1e-9) * cell_m
    south = math.floor(miny / cell_m + 1e-9) * cell_m
    width = max(1, math.ceil((maxx - west) / cell_m - 1e-9))
    height = max(1, math.ceil((maxy - south) / cell_m - 1e-9))
    check_cell_count(width * height, cell_m=cell_m, max_cells=MAX_CELLS)
    return west, south + height * cell_m, width, height


def _kernel(kernel: str, bandwidth_m: float, cell_m: float) -> tuple[np.ndarray, int]:
    """The kernel sampled at cell offsets, summing to 1, and its radius in cells.

    Returned 1-D for the Gaussian (separable: the 2-D kernel is its outer product with itself)
    and 2-D for the quartic. Renormalising the samples to sum 1 makes the grid conserve mass
    exactly; for bandwidths of a cell or more this differs from the continuous kernel by far less
    than the binning error.
    """
    if kernel == "gaussian":
        radius = max(1, math.ceil(GAUSSIAN_TRUNCATE_SD * bandwidth_m / cell_m))
        d = np.arange(-radius, radius + 1) * cell_m
        k = np.exp(-0.5 * (d / bandwidth_m) ** 2)
    else:
        # Quartic (biweight) as in QGIS: K = 3/(pi r^2) (1 - d^2/r^2)^2 for d < r.
        radius = max(1, math.ceil(bandwidth_m / cell_m))
        d = np.arange(-radius, radius + 1) * cell_m
        d2 = (d[:, None] ** 2 + d[None, :] ** 2) / bandwidth_m**2
        k = np.where(d2 < 1.0, (1.0 - d2) ** 2, 0.0)
    return k / k.sum(), radius


def _linear_bins(
    fx: np.ndarray, fy: np.ndarray, w: np.ndarray | None, shape: tuple[int, int]
) -> np.ndarray:
    """Linear binning: each point's weight shared among the 4 nearest cell centres.

    ``fx``, ``fy`` are positions in cell units (column, row) relative to the centre of cell
    (0, 0), all in ``[0, n - 1)``; both are overwritten. With ``T = Σ w t``, ``U = Σ w u``,
    ``TU = Σ w t u`` per cell, the four corner shares follow from 4 bincounts on one index.

    Each pass over a million points costs ~1 ms, and a fresh 8 MB array as much again in page
    faults, hence the in-place arithmetic and reused buffers.
    """
    height, width = shape
    fi, fj = np.floor(fx), np.floor(fy)
    t = np.subtract(fx, fi, out=fx)
    u = np.subtract(fy, fj, out=fy)
    fj *= width
    fj += fi  # the flat cell index, exact in float64
    base = fi.view(np.intp)  # reuse fi's memory for the integer index
    np.copyto(base, fj, casting="unsafe")
    tu = np.multiply(t, u, out=fj)
    if w is not None:
        t *= w
        u *= w
        tu *= w
    n = width * height
    total = np.bincount(base, w, minlength=n).astype(np.float64, copy=False)
    st = np.bincount(base, t, minlength=n)
    su = np.bincount(base, u, minlength=n)
    stu = np.bincount(base, tu, minlength=n)
    grid = np.zeros(n + width + 1)
    grid[:n] += total - st - su + stu  # Σ w (1-t)(1-u) at (row, col)
    grid[1 : n + 1] += st - stu  # Σ w t (1-u) at (row, col+1)
    grid[width : n + width] += su - stu  # Σ w (1-t) u at (row+1, col)
    grid[width + 1 :] += stu  # Σ w t u at (row+1, col+1)
    return grid[:n].reshape(height, width)


def _bin_points(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    *,
    origin: tuple[float, float],
    cell_m: float,
    shape: tuple[int, int],
    clip: bool,
) -> np.ndarray:
    """Linear bins of points at column ``x/cell_m - origin[0]``, row ``origin[1] - y/cell_m``."""
    fx = np.multiply(x, 1.0 / cell_m)
    fx -= origin[0]
    fy = np.multiply(y, -1.0 / cell_m)
    fy += origin[1]
    if clip:
        inside = (fx >= 0) & (fx < shape[1] - 1) & (fy >= 0) & (fy < shape[0] - 1)
        fx, fy, w = fx[inside], fy[inside], (None if w is None else w[inside])
    return _linear_bins(fx, fy, w, shape)


def _bin_in_parallel(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    *,
    origin: tuple[float, float],
    cell_m: float,
    shape: tuple[int, int],
    clip: bool,
) -> np.ndarray:
    """`_bin_points` over slices of the points in threads, summed.

    numpy's arithmetic releases the GIL, so for a million points two threads bin in about 60 %
    of the time of one; below ~100,000 points threads cost more than they save.
    """

    def part(s: slice) -> np.ndarray:
        ws = None if w is None else w[s]
        return _bin_points(x[s], y[s], ws, origin=origin, cell_m=cell_m, shape=shape, clip=clip)

    parts = min(_BIN_THREADS, x.size // 100_000)
    if parts < 2:
        return part(slice(None))
    ends = np.linspace(0, x.size, parts + 1).astype(int)
    with ThreadPoolExecutor(max_workers=parts) as pool:
        grids = list(
            pool.map(part, [slice(a, b) for a, b in zip(ends[:-1], ends[1:], strict=True)])
        )
    return np.sum(grids, axis=0)


def kde_grid(
    x_m: np.ndarray,
    y_m: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    bounds: tuple[float, float, float, float],
    cell_m: float = 25.0,
    bandwidth_m: float = 150.0,
    kernel: str = "gaussian",
    period_weeks: float = 1.0,
    mask: Geometry | None = None,
    crs: str = "EPSG:3006",
) -> Raster:
    """A kernel density estimate of weighted points on a grid, in reports per km² per week.

    density(c) = Σ_i w_i K_h(c - p_i) at each cell centre c, where K_h is a 2-D kernel that
    integrates to 1 over the plane: a Gaussian with standard deviation ``bandwidth_m`` in each
    axis, or the quartic (biweight) kernel of QGIS's heat map with radius ``bandwidth_m``,
    K = 3/(π r²) (1 - d²/r²)² for d < r. The result, in points per m², is scaled to per km²
    (× 1e6) and divided by ``period_weeks``, so the raster's integral (sum × cell area in km²)
    is Σ w_i / period_weeks for points well inside the grid.

    The kernel is not evaluated for every point and cell: the points are linearly binned onto a
    grid padded by the kernel radius (so points just outside still count), convolved with the
    kernel sampled at the cell spacing (by FFT), then cropped. The error against the exact sum
    is a fraction of a percent of the peak when the bandwidth spans a few cells.

    Parameters
    ----------
    x_m, y_m
        Point coordinates in metres in ``crs``.
    weights
        Non-negative weight per point (severity × category × time decay); None = 1 each.
    bounds
        ``(minx, miny, maxx, maxy)`` in metres; the grid is snapped outwards to multiples of
        ``cell_m`` so that grids of the same cell size line up.
    cell_m
        Cell size in metres, 5–500.
    bandwidth_m
        Gaussian standard deviation or quartic radius in metres, 10–2000.
    kernel
        ``"gaussian"`` or ``"quartic"``.
    period_weeks
        Length of the period the points come from, in weeks.
    mask
        A (Multi)Polygon in ``crs``; cells whose centre lies outside are NaN.
    crs
        The metric CRS of the coordinates, as ``"EPSG:nnnn"``.

    Returns
    -------
    Raster
        float64 values, row 0 at the north edge.
    """
    if kernel not in KERNELS:
        raise InvalidParameter(
            f"kernel must be one of {', '.join(KERNELS)}; got {kernel!r}", field="kernel"
        )
    if not (10.0 <= bandwidth_m <= 2000.0):
        raise InvalidParameter(
            f"bandwidth_m must be between 10 and 2000 metres; got {bandwidth_m:g}",
            field="bandwidth_m",
        )
    if not (period_weeks > 0 and math.isfinite(period_weeks)):
        raise InvalidParameter("the period must be longer than zero", field="period")
    west, north, width, height = _check_grid(bounds, cell_m)
    x = np.asarray(x_m, dtype=np.float64).ravel()
    y = np.asarray(y_m, dtype=np.float64).ravel()
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if x.shape != y.shape or (w is not None and w.shape != x.shape):
        raise ValueError("x_m, y_m and weights must have the same length")
    if w is not None and not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("weights must be finite and non-negative")

    # min/max propagate NaN: one check for NaN and infinite coordinates, which count nowhere.
    extent = (x.min(), x.max(), y.min(), y.max()) if x.size else (0.0,) * 4
    if not np.isfinite(extent).all():
        keep = np.isfinite(x) & np.isfinite(y)
        x, y, w = x[keep], y[keep], (None if w is None else w[keep])
        extent = (x.min(), x.max(), y.min(), y.max()) if x.size else (0.0,) * 4

    k, radius = _kernel(kernel, bandwidth_m, cell_m)
    values = np.zeros((height, width))
    if x.size:
        # Positions in cells relative to the centre of cell (0, 0): column = (x - west)/cell_m
        # - 0.5, row = (north - y)/cell_m - 0.5. Pad only as far as the data reaches, at most
        # the kernel radius (+1 for the binning): points farther out cannot reach any cell
        # centre, and a smaller padded grid convolves faster.
        lo_x = (float(extent[0]) - west) / cell_m - 0.5
        hi_x = (float(extent[1]) - west) / cell_m - 0.5
        lo_y = (north - float(extent[3])) / cell_m - 0.5
        hi_y = (north - float(extent[2])) / cell_m - 0.5
        left = min(radius, max(0, math.ceil(-lo_x))) + 1
        top = min(radius, max(0, math.ceil(-lo_y))) + 1
        right = min(radius, max(0, math.ceil(hi_x - (width - 1)))) + 1
        bottom = min(radius, max(0, math.ceil(hi_y - (height - 1)))) + 1
        shape = (height + top + bottom, width + left + right)
        # Drop points beyond the padding, if any; the 1e-6 margin covers the round-off between
        # these scalar bounds and the vectorised positions.
        clip = (
            lo_x + left < 1e-6
            or hi_x + left >= shape[1] - 1 - 1e-6
            or lo_y + top < 1e-6
            or hi_y + top >= shape[0] - 1 - 1e-6
        )
        origin = (west / cell_m + 0.5 - left, north / cell_m - 0.5 + top)
        grid = _bin_in_parallel(x, y, w, origin=origin, cell_m=cell_m, shape=shape, clip=clip)
        if k.ndim == 1:
            grid = signal.fftconvolve(grid, k[:, None], mode="same", axes=0)
            grid = signal.fftconvolve(grid, k[None, :], mode="same", axes=1)
        else:
            grid = signal.fftconvolve(grid, k, mode="same")
        values = grid[top : top + height, left : left + width]
        # FFT round-off leaves ~1e-16 of the peak where the density is 0 (or slightly below).
        peak = float(values.max())
        values = np.where(values > peak * 1e-12, values, 0.0)
        values *= M2_PER_KM2 / (cell_m * cell_m * period_weeks)
    transform = (float(cell_m), 0.0, float(west), 0.0, -float(cell_m), float(north))
    if mask is not None:
        outside = geometry_mask(
            [mask], out_shape=(height, width), transform=Affine(*transform), all_touched=False
        )
        values[outside] = np.nan
    return Raster(values=values, transform=transform, crs=crs, unit=UNIT)


def decay_weights(age_days: np.ndarray, *, half_life_days: float) -> np.ndarray:
    """Time-decay weights ``0.5 ** (age / half_life)``; ages below zero count as zero.

    >>> decay_weights(np.array([0.0, 7.0, 14.0]), half_life_days=7).tolist()
    [1.0, 0.5, 0.25]
    """
    if not (half_life_days > 0 and math.isfinite(half_life_days)):
        raise InvalidParameter(
            f"half_life_days must be a positive number of days; got {half_life_days:g}",
            field="half_life_days",
        )
    age = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0)
    return np.power(0.5, age / half_life_days)


def difference(current: Raster, previous: Raster) -> Raster:
    """``current - previous`` on the same grid (same transform, shape and CRS)."""
    if (
        current.transform != previous.transform
        or current.values.shape != previous.values.shape
        or current.crs != previous.crs
    ):
        raise ValueError("difference() needs two rasters on the same grid (bounds and cell_m)")
    return Raster(
        values=current.values - previous.values,
        transform=current.transform,
        crs=current.crs,
        unit=f"change in {current.unit}",
    )
