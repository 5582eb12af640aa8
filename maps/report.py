"""The meeting report (underlag för platssamverkan): a Swedish A4 PDF for police and partners.

A title page; a map drawn here with matplotlib from local data only (the imported street network
as the base, area and zone outlines, heat map, hot spots, walk routes, with a scale bar, a north
arrow, a legend and the OpenStreetMap attribution); tables of deviations per category and zone
against the previous period of the same length, and of hot spots that are new, persistent or
gone; and a method note. The report is built from aggregates only, so it holds no personal data
in any profile; in the partner profile counts under 3 are shown as "< 3".

The map is drawn in SWEREF 99 TM (EPSG:3006), where grid distance is ground distance within
0.01 % in Stockholm, so the scale bar is true; the north arrow points to true north (grid north
differs by the meridian convergence, about 2.6° at Älvsjö).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

import matplotlib
import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from shapely import Geometry

from geo.errors import InvalidParameter
from geo.geometry import SWEREF99TM, WGS84, transformer
from geo.hotspots import CLASS_COLOURS, COMPARE_LABELS, class_label
from geo.privacy import MIN_PARTNER_COUNT
from maps.styles import ISOPLETH_COLOURS

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
HEAT_UNIT_SV = "rapporter per km² och vecka"
MAP_DPI = 150
MAP_WIDTH_IN = 6.7  # 170 mm, the text width of the page
PROFILES_SV = {
    "partner": "Partner – sammanställda uppgifter utan personuppgifter",
    "detail": "Detalj – för stadsdelens planerare",
}
KERNELS_SV = {"gaussian": "gaussisk kärna", "quartic": "kvartisk kärna (som QGIS värmekarta)"}
# ColorBrewer YlOrRd, as the heat-map PNGs of the API.
_HEAT_RAMP = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")


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


@dataclass(frozen=True)
class CategoryZoneRow:
    """Reports of one category in one zone, in the period and the period before it."""

    category_sv: str
    zone_name: str
    count: int
    previous: int


@dataclass(frozen=True)
class HotspotChange:
    """A hot spot's label (e.g. "Ruta vid Älvsjö station") and status new/persistent/gone."""

    label: str
    status: str


@dataclass(frozen=True)
class MethodNote:
    """The parameters the method note explains."""

    bandwidth_m: float
    cell_m: float
    hotspot_cell_m: float
    levels: tuple[float, ...] = (0.90, 0.95, 0.99)
    fdr: bool = True
    kernel: str = "gaussian"
    partner_cell_m: float = 250.0
    min_count: int = MIN_PARTNER_COUNT


def previous_period(since: date, until: date) -> tuple[date, date]:
    """The period of the same length just before ``since``–``until`` (both inclusive).

    >>> previous_period(date(2026, 11, 1), date(2026, 11, 28))
    (datetime.date(2026, 10, 4), datetime.date(2026, 10, 31))
    """
    days = (until - since).days + 1
    return since - timedelta(days=days), since - timedelta(days=1)


def category_rows(
    now: Mapping[tuple[str, str], int],
    previous: Mapping[tuple[str, str], int],
    *,
    zones: Sequence[tuple[str, str]],
    categories: Mapping[str, tuple[str, str]],
) -> list[CategoryZoneRow]:
    """Table rows from counts per ``(zone slug, category code)`` of both periods.

    ``zones`` are ``(slug, name)`` in table order, ``categories`` code → (Swedish name, colour)
    in table order; combinations with no report in either period are left out.

    >>> category_rows({("z", "brand"): 4}, {("z", "brand"): 1, ("z", "narkotika"): 2},
    ...               zones=[("z", "Zon")], categories={"brand": ("Brand", "#f00"),
    ...               "narkotika": ("Narkotika", "#00f")})  # doctest: +NORMALIZE_WHITESPACE
    [CategoryZoneRow(category_sv='Brand', zone_name='Zon', count=4, previous=1),
     CategoryZoneRow(category_sv='Narkotika', zone_name='Zon', count=0, previous=2)]
    """
    rows = []
    for slug, zone_name in zones:
        for code, (name_sv, _colour) in categories.items():
            a, b = int(now.get((slug, code), 0)), int(previous.get((slug, code), 0))
            if a or b:
                rows.append(CategoryZoneRow(name_sv, zone_name, a, b))
    return rows


