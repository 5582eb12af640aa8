"""Heat-map pictures (pure, no database): the PNG overlay lies where its grid lies, its colours
are matplotlib's ramps, and the JSON form of the grid."""

from __future__ import annotations

import io
import json
import math

import matplotlib
import numpy as np
import pytest
import shapely
from PIL import Image

from geo.errors import InvalidParameter
from geo.geometry import transformer
from geo.heat import Raster, difference, kde_grid
from maps.heat_image import colormap, raster_json, raster_png

# Södermalm, Stockholm, in SWEREF 99 TM metres.
X0, Y0 = 674_000.0, 6_579_000.0
BOUNDS = (X0, Y0, X0 + 3000.0, Y0 + 2500.0)
HOT = (X0 + 900.0, Y0 + 1600.0)


def _decode(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA"
    return np.asarray(image)


def _mercator_box(bounds: list[list[float]]) -> tuple[float, float, float, float]:
    """Leaflet's corners of an image overlay: the Web Mercator images of its lat/lon bounds."""
    (south, west), (north, east) = bounds
    to_merc = transformer(4326, 3857).transform
    mx0, my0 = to_merc(west, south)
    mx1, my1 = to_merc(east, north)
    return mx0, my0, mx1, my1


def _pixel_centres_in_sweref(
    rows: np.ndarray, cols: np.ndarray, shape: tuple[int, ...], bounds: list[list[float]]
) -> tuple[np.ndarray, np.ndarray]:
    mx0, my0, mx1, my1 = _mercator_box(bounds)
    mx = mx0 + (cols + 0.5) / shape[1] * (mx1 - mx0)
    my = my1 - (rows + 0.5) / shape[0] * (my1 - my0)
    x, y = transformer(3857, 3006).transform(mx, my)
    return np.asarray(x), np.asarray(y)


def _pixel_at(x_m: float, y_m: float, shape: tuple[int, ...], bounds: list[list[float]]):  # type: ignore[no-untyped-def]
    mx0, my0, mx1, my1 = _mercator_box(bounds)
    mx, my = transformer(3006, 3857).transform(x_m, y_m)
    return int((my1 - my) / (my1 - my0) * shape[0]), int((mx - mx0) / (mx1 - mx0) * shape[1])


def test_png_is_rgba_transparent_where_zero_and_drawn_where_dense() -> None:
    x, y = np.random.default_rng(8).normal(HOT, 150.0, (2000, 2)).T
    raster = kde_grid(
        x,
        y,
        bounds=BOUNDS,
        cell_m=25.0,
        bandwidth_m=200.0,
        kernel="quartic",
        mask=shapely.box(X0, Y0, X0 + 2800.0, Y0 + 2500.0),
    )
    png, bounds, legend = raster_png(raster)
    pixels = _decode(png)
    (south, west), (north, east) = bounds

    # The bounds hold every corner of the (rotated) SWEREF 99 TM grid.
    minx, miny, maxx, maxy = raster.bounds
    lon, lat = transformer(3006, 4326).transform(
        np.array([minx, maxx, maxx, minx]), np.array([miny, miny, maxy, maxy])
    )
    assert (west <= lon).all() and (lon <= east).all()
    assert (south <= lat).all() and (lat <= north).all()

    def pixel(x_m: float, y_m: float) -> np.ndarray:
        return pixels[_pixel_at(x_m, y_m, pixels.shape, bounds)]

    cx, cy = raster.cell_centres()
    zero = np.argwhere(raster.values == 0)
    assert zero.size
    for row, col in zero[:: max(1, len(zero) // 50)]:
        assert pixel(cx[row, col], cy[row, col])[3] == 0
    assert pixel(X0 + 2900.0, Y0 + 1000.0)[3] == 0  # masked out (NaN)
    peak = np.unravel_index(np.nanargmax(raster.values), raster.values.shape)
    top = pixel(cx[peak], cy[peak])
    ramp = matplotlib.colormaps["YlOrRd"]
    assert top[3] == round(0.75 * 255) and tuple(top[:3]) == tuple(ramp(1.0, bytes=True)[:3])

    assert legend["unit"] == raster.unit and legend["ramp"] == "YlOrRd"
    assert legend["max"] == pytest.approx(np.nanmax(raster.values))
    assert [s["colour"] for s in legend["stops"]][0] == "#ffffcc"  # ColorBrewer YlOrRd's lowest
    assert legend["stops"][-1] == {"value": pytest.approx(legend["max"]), "colour": "#800026"}


def test_png_puts_a_single_cell_where_it_is_despite_the_grid_rotation() -> None:
    values = np.zeros((80, 80))
    values[20, 60] = 1.0  # north-east of the centre: the rotation would shift it visibly
    raster = Raster(values=values, transform=(25.0, 0.0, X0, 0.0, -25.0, Y0 + 2000.0))
    png, bounds, _ = raster_png(raster, oversample=4)
    alpha = _decode(png)[..., 3]
    rows, cols = np.nonzero(alpha)
    # Centre of the drawn pixels → Web Mercator → lon/lat → SWEREF 99 TM.
    x, y = _pixel_centres_in_sweref(
        np.array([rows.mean()]), np.array([cols.mean()]), alpha.shape, bounds
    )
    assert math.dist((x[0], y[0]), (X0 + 60.5 * 25.0, Y0 + 2000.0 - 20.5 * 25.0)) < 5.0


@pytest.mark.parametrize("oversample", [1, 2, 4])
def test_png_bounds_and_pixels_agree_with_the_grid_within_one_pixel(oversample: int) -> None:
    cell_m, north, west = 50.0, Y0 + 2500.0, X0
    values = np.zeros((50, 60))
    values[7, 51] = 3.0  # one hot cell near the north-east corner, where rotation shifts most
    raster = Raster(values=values, transform=(cell_m, 0.0, west, 0.0, -cell_m, north))
    png, bounds, _ = raster_png(raster, oversample=oversample)
    alpha = _decode(png)[..., 3]
    (south, w), (n, east) = bounds

    # The bounds are the grid's: every point of its edges inside, and each side touched.
    minx, miny, maxx, maxy = raster.bounds
    edge = shapely.get_coordinates(
        shapely.segmentize(shapely.box(minx, miny, maxx, maxy), cell_m).exterior
    )
    lon, lat = transformer(3006, 4326).transform(edge[:, 0], edge[:, 1])
    assert w == pytest.approx(lon.min(), abs=1e-7) and east == pytest.approx(lon.max(), abs=1e-7)
    assert south == pytest.approx(lat.min(), abs=1e-7) and n == pytest.approx(lat.max(), abs=1e-7)

    # The size of a pixel on the ground (Mercator's scale is 1/cos(latitude)).
    mx0, _, mx1, _ = _mercator_box(bounds)
    pixel_m = (mx1 - mx0) / alpha.shape[1] * math.cos(math.radians((south + n) / 2))
    assert pixel_m == pytest.approx(cell_m / oversample, rel=0.05)
    hot = shapely.box(
        west + 51 * cell_m, north - 8 * cell_m, west + 52 * cell_m, north - 7 * cell_m
    )

    # Every drawn pixel's centre lies in the hot cell or within one pixel of it …
    rows, cols = np.nonzero(alpha)
    assert len(rows)
    x, y = _pixel_centres_in_sweref(rows, cols, alpha.shape, bounds)
    assert shapely.contains_xy(hot.buffer(pixel_m, join_style="mitre"), x, y).all()
    # … and every pixel whose centre lies more than one pixel inside the cell is drawn.
    rr, cc = np.meshgrid(np.arange(alpha.shape[0]), np.arange(alpha.shape[1]), indexing="ij")
    ax, ay = _pixel_centres_in_sweref(rr.ravel(), cc.ravel(), alpha.shape, bounds)
    inner = shapely.contains_xy(hot.buffer(-pixel_m, join_style="mitre"), ax, ay)
    if oversample > 2:
        assert inner.any()
    assert (alpha.ravel()[inner] > 0).all()
    # The cell's centre falls on a drawn pixel.
    assert alpha[_pixel_at(hot.centroid.x, hot.centroid.y, alpha.shape, bounds)] > 0


def test_difference_uses_a_diverging_ramp_centred_on_zero() -> None:
    values = np.zeros((40, 40))
    values[10, 10], values[30, 30] = -2.0, 1.0
    raster = Raster(values=values, transform=(25.0, 0.0, X0, 0.0, -25.0, Y0 + 1000.0))
    png, bounds, legend = raster_png(raster, ramp="RdBu")
    pixels = _decode(png)
    cx, cy = raster.cell_centres()
    fewer = pixels[_pixel_at(cx[10, 10], cy[10, 10], pixels.shape, bounds)]
    more = pixels[_pixel_at(cx[30, 30], cy[30, 30], pixels.shape, bounds)]
    assert fewer[2] > fewer[0] and more[0] > more[2]  # blue is fewer reports, red more
    assert fewer[3] == round(0.75 * 255) > more[3] > 0  # opacity grows with |value|
    assert legend["max"] == 2.0 and legend["stops"][0]["value"] == -2.0
    assert legend["stops"][len(legend["stops"]) // 2]["value"] == 0.0
    assert legend["stops"][0]["colour"] == matplotlib.colors.to_hex(colormap("RdBu")(0.0))


def test_difference_of_two_kde_grids_draws_with_the_diverging_ramp() -> None:
    rng = np.random.default_rng(10)
    x, y = rng.normal(HOT, 200.0, (500, 2)).T
    now = kde_grid(x, y, bounds=BOUNDS, cell_m=50.0)
    before = kde_grid(x[:100], y[:100], bounds=BOUNDS, cell_m=50.0)
    png, _, legend = raster_png(difference(now, before), ramp="RdBu")
    assert legend["stops"][0]["value"] == pytest.approx(-legend["max"]) and legend["max"] > 0
    assert _decode(png)[..., 3].max() == round(0.75 * 255)


def test_an_all_zero_raster_is_fully_transparent_and_an_unknown_ramp_names_the_field() -> None:
    raster = Raster(values=np.zeros((10, 10)), transform=(25.0, 0.0, X0, 0.0, -25.0, Y0))
    png, _, legend = raster_png(raster)
    assert _decode(png)[..., 3].max() == 0 and legend["max"] == 0.0
    with pytest.raises(InvalidParameter) as info:
        raster_png(raster, ramp="viridis")
    assert info.value.field == "ramp"


def test_raster_json_has_the_grid_and_nulls_for_nan() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.uniform((X0, Y0), (X0 + 3000.0, Y0 + 2500.0), (200, 2)).T
    raster = kde_grid(
        x, y, bounds=BOUNDS, cell_m=100.0, mask=shapely.box(X0, Y0, X0 + 1500.0, Y0 + 2500.0)
    )
    data = json.loads(
        json.dumps(raster_json(raster, parameters={"bandwidth_m": 150.0}), allow_nan=False)
    )
    assert data["crs"] == "EPSG:3006" and data["transform"] == list(raster.transform)
    assert (data["width"], data["height"]) == (30, 25)
    assert len(data["values"]) == 25 and all(len(row) == 30 for row in data["values"])
    assert data["values"][0][29] is None and data["values"][0][0] == raster.values[0, 0]
    assert data["parameters"] == {"bandwidth_m": 150.0}
