"""The meeting report's map: drawn with matplotlib from local data only, no internet.

The imported street network as the base, area and zone outlines, heat map, hot spots and walk
routes, with a scale bar, a north arrow, a legend and the OpenStreetMap attribution. Drawn in
SWEREF 99 TM (EPSG:3006), where grid distance is ground distance within 0.01 % in Stockholm, so
the scale bar is true; the north arrow points to true north (grid north differs by the meridian
convergence, about 2.6° at Älvsjö).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Protocol

import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from shapely import Geometry

from geo.geometry import SWEREF99TM, WGS84, transformer
from geo.hotspots import CLASS_COLOURS, class_label
from maps.heat_image import colormap, faded_colormap
from maps.styles import ISOPLETH_COLOURS

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
HEAT_UNIT_SV = "rapporter per km² och vecka"
MAP_DPI = 150
MAP_WIDTH_IN = 6.7  # 170 mm, the text width of the page
# The heat map's ramp, as in the API's PNG overlays: a swatch for the legend, the fallback of
# an isopleth level without a colour of its own.
_HEAT_SWATCH = to_hex(colormap("YlOrRd")(0.65))
_HEAT_FALLBACK = to_hex(colormap("YlOrRd")(0.5))


class RasterLike(Protocol):
    """A raster in EPSG:3006 with row 0 at the north edge, such as `geo.heat.Raster`."""

    @property
    def values(self) -> np.ndarray: ...

    @property
    def bounds(self) -> tuple[float, float, float, float]: ...


@dataclass(frozen=True, eq=False)
class HeatRaster:
    """Density values (reports per km² per week) and their ``(minx, miny, maxx, maxy)`` in
    EPSG:3006; row 0 is the north edge; NaN is no data."""

    values: np.ndarray
    bounds: tuple[float, float, float, float]


def _metric(geoms: Sequence[Geometry]) -> np.ndarray:
    arr = np.array(list(geoms), dtype=object)
    if not len(arr):
        return arr
    return shapely.transform(arr, transformer(WGS84, SWEREF99TM).transform, interleaved=False)


def _segments(lines: np.ndarray) -> list[np.ndarray]:
    """Coordinate arrays of every (part of every) line, for a LineCollection."""
    if not len(lines):
        return []
    parts = shapely.get_parts(lines)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    if not len(coords):
        return []
    splits = np.flatnonzero(np.diff(index)) + 1
    return np.split(coords, splits)


def _polygon_path(geom: Geometry) -> MplPath:
    """One path of all rings of a (multi)polygon, so holes stay empty when filled."""
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for poly in shapely.get_parts(geom):
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return MplPath(np.zeros((1, 2)), [MplPath.MOVETO])
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _nice_length_m(width_m: float) -> float:
    """A round scale-bar length of at most a quarter of the map width.

    >>> _nice_length_m(3000), _nice_length_m(9000)
    (500.0, 2000.0)
    """
    target = width_m / 4
    steps = [m * 10**e for e in range(0, 6) for m in (1, 2, 2.5, 5)]
    return float(max([s for s in steps if s <= target] or [1]))


def _true_north_deg(x_m: float, y_m: float) -> float:
    """The angle of true north from grid north (clockwise, degrees) at a point of EPSG:3006."""
    to_lonlat = transformer(SWEREF99TM, WGS84)
    to_grid = transformer(WGS84, SWEREF99TM)
    lon, lat = to_lonlat.transform(x_m, y_m)
    x2, y2 = to_grid.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(x2 - x_m, y2 - y_m))


def map_png(
    *,
    area_outline: Geometry,
    base_lines: Sequence[Geometry] = (),
    zones: Sequence[tuple[str, Geometry]] = (),
    heat: RasterLike | Sequence[tuple[int, Geometry]] | None = None,
    hotspots: Sequence[tuple[Geometry, int]] = (),
    routes: Sequence[tuple[str, Geometry]] = (),
    place_labels: Sequence[tuple[str, Geometry]] = (),
    street_labels: Sequence[tuple[str, Geometry]] = (),
    points: Sequence[tuple[Geometry, str]] = (),
    network_note: str | None = None,
    width_in: float = MAP_WIDTH_IN,
    dpi: int = MAP_DPI,
) -> bytes:
    """The report's map as PNG bytes, drawn offline in EPSG:3006.

    Parameters
    ----------
    area_outline
        The area (WGS 84); the map shows it with a margin.
    base_lines
        The street network (LineStrings in WGS 84); may be empty.
    zones
        ``(name, polygon)`` of the collaboration zones (WGS 84).
    heat
        A density raster in EPSG:3006 (`RasterLike`), or isopleths as ``(percent, polygon)``
        in WGS 84, or None.
    hotspots
        ``(polygon, Gi* class)`` in WGS 84; class 0 is not drawn.
    routes
        ``(name, line)`` of walk routes (WGS 84).
    place_labels, street_labels
        ``(name, point)`` (WGS 84) of places (a dot and its name) and streets (the name at the
        point), for orientation.
    points
        ``(point, colour)`` of single reports (the detail profile only), WGS 84.
    network_note
        A line on the map where the imported street network does not cover the area.
    """
    area = _metric([area_outline])[0]
    minx, miny, maxx, maxy = area.bounds
    pad = 0.04 * max(maxx - minx, maxy - miny, 200.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    # The figure takes the area's shape within limits; the extent then grows to fill it.
    aspect = min(1.25, max(0.65, (maxy - miny) / (maxx - minx)))
    height_in = width_in * aspect
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w = max((maxx - minx) / 2, (maxy - miny) / 2 / aspect)
    half_h = half_w * aspect
    minx, maxx, miny, maxy = cx - half_w, cx + half_w, cy - half_h, cy + half_h

    # Below the map, a strip for the heat map's colour bar, so that it hides nothing.
    strip_in = 0.5
    fig = Figure(figsize=(width_in, height_in + strip_in), dpi=dpi)
    FigureCanvasAgg(fig)
    strip = strip_in / (height_in + strip_in)
    ax = fig.add_axes((0.0, strip, 1.0, 1.0 - strip))
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#ffffff")
    handles: list[Any] = []

    lines = _metric(base_lines)
    if len(lines):
        ax.add_collection(
            LineCollection(_segments(lines), colors="#9e9e9e", linewidths=0.6, zorder=1)
        )
        handles.append(Line2D([], [], color="#9e9e9e", lw=1, label="Gator (OpenStreetMap)"))

    if heat is not None and not isinstance(heat, Sequence):
        values = np.asarray(heat.values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        peak = float(finite.max()) if finite.size else 0.0
        if peak > 0:
            hx0, hy0, hx1, hy1 = heat.bounds
            image = ax.imshow(
                np.ma.masked_invalid(values),
                extent=(hx0, hx1, hy0, hy1),
                origin="upper",
                cmap=faded_colormap("YlOrRd"),
                vmin=0,
                vmax=peak,
                zorder=2,
                interpolation="bilinear",
            )
            cax = fig.add_axes((0.3, 0.55 * strip, 0.4, 0.18 * strip))
            bar = fig.colorbar(image, cax=cax, orientation="horizontal")
            bar.ax.tick_params(labelsize=6, length=2, pad=1)
            bar.set_label(f"Värmekarta: {HEAT_UNIT_SV}", fontsize=6, labelpad=1)
            handles.append(
                Patch(facecolor=_HEAT_SWATCH, alpha=0.7, label="Värmekarta (täthet av rapporter)")
            )
    elif heat:
        isopleths = sorted(heat, key=lambda item: -item[0])
        polys = _metric([g for _, g in isopleths])
        for (percent, _), poly in zip(isopleths, polys, strict=True):
            colour = ISOPLETH_COLOURS.get(int(percent), _HEAT_FALLBACK)
            ax.add_patch(
                PathPatch(
                    _polygon_path(poly), facecolor=colour, edgecolor="none", alpha=0.55, zorder=2
                )
            )
            handles.append(
                Patch(facecolor=colour, alpha=0.55, label=f"Högsta {int(percent)} % av tätheten")
            )

    drawn = [(g, int(c)) for g, c in hotspots if int(c) != 0 and CLASS_COLOURS.get(int(c))]
    if drawn:
        polys = _metric([g for g, _ in drawn])
        colours = [str(CLASS_COLOURS[c]) for _, c in drawn]
        ax.add_collection(
            PatchCollection(
                [PathPatch(_polygon_path(p)) for p in polys],
                facecolors=colours,
                edgecolors="#555555",
                linewidths=0.2,
                alpha=0.75,
                zorder=3,
            )
        )
        for cls in sorted({c for _, c in drawn}, reverse=True):
            handles.append(
                Patch(
                    facecolor=str(CLASS_COLOURS[cls]),
                    alpha=0.75,
                    edgecolor="#555555",
                    label=class_label(cls),
                )
            )

    ax.add_patch(
        PathPatch(
            _polygon_path(area),
            facecolor="none",
            edgecolor="#222222",
            linewidth=1.4,
            linestyle=(0, (5, 3)),
            zorder=4,
        )
    )
    handles.insert(0, Line2D([], [], color="#222222", lw=1.4, ls="--", label="Stadsdel"))
    if zones:
        for (name, _), poly in zip(zones, _metric([g for _, g in zones]), strict=True):
            ax.add_patch(
                PathPatch(
                    _polygon_path(poly), facecolor="#6a3d9a", alpha=0.12, edgecolor="none", zorder=4
                )
            )
            ax.add_patch(
                PathPatch(
                    _polygon_path(poly),
                    facecolor="none",
                    edgecolor="#6a3d9a",
                    linewidth=1.2,
                    zorder=5,
                )
            )
            c = poly.representative_point()
            ax.text(
                c.x,
                c.y,
                name,
                fontsize=6,
                color="#4a2a6a",
                ha="center",
                va="center",
                zorder=8,
                clip_on=True,
            )
        handles.append(
            Patch(facecolor="#6a3d9a", alpha=0.3, edgecolor="#6a3d9a", label="Platssamverkanszon")
        )
    if routes:
        ax.add_collection(
            LineCollection(
                _segments(_metric([g for _, g in routes])),
                colors="#00796b",
                linewidths=2.0,
                zorder=6,
            )
        )
        handles.append(Line2D([], [], color="#00796b", lw=2, label="Nattvandringsrutt"))

    if points:
        xy = shapely.get_coordinates(_metric([g for g, _ in points]))
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=3,
            c=[c for _, c in points],
            edgecolors="#333333",
            linewidths=0.2,
            zorder=7,
        )
        handles.append(
            Line2D([], [], ls="none", marker="o", ms=3, color="#777777", label="Enskild rapport")
        )
    for name, pt in zip(
        [n for n, _ in street_labels], _metric([g for _, g in street_labels]), strict=True
    ):
        ax.text(
            pt.x,
            pt.y,
            name,
            fontsize=4.5,
            color="#555555",
            style="italic",
            ha="center",
            va="center",
            zorder=8,
            clip_on=True,
        )
    for name, pt in zip(
        [n for n, _ in place_labels], _metric([g for _, g in place_labels]), strict=True
    ):
        ax.plot([pt.x], [pt.y], marker="s", ms=2.5, color="#222222", zorder=9)
        ax.text(
            pt.x + 25,
            pt.y + 25,
            name,
            fontsize=5.5,
            color="#111111",
            zorder=9,
            clip_on=True,
            bbox={"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "pad": 0.5},
        )
    if network_note:
        ax.text(
            0.5,
            0.075,
            network_note,
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=6.5,
            color="#7a0000",
            zorder=11,
            bbox={"facecolor": "#fff3f3", "alpha": 0.9, "edgecolor": "#7a0000", "pad": 2},
        )
    _scale_bar(ax, minx, miny, maxx, maxy)
    _north_arrow(ax, minx, miny, maxx, maxy)
    ax.text(
        0.995,
        0.006,
        OSM_ATTRIBUTION,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=6.5,
        zorder=10,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5},
    )
    ax.legend(handles=handles, loc="upper left", fontsize=6.5, framealpha=0.9, borderpad=0.6)
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _scale_bar(ax: Any, minx: float, miny: float, maxx: float, maxy: float) -> None:
    """A two-part black-and-white bar in ground metres at the lower left."""
    length = _nice_length_m(maxx - minx)
    x0, y0 = minx + 0.03 * (maxx - minx), miny + 0.045 * (maxy - miny)
    h = 0.012 * (maxy - miny)
    ax.add_patch(
        Rectangle(
            (x0 - 0.01 * (maxx - minx), y0 - 1.6 * h),
            length + 0.05 * (maxx - minx),
            4.6 * h,
            facecolor="white",
            alpha=0.8,
            edgecolor="none",
            zorder=9,
        )
    )
    for i in range(2):
        ax.add_patch(
            Rectangle(
                (x0 + i * length / 2, y0),
                length / 2,
                h,
                zorder=10,
                facecolor="black" if i == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
            )
        )

    km = length >= 1000
    for m in (0.0, length / 2, length):
        text = f"{m / 1000 if km else m:g}" + ((" km" if km else " m") if m == length else "")
        ax.text(x0 + m, y0 + 1.4 * h, text, fontsize=6, ha="center", va="bottom", zorder=10)


def _north_arrow(ax: Any, minx: float, miny: float, maxx: float, maxy: float) -> None:
    """An arrow to true north at the upper right (rotated by the meridian convergence)."""
    angle = math.radians(_true_north_deg((minx + maxx) / 2, (miny + maxy) / 2))
    length = 0.07 * (maxy - miny)
    bx, by = maxx - 0.06 * (maxx - minx), maxy - 0.14 * (maxy - miny)
    tx, ty = bx + length * math.sin(angle), by + length * math.cos(angle)
    ax.annotate(
        "",
        xy=(tx, ty),
        xytext=(bx, by),
        zorder=10,
        arrowprops={
            "arrowstyle": "-|>,head_width=0.35,head_length=0.7",
            "color": "black",
            "lw": 1.6,
        },
    )
    ax.text(
        tx + 0.012 * length * math.sin(angle),
        ty + 0.012 * (maxy - miny),
        "N",
        fontsize=10,
        fontweight="bold",
        ha="center",
        va="bottom",
        zorder=10,
    )