def count_text(n: int, *, profile: str) -> str:
    """A count as shown: under `MIN_PARTNER_COUNT` (but not 0) is "< 3" for partners.

    >>> count_text(2, profile="partner"), count_text(2, profile="detail"), count_text(0,
    ...     profile="partner")
    ('< 3', '2', '0')
    """
    if profile == "partner" and 0 < n < MIN_PARTNER_COUNT:
        return f"< {MIN_PARTNER_COUNT}"
    return str(n)


def change_text(now: int, previous: int, *, profile: str) -> str:
    """The change from the previous period: ``+3 (+60 %)``, ``ny``, ``±0``; ``–`` when a
    suppressed count would let the change reveal it.

    >>> change_text(8, 5, profile="partner"), change_text(4, 0, profile="partner")
    ('+3 (+60 %)', 'ny')
    >>> change_text(5, 2, profile="partner"), change_text(5, 2, profile="detail")
    ('–', '+3 (+150 %)')
    """
    if count_text(now, profile=profile) != str(now) or \
            count_text(previous, profile=profile) != str(previous):  # fmt: skip
        return "–"
    diff = now - previous
    if diff == 0:
        return "±0"
    if previous == 0:
        return "ny"
    return f"{diff:+d} ({round(100 * diff / previous):+d} %)"


# ---------------------------------------------------------------------------------------------
# The map


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
        ax.add_collection(LineCollection(_segments(lines), colors="#9e9e9e", linewidths=0.6,
                                         zorder=1))  # fmt: skip
        handles.append(Line2D([], [], color="#9e9e9e", lw=1, label="Gator (OpenStreetMap)"))

    if heat is not None and not isinstance(heat, Sequence):
        values = np.asarray(heat.values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        peak = float(finite.max()) if finite.size else 0.0
        if peak > 0:
            hx0, hy0, hx1, hy1 = heat.bounds
            image = ax.imshow(np.ma.masked_invalid(values), extent=(hx0, hx1, hy0, hy1),
                              origin="upper", cmap=_heat_cmap(), vmin=0, vmax=peak, zorder=2,
                              interpolation="bilinear")  # fmt: skip
            cax = fig.add_axes((0.3, 0.55 * strip, 0.4, 0.18 * strip))
            bar = fig.colorbar(image, cax=cax, orientation="horizontal")
            bar.ax.tick_params(labelsize=6, length=2, pad=1)
            bar.set_label(f"Värmekarta: {HEAT_UNIT_SV}", fontsize=6, labelpad=1)
            handles.append(Patch(facecolor=_HEAT_RAMP[4], alpha=0.7,
                                 label="Värmekarta (täthet av rapporter)"))  # fmt: skip
    elif heat:
        isopleths = sorted(heat, key=lambda item: -item[0])
        polys = _metric([g for _, g in isopleths])
        for (percent, _), poly in zip(isopleths, polys, strict=True):
            colour = ISOPLETH_COLOURS.get(int(percent), _HEAT_RAMP[3])
            ax.add_patch(PathPatch(_polygon_path(poly), facecolor=colour, edgecolor="none",
                                   alpha=0.55, zorder=2))  # fmt: skip
            handles.append(Patch(facecolor=colour, alpha=0.55,
                                 label=f"Högsta {int(percent)} % av tätheten"))  # fmt: skip

    drawn = [(g, int(c)) for g, c in hotspots if int(c) != 0 and CLASS_COLOURS.get(int(c))]
    if drawn:
        polys = _metric([g for g, _ in drawn])
        colours = [str(CLASS_COLOURS[c]) for _, c in drawn]
        ax.add_collection(PatchCollection([PathPatch(_polygon_path(p)) for p in polys],
                                          facecolors=colours, edgecolors="#555555",
                                          linewidths=0.2, alpha=0.75, zorder=3))  # fmt: skip
        for cls in sorted({c for _, c in drawn}, reverse=True):
            handles.append(Patch(facecolor=str(CLASS_COLOURS[cls]), alpha=0.75,
                                 edgecolor="#555555", label=class_label(cls)))  # fmt: skip

    ax.add_patch(PathPatch(_polygon_path(area), facecolor="none", edgecolor="#222222",
                           linewidth=1.4, linestyle=(0, (5, 3)), zorder=4))  # fmt: skip
    handles.insert(0, Line2D([], [], color="#222222", lw=1.4, ls="--", label="Stadsdel"))
    if zones:
        for (name, _), poly in zip(zones, _metric([g for _, g in zones]), strict=True):
            ax.add_patch(PathPatch(_polygon_path(poly), facecolor="#6a3d9a", alpha=0.12,
                                   edgecolor="none", zorder=4))  # fmt: skip
            ax.add_patch(PathPatch(_polygon_path(poly), facecolor="none", edgecolor="#6a3d9a",
                                   linewidth=1.2, zorder=5))  # fmt: skip
            c = poly.representative_point()
            ax.text(c.x, c.y, name, fontsize=6, color="#4a2a6a", ha="center", va="center",
                    zorder=8, clip_on=True)  # fmt: skip
        handles.append(Patch(facecolor="#6a3d9a", alpha=0.3, edgecolor="#6a3d9a",
                             label="Platssamverkanszon"))  # fmt: skip
    if routes:
        ax.add_collection(LineCollection(_segments(_metric([g for _, g in routes])),
                                         colors="#00796b", linewidths=2.0, zorder=6))  # fmt: skip
        handles.append(Line2D([], [], color="#00796b", lw=2, label="Nattvandringsrutt"))

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


def _heat_cmap() -> LinearSegmentedColormap:
    """YlOrRd fading in from transparent, so low densities do not hide the streets."""
    rgba = [(*to_rgb(c), a) for c, a in zip(_HEAT_RAMP, np.linspace(0.0, 0.8, len(_HEAT_RAMP)),
                                            strict=True)]  # fmt: skip
    return LinearSegmentedColormap.from_list("YlOrRd_fade", rgba)


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
        ax.add_patch(Rectangle((x0 + i * length / 2, y0), length / 2, h, zorder=10,
                               facecolor="black" if i == 0 else "white", edgecolor="black",
                               linewidth=0.6))  # fmt: skip

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
    ax.annotate("", xy=(tx, ty), xytext=(bx, by), zorder=10,
                arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.7",
                            "color": "black", "lw": 1.6})  # fmt: skip
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


