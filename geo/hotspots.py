"""Hot spots: Getis-Ord Gi* z-scores on a grid of cells, with a false discovery rate correction.

The grid is square (queen contiguity: 8 neighbours) or hexagonal (6 neighbours) in a metric CRS
(SWEREF 99 TM, EPSG:3006). Gi* uses binary weights that include the cell itself, as ArcGIS's Hot
Spot Analysis and PySAL's ``esda.G_Local(star=True, transform="B")``; cells are classified hot or
cold at 90/95/99 % confidence after Benjamini–Hochberg, the correction analysts know from ArcGIS.
Pure computation: arrays in, arrays and dicts out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.special import ndtr
from shapely import Geometry

from geo.errors import InvalidParameter
from geo.heat import LonLat, lonlat_function

SHAPES = ("square", "hex")
MAX_CELLS = 250_000  # polygons for every cell are built: ~1 kB each
SQRT3 = math.sqrt(3.0)
# Hexagon neighbours in axial coordinates (q, r).
_HEX_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))

# ArcGIS's hot spot colours; not significant cells have no fill.
CLASS_COLOURS: dict[int, str | None] = {
    3: "#d62f27",
    2: "#ed7551",
    1: "#fab984",
    0: None,
    -1: "#c0ccbe",
    -2: "#849eba",
    -3: "#4575b5",
}
_CONFIDENCE = {3: 99, 2: 95, 1: 90}
COMPARE_LABELS = {"new": "ny", "persistent": "kvarstående", "gone": "försvunnen"}


def class_label(cls: int) -> str:
    """The Swedish label of a class: ``Het punkt 99 %`` … ``Kall punkt 90 %``, ``Ej signifikant``.

    >>> class_label(-2)
    'Kall punkt 95 %'
    """
    if cls == 0:
        return "Ej signifikant"
    return f"{'Het' if cls > 0 else 'Kall'} punkt {_CONFIDENCE[abs(cls)]} %"


def legend() -> list[dict[str, Any]]:
    """Legend entries, hottest first: ``{"class", "label", "colour", "confidence"}``."""
    return [
        {
            "class": c,
            "label": class_label(c),
            "colour": CLASS_COLOURS[c],
            "confidence": _CONFIDENCE.get(abs(c)),
        }
        for c in (3, 2, 1, 0, -1, -2, -3)
    ]


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
    if ncols * nrows > MAX_CELLS:
        suggestion = math.ceil(cell_m * math.sqrt(ncols * nrows / MAX_CELLS))
        raise InvalidParameter(
            f"cell_m {cell_m:g} gives {ncols * nrows:,} cells over this area, more than "
            f"{MAX_CELLS:,}; use cell_m {suggestion} or more, or a smaller area",
            field="cell_m",
        )
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


def _z_scores(
    lag: np.ndarray, w_sum: np.ndarray, w2_sum: np.ndarray, *, mean: float, sd: float, n: int
) -> np.ndarray:
    """Gi* z from each cell's weighted sum Σ_j w_ij x_j and its weight sums W_i and Σ_j w_ij²."""
    denominator = np.maximum(n * w2_sum - w_sum * w_sum, 0.0)
    denominator *= sd * sd / (n - 1)
    np.sqrt(denominator, out=denominator)
    # A cell that neighbours every cell (or none) has no variance: its z stays 0.
    z = np.zeros(lag.shape)
    np.divide(lag - mean * w_sum, denominator, out=z, where=denominator > 0.0)
    return z


def _two_sided_p(z: np.ndarray) -> np.ndarray:
    p = np.abs(z)
    p *= -1.0
    ndtr(p, out=p)
    p *= 2.0
    return p


def gi_star(
    values: np.ndarray, neighbours: sparse.spmatrix | sparse.sparray
) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided p-values.

    With weights w_ij (binary, w_ii = 1), n cells, mean x̄ and S = √(Σx²/n - x̄²):

        z_i = (Σ_j w_ij x_j - x̄ W_i) / (S √((n Σ_j w_ij² - W_i²) / (n - 1))),  W_i = Σ_j w_ij

    (Getis & Ord 1992; Ord & Getis 1995), the z-score of ArcGIS and of
    ``esda.G_Local(y, w, star=True, transform="B").Zs``. p = 2 Φ(-|z|), i.e. twice esda's
    one-sided ``p_norm``. Constant values give z = 0 and p = 1.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    n = x.size
    # Re-wrapping a CSR matrix would drop its cached canonical-format flag (a 0.5 ms check).
    w = neighbours
    if not (sparse.issparse(w) and w.format == "csr"):
        w = sparse.csr_matrix(w)
    if w.shape != (n, n):
        raise ValueError(f"neighbours must be {n} × {n} for {n} values; got {w.shape}")
    if not np.isfinite(x).all():
        raise ValueError("gi_star needs finite values (counts or weights per cell)")
    if n < 2:
        return np.zeros(n), np.ones(n)
    mean = float(x.mean())
    centred = x - mean
    sd = math.sqrt(float(np.mean(centred * centred)))  # population SD, as Getis & Ord and esda
    if sd <= 1e-12 * float(np.abs(x).max()):
        return np.zeros(n), np.ones(n)  # constant values: no spatial pattern to find
    if not w.has_canonical_format:
        w = w.copy()
        w.sum_duplicates()
    lag = w @ x
    if not np.all(w.data == 1.0):
        w_sum = np.asarray(w.sum(axis=1)).ravel()
        w2_sum = np.asarray(w.multiply(w).sum(axis=1)).ravel()
        z = _z_scores(lag, w_sum, w2_sum, mean=mean, sd=sd, n=n)
        return z, _two_sided_p(z)
    # Binary weights: W_i is the row length, and Σ w² = W_i.
    w_count = np.diff(w.indptr)
    k = int(w_count.max()) + 1
    size = (int(lag.max()) + 1) * k
    if lag.min() >= 0 and size <= n and np.array_equal(lag, np.rint(lag)):
        # Counts: z depends only on the pair (Σ_j x_j, W_i), and there are few pairs. Computing
        # z and p once per pair halves the time (the normal CDF is the costliest step).
        lag_t, w_t = np.divmod(np.arange(size), k)
        z_t = _z_scores(lag_t.astype(np.float64), w_t, w_t, mean=mean, sd=sd, n=n)
        key = lag.astype(np.int64) * k + w_count
        return z_t[key], _two_sided_p(z_t)[key]
    z = _z_scores(lag, w_count, w_count, mean=mean, sd=sd, n=n)
    return z, _two_sided_p(z)


