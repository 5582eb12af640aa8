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

from geo.geometry import ToWgs84, lonlat_function
from geo.grid import Grid

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
class Hotspots:
    """Gi* results per cell of a grid."""

    counts: np.ndarray
    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    classes: np.ndarray


def find_hotspots(
    grid: Grid, counts: np.ndarray, *, levels: tuple[float, ...] = (0.90, 0.95, 0.99)
) -> Hotspots:
    """Gi*, q-values and classes for counts per cell of ``grid`` in one call."""
    z, p = gi_star(counts, grid.neighbours)
    return Hotspots(
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
    to_wgs84: ToWgs84 | None = None,
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
