"""The follow-up of walks and costs as CSV (one row per group and a total row).

Pure: takes the follow-up as `geo.db.follow_up.follow_up` returns it and gives the text. The
columns are English identifiers like the API's fields; synthetic demo data get a first line
``# SYNTETISKA DEMODATA`` so that no copy of the file can pass for real figures.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from maps.formatting import csv_row

FLAG_COLUMNS = ("short_of_walkers", "before_signed", "outside_agreement", "report_missed")
FIGURES = ("walks_approved", "walks_reported", "cost_sek", "walker_nights", "youths_met")
KEY_COLUMNS = {
    "agreement": ("agreement_id", "agreement", "kind"),
    "organisation": ("organisation_id", "organisation"),
    "month": ("month",),
    "area": ("area", "area_name"),
}


def key_cells(by: str, key: Any) -> list[str]:
    """The key columns of one row (``utanför avtal`` for walks outside every agreement).

    >>> key_cells("agreement", None), key_cells("area", {"slug": "solberga", "name": "Solberga"})
    (['', 'utanför avtal', ''], ['solberga', 'Solberga'])
    """
    if key is None:
        return ["", "utanför avtal", ""] if by == "agreement" else [""] * len(KEY_COLUMNS[by])
    if by == "agreement":
        return [str(key["id"]), key["name"], key["kind"]]
    if by == "organisation":
        return [str(key["id"]), key["name"]]
    if by == "month":
        return [str(key)]
    return [key["slug"], key["name"]]


def flag_count(row: dict[str, Any], code: str) -> int:
    """How many walks (or, for ``report_missed``, reporting dates) a flag counts."""
    for f in row["flags"]:
        if f["code"] == code:
            return len(f["due_on"]) if code == "report_missed" else int(f["walks"])
    return 0


def follow_up_csv(result: dict[str, Any]) -> str:
    """The follow-up as CSV text (comma-separated, a header, the rows, then ``total``)."""
    by = result["by"]
    buf = io.StringIO()
    if result.get("synthetic"):
        buf.write("# SYNTETISKA DEMODATA\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csv_row([*KEY_COLUMNS[by], *FIGURES, *FLAG_COLUMNS]))
    for row in result["rows"]:
        writer.writerow(
            csv_row(
                [
                    *key_cells(by, row[by]),
                    *(row[f] for f in FIGURES),
                    *(flag_count(row, c) for c in FLAG_COLUMNS),
                ]
            )
        )
    totals = result["totals"]
    blanks = [""] * (len(KEY_COLUMNS[by]) - 1)
    flags = [sum(flag_count(r, c) for r in result["rows"]) for c in FLAG_COLUMNS]
    writer.writerow(csv_row(["total", *blanks, *(totals[f] for f in FIGURES), *flags]))
    return buf.getvalue()
