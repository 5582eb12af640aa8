"""Brå's reported crime per district administration area (stadsdelsområde) as the yearly
background of the meeting report: the monthly CSV exports in ``data/bra/`` summed per year.
Area level only; credit "Källa: Brå"."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SOURCE_SV = "Källa: Brå (Brottsförebyggande rådet), anmälda brott"
# The columns shown, as the export names them, with a short Swedish label.
COLUMNS = {
    "Totalt antal brott": "Alla anmälda brott",
    "12 kap. Skadegörelsebrott": "Skadegörelse",
    "därav misshandel inkl. grov": "Misshandel",
    "därav rån, inkl. grovt": "Rån",
    "Brott mot narkotikastrafflagen": "Narkotika",
    "Vapenlagen": "Vapenlagen",
}


@dataclass(frozen=True)
class BraYear:
    """One year's sums for one area: ``months`` says how many months the file holds."""

    area: str
    year: int
    months: int
    totals: dict[str, int]


def read_bra(folder: Path, *, area: str = "Hägersten-Älvsjö") -> list[BraYear]:
    """The files ``brott_YYYY.csv`` of ``folder`` summed per year for ``area`` (oldest first);
    none when the folder is not there."""
    out = []
    for path in sorted(folder.glob("brott_*.csv")):
        year = int(path.stem.split("_")[1])
        totals = dict.fromkeys(COLUMNS.values(), 0)
        months = 0
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("Stadsdeldsområde", "").strip() != area:
                    continue
                months += 1
                for column, label in COLUMNS.items():
                    totals[label] += int(row[column] or 0)
        if months:
            out.append(BraYear(area, year, months, totals))
    return out
