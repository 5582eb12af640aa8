"""Getis-Ord Gi* hot spots (pure, no database): against esda, FDR, grids, GeoJSON, comparison."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import shapely
from esda.getisord import G_Local
from libpysal.weights import W, lat2W
from scipy import sparse

from geo.errors import InvalidParameter
from geo.geometry import transformer
from geo.grid import assign, grid_cells
from geo.hotspots import (
    CLASS_COLOURS,
    COMPARE_LABELS,
    compare,
    fdr_classes,
    fdr_qvalues,
    find_hotspots,
    gi_star,
    hotspots_geojson,
    legend,
)

X0, Y0 = 674_000.0, 6_579_000.0


def esda_gi_star(y: np.ndarray, w: W) -> G_Local:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, w, star=True, transform="B", permutations=0)


def planted(n: int, seed: int) -> np.ndarray:
    """Poisson counts with a hot block and a cold (empty) block."""
    rng = np.random.default_rng(seed)
    y = rng.poisson(3.0, n).astype(np.float64)
    y[n // 5 : n // 5 + 12] += 15.0
    y[n // 2 : n // 2 + 30] = 0.0
    return y


@pytest.mark.parametrize("weighted", [False, True])
def test_square_gi_star_equals_esda_z_and_p(weighted: bool) -> None:
    rows, cols = 30, 40
    grid = grid_cells((X0, Y0, X0 + cols * 100.0, Y0 + rows * 100.0), cell_m=100.0)
    assert len(grid) == rows * cols
    y = planted(len(grid), seed=1)
    if weighted:  # summed severity weights rather than counts (another code path)
        y = y * np.random.default_rng(8).uniform(0.5, 1.5, y.size) - 0.5
    z, p = gi_star(y, grid.neighbours)
    # lat2W is built independently (row-major, queen); esda adds the self-weight for Gi*.
    reference = esda_gi_star(y, lat2W(rows, cols, rook=False))
    assert np.max(np.abs(z - reference.Zs)) <= 1e-9
    assert np.max(np.abs(z)) > 3  # the planted block is really hot
    # esda's p_norm is one-sided; ours is two-sided, as ArcGIS reports it.
    assert np.allclose(p, 2 * reference.p_norm, rtol=1e-12, atol=1e-300)


def test_hex_gi_star_equals_esda_with_the_same_neighbours() -> None:
    grid = grid_cells((X0, Y0, X0 + 2500.0, Y0 + 2000.0), cell_m=100.0, shape="hex")
    y = planted(len(grid), seed=2)
    z, p = gi_star(y, grid.neighbours)
    without_self = (grid.neighbours - sparse.identity(len(grid), format="csr")).tocsr()
    without_self.eliminate_zeros()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = W.from_sparse(without_self)
    reference = esda_gi_star(y, w)
    assert np.max(np.abs(z - reference.Zs)) <= 1e-9
    assert np.allclose(p, 2 * reference.p_norm, rtol=1e-12, atol=1e-300)


def test_general_weights_follow_the_getis_ord_formula() -> None:
    # Non-binary weights (e.g. inverse distance) take the general formula; check it term by
    # term with loops.
    rng = np.random.default_rng(9)
    n = 40
    dense = np.where(rng.random((n, n)) < 0.2, rng.uniform(0.2, 2.0, (n, n)), 0.0)
    np.fill_diagonal(dense, 1.0)
    y = rng.poisson(4.0, n).astype(np.float64)
    z, p = gi_star(y, sparse.csr_matrix(dense))
    mean, sd = y.mean(), np.sqrt((y**2).mean() - y.mean() ** 2)
    for i in range(n):
        wi, w2 = dense[i].sum(), (dense[i] ** 2).sum()
        expected = (dense[i] @ y - mean * wi) / (sd * np.sqrt((n * w2 - wi**2) / (n - 1)))
        assert z[i] == pytest.approx(expected, abs=1e-9)
    assert np.allclose(p, 2 * (1 - 0.5 * (1 + np.vectorize(math.erf)(np.abs(z) / np.sqrt(2)))))


def test_constant_values_give_zero_z_and_p_one() -> None:
    grid = grid_cells((X0, Y0, X0 + 1000.0, Y0 + 1000.0), cell_m=100.0)
    for value in (0.0, 0.1, 7.0):
        z, p = gi_star(np.full(len(grid), value), grid.neighbours)
        assert (z == 0).all() and (p == 1).all()


def test_square_neighbours_are_queen_contiguity_with_self() -> None:
    grid = grid_cells((X0, Y0, X0 + 1000.0, Y0 + 800.0), cell_m=100.0)
    counts = np.diff(grid.neighbours.indptr)
    assert sorted(set(counts.tolist())) == [4, 6, 9]  # corners, edges, interior (self included)
    assert (grid.neighbours.diagonal() == 1).all()
    # Neighbours are exactly the cells whose squares touch (share an edge or a corner).
    touching = shapely.STRtree(grid.polygons).query(grid.polygons, predicate="intersects")
    expected = sparse.csr_matrix(
        (np.ones(touching.shape[1]), touching), shape=grid.neighbours.shape
    )
    assert (expected != grid.neighbours).nnz == 0


def test_hexagons_have_six_touching_neighbours() -> None:
    grid = grid_cells((X0, Y0, X0 + 2000.0, Y0 + 2000.0), cell_m=100.0, shape="hex")
    assert np.allclose(shapely.area(grid.polygons), 100.0**2 * np.sqrt(3) / 2)
    counts = np.diff(grid.neighbours.indptr) - 1
    interior = shapely.contains(
        shapely.box(X0 + 200, Y0 + 200, X0 + 1800, Y0 + 1800), grid.polygons
    )
    assert interior.sum() > 100 and (counts[interior] == 6).all()
    assert counts.max() == 6
    # Neighbours share an edge: centres exactly cell_m apart, the union of two is one polygon.
    head, tail = grid.neighbours.nonzero()
    off = head != tail
    distance = np.hypot(grid.x[head] - grid.x[tail], grid.y[head] - grid.y[tail])[off]
    assert np.allclose(distance, 100.0)
    shared = shapely.length(
        shapely.intersection(grid.polygons[head[off]], grid.polygons[tail[off]])
    )
    assert np.allclose(shared, 100.0 / np.sqrt(3))


def test_assign_puts_points_in_the_hexagon_with_the_nearest_centre() -> None:
    grid = grid_cells((X0, Y0, X0 + 1500.0, Y0 + 1500.0), cell_m=100.0, shape="hex")
    rng = np.random.default_rng(3)
    x, y = rng.uniform((X0 + 100, Y0 + 100), (X0 + 1400, Y0 + 1400), (3000, 2)).T
    nearest = np.argmin((x[:, None] - grid.x) ** 2 + (y[:, None] - grid.y) ** 2, axis=1)
    expected = np.bincount(nearest, minlength=len(grid))
    assert (assign(grid, x, y) == expected).all()
    weights = rng.uniform(0, 2, x.size)
    assert np.allclose(
        assign(grid, x, y, weights), np.bincount(nearest, weights, minlength=len(grid))
    )
    # ... and each point lies in that hexagon's polygon.
    assert shapely.contains_xy(grid.polygons[nearest], x, y).all()


def test_assign_squares_and_drop_points_outside_every_cell() -> None:
    mask = shapely.Point(X0 + 500, Y0 + 500).buffer(400)
    grid = grid_cells((X0, Y0, X0 + 1000.0, Y0 + 1000.0), cell_m=100.0, mask=mask)
    assert shapely.contains_xy(mask, grid.x, grid.y).all() and len(grid) < 100
    rng = np.random.default_rng(4)
    x, y = rng.uniform((X0 - 200, Y0 - 200), (X0 + 1200, Y0 + 1200), (2000, 2)).T
    counts = assign(grid, x, y)
    tree = shapely.STRtree(grid.polygons)
    point_index, cell_index = tree.query(shapely.points(x, y), predicate="within")
    assert counts.sum() == point_index.size < x.size
    assert (counts == np.bincount(cell_index, minlength=len(grid))).all()


def test_grid_validation_names_the_field() -> None:
    with pytest.raises(InvalidParameter) as error:
        grid_cells((X0, Y0, X0 + 100.0, Y0 + 100.0), cell_m=50.0, shape="triangle")
    assert error.value.field == "shape"
    with pytest.raises(InvalidParameter) as error:
        grid_cells((0.0, 0.0, 1e6, 1e6), cell_m=100.0)
    assert error.value.field == "cell_m" and "use cell_m 2000 or more" in str(error.value)


def test_benjamini_hochberg_on_a_known_case() -> None:
    # m = 10. At α = 0.05 the step-up thresholds k α/m are .005 .01 .015 .02 …: exactly the
    # three smallest are rejected. At α = 0.01 (.001 .002 .003 …) none is, although 0.002 and
    # 0.008 are below 0.01 uncorrected: BH is stricter than the raw p-values.
    p = np.array([0.008, 0.5, 0.002, 0.6, 0.7, 0.012, 0.8, 0.9, 0.95, 0.99])
    z = np.array([-2.6, 0.7, 3.1, -0.5, 0.4, 2.5, 0.2, 0.1, 0.06, 0.01])
    classes = fdr_classes(z, p)
    assert classes.tolist() == [-2, 0, 2, 0, 0, 2, 0, 0, 0, 0]
    uncorrected = np.sign(z) * ((p <= 0.10).astype(int) + (p <= 0.05) + (p <= 0.01))
    assert (np.abs(classes) <= np.abs(uncorrected)).all()
    assert (np.abs(classes) < np.abs(uncorrected)).any()


def test_benjamini_hochberg_steps_up() -> None:
    # Five p-values of 0.04: none passes 0.05/5 alone, but all pass 5 × 0.05/5 together.
    q = fdr_qvalues(np.full(5, 0.04))
    assert np.allclose(q, 0.04)
    assert (fdr_classes(np.ones(5), np.full(5, 0.04)) == 2).all()


def test_q_values_follow_the_definition() -> None:
    p = np.random.default_rng(5).uniform(0, 0.2, 200) ** 2
    order = np.argsort(p)
    m = p.size
    expected = np.empty(m)
    for rank, i in enumerate(order, start=1):
        expected[i] = min(1.0, min(p[order[j - 1]] * m / j for j in range(rank, m + 1)))
    assert np.allclose(fdr_qvalues(p), expected)


def test_planted_points_make_a_99_percent_hotspot() -> None:
    grid = grid_cells((X0, Y0, X0 + 3000.0, Y0 + 3000.0), cell_m=100.0, shape="hex")
    rng = np.random.default_rng(6)
    background = rng.uniform((X0, Y0), (X0 + 3000, Y0 + 3000), (3000, 2))
    cluster = rng.normal((X0 + 1000, Y0 + 2000), 80.0, (400, 2))
    x, y = np.vstack([background, cluster]).T
    result = find_hotspots(grid, assign(grid, x, y))
    centre = np.argmin(np.hypot(grid.x - (X0 + 1000), grid.y - (Y0 + 2000)))
    assert result.classes[centre] == 3
    far = np.hypot(grid.x - (X0 + 1000), grid.y - (Y0 + 2000)) > 600
    assert (result.classes[far] <= 0).all()
    assert (result.q >= result.p).all()


def test_geojson_in_lon_lat_with_swedish_labels() -> None:
    grid = grid_cells((X0, Y0, X0 + 2000.0, Y0 + 2000.0), cell_m=100.0)
    counts = planted(len(grid), seed=7)
    result = find_hotspots(grid, counts)
    everything = hotspots_geojson(grid, counts, result.z, result.p, result.q, result.classes)
    assert len(everything["features"]) == len(grid)
    significant = hotspots_geojson(
        grid, counts, result.z, result.p, result.q, result.classes, significant_only=True
    )
    props = [f["properties"] for f in significant["features"]]
    assert 0 < len(props) < len(grid) and all(p["class"] != 0 for p in props)
    for feature in significant["features"]:
        i, prop = feature["id"], feature["properties"]
        assert prop["count"] == counts[i] and prop["z"] == result.z[i]
        assert prop["q"] == result.q[i] and prop["p"] == result.p[i]
        assert prop["colour"] == CLASS_COLOURS[prop["class"]]
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) == 5 and ring[0] == ring[-1]
        assert all(17.9 < lon < 18.2 and 59.25 < lat < 59.35 for lon, lat in ring)
        # The ring encloses the cell centre transformed to lon/lat, anticlockwise (RFC 7946).
        lon, lat = transformer(3006, 4326).transform(grid.x[i], grid.y[i])
        assert shapely.Polygon(ring).contains(shapely.Point(lon, lat))
        assert shapely.LinearRing(ring).is_ccw
    hot = [p for p in props if p["class"] == 3]
    assert hot and all(p["label"] == "Het punkt 99 %" and p["confidence"] == 99 for p in hot)
    labels = {entry["class"]: entry["label"] for entry in legend()}
    assert labels[-1] == "Kall punkt 90 %" and labels[0] == "Ej signifikant"
    assert [entry["class"] for entry in legend()] == [3, 2, 1, 0, -1, -2, -3]
    assert CLASS_COLOURS[0] is None


def test_compare_new_persistent_gone() -> None:
    now = np.array([3, 1, 0, 0, -2, 2, 0])
    before = np.array([0, 2, 3, 0, 0, -1, -3])
    assert compare(now, before).tolist() == ["new", "persistent", "gone", "", "", "new", ""]
    assert COMPARE_LABELS == {"new": "ny", "persistent": "kvarstående", "gone": "försvunnen"}
    with pytest.raises(ValueError, match="same grid"):
        compare(now, before[:3])
