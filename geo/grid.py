"""Square or hexagonal grids in a metric CRS: cells, their neighbours, points counted per cell.

The cells are the units of `geo.hotspots`' Gi* statistics. Pure computation: arrays in, arrays
out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from shapely import Geometry

from geo.errors import InvalidParameter

SHAPES = ("square", "hex")
MAX_CELLS = 250_000  # polygons for every cell are built: ~1 kB each
SQRT3 = math.sqrt(3.0)
# Hexagon neighbours in axial coordinates (q, r).
_HEX_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))


@dataclass(frozen=True, eq=False)
class Grid:
    """Cells of a square or hexagonal grid in a metric CRS.

    ``x``, ``y`` are the cell centres in metres, ``polygons`` the cells as shapely Polygons and
    ``neighbours`` a binary CSR matrix with the diagonal set (Gi*'s weights, cell itself
    included). ``cols``, ``rows`` are each cell's integer lattice position: column and row of the
    square (``x = (col + 0.5) * cell_m``), or the hexagon's offset column and row.
    """

    x: np.ndarray
    y: np.ndarray
    polygons: np.ndarray
    neighbours: sparse.csr_matrix
    shape: str
    cell_m: float
    cols: np.ndarray
    rows: np.ndarray
    crs: str = "EPSG:3006"

    def __len__(self) -> int:
        return int(self.x.size)


def check_cell_count(cells: int, *, cell_m: float, max_cells: int) -> None:
    """`InvalidParameter` when a grid of ``cells`` cells is over ``max_cells``, with the
    ``cell_m`` that would fit."""
    if cells > max_cells:
        suggestion = math.ceil(cell_m * math.sqrt(cells / max_cells))
        raise InvalidParameter(
            f"cell_m {cell_m:g} gives {cells:,} cells over this area, more than "
            f"{max_cells:,}; use cell_m {suggestion} or more, or a smaller area",
            field="cell_m",
        )


def _hex_xy(cols: np.ndarray, rows: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    # Pointy-topped hexagons in "odd-r" offset rows: odd rows shift east by half a cell. The
    # lattice is anchored at the CRS origin, so grids over different areas line up.
    return cell_m * (cols + 0.5 * (rows & 1)), rows * cell_m * SQRT3 / 2


def grid_cells(
    bounds: tuple[float, float, float, float],
    *,
    cell_m: float = 100.0,
    shape: str = "square",
    mask: Geometry | None = None,
    crs: str = "EPSG:3006",
) -> Grid:
    """The cells covering ``bounds`` (metres), and their neighbours.

    Squares of side ``cell_m`` are snapped to multiples of ``cell_m``; their neighbours are the 8
    around them (queen contiguity). Hexagons are pointy-topped with ``cell_m`` between
    neighbouring centres (side ``cell_m / √3``); their neighbours are the 6 that share an edge.
    With a ``mask`` (a (Multi)Polygon in the same CRS) only cells whose centre lies inside it
    are kept, and neighbours are among the kept cells.
    """
    if shape not in SHAPES:
        raise InvalidParameter(
            f"shape must be one of {', '.join(SHAPES)}; got {shape!r}", field="shape"
        )
    if not (10.0 <= cell_m <= 5000.0):
        raise InvalidParameter(
            f"cell_m must be between 10 and 5000 metres; got {cell_m:g}", field="cell_m"
        )
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not (minx < maxx and miny < maxy):
        raise InvalidParameter(
            "bounds must be (minx, miny, maxx, maxy) with min < max", field="bbox"
        )
    if shape == "square":
        c0, c1 = math.floor(minx / cell_m + 1e-9), math.ceil(maxx / cell_m - 1e-9)
        r0, r1 = math.floor(miny / cell_m + 1e-9), math.ceil(maxy / cell_m - 1e-9)
    else:
        dy = cell_m * SQRT3 / 2
        c0, c1 = math.floor(minx / cell_m) - 1, math.ceil(maxx / cell_m) + 1
        r0, r1 = math.floor(miny / dy) - 1, math.ceil(maxy / dy) + 1
    ncols, nrows = max(c1 - c0, 1), max(r1 - r0, 1)
    check_cell_count(ncols * nrows, cell_m=cell_m, max_cells=MAX_CELLS)
    # Row-major from the north-west corner, like a raster.
    rr, cc = np.meshgrid(np.arange(r1 - 1, r0 - 1, -1), np.arange(c0, c1), indexing="ij")
    rows, cols = rr.ravel(), cc.ravel()
    if shape == "square":
        x, y = (cols + 0.5) * cell_m, (rows + 0.5) * cell_m
        polygons = shapely.box(x - cell_m / 2, y - cell_m / 2, x + cell_m / 2, y + cell_m / 2)
    else:
        x, y = _hex_xy(cols, rows, cell_m)
        radius = cell_m / SQRT3
        angles = np.radians(30.0 + 60.0 * np.arange(7))  # pointy top: vertices at 30°, 90°, …
        ring = np.stack(
            [x[:, None] + radius * np.cos(angles), y[:, None] + radius * np.sin(angles)], axis=-1
        )
        polygons = shapely.polygons(ring)
    if mask is not None:
        keep = shapely.contains_xy(mask, x, y)
    elif shape == "hex":  # the rectangle of candidate hexagons is padded: drop those outside
        keep = shapely.intersects(polygons, shapely.box(minx, miny, maxx, maxy))
        keep &= ~shapely.touches(polygons, shapely.box(minx, miny, maxx, maxy))
    else:
        keep = np.ones(x.size, dtype=bool)

    # Neighbours through a lookup table over the full lattice: -1 where no kept cell.
    index = np.full((nrows, ncols), -1, dtype=np.int64)
    kept_rows, kept_cols = rows[keep], cols[keep]
    index[r1 - 1 - kept_rows, kept_cols - c0] = np.arange(kept_rows.size)
    if shape == "square":
        steps = [(dc, dr) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    else:
        steps = [(0, 0), *_HEX_STEPS]
    heads, tails = [], []
    for dq, dr in steps:
        nr = kept_rows + dr
        # Axial steps → offset columns: q = col - (row - (row & 1)) / 2.
        nc = (
            kept_cols + dq
            if shape == "square"
            else (kept_cols - (kept_rows - (kept_rows & 1)) // 2 + dq + (nr - (nr & 1)) // 2)
        )
        ok = (nr >= r0) & (nr < r1) & (nc >= c0) & (nc < c1)
        found = np.full(kept_rows.size, -1, dtype=np.int64)
        found[ok] = index[r1 - 1 - nr[ok], nc[ok] - c0]
        heads.append(np.flatnonzero(found >= 0))
        tails.append(found[found >= 0])
    n = int(keep.sum())
    head, tail = np.concatenate(heads), np.concatenate(tails)
    neighbours = sparse.csr_matrix((np.ones(head.size), (head, tail)), shape=(n, n))
    return Grid(
        x=x[keep],
        y=y[keep],
        polygons=polygons[keep],
        neighbours=neighbours,
        shape=shape,
        cell_m=float(cell_m),
        cols=kept_cols,
        rows=kept_rows,
        crs=crs,
    )


def assign(
    grid: Grid, x_m: np.ndarray, y_m: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Count points (or sum their weights) per cell; points outside every cell are dropped.

    Squares by integer division; hexagons by rounding fractional axial (cube) coordinates, which
    finds the hexagon whose centre is nearest.
    """
    x = np.asarray(x_m, dtype=np.float64).ravel()
    y = np.asarray(y_m, dtype=np.float64).ravel()
    if len(grid) == 0:
        return np.zeros(0)
    if grid.shape == "square":
        cols = np.floor(x / grid.cell_m)
        rows = np.floor(y / grid.cell_m)
    else:
        fr = y / (grid.cell_m * SQRT3 / 2)
        fq = x / grid.cell_m - fr / 2
        fs = -fq - fr
        q, r, s = np.round(fq), np.round(fr), np.round(fs)
        dq, dr, ds = np.abs(q - fq), np.abs(r - fr), np.abs(s - fs)
        # The coordinate with the largest rounding error is recomputed from the other two.
        fix_q = (dq > dr) & (dq > ds)
        fix_r = ~fix_q & (dr > ds)
        q = np.where(fix_q, -r - s, q)
        r = np.where(fix_r, -q - s, r)
        rows = r
        cols = q + np.floor(r / 2)  # axial → odd-r offset column
    finite = np.isfinite(cols) & np.isfinite(rows)
    c_lo, r_lo = int(grid.cols.min()), int(grid.rows.min())
    ncols, nrows = int(grid.cols.max()) - c_lo + 1, int(grid.rows.max()) - r_lo + 1
    index = np.full((nrows, ncols), -1, dtype=np.int64)
    index[grid.rows - r_lo, grid.cols - c_lo] = np.arange(len(grid))
    ci = np.where(finite, cols, -1).astype(np.int64) - c_lo
    ri = np.where(finite, rows, -1).astype(np.int64) - r_lo
    ok = finite & (ci >= 0) & (ci < ncols) & (ri >= 0) & (ri < nrows)
    cell = np.full(x.size, -1, dtype=np.int64)
    cell[ok] = index[ri[ok], ci[ok]]
    inside = cell >= 0
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()[inside]
    return np.bincount(cell[inside], w, minlength=len(grid)).astype(np.float64)