# ---------------------------------------------------------------------------------------------
# The PDF


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """DejaVu Sans (shipped with matplotlib) for full Unicode text: å, ä, ö, –, ², ≥, ×."""
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont("NvSans", str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("NvSans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
    return "NvSans", "NvSans-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=24, leading=30, spaceAfter=6),
        "subtitle": ParagraphStyle("subtitle", fontName=regular, fontSize=15, leading=20,
                                   spaceAfter=18, textColor=colors.HexColor("#333333")),
        "h1": ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceBefore=4,
                             spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=12, leading=15, spaceBefore=10,
                             spaceAfter=6),
        "body": ParagraphStyle("body", fontName=regular, fontSize=10, leading=14, spaceAfter=6),
        "small": ParagraphStyle("small", fontName=regular, fontSize=8, leading=10,
                                textColor=colors.HexColor("#444444")),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11),
        "head": ParagraphStyle("head", fontName=bold, fontSize=9, leading=11),
    }  # fmt: skip


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: Paragraph reads a subset of HTML)."""
    return Paragraph(html.escape(text), style)


def _table(
    header: list[str],
    rows: list[list[str]],
    widths_mm: list[float],
    st: dict[str, ParagraphStyle],
    *,
    numeric_from: int,
) -> Table:
    data = [[_p(h, st["head"]) for h in header]]
    data += [[_p(v, st["cell"]) for v in row] for row in rows]
    table = Table(data, colWidths=[w * mm for w in widths_mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e4f0")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#6a3d9a")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f6f6")]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))  # fmt: skip
    return table


def meeting_report_pdf(
    *,
    area_name: str,
    period: tuple[date, date],
    issued: date,
    area_outline: Geometry,
    base_lines: Sequence[Geometry] = (),
    zones: Sequence[tuple[str, Geometry]] = (),
    heat: RasterLike | Sequence[tuple[int, Geometry]] | None = None,
    hotspots: Sequence[tuple[Geometry, int]] = (),
    routes: Sequence[tuple[str, Geometry]] = (),
    category_table: Sequence[CategoryZoneRow] = (),
    hotspot_changes: Sequence[HotspotChange] = (),
    method: MethodNote,
    profile: str = "partner",
    note: str | None = None,
) -> bytes:
    """The meeting report as PDF bytes (A4 portrait, Swedish).

    Parameters
    ----------
    area_name
        The district as people write it (``Älvsjö``).
    period
        ``(since, until)``, both inclusive; the table compares with `previous_period`.
    issued
        Date of issue on the title page.
    area_outline, base_lines, zones, heat, hotspots, routes
        The map's layers, as in `map_png`.
    category_table
        Reports per category and zone (`category_rows` makes them from counts).
    hotspot_changes
        Hot spots with status ``new``, ``persistent`` or ``gone`` (`geo.hotspots.compare`).
    method
        Parameters for the method note.
    profile
        ``partner`` (counts under 3 shown as "< 3") or ``detail``.
    note
        An optional line for the title page (e.g. that the data are synthetic demo data).
    """
    if profile not in PROFILES_SV:
        raise InvalidParameter(f"profile must be one of {', '.join(PROFILES_SV)}; got {profile!r}",
                               field="profile")  # fmt: skip
    since, until = period
    prev_since, prev_until = previous_period(since, until)
    period_text = f"{since.isoformat()} – {until.isoformat()}"
    st = _styles()
    regular, _bold = _fonts()

    story: list[Any] = [
        Spacer(1, 40 * mm),
        _p("Underlag för platssamverkan", st["title"]),
        _p(f"Nattvandring – {area_name}", st["subtitle"]),
        _p(f"Område: {area_name}", st["body"]),
        _p(f"Period: {period_text}", st["body"]),
        _p(f"Jämförelseperiod: {prev_since.isoformat()} – {prev_until.isoformat()}", st["body"]),
        _p(f"Utfärdat: {issued.isoformat()}", st["body"]),
        _p(f"Profil: {PROFILES_SV[profile]}", st["body"]),
        Spacer(1, 8 * mm),
        _p(
            "Innehåll: karta med värmekarta, hot spots, platssamverkanszoner och "
            "nattvandringsrutter; avvikelser per kategori och zon; förändringar av hot spots; "
            "metod.",
            st["body"],
        ),  # fmt: skip
    ]
    if note:
        story.append(_p(note, st["body"]))
    story.append(PageBreak())

    png = map_png(area_outline=area_outline, base_lines=base_lines, zones=zones, heat=heat,
                  hotspots=hotspots, routes=routes)  # fmt: skip
    image = Image(BytesIO(png))
    scale = min(170 * mm / image.imageWidth, 215 * mm / image.imageHeight)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    story += [
        _p(f"Karta: {area_name}, {period_text}", st["h1"]),
        image,
        Spacer(1, 3 * mm),
        _p("Bakgrund: gatunätet från OpenStreetMap (© OpenStreetMap contributors, ODbL). "
           "Skalstocken visar verkliga avstånd (SWEREF 99 TM); pilen pekar mot geografisk "
           "nord.", st["small"]),  # fmt: skip
        PageBreak(),
        _p("Avvikelser per kategori och zon", st["h1"]),
        _p(f"Antal rapporter i perioden {period_text} jämfört med föregående period av samma "
           f"längd ({prev_since.isoformat()} – {prev_until.isoformat()}).", st["body"]),
    ]  # fmt: skip
    if category_table:
        rows = [[r.category_sv, r.zone_name, count_text(r.count, profile=profile),
                 count_text(r.previous, profile=profile),
                 change_text(r.count, r.previous, profile=profile)]
                for r in category_table]  # fmt: skip
        story.append(_table(["Kategori", "Zon", "Perioden", "Föregående", "Förändring"], rows,
                            [34, 52, 22, 28, 34], st, numeric_from=2))  # fmt: skip
    else:
        story.append(_p("Inga rapporter i zonerna under perioderna.", st["body"]))
    if profile == "partner":
        story.append(_p(f"Antal under {MIN_PARTNER_COUNT} visas som \u201d< {MIN_PARTNER_COUNT}"
                        "\u201d, och förändringen visas då inte.", st["small"]))  # fmt: skip

    story.append(_p("Hot spots: nya, kvarstående och försvunna", st["h2"]))
    if hotspot_changes:
        order = {"new": 0, "persistent": 1, "gone": 2}
        changes = sorted(hotspot_changes, key=lambda c: (order.get(c.status, 3), c.label))
        rows = [[c.label, COMPARE_LABELS.get(c.status, c.status).capitalize()] for c in changes]
        story.append(_table(["Hot spot", "Jämfört med föregående period"], rows, [110, 60], st,
                            numeric_from=2))  # fmt: skip
    else:
        story.append(_p("Inga heta punkter i någon av perioderna.", st["body"]))

    story.append(
        KeepTogether(_method(method, profile=profile, st=st, prev=(prev_since, prev_until)))
    )

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(20 * mm, 12 * mm, f"Nattvandring – {area_name} – {period_text}")
        canvas.drawRightString(190 * mm, 12 * mm, f"Sida {doc.page}")
        canvas.restoreState()

    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
        bottomMargin=20 * mm, title=f"Underlag för platssamverkan – {area_name}",
        author="Nattvandring", subject=f"Nattvandring {area_name} {period_text}",
        creator="Nattvandring",
    )  # fmt: skip
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def _method(
    m: MethodNote, *, profile: str, st: dict[str, ParagraphStyle], prev: tuple[date, date]
) -> list[Any]:
    levels = "/".join(f"{round(level * 100):d}" for level in sorted(m.levels))
    kernel = KERNELS_SV.get(m.kernel, m.kernel)
    correction = (
        "med korrektion för många samtidiga test (false discovery rate, Benjamini–Hochberg)"
        if m.fdr
        else "utan korrektion för många test"
    )
    parts = [
        _p("Metod", st["h2"]),
        _p(f"Värmekarta: en kärnskattning (kernel density, {kernel}) av rapporterna med "
           f"bandbredd {m.bandwidth_m:g} m på rutor om {m.cell_m:g} m i SWEREF 99 TM. Värdena "
           f"är {HEAT_UNIT_SV}, så perioder av olika längd går att jämföra. Mörkare färg betyder "
           "fler rapporter per ytenhet; isopleterna omger de rutor som tillsammans har 50, 75 "
           "och 90 % av tätheten.", st["body"]),
        _p(f"Hot spots: Getis-Ord Gi* på rutor om {m.hotspot_cell_m:g} m (rutan och dess "
           f"grannar jämförs med hela området), {correction}. Rutorna klassas som heta eller "
           f"kalla punkter med {levels} % konfidens: röd = het punkt, blå = kall punkt, mörkare "
           "= högre konfidens. \u201dNy\u201d är het nu men inte i föregående period, "
           "\u201dkvarstående\u201d het i båda, \u201dförsvunnen\u201d het bara i föregående "
           f"period ({prev[0].isoformat()} – {prev[1].isoformat()}).", st["body"]),
    ]  # fmt: skip
    if profile == "partner":
        parts.append(_p(
            "Integritet: underlaget innehåller inga personuppgifter – inga namn, inga "
            "fritexter, inga rapportörer och inga tidpunkter för enskilda rapporter. I "
            f"exporterade lager är avvikelser sammanställda per platssamverkanszon och per ruta "
            f"om {m.partner_cell_m:g} m (SWEREF 99 TM) och vecka eller natt; antal under "
            f"{m.min_count} redovisas inte.", st["body"]))  # fmt: skip
    else:
        parts.append(_p(
            "Integritet: rapporten innehåller endast sammanställda uppgifter och inga "
            "personuppgifter. Detaljerade exporter loggas.", st["body"]))  # fmt: skip
    return parts
