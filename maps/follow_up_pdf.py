"""The follow-up of walks and costs and the programme summary as Swedish A4 PDFs.

Pure: the follow-up (`geo.db.follow_up.follow_up`) or the summary
(`geo.db.follow_up_summary.programme_summary`) in, PDF bytes out, with the meeting report's
fonts and table style (`maps.report`). Synthetic demo data say so on every page.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Spacer

from maps.report import _fonts, _p, _styles, _table

NBSP = "\u00a0"
KINDS_SV = {"agreement": "överenskommelse", "iop": "IOP"}
BY_SV = {"agreement": "Avtal", "organisation": "Förening", "month": "Månad", "area": "Område"}
FLAGS_SV = {
    "short_of_walkers": "färre vandrare än avtalet anger",
    "before_signed": "före undertecknandet",
    "outside_agreement": "utanför avtal",
    "report_missed": "redovisning saknas",
}
STATUS_SV = {"met": "i tid", "late": "försenad", "missed": "saknas", "due": "kommande"}
SYNTHETIC_LINE = "SYNTETISKA DEMODATA – genererade pass, inte verkliga uppgifter"


def sek_text(amount: int | None) -> str:
    """An amount as Swedes write it: ``66 300 kr`` (a no-break space between the thousands).

    >>> sek_text(178500).replace(NBSP, " "), sek_text(None)
    ('178 500 kr', '–')
    """
    if amount is None:
        return "–"
    return f"{amount:,}".replace(",", NBSP) + f"{NBSP}kr"


def number_text(n: int) -> str:
    """A count with thousands separated: ``1 234``."""
    return f"{n:,}".replace(",", NBSP)


def flags_text(flags: list[dict[str, Any]]) -> str:
    """The flags of a row in Swedish, e.g. ``före undertecknandet: 12``."""
    parts = []
    for f in flags:
        label = FLAGS_SV.get(f["code"], f["code"])
        n = len(f["due_on"]) if f["code"] == "report_missed" else f["walks"]
        parts.append(f"{label}: {n}")
    return "; ".join(parts)


def key_text(by: str, key: Any) -> str:
    """A group's key as a table shows it."""
    if key is None:
        return "Utanför avtal" if by == "agreement" else "(okänt)"
    if by == "month":
        return str(key)
    if by == "agreement":
        return f"{key['name']} ({KINDS_SV.get(key['kind'], key['kind'])})"
    return str(key["name"])


def _document(title: str, *, synthetic: bool, wide: bool = False) -> tuple[Any, Any, BytesIO]:
    regular, _bold = _fonts()
    size = landscape(A4) if wide else A4

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(15 * mm, 10 * mm, f"Nattvandring – {title}")
        if synthetic:
            canvas.setFillColor(colors.HexColor("#b00020"))
            canvas.drawRightString(size[0] - 15 * mm, 10 * mm, SYNTHETIC_LINE)
        canvas.restoreState()

    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=size,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="Nattvandring",
        creator="Nattvandring",
    )
    return doc, footer, buf


