"""The meeting report (underlag för platssamverkan): a Swedish A4 PDF for police and partners.

A title page; the map (`maps.report_map`, drawn from local data only); tables of deviations per
category and zone against the previous period of the same length, and of hot spots that are new,
persistent or gone; and a method note. The report is built from aggregates only, so it holds no
personal data in any profile; in the partner profile counts under 3 are shown as "< 3".
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import matplotlib
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
from geo.hotspots import COMPARE_LABELS
from geo.privacy import MIN_PARTNER_COUNT
from maps.report_context import (
    SYNTHETIC_MARK,
    PoliceNotice,
    Summary,
    annex_section,
    bra_section,
    coverage_section,
    image,
    police_section,
    summary_section,
)
from maps.report_map import (
    HEAT_UNIT_SV,
    RasterLike,
    map_png,
)
from maps.report_walks import WalkRow, walks_section

PROFILES_SV = {
    "partner": "Partner – sammanställda uppgifter utan personuppgifter",
    "detail": "Detalj – för stadsdelens planerare",
}
KERNELS_SV = {"gaussian": "gaussisk kärna", "quartic": "kvartisk kärna (som QGIS värmekarta)"}


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
    if count_text(now, profile=profile) != str(now) or count_text(previous, profile=profile) != str(
        previous
    ):
        return "–"
    diff = now - previous
    if diff == 0:
        return "±0"
    if previous == 0:
        return "ny"
    return f"{diff:+d} ({round(100 * diff / previous):+d} %)"


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
        "subtitle": ParagraphStyle(
            "subtitle",
            fontName=regular,
            fontSize=15,
            leading=20,
            spaceAfter=18,
            textColor=colors.HexColor("#333333"),
        ),
        "h1": ParagraphStyle(
            "h1", fontName=bold, fontSize=15, leading=19, spaceBefore=4, spaceAfter=8
        ),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=6
        ),
        "body": ParagraphStyle("body", fontName=regular, fontSize=10, leading=14, spaceAfter=6),
        "small": ParagraphStyle(
            "small", fontName=regular, fontSize=8, leading=10, textColor=colors.HexColor("#444444")
        ),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11),
        "head": ParagraphStyle("head", fontName=bold, fontSize=9, leading=11),
    }


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
    # A cell is text, or a flowable already (a paragraph with a link).
    data += [[_p(v, st["cell"]) if isinstance(v, str) else v for v in row] for row in rows]
    table = Table(data, colWidths=[w * mm for w in widths_mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e4f0")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#6a3d9a")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f6f6")]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
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
    walks: Sequence[WalkRow] | None = None,
    previous_walks: Sequence[WalkRow] = (),
    summary: Summary | None = None,
    trend: bytes | None = None,
    coverage: dict[str, Any] | None = None,
    police_by_type: Sequence[tuple[str, int, int]] | None = None,
    police_notices: Sequence[PoliceNotice] = (),
    bra_years: Sequence[Any] = (),
    annex: Sequence[tuple[str, str, str]] | None = None,
    place_labels: Sequence[tuple[str, Geometry]] = (),
    street_labels: Sequence[tuple[str, Geometry]] = (),
    points: Sequence[tuple[Geometry, str]] = (),
    network_note: str | None = None,
    synthetic: bool = False,
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
    walks, previous_walks
        Walks done per club and month in the period and the previous one (`maps.report_walks`);
        ``None`` leaves the section out.
    summary
        The first page's summary (`maps.report_context.Summary`).
    trend
        The trend chart (PNG, `maps.report_context.trend_png`): reports and walks per week.
    coverage
        `geo.coverage.Coverage.describe` of the period, or None.
    police_by_type, police_notices
        The police's notices per type (period, previous) and listed; None leaves them out.
    bra_years
        Brå's yearly figures (`geo.bra.read_bra`).
    annex
        Single reports ``(time, category, zone)``: the detail profile's annex.
    place_labels, street_labels, points, network_note
        The map's orientation and single reports (`map_png`).
    synthetic
        The data are synthetic: "SYNTETISKA DEMODATA" on every page and in the metadata.
    """
    if profile not in PROFILES_SV:
        raise InvalidParameter(
            f"profile must be one of {', '.join(PROFILES_SV)}; got {profile!r}", field="profile"
        )
    since, until = period
    prev_since, prev_until = previous_period(since, until)
    period_text = f"{since.isoformat()} – {until.isoformat()}"
    st = _styles()
    regular, _bold = _fonts()

    n = lambda k: count_text(k, profile=profile)  # noqa: E731
    previous_text = f"{prev_since.isoformat()} – {prev_until.isoformat()}"
    story: list[Any] = [
        _p("Underlag för platssamverkan", st["title"]),
        _p(f"Nattvandring – {area_name}, {period_text}", st["subtitle"]),
        _p(f"Område: {area_name}", st["body"]),
        _p(f"Period: {period_text}", st["body"]),
        _p(f"Jämförelseperiod: {previous_text}", st["body"]),
        _p(f"Utfärdat: {issued.isoformat()}", st["body"]),
        _p(f"Profil: {PROFILES_SV[profile]}", st["body"]),
    ]
    if note:
        story.append(_p(note, st["body"]))
    if summary is not None:
        story += summary_section(
            summary,
            period_text=period_text,
            previous_text=previous_text,
            st=st,
            p=_p,
            table=_table,
            n=n,
        )
    story.append(PageBreak())

    png = map_png(
        area_outline=area_outline,
        base_lines=base_lines,
        zones=zones,
        heat=heat,
        hotspots=hotspots,
        routes=routes,
        place_labels=place_labels,
        street_labels=street_labels,
        points=points if profile == "detail" else (),
        network_note=network_note,
    )
    map_image = Image(BytesIO(png))
    scale = min(170 * mm / map_image.imageWidth, 215 * mm / map_image.imageHeight)
    map_image.drawWidth = map_image.imageWidth * scale
    map_image.drawHeight = map_image.imageHeight * scale
    story += [
        _p(f"Karta: {area_name}, {period_text}", st["h1"]),
        map_image,
        Spacer(1, 3 * mm),
        _p(
            "Bakgrund: gatunätet från OpenStreetMap (© OpenStreetMap contributors, ODbL). "
            "Skalstocken visar verkliga avstånd (SWEREF 99 TM); pilen pekar mot geografisk "
            "nord.",
            st["small"],
        ),
        *([_p(network_note, st["small"])] if network_note else []),
        PageBreak(),
        _p("Avvikelser per kategori och zon", st["h1"]),
        _p(
            f"Antal rapporter i perioden {period_text} jämfört med föregående period av samma "
            f"längd ({prev_since.isoformat()} – {prev_until.isoformat()}).",
            st["body"],
        ),
    ]
    if category_table:
        rows = [
            [
                r.category_sv,
                r.zone_name,
                count_text(r.count, profile=profile),
                count_text(r.previous, profile=profile),
                change_text(r.count, r.previous, profile=profile),
            ]
            for r in category_table
        ]
        story.append(
            _table(
                ["Kategori", "Zon", "Perioden", "Föregående", "Förändring"],
                rows,
                [34, 52, 22, 28, 34],
                st,
                numeric_from=2,
            )
        )
    else:
        story.append(_p("Inga rapporter i zonerna under perioderna.", st["body"]))
    if profile == "partner":
        story.append(
            _p(
                f"Antalen summerar de veckor då zonen (resten av området, hela området) har "
                f"minst {MIN_PARTNER_COUNT} rapporter i kategorin; veckor med färre räknas inte, "
                "varken här, i sammanfattningen eller i trenden. Antal under "
                f"{MIN_PARTNER_COUNT} visas som \u201d< {MIN_PARTNER_COUNT}\u201d, och "
                "förändringen visas då inte.",
                st["small"],
            )
        )

    story.append(_p("Hot spots: nya, kvarstående och försvunna", st["h2"]))
    story.append(
        _p(
            "Hot spots namnges efter närmaste plats och gata (hållplatser, skolor, stationer och "
            "det importerade gatunätet).",
            st["small"],
        )
    )
    if hotspot_changes:
        order = {"new": 0, "persistent": 1, "gone": 2}
        changes = sorted(hotspot_changes, key=lambda c: (order.get(c.status, 3), c.label))
        rows = [[c.label, COMPARE_LABELS.get(c.status, c.status).capitalize()] for c in changes]
        story.append(
            _table(
                ["Hot spot", "Jämfört med föregående period"], rows, [110, 60], st, numeric_from=2
            )
        )
    else:
        story.append(_p("Inga heta punkter i någon av perioderna.", st["body"]))

    if trend is not None:
        story.append(
            KeepTogether(
                [
                    _p("Trender: rapporter och pass per vecka", st["h1"]),
                    _p(
                        "Rapporter per vecka det senaste året, per kategori (staplar), och "
                        "genomförda pass per vecka (linje, skala till höger) på samma tidsaxel.",
                        st["body"],
                    ),
                    image(trend),
                ]
            )
        )
    if walks is not None:
        story += walks_section(
            walks,
            previous_walks,
            period_text=period_text,
            previous_text=f"{prev_since.isoformat()} – {prev_until.isoformat()}",
            st=st,
            p=_p,
            table=_table,
        )
    if coverage is not None:
        story += coverage_section(coverage, period_text=period_text, st=st, p=_p, table=_table)
    if police_by_type is not None:
        story += police_section(
            police_by_type,
            police_notices,
            area_name=area_name,
            period_text=period_text,
            previous_text=previous_text,
            st=st,
            p=_p,
            table=_table,
        )
    story += bra_section(bra_years, st=st, p=_p, table=_table)
    story.append(
        KeepTogether(_method(method, profile=profile, st=st, prev=(prev_since, prev_until)))
    )
    if annex is not None and profile == "detail":
        story.append(PageBreak())
        story += annex_section(annex, st=st, p=_p, table=_table)

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(20 * mm, 12 * mm, f"Nattvandring – {area_name} – {period_text}")
        canvas.drawRightString(190 * mm, 12 * mm, f"Sida {doc.page}")
        if synthetic:
            # On every page, top and bottom: nobody may take a page of demo data for real.
            canvas.setFont(_fonts()[1], 9)
            canvas.setFillColor(colors.HexColor("#b00020"))
            canvas.drawCentredString(105 * mm, 287 * mm, SYNTHETIC_MARK)
            canvas.drawCentredString(105 * mm, 7 * mm, SYNTHETIC_MARK)
        canvas.restoreState()

    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=f"Underlag för platssamverkan – {area_name}"
        + (f" ({SYNTHETIC_MARK})" if synthetic else ""),
        author="Nattvandring",
        subject=f"Nattvandring {area_name} {period_text}"
        + (f" – {SYNTHETIC_MARK}" if synthetic else ""),
        keywords=["platssamverkan", "nattvandring", *([SYNTHETIC_MARK] if synthetic else [])],
        creator="Nattvandring",
    )
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
        _p(
            f"Värmekarta: en kärnskattning (kernel density, {kernel}) av rapporterna med "
            f"bandbredd {m.bandwidth_m:g} m på rutor om {m.cell_m:g} m i SWEREF 99 TM. Värdena "
            f"är {HEAT_UNIT_SV}, så perioder av olika längd går att jämföra. Mörkare färg betyder "
            "fler rapporter per ytenhet; isopleterna omger de rutor som tillsammans har 50, 75 "
            "och 90 % av tätheten.",
            st["body"],
        ),
        _p(
            f"Hot spots: Getis-Ord Gi* på rutor om {m.hotspot_cell_m:g} m (rutan och dess "
            f"grannar jämförs med hela området), {correction}. Rutorna klassas som heta eller "
            f"kalla punkter med {levels} % konfidens: röd = het punkt, blå = kall punkt, mörkare "
            "= högre konfidens. \u201dNy\u201d är het nu men inte i föregående period, "
            "\u201dkvarstående\u201d het i båda, \u201dförsvunnen\u201d het bara i föregående "
            f"period ({prev[0].isoformat()} – {prev[1].isoformat()}).",
            st["body"],
        ),
    ]
    if profile == "partner":
        parts.append(
            _p(
                "Integritet: underlaget innehåller inga personuppgifter – inga namn, inga "
                "fritexter, inga rapportörer och inga tidpunkter för enskilda rapporter. I "
                "exporterade lager är avvikelser sammanställda per platssamverkanszon och per "
                f"ruta om {m.partner_cell_m:g} m (SWEREF 99 TM) och vecka eller natt; antal under "
                f"{m.min_count} redovisas inte.",
                st["body"],
            )
        )
    else:
        parts.append(
            _p(
                "Integritet: rapporten innehåller endast sammanställda uppgifter och inga "
                "personuppgifter. Detaljerade exporter loggas.",
                st["body"],
            )
        )
    return parts
