"""Benchmark of the heat-map and hot-spot core (``.venv/bin/python bench/heat.py``).

Prints each figure with its target and the ratio to the baseline, and exits non-zero when a
target is missed. Baselines: ``scipy.stats.gaussian_kde`` with the same fixed bandwidth (timed on
a random subset of cells and extrapolated, since all 90,000 cells would take many minutes) and
PySAL's ``esda.G_Local(star=True, permutations=0)``.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import gaussian_kde

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.grid import grid_cells  # noqa: E402
from geo.heat import kde_grid  # noqa: E402
from geo.hotspots import gi_star  # noqa: E402

KDE_POINTS = 1_000_000
KDE_SIDE_M = 3000.0
KDE_CELL_M = 10.0
KDE_BANDWIDTH_M = 150.0
KDE_REFERENCE_CELLS = 500
GI_SIDE = 300

TARGET_KDE_MS = 50.0
TARGET_KDE_SPEEDUP = 10_000.0
TARGET_KDE_ERROR = 0.01  # of the peak
TARGET_GI_SPEEDUP = 500.0
TARGET_GI_DZ = 1e-9

# Somewhere in central Stockholm, SWEREF 99 TM metres.
WEST, SOUTH = 672_000.0, 6_578_000.0


class FixedBandwidthKDE(gaussian_kde):
    """``gaussian_kde`` with covariance bandwidth² I, the same kernel as ``kde_grid``.

    gaussian_kde scales the data covariance by a factor; setting the cached data covariance
    (private attributes of scipy >= 1.10) before ``__init__`` makes the kernel isotropic.
    """

    def __init__(self, dataset: np.ndarray, bandwidth_m: float) -> None:
        self._data_covariance = np.eye(2) * bandwidth_m**2
        self._data_cho_cov = np.eye(2) * bandwidth_m
        super().__init__(dataset, bw_method=1.0)


def _median_s(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Clustered points (six hot places) over uniform background noise."""
    centres = rng.uniform(300, KDE_SIDE_M - 300, (6, 2))
    n_cluster = int(KDE_POINTS * 0.7)
    which = rng.integers(0, len(centres), n_cluster)
    spread = rng.uniform(60, 300, len(centres))[which, None]
    clustered = centres[which] + rng.normal(0.0, 1.0, (n_cluster, 2)) * spread
    background = rng.uniform(0, KDE_SIDE_M, (KDE_POINTS - n_cluster, 2))
    pts = np.clip(np.vstack([clustered, background]), 0.0, KDE_SIDE_M)
    return WEST + pts[:, 0], SOUTH + pts[:, 1]


def bench_kde(rng: np.random.Generator) -> list[bool]:
    x, y = _points(rng)
    bounds = (WEST, SOUTH, WEST + KDE_SIDE_M, SOUTH + KDE_SIDE_M)

    def run() -> Any:
        return kde_grid(x, y, bounds=bounds, cell_m=KDE_CELL_M, bandwidth_m=KDE_BANDWIDTH_M)

    raster = run()  # warm-up (FFT plans, page faults)
    ours_s = _median_s(run, 9)
    cells = raster.width * raster.height

    kde = FixedBandwidthKDE(np.vstack([x, y]), KDE_BANDWIDTH_M)
    cx, cy = raster.cell_centres()
    subset = rng.choice(cells, KDE_REFERENCE_CELLS, replace=False)
    # Include the peak cell, where the error relative to the peak matters most.
    subset[0] = int(np.argmax(raster.values))
    start = time.perf_counter()
    # gaussian_kde normalises the weights to 1: × points = per m², × 1e6 = per km² (1 week).
    reference = kde(np.vstack([cx.ravel()[subset], cy.ravel()[subset]])) * KDE_POINTS * 1e6
    reference_s = (time.perf_counter() - start) * cells / KDE_REFERENCE_CELLS
    peak = float(raster.values.max())
    error = float(np.max(np.abs(raster.values.ravel()[subset] - reference))) / peak
    speedup = reference_s / ours_s

    print(
        f"KDE: {KDE_POINTS:,} points, {raster.width} × {raster.height} cells of "
        f"{KDE_CELL_M:g} m, Gaussian bandwidth {KDE_BANDWIDTH_M:g} m"
    )
    print(
        f"  kde_grid            {ours_s * 1e3:9.1f} ms (median of 9)   target <= "
        f"{TARGET_KDE_MS:g} ms"
    )
    print(
        f"  gaussian_kde        {reference_s:9.1f} s  EXTRAPOLATED from {KDE_REFERENCE_CELLS} "
        f"of {cells:,} cells"
    )
    print(f"  speed-up            {speedup:9,.0f} ×     target >= {TARGET_KDE_SPEEDUP:,.0f} ×")
    print(
        f"  max |error| / peak  {error:9.2e}       target <= {TARGET_KDE_ERROR:g} "
        f"(on those {KDE_REFERENCE_CELLS} cells, peak {peak:,.0f} {raster.unit})"
    )
    return [ours_s * 1e3 <= TARGET_KDE_MS, speedup >= TARGET_KDE_SPEEDUP, error <= TARGET_KDE_ERROR]


