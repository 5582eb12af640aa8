"""The meeting report's sections that say what happened and put it in context: the summary on
the first page, the weekly trend chart, the coverage of the hot spots by the walks, the
police's notices ("Händelser: Polisen") and Brå's yearly figures ("Källa: Brå"), and the
detail profile's annex of single reports.

Pure: figures in, reportlab flowables (and a PNG chart) out, in the report's styles (``p`` and
``table`` are the report's paragraph and table makers). Everything here is an aggregate except
the annex, which only the detail profile gets.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph

from maps.report_walks import WalkRow, club_comparison, club_totals

P = Callable[[str, ParagraphStyle], Any]
Count = Callable[[int], str]
POLICE_CREDIT = "Händelser: Polisen (polisen.se)"
BRA_CREDIT = "Källa: Brå"
SYNTHETIC_MARK = "SYNTETISKA DEMODATA"


@dataclass(frozen=True)
class Change:
    """Something counted in the period and the one before (a category, a zone)."""

    name: str
    now: int
    previous: int

    @property
    def diff(self) -> int:
        return self.now - self.previous


def biggest_changes(changes: Sequence[Change], k: int = 3) -> list[Change]:
    """The ``k`` that changed most (by absolute difference; ties by name).

    >>> [c.name for c in biggest_changes([Change("a", 5, 5), Change("b", 1, 9),
    ...                                   Change("c", 4, 1)], 2)]
    ['b', 'c']
    """
    moved = [c for c in changes if c.diff]
    return sorted(moved, key=lambda c: (-abs(c.diff), c.name))[:k]


@dataclass(frozen=True)
class Summary:
    """What the first page says."""

    total: int
    previous_total: int
    categories: list[Change]
    places: list[Change]
    walks: Sequence[WalkRow]
    previous_walks: Sequence[WalkRow]
    hotspots_new: int = 0
    hotspots_gone: int = 0
    hotspots_now: int = 0
    coverage_share: float | None = None
    police_now: int | None = None
    police_previous: int | None = None
    notes: list[str] = field(default_factory=list)


def _signed(now: int, before: int, n: Count) -> str:
    if n(now) != str(now) or n(before) != str(before):
        return f"{n(now)} (föregående {n(before)})"
    diff = now - before
    pct = f", {round(100 * diff / before):+d} %" if before else ""
    return f"{now} (föregående {before}: {diff:+d}{pct})"


def summary_section(
    s: Summary,
    *,
    period_text: str,
    previous_text: str,
    st: dict[str, ParagraphStyle],
    p: P,
    table: Callable[..., Any],
    n: Count,
) -> list[Any]:
    """The first page's "Sammanfattning": the period's total against the previous period, the
    three categories and places that changed most, the walks per club, and what changed since
    the last meeting's report (the previous period of the same length)."""
    out: list[Any] = [
        p("Sammanfattning", st["h1"]),
        p(
            f"Rapporter i perioden {period_text}: {_signed(s.total, s.previous_total, n)} "
            f"jämfört med föregående period ({previous_text}).",
            st["body"],
        ),
    ]
    for title, items in (
        ("Kategorier som förändrats mest", biggest_changes(s.categories)),
        ("Platser (zoner) som förändrats mest", biggest_changes(s.places)),
    ):
        if items:
            rows = [[c.name, n(c.now), n(c.previous), _diff(c, n)] for c in items]
            out += [
                p(title, st["h2"]),
                table(
                    ["", "Perioden", "Föregående", "Förändring"],
                    rows,
                    [70, 30, 30, 40],
                    st,
                    numeric_from=1,
                ),
            ]
    now, before = club_totals(s.walks), club_totals(s.previous_walks)
    out.append(p("Nattvandringarna", st["h2"]))
    if now or before:
        out.append(club_comparison(now, before, st, table, with_total=True))
    else:
        out.append(p("Inga genomförda pass i perioderna.", st["body"]))
    since_last = [
        f"hot spots (95 %): {s.hotspots_now} rutor nu, {s.hotspots_new} nya och "
        f"{s.hotspots_gone} försvunna",
    ]
    if s.coverage_share is not None:
        since_last.append(
            f"vandringarna nådde {round(100 * s.coverage_share)} % av hot spot-rutorna"
        )
    if s.police_now is not None and s.police_previous is not None:
        since_last.append(
            f"polisens händelsenotiser som nämner området: {s.police_now} "
            f"(föregående {s.police_previous})"
        )
    out += [
        p("Sedan förra mötets underlag", st["h2"]),
        p(
            f"Jämfört med underlaget för föregående period ({previous_text}): "
            + "; ".join(since_last)
            + ".",
            st["body"],
        ),
    ]
    out += [p(text, st["body"]) for text in s.notes]
    return out