def fdr_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q): a cell is significant at FDR α when q ≤ α.

    >>> fdr_qvalues(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=np.float64).ravel()
    m = p.size
    if m == 0:
        return p.copy()
    p = np.where(np.isfinite(p), p, 1.0)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]  # step-up: q_(k) = min over j ≥ k
    q = np.empty(m)
    q[order] = np.minimum(ranked, 1.0)
    return q


def fdr_classes(
    z: np.ndarray, p: np.ndarray, *, levels: tuple[float, ...] = (0.90, 0.95, 0.99)
) -> np.ndarray:
    """Hot (+) / cold (-) classes after Benjamini–Hochberg at each confidence level.

    A cell gets class ±k when its q-value (`fdr_qvalues` of the two-sided ``p``) is at most
    1 - level for the k-th of the ascending ``levels`` and for none above it: +3/+2/+1 = hot at
    99/95/90 %, -3/-2/-1 cold, 0 not significant. The sign comes from ``z``.
    """
    q = fdr_qvalues(p)
    magnitude = np.zeros(q.size, dtype=np.int64)
    for k, level in enumerate(sorted(levels), start=1):
        magnitude[q <= 1.0 - level] = k
    return (np.sign(np.asarray(z).ravel()).astype(np.int64) * magnitude).astype(np.int64)


@dataclass(frozen=True, eq=False)
class HotSpots:
    """Gi* results per cell of a grid."""

    counts: np.ndarray
    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    classes: np.ndarray


def hot_spots(
    grid: Grid, counts: np.ndarray, *, levels: tuple[float, ...] = (0.90, 0.95, 0.99)
) -> HotSpots:
    """Gi*, q-values and classes for counts per cell of ``grid`` in one call."""
    z, p = gi_star(counts, grid.neighbours)
    return HotSpots(
        counts=np.asarray(counts, dtype=np.float64),
        z=z,
        p=p,
        q=fdr_qvalues(p),
        classes=fdr_classes(z, p, levels=levels),
    )


def hotspots_geojson(
    grid: Grid,
    counts: np.ndarray,
    z: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    classes: np.ndarray,
    *,
    to_wgs84: LonLat | None = None,
    significant_only: bool = False,
) -> dict[str, Any]:
    """The cells as a GeoJSON FeatureCollection in WGS 84 lon/lat.

    Each feature has ``id`` (the cell's index in the grid) and properties ``count``, ``z``,
    ``p``, ``q``, ``class``, ``label`` (Swedish), ``confidence`` (99/95/90 or None) and
    ``colour`` (None when not significant). ``significant_only`` leaves out class-0 cells.
    """
    classes = np.asarray(classes).ravel()
    chosen = np.flatnonzero(classes != 0) if significant_only else np.arange(len(grid))
    features: list[dict[str, Any]] = []
    if chosen.size:
        # Every cell has the same number of vertices, so all are transformed in one call.
        coords = shapely.get_coordinates(grid.polygons[chosen])
        lon, lat = lonlat_function(to_wgs84, grid.crs)(coords[:, 0], coords[:, 1])
        lonlat = np.stack([np.round(lon, 7), np.round(lat, 7)], axis=-1)
        rings = lonlat.reshape(chosen.size, -1, 2).tolist()
        for i, ring in zip(chosen.tolist(), rings, strict=True):
            cls = int(classes[i])
            count = float(counts[i])
            features.append(
                {
                    "type": "Feature",
                    "id": i,
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {
                        "count": int(count) if count.is_integer() else count,
                        "z": float(z[i]),
                        "p": float(p[i]),
                        "q": float(q[i]),
                        "class": cls,
                        "label": class_label(cls),
                        "confidence": _CONFIDENCE.get(abs(cls)),
                        "colour": CLASS_COLOURS[cls],
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


def compare(current_classes: np.ndarray, previous_classes: np.ndarray) -> np.ndarray:
    """Per cell ``"new"`` (hot now, not before), ``"persistent"``, ``"gone"`` or ``""``.

    Both class arrays must come from the same grid; Swedish labels are in `COMPARE_LABELS`.

    >>> compare(np.array([2, 1, 0, 0]), np.array([0, 3, 1, -1])).tolist()
    ['new', 'persistent', 'gone', '']
    """
    now = np.asarray(current_classes).ravel()
    before = np.asarray(previous_classes).ravel()
    if now.shape != before.shape:
        raise ValueError("compare() needs the classes of the same grid for both periods")
    hot_now, hot_before = now > 0, before > 0
    out = np.full(now.shape, "", dtype="<U10")
    out[hot_now & ~hot_before] = "new"
    out[hot_now & hot_before] = "persistent"
    out[~hot_now & hot_before] = "gone"
    return out
