"""Write ``data/demo_walk_log_solberga.csv``: the SYNTHETIC log of Solberga's earlier walks.

The district's documents give the number of completed walks, not their dates (DESIGN.md,
"Facts"): 39 walks before the IOP and 66 during it, 105 in all. This script spreads exactly that
many walks over the five agreement periods, on Fridays (Älvsjö AIK) and Saturdays (Kulturföreningen
Solan, from the summer of 2024 when Södra Folkparken became a party), 21:00–01:00, with a fixed
seed. The dates, the clubs of each walk and the walker counts are invented; the counts per period
and in all are the district's. Run it again to get the same file:

    .venv/bin/python scripts/make_demo_walk_log.py
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "demo_walk_log_solberga.csv"
SEED = 20230929

AIK, SOLAN = "Älvsjö AIK", "Kulturföreningen Solan"
FRI, SAT = 4, 5
# (first day, last day, walks in the period, who walks on Fridays and on Saturdays): the
# agreements' periods. In the autumn of 2023 only Älvsjö AIK walked (both nights).
PERIODS = [
    (date(2023, 9, 29), date(2023, 12, 30), 23, {FRI: AIK, SAT: AIK}),
    (date(2024, 5, 24), date(2024, 8, 31), 16, {FRI: AIK, SAT: SOLAN}),
    (date(2024, 9, 6), date(2024, 12, 28), 22, {FRI: AIK, SAT: SOLAN}),
    (date(2025, 1, 3), date(2025, 6, 28), 26, {FRI: AIK, SAT: SOLAN}),
    (date(2025, 9, 5), date(2025, 12, 20), 18, {FRI: AIK, SAT: SOLAN}),
]


def walk_days(first: date, last: date, clubs: dict[int, str]) -> list[tuple[date, str]]:
    days = []
    day = first
    while day <= last:
        if day.weekday() in clubs:
            days.append((day, clubs[day.weekday()]))
        day += timedelta(days=1)
    return days


def main() -> None:
    rng = random.Random(SEED)
    rows = []
    for first, last, count, clubs in PERIODS:
        days = walk_days(first, last, clubs)
        # The first and the last day of each period are walked (the edges of a period).
        edges, inner = [days[0], days[-1]], days[1:-1]
        rows.extend(sorted(edges + rng.sample(inner, count - 2)))
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["datum", "start", "slut", "förening", "vandrare", "anteckningar"])
        for day, club in rows:
            walkers = rng.choices([6, 7, 5, 4], weights=[70, 12, 12, 6])[0]
            out.writerow(
                [day.isoformat(), "21:00", "01:00", club, walkers, "SYNTETISK demovandring"]
            )
    print(f"wrote {len(rows)} walks to {OUT}")


if __name__ == "__main__":
    main()