def follow_up_pdf(result: dict[str, Any], *, title_suffix: str = "") -> bytes:
    """The follow-up table (one row per group, then the total) as a landscape A4 PDF."""
    st = _styles()
    by = result["by"]
    period = f"{result['since'] or 'början'} – {result['until'] or 'i dag'}"
    title = f"Uppföljning av nattvandringar {period}{title_suffix}"
    doc, footer, buf = _document(title, synthetic=bool(result.get("synthetic")), wide=True)
    story: list[Any] = [_p("Uppföljning av nattvandringar", st["h1"])]
    if result.get("synthetic"):
        story.append(_p(SYNTHETIC_LINE, st["h2"]))
    filters = [f"Period: {period}", f"Per: {BY_SV[by].lower()}"]
    if result.get("organisation"):
        filters.append(f"Förening: {result['organisation']}")
    if result.get("area"):
        filters.append(f"Område: {result['area']}")
    story.append(_p(" · ".join(filters), st["body"]))
    rows = [
        [
            key_text(by, r[by]),
            number_text(r["walks_approved"]),
            number_text(r["walks_reported"]),
            sek_text(r["cost_sek"]),
            number_text(r["walker_nights"]),
            number_text(r["youths_met"]),
            flags_text(r["flags"]),
        ]
        for r in result["rows"]
    ]
    t = result["totals"]
    rows.append(
        [
            "Totalt",
            number_text(t["walks_approved"]),
            number_text(t["walks_reported"]),
            sek_text(t["cost_sek"]),
            number_text(t["walker_nights"]),
            number_text(t["youths_met"]),
            "",
        ]
    )
    header = [BY_SV[by], "Godkända pass", "Att godkänna", "Kostnad", "Vandrarnätter", "Unga mötta"]
    story.append(
        _table([*header, "Flaggor"], rows, [80, 24, 24, 28, 26, 22, 63], st, numeric_from=1)
    )
    story += [
        Spacer(1, 4 * mm),
        _p(
            "Kostnaden är summan av reskontrans poster för passen i perioden (ett återkallat "
            "godkännande och dess motpost tar ut varandra). Passen räknas på den dag de börjar "
            "(lokal tid). Vandrarnätter = summan av närvarande vandrare på godkända pass.",
            st["small"],
        ),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def summary_pdf(summary: dict[str, Any]) -> bytes:
    """The programme summary on one A4 page (landscape): the agreements in order, the totals
    before and during the IOP and in all, and each grant's reporting dates."""
    st = _styles()
    small_cell = st["cell"].clone("small_cell", fontSize=8, leading=10)
    st = {**st, "cell": small_cell, "head": st["head"].clone("small_head", fontSize=8)}
    area = summary["area"]["name"]
    title = f"Sammanställning nattvandring {area}"
    doc, footer, buf = _document(title, synthetic=bool(summary.get("synthetic")), wide=True)
    story: list[Any] = [_p(f"Nattvandring {area}: avtal, pass och kostnader", st["h1"])]
    if summary.get("synthetic"):
        story.append(_p(SYNTHETIC_LINE, st["h2"]))
    story.append(_p(f"Utfärdad {summary['issued']}.", st["body"]))
    rows = []
    for a in summary["agreements"]:
        rows.append(
            [
                f"{a['name']} ({KINDS_SV.get(a['kind'], a['kind'])})",
                ", ".join(a["parties"]),
                a["decided_on"] or "–",
                a["signed_on"] or "–",
                f"{a['starts_on']} – {a['ends_on']}",
                a["extends"]["name"] if a["extends"] else "–",
                number_text(a["walks_approved"]),
                sek_text(a["cost_sek"])
                if a["compensation"] == "per_walk"
                else f"bidrag {sek_text(a['budget_sek'])}",
            ]
        )
    header = ["Avtal", "Parter", "Beslutat", "Undertecknat", "Giltigt", "Förlänger", "Pass"]
    widths: list[float] = [54, 38, 22, 26, 38, 50, 12, 25]
    story.append(_table([*header, "Kostnad"], rows, widths, st, numeric_from=6))
    t = summary["totals"]
    story += [
        Spacer(1, 3 * mm),
        _table(
            ["", "Pass", "Kostnad"],
            [
                [
                    "Före IOP",
                    number_text(t["agreement"]["walks_approved"]),
                    sek_text(t["agreement"]["cost_sek"]),
                ],
                [
                    "Under IOP",
                    number_text(t["iop"]["walks_approved"]),
                    sek_text(t["iop"]["cost_sek"]),
                ],
                ["Totalt", number_text(t["all"]["walks_approved"]), sek_text(t["all"]["cost_sek"])],
            ],
            [50, 25, 35],
            st,
            numeric_from=1,
        ),
    ]
    outside = summary.get("outside")
    if outside and outside["walks_approved"]:
        story.append(
            _p(
                f"Godkända pass utanför avtal (ej betalda): {outside['walks_approved']}.",
                st["body"],
            )
        )
    flagged = [(a["name"], flags_text(a["flags"])) for a in summary["agreements"] if a["flags"]]
    for name, text in flagged:
        story.append(_p(f"{name}: {text}.", st["small"]))
    for a in summary["agreements"]:
        if a["compensation"] != "grant":
            continue
        story.append(_p(f"{a['name']}: bidrag {sek_text(a['budget_sek'])}", st["h2"]))
        rep = []
        for r in a.get("reporting", []):
            got = r["report"]
            rep.append(
                [
                    r["due_on"] + (" (slutredovisning)" if r["final"] else ""),
                    STATUS_SV.get(r["status"], r["status"]),
                    f"{got['covers_from']} – {got['covers_until']}" if got else "–",
                    f"{got['activities']} aktiviteter, {got['participants']} deltagare, "
                    f"{got['walks']} pass"
                    if got
                    else "–",
                ]
            )
        if rep:
            story.append(
                _table(
                    ["Redovisas", "Status", "Avser", "Redovisat"],
                    rep,
                    [40, 22, 42, 76],
                    st,
                    numeric_from=4,
                )
            )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