def _diff(c: Change, n: Count) -> str:
    if n(c.now) != str(c.now) or n(c.previous) != str(c.previous):
        return "–"
    return f"{c.diff:+d}"


# -- trends ----------------------------------------------------------------------------------


def trend_png(
    weeks: Sequence[date],
    reports: Mapping[str, Sequence[int]],
    walks: Sequence[int],
    *,
    colours: dict[str, str],
    width_in: float = 6.7,
    dpi: int = 150,
) -> bytes:
    """Stacked bars of reports per week by category (``reports``: Swedish name → counts per
    week) and walks per week as a line on the same time axis (its scale on the right)."""
    fig = Figure(figsize=(width_in, 3.0), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.08, 0.3, 0.84, 0.62))
    x = np.arange(len(weeks))
    bottom = np.zeros(len(weeks))
    for name, values in reports.items():
        v = np.asarray(values, dtype=float)
        ax.bar(x, v, bottom=bottom, width=0.85, color=colours.get(name, "#888888"), label=name)
        bottom += v
    ax.set_ylabel("Rapporter per vecka", fontsize=7)
    ax.tick_params(labelsize=6)
    ticks = [i for i, w in enumerate(weeks) if w.day <= 7]
    ax.set_xticks(ticks, [f"{weeks[i]:%Y-%m}" for i in ticks], rotation=90, fontsize=6)
    ax.set_xlim(-0.6, len(weeks) - 0.4)
    twin = ax.twinx()
    twin.plot(x, walks, color="#00796b", lw=1.4, marker="o", ms=2, label="Pass per vecka")
    twin.set_ylabel("Pass per vecka", fontsize=7, color="#00796b")
    twin.tick_params(labelsize=6, colors="#00796b")
    twin.set_ylim(0, max(3, max(walks, default=0) + 1))
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="lower center", ncol=5, fontsize=5.5, frameon=False)
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def image(png: bytes, *, width_mm: float = 170.0) -> Image:
    img = Image(BytesIO(png))
    scale = width_mm * mm / img.imageWidth
    img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
    return img


# -- coverage --------------------------------------------------------------------------------


def coverage_section(
    cov: dict[str, Any],
    *,
    period_text: str,
    st: dict[str, ParagraphStyle],
    p: P,
    table: Callable[..., Any],
) -> list[Any]:
    """ "Gick vandringarna dit det behövdes?": `geo.coverage.Coverage.describe`'s figures."""
    out: list[Any] = [
        p("Täckning: gick vandringarna dit det behövdes?", st["h1"]),
        p(
            f"Av periodens {cov['hotspot_cells']} hot spot-rutor (Gi*, minst 95 % konfidens) "
            f"passerade ett vandrat spår inom {cov['radius_m']:g} m av {cov['cells_reached']} "
            f"({round(100 * cov['share'])} %). Tid inom {cov['radius_m']:g} m av dem: "
            f"{_minutes(cov['time_near_s'])} ({period_text}).",
            st["body"],
        ),
    ]
    rows = [
        [
            r["club"],
            r["month"],
            str(r["walks"]),
            str(r["cells_reached"]),
            f"{round(100 * r['share'])} %",
            _minutes(r["time_near_s"]),
        ]
        for r in cov["per_club_month"]
    ]
    if rows:
        out.append(
            table(
                ["Förening", "Månad", "Pass", "Rutor nådda", "Andel", "Tid nära"],
                rows,
                [52, 22, 16, 26, 20, 34],
                st,
                numeric_from=2,
            )
        )
    else:
        out.append(p("Inga vandrade spår i perioden.", st["body"]))
    out.append(p("Hot spots som ingen vandring nådde", st["h2"]))
    if cov["not_reached"]:
        out.append(
            table(
                ["Hot spot", "Rutor ej nådda"],
                [[x["name"], str(x["cells"])] for x in cov["not_reached"]],
                [130, 40],
                st,
                numeric_from=1,
            )
        )
    else:
        out.append(p("Alla hot spots nåddes av minst en vandring.", st["body"]))
    return out


def _minutes(seconds: float) -> str:
    """
    >>> _minutes(3725.0)
    '1 h 2 min'
    """
    m = round(seconds / 60)
    return f"{m // 60} h {m % 60} min" if m >= 60 else f"{m} min"


