"""The meeting report's section on walks: walks done, walker-nights and young people met per
club and month, and per club against the previous period of the same length.

Pure: rows in (`WalkRow`, from `geo.db.follow_up.walks_by_club_and_month`), flowables out, in
the meeting report's styles. Counts of walks are aggregates that partners may read (they see
how many walks there are); no walker is named.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.styles import ParagraphStyle

MONTHS_SV = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip


@dataclass(frozen=True)
class WalkRow:
    """The walks one club did in one month (``2024-09``)."""

    club: str
    month: str
    walks: int
    walker_nights: int
    youths_met: int


def month_text(month: str) -> str:
    """``2024-09`` as ``september 2024``.

    >>> month_text("2024-09")
    'september 2024'
    """
    year, m = month.split("-")
    return f"{MONTHS_SV[int(m) - 1]} {year}"


def club_totals(rows: Sequence[WalkRow]) -> dict[str, tuple[int, int, int]]:
    """Walks, walker-nights and young people met per club.

    >>> club_totals([WalkRow("A", "2024-09", 2, 12, 5), WalkRow("A", "2024-10", 1, 6, 0)])
    {'A': (3, 18, 5)}
    """
    out: dict[str, tuple[int, int, int]] = {}
    for r in rows:
        w, n, y = out.get(r.club, (0, 0, 0))
        out[r.club] = (w + r.walks, n + r.walker_nights, y + r.youths_met)
    return out


def walks_section(
    now: Sequence[WalkRow],
    previous: Sequence[WalkRow],
    *,
    period_text: str,
    previous_text: str,
    st: dict[str, ParagraphStyle],
    p: Callable[[str, ParagraphStyle], Any],
    table: Callable[..., Any],
) -> list[Any]:
    """The section's flowables (``p`` and ``table`` are the report's paragraph and table
    makers, so that the section looks like the rest of it)."""
    out: list[Any] = [
        p("Nattvandringar", st["h1"]),
        p(
            f"Genomförda pass (återrapporterade eller godkända) i perioden {period_text}, per "
            "förening och månad. Vandrarnätter är summan av närvarande vandrare; unga mötta "
            "enligt återrapporterna.",
            st["body"],
        ),
    ]
    if now:
        rows = [
            [r.club, month_text(r.month), str(r.walks), str(r.walker_nights), str(r.youths_met)]
            for r in now
        ]
        out.append(
            table(
                ["Förening", "Månad", "Pass", "Vandrarnätter", "Unga mötta"],
                rows,
                [56, 36, 20, 30, 28],
                st,
                numeric_from=2,
            )
        )
    else:
        out.append(p("Inga genomförda pass i perioden.", st["body"]))
    a, b = club_totals(now), club_totals(previous)
    if a or b:
        out.append(p(f"Jämfört med föregående period ({previous_text})", st["h2"]))
        out.append(club_comparison(a, b, st, table))
    return out


def club_comparison(
    now: dict[str, tuple[int, int, int]],
    before: dict[str, tuple[int, int, int]],
    st: Any,
    table: Callable[..., Any],
    *,
    with_total: bool = False,
) -> Any:
    """The table of walks, walker-nights and young people met per club, with the previous
    period's in brackets (`club_totals` of both periods); a total row if asked. ``table`` is
    the report's table maker."""
    rows = []
    for club in sorted(set(now) | set(before), key=str.casefold):
        x, y = now.get(club, (0, 0, 0)), before.get(club, (0, 0, 0))
        rows.append([club, *(f"{x[i]} ({y[i]})" for i in range(3))])
    if with_total:
        total = [sum(v[i] for v in now.values()) for i in range(3)]
        prev = [sum(v[i] for v in before.values()) for i in range(3)]
        rows.append(["Totalt", *(f"{total[i]} ({prev[i]})" for i in range(3))])
    return table(
        ["Förening", "Pass (föreg.)", "Vandrarnätter (föreg.)", "Unga mötta (föreg.)"],
        rows,
        [56, 34, 44, 36],
        st,
        numeric_from=1,
    )
