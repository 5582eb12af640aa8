"""Kernel density heat maps (pure, no database): accuracy against exact sums, mass, output."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from scipy.stats import gaussian_kde
from shapely import Point

from geo.errors import InvalidParameter
from geo.heat import (
    Raster,
    decay_weights,
    difference,
    kde_grid,
)
from geo.isopleths import isopleths, isopleths_geojson

# Södermalm, Stockholm, in SWEREF 99 TM metres.
X0, Y0 = 674_000.0, 6_579_000.0
BOUNDS = (X0, Y0, X0 + 3000.0, Y0 + 2500.0)
HOT = (X0 + 900.0, Y0 + 1600.0)


def clustered(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two clusters and some background, all inside BOUNDS."""
    rng = np.random.default_rng(seed)
    a = rng.normal(HOT, 80.0, (n // 2, 2))
    b = rng.normal((X0 + 2100.0, Y0 + 900.0), 250.0, (n // 4, 2))
    c = rng.uniform((X0, Y0), (X0 + 3000.0, Y0 + 2500.0), (n - n // 2 - n // 4, 2))
    pts = np.vstack([a, b, c])
    pts[:, 0] = np.clip(pts[:, 0], BOUNDS[0], BOUNDS[2])
    pts[:, 1] = np.clip(pts[:, 1], BOUNDS[1], BOUNDS[3])
    return pts[:, 0], pts[:, 1]


class FixedBandwidthKDE(gaussian_kde):
    """scipy's gaussian_kde with covariance bandwidth² I (private attributes, scipy >= 1.10)."""

    def __init__(self, dataset: np.ndarray, bandwidth_m: float, weights: np.ndarray) -> None:
        self._data_covariance = np.eye(2) * bandwidth_m**2
        self._data_cho_cov = np.eye(2) * bandwidth_m
        super().__init__(dataset, bw_method=1.0, weights=weights)


def direct_quartic(raster: Raster, x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Σ_i K(c - p_i) at every cell centre, per km², row by row."""
    cx, cy = raster.cell_centres()
    out = np.zeros(cx.shape)
    for row in range(cx.shape[0]):
        d2 = (cx[row, :, None] - x[None, :]) ** 2 + (cy[row, :, None] - y[None, :]) ** 2
        out[row] = np.where(d2 < r * r, 3 / (math.pi * r * r) * (1 - d2 / (r * r)) ** 2, 0).sum(1)
    return out * 1e6


def test_gaussian_matches_scipy_gaussian_kde_within_one_percent_of_peak() -> None:
    x, y = clustered(3000, seed=1)
    w = np.random.default_rng(2).choice([1.0, 2.0, 4.0], x.size)
    raster = kde_grid(
        x, y, weights=w, bounds=BOUNDS, cell_m=20.0, bandwidth_m=150.0, period_weeks=2.0
    )
    cx, cy = raster.cell_centres()
    kde = FixedBandwidthKDE(np.vstack([x, y]), 150.0, w)
    # gaussian_kde normalises the weights: × Σw for points per m², × 1e6 per km², ÷ 2 weeks.
    exact = kde(np.vstack([cx.ravel(), cy.ravel()])).reshape(cx.shape) * w.sum() * 1e6 / 2.0
    assert raster.values.shape == (125, 150)
    assert np.max(np.abs(raster.values - exact)) <= 0.01 * exact.max()


def test_many_points_binned_in_threads_still_match_gaussian_kde() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.normal((X0 + 1500.0, Y0 + 1250.0), 400.0, (300_000, 2)).T
    raster = kde_grid(x, y, bounds=BOUNDS, cell_m=25.0, bandwidth_m=150.0)
    cx, cy = raster.cell_centres()
    sample = rng.choice(cx.size, 40, replace=False)
    sample[0] = np.argmax(raster.values)
    kde = FixedBandwidthKDE(np.vstack([x, y]), 150.0, np.ones(x.size))
    exact = kde(np.vstack([cx.ravel()[sample], cy.ravel()[sample]])) * x.size * 1e6
    assert np.max(np.abs(raster.values.ravel()[sample] - exact)) <= 0.01 * exact.max()


def test_quartic_matches_the_direct_sum_within_one_percent_of_peak() -> None:
    x, y = clustered(2000, seed=3)
    raster = kde_grid(x, y, bounds=BOUNDS, cell_m=25.0, bandwidth_m=300.0, kernel="quartic")
    exact = direct_quartic(raster, x, y, 300.0)
    assert np.max(np.abs(raster.values - exact)) <= 0.01 * exact.max()


def test_points_just_outside_the_grid_still_count() -> None:
    x = np.array([BOUNDS[0] - 100.0, BOUNDS[2] + 50.0])
    y = np.array([Y0 + 1000.0, BOUNDS[3] + 120.0])
    raster = kde_grid(x, y, bounds=BOUNDS, cell_m=25.0, bandwidth_m=300.0, kernel="quartic")
    exact = direct_quartic(raster, x, y, 300.0)
    assert exact.max() > 0
    assert np.max(np.abs(raster.values - exact)) <= 0.01 * exact.max()
    # Compact support: beyond the radius (+ a cell's binning) the density is exactly zero,
    # not FFT round-off.
    cx, cy = raster.cell_centres()
    far = np.hypot(cx[..., None] - x, cy[..., None] - y).min(axis=-1) > 300.0 + 25.0 * 1.5
    assert far.any() and (raster.values[far] == 0).all()


def test_peak_lands_on_the_planted_cluster() -> None:
    x, y = clustered(3000, seed=4)
    raster = kde_grid(x, y, bounds=BOUNDS, cell_m=25.0, bandwidth_m=150.0)
    cx, cy = raster.cell_centres()
    peak = np.unravel_index(np.argmax(raster.values), raster.values.shape)
    assert math.dist((cx[peak], cy[peak]), HOT) <= 150.0


def test_mass_is_conserved_and_divided_by_the_period() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal((X0 + 1500.0, Y0 + 1250.0), 150.0, (2000, 2)).T  # ≥ 4 sd from every edge
    w = rng.uniform(0.5, 3.0, x.size)
    raster = kde_grid(
        x, y, weights=w, bounds=BOUNDS, cell_m=25.0, bandwidth_m=100.0, period_weeks=4.0
    )
    km2 = (25.0 / 1000.0) ** 2
    assert raster.values.sum() * km2 == pytest.approx(w.sum() / 4.0, rel=0.01)
    assert raster.unit == "reports per km² per week"


def test_mask_blanks_cells_outside_and_keeps_the_mass_inside() -> None:
    rng = np.random.default_rng(6)
    inside = rng.normal((X0 + 1000.0, Y0 + 1200.0), 60.0, (500, 2))
    outside = rng.normal((X0 + 2600.0, Y0 + 600.0), 60.0, (300, 2))
    x, y = np.vstack([inside, outside]).T
    mask = Point(X0 + 1000.0, Y0 + 1200.0).buffer(800.0)
    raster = kde_grid(x, y, bounds=BOUNDS, cell_m=25.0, bandwidth_m=80.0, mask=mask)
    cx, cy = raster.cell_centres()
    within = shapely.contains_xy(mask, cx, cy)
    # Centre-in-polygon: only cells whose centre lies within half a cell of the edge may differ.
    near_edge = np.abs(np.hypot(cx - (X0 + 1000.0), cy - (Y0 + 1200.0)) - 800.0) < 18.0
    assert (np.isnan(raster.values) == ~within)[~near_edge].all()
    km2 = (25.0 / 1000.0) ** 2
    assert np.nansum(raster.values) * km2 == pytest.approx(500.0, rel=0.01)


def test_empty_input_gives_zeros_and_nan_outside_the_mask() -> None:
    empty = np.array([])
    raster = kde_grid(empty, empty, bounds=BOUNDS, cell_m=50.0)
    assert raster.values.shape == (50, 60) and (raster.values == 0).all()
    masked = kde_grid(
        empty, empty, bounds=BOUNDS, cell_m=50.0, mask=shapely.box(X0, Y0, X0 + 1000.0, Y0 + 1000.0)
    )
    assert np.isnan(masked.values).sum() == 50 * 60 - 20 * 20
    assert (masked.values[~np.isnan(masked.values)] == 0).all()
    assert isopleths(raster) == []
    assert isopleths_geojson(raster)["features"] == []


def test_grid_is_snapped_to_whole_cells_and_covers_the_bounds() -> None:
    raster = kde_grid(
        np.array([X0 + 10.0]),
        np.array([Y0 + 10.0]),
        bounds=(X0 + 7.0, Y0 + 3.0, X0 + 1001.0, Y0 + 999.0),
        cell_m=25.0,
    )
    a, b, c, d, e, f = raster.transform
    assert (a, b, d, e) == (25.0, 0.0, 0.0, -25.0)
    assert c % 25.0 == 0 and f % 25.0 == 0
    minx, miny, maxx, maxy = raster.bounds
    assert minx <= X0 + 7.0 and miny <= Y0 + 3.0 and maxx >= X0 + 1001.0 and maxy >= Y0 + 999.0
    assert maxx - minx < 1001.0 - 7.0 + 50.0 and maxy - miny < 999.0 - 3.0 + 50.0


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"bandwidth_m": 5.0}, "bandwidth_m"),
        ({"bandwidth_m": 5000.0}, "bandwidth_m"),
        ({"cell_m": 1.0}, "cell_m"),
        ({"cell_m": 1000.0}, "cell_m"),
        ({"kernel": "epanechnikov"}, "kernel"),
        ({"period_weeks": 0.0}, "period"),
    ],
)
def test_out_of_range_parameters_name_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        kde_grid(np.zeros(1), np.zeros(1), bounds=BOUNDS, **options)  # type: ignore[arg-type]
    assert error.value.field == field
    assert field.split("_")[0] in str(error.value)


def test_too_many_cells_says_how_many_and_what_to_use() -> None:
    with pytest.raises(InvalidParameter) as error:
        kde_grid(np.zeros(1), np.zeros(1), bounds=(0.0, 0.0, 100_000.0, 100_000.0), cell_m=25.0)
    assert error.value.field == "cell_m"
    assert "16,000,000" in str(error.value) and "cell_m 50" in str(error.value)


def test_bounds_must_be_ordered() -> None:
    with pytest.raises(InvalidParameter, match="minx < maxx"):
        kde_grid(np.zeros(1), np.zeros(1), bounds=(X0 + 10.0, Y0, X0, Y0 + 10.0))


def test_decay_weights_halve_every_half_life() -> None:
    w = decay_weights(np.array([-2.0, 0.0, 3.5, 7.0, 70.0]), half_life_days=7.0)
    assert w.tolist()[:4] == [1.0, 1.0, pytest.approx(2**-0.5), 0.5]
    assert w[-1] == pytest.approx(2.0**-10)
    with pytest.raises(InvalidParameter) as error:
        decay_weights(np.zeros(1), half_life_days=0.0)
    assert error.value.field == "half_life_days"


def test_isopleths_are_nested_hold_their_share_and_come_out_in_lon_lat() -> None:
    x, y = clustered(3000, seed=7)
    raster = kde_grid(x, y, bounds=BOUNDS, cell_m=25.0, bandwidth_m=150.0)
    result = isopleths(raster, levels=(0.5, 0.75, 0.9))
    assert len(result) == 3
    cx, cy = raster.cell_centres()
    total = raster.values.sum()
    for (threshold, geom), level in zip(result, (0.5, 0.75, 0.9), strict=True):
        assert geom.is_valid
        inside = shapely.contains_xy(geom, cx, cy)
        share = raster.values[inside].sum() / total
        # The smallest set: it holds the share, and would not without its weakest cell.
        assert share >= level
        assert share - threshold / total < level
        assert raster.values[inside].min() == threshold
        assert geom.area == pytest.approx(inside.sum() * 25.0**2)
    (_, g50), (_, g75), (_, g90) = result
    assert g50.difference(g75).area < 1e-6 and g75.difference(g90).area < 1e-6
    assert g50.area < g75.area < g90.area

    collection = isopleths_geojson(raster)
    props = [f["properties"] for f in collection["features"]]
    assert [p["percent"] for p in props] == [90, 75, 50]
    assert [p["threshold"] for p in props] == [t for t, _ in reversed(result)]
    for feature in collection["features"]:
        geom = shapely.geometry.shape(feature["geometry"])
        minlon, minlat, maxlon, maxlat = geom.bounds
        assert 17.9 < minlon < maxlon < 18.2 and 59.25 < minlat < maxlat < 59.35
        assert geom.is_valid


def test_difference_needs_the_same_grid() -> None:
    x, y = clustered(500, seed=10)
    now = kde_grid(x, y, bounds=BOUNDS, cell_m=50.0)
    before = kde_grid(x[:100], y[:100], bounds=BOUNDS, cell_m=50.0)
    change = difference(now, before)
    assert np.allclose(change.values, now.values - before.values)
    assert change.unit == "change in reports per km² per week"
    with pytest.raises(ValueError, match="same grid"):
        difference(now, kde_grid(x, y, bounds=BOUNDS, cell_m=25.0))