# -- the police's notices and Brå ------------------------------------------------------------


@dataclass(frozen=True)
class PoliceNotice:
    day: date
    event_type: str
    summary: str
    level_sv: str
    place: str
    url: str


def police_section(
    by_type: Sequence[tuple[str, int, int]],
    notices: Sequence[PoliceNotice],
    *,
    area_name: str,
    period_text: str,
    previous_text: str,
    st: dict[str, ParagraphStyle],
    p: P,
    table: Callable[..., Any],
    max_listed: int = 25,
) -> list[Any]:
    """Notices per type in the period and the previous one, and a list with links; always
    credited "Händelser: Polisen" and said to be context, not our reports."""
    out: list[Any] = [
        p("Polisens händelsenotiser (sammanhang)", st["h1"]),
        p(
            f"Polisens publicerade händelser som nämner {area_name} eller en plats i området, "
            f"{period_text} (föregående period {previous_text} inom parentes). De är placerade "
            "efter ortnamnen i texten (stadsdel, namngiven plats eller gata), aldrig som exakta "
            "punkter, och är sammanhang – inte nattvandrarnas rapporter.",
            st["body"],
        ),
    ]
    if by_type:
        out.append(
            table(
                ["Händelsetyp", "Perioden", "Föregående"],
                [[t, str(a), str(b)] for t, a, b in by_type],
                [90, 40, 40],
                st,
                numeric_from=1,
            )
        )
    else:
        out.append(p("Inga händelsenotiser för området i perioderna.", st["body"]))
    if notices:
        out.append(p("Händelser i perioden", st["h2"]))
        rows = []
        for n in list(notices)[:max_listed]:
            link = Paragraph(
                f'<a href="{html.escape(n.url)}" color="#1f4e9a">{html.escape(n.summary)}</a>',
                st["cell"],
            )
            rows.append([n.day.isoformat(), n.event_type, f"{n.place} ({n.level_sv})", link])
        out.append(
            table(
                ["Datum", "Typ", "Plats (nivå)", "Notis (länk till polisen.se)"],
                rows,
                [20, 32, 36, 82],
                st,
                numeric_from=9,
            )
        )
        if len(notices) > max_listed:
            out.append(p(f"… och {len(notices) - max_listed} till.", st["small"]))
    out.append(p(POLICE_CREDIT, st["small"]))
    return out


def bra_section(
    years: Sequence[Any], *, st: dict[str, ParagraphStyle], p: P, table: Callable[..., Any]
) -> list[Any]:
    """Brå's reported crime per year for the district administration area (`geo.bra`)."""
    if not years:
        return []
    labels = list(years[0].totals)
    rows = [
        [
            f"{y.year}" + ("" if y.months == 12 else f" (jan–{_month(y.months)}, prel.)"),
            *(f"{y.totals[k]:,}".replace(",", " ") for k in labels),
        ]
        for y in years
    ]
    width = 130 / len(labels)
    return [
        p(f"Bakgrund: anmälda brott i {years[0].area} (Brå)", st["h2"]),
        p(
            "Anmälda brott per år för hela stadsdelsområdet (alla stadsdelar, inte bara "
            "nattvandringens område), som bakgrund till rapporterna ovan.",
            st["body"],
        ),
        table(["År", *labels], rows, [40, *([width] * len(labels))], st, numeric_from=1),
        p(BRA_CREDIT, st["small"]),
    ]


def _month(k: int) -> str:
    return ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov")[k - 1]


# -- the detail profile's annex --------------------------------------------------------------


def annex_section(
    rows: Sequence[tuple[str, str, str]],
    *,
    st: dict[str, ParagraphStyle],
    p: P,
    table: Callable[..., Any],
) -> list[Any]:
    """Bilaga: the single reports of the period (local time, category, zone), no reporter and
    no free text; the detail profile only."""
    out: list[Any] = [
        p("Bilaga: enskilda rapporter (detaljprofil)", st["h1"]),
        p(
            "Periodens rapporter en och en, utan rapportör och fritext. Endast för stadsdelens "
            "planerare; delas inte med partner.",
            st["body"],
        ),
    ]
    if rows:
        out.append(
            table(
                ["Tid", "Kategori", "Zon"],
                [list(r) for r in rows],
                [40, 60, 70],
                st,
                numeric_from=9,
            )
        )
    else:
        out.append(p("Inga rapporter i perioden.", st["body"]))
    return out