def bench_gi_star(rng: np.random.Generator) -> list[bool]:
    from esda.getisord import G_Local
    from libpysal.weights import lat2W

    side_m = GI_SIDE * 100.0
    grid = grid_cells((WEST, SOUTH, WEST + side_m, SOUTH + side_m), cell_m=100.0)
    counts = rng.poisson(1.5, len(grid)).astype(np.float64)
    hot = (np.abs(grid.x - grid.x.mean()) < 800) & (np.abs(grid.y - grid.y.mean()) < 800)
    counts[hot] += rng.poisson(4.0, int(hot.sum()))

    gi_star(counts, grid.neighbours)  # warm-up
    ours_s = _median_s(lambda: gi_star(counts, grid.neighbours), 21)
    z, p = gi_star(counts, grid.neighbours)
    # Summed weights instead of counts take the general path (no per-pair table): shown, no target.
    weighted = counts * rng.uniform(0.5, 1.5, counts.size)
    weighted_s = _median_s(lambda: gi_star(weighted, grid.neighbours), 21)

    # lat2W numbers cells row-major like grid_cells, and queen contiguity is the same either
    # way up, so the weights match cell for cell.
    w = lat2W(GI_SIDE, GI_SIDE, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results: list[Any] = []
        esda_s = _median_s(
            lambda: results.append(G_Local(counts, w, star=True, transform="B", permutations=0)), 3
        )
    reference = results[-1]
    dz = float(np.max(np.abs(z - reference.Zs)))
    dp = float(np.max(np.abs(p - 2 * reference.p_norm)))
    speedup = esda_s / ours_s

    print(f"Gi*: {len(grid):,} square cells ({GI_SIDE} × {GI_SIDE}), queen contiguity")
    print(f"  gi_star             {ours_s * 1e3:9.2f} ms (median of 21; counts)")
    print(f"  gi_star, weighted   {weighted_s * 1e3:9.2f} ms (summed weights; no target)")
    print(f"  esda G_Local        {esda_s * 1e3:9.1f} ms (median of 3, star=True, permutations=0)")
    print(f"  speed-up            {speedup:9,.0f} ×     target >= {TARGET_GI_SPEEDUP:,.0f} ×")
    print(
        f"  max |Δz|            {dz:9.1e}       target <= {TARGET_GI_DZ:g}; "
        f"max |Δp| {dp:.1e} (two-sided)"
    )
    return [speedup >= TARGET_GI_SPEEDUP, dz <= TARGET_GI_DZ]


def bench_api() -> list[bool]:
    """``GET /api/v1/heatmap`` end to end over real HTTP: one area, a year, 100,000 deviations
    in the database (60 % of them in the area), the default 25 m cells and 150 m bandwidth."""
    from datetime import UTC, datetime, timedelta

    import httpx

    from bench.common import (
        bench_database,
        ensure_user,
        live_server,
        median_ms,
        report,
        timed,
        token,
    )

    url = bench_database(100_000)
    planner = ensure_user(url, "planner")
    ok = []
    with live_server(url) as base, httpx.Client(base_url=base, timeout=60) as client:
        headers = token(base, planner)
        until = datetime.now(UTC)
        params = {
            "area": "solberga",
            "since": (until - timedelta(days=365)).isoformat(),
            "until": until.isoformat(),
        }
        for fmt in ("overlay", "geojson", "json"):

            def once(fmt: str = fmt) -> None:
                client.get(
                    "/api/v1/heatmap", params={**params, "format": fmt}, headers=headers
                ).raise_for_status()

            ok.append(
                report(
                    f"API heat map, Solberga, 1 year, format={fmt} (median of 10)",
                    median_ms(timed(once, repeat=10)),
                    500,
                    "ms",
                    higher_is_better=False,
                )
            )

        def hot() -> None:
            client.get("/api/v1/hotspots", params=params, headers=headers).raise_for_status()

        print(f"  (hot spots, same selection: {median_ms(timed(hot, repeat=10)):.0f} ms)")
    return ok


def main() -> int:
    """Run every benchmark; 0 when all targets are met, 1 otherwise."""
    rng = np.random.default_rng(20260501)
    results = bench_kde(rng) + bench_gi_star(rng) + bench_api()
    missed = results.count(False)
    print("all targets met" if not missed else f"{missed} target(s) MISSED")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
