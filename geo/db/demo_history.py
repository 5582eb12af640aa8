"""The demo's history of walks: Solberga's earlier seasons from a SYNTHETIC walk log.

``data/demo_walk_log_solberga.csv`` (made by ``scripts/make_demo_walk_log.py``) holds as many
walks per agreement period as the district's documents count (39 before the IOP, 66 during it),
on invented dates. `load_demo_history` imports it the way a district imports its own log
(`nattvandring walks import`): the walks are stored as ``reported``, marked synthetic, and wait
for a planner's approval, after which the follow-up shows what they cost (105 × 1,700 SEK). A
second load finds them stored (the log's walks are keyed by club and start).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from geo.db import areas
from geo.db.demo import LoadReport
from geo.db.walk_schedule import import_walk_log
from geo.errors import InvalidInput
from geo.walks import read_walk_log

LOG_FILE = "demo_walk_log_solberga.csv"
LOG_AREA = "solberga"


def load_demo_history(
    conn: psycopg.Connection, data_dir: Path, *, now: datetime | None = None
) -> LoadReport:
    """Import the demo's walk log into ``LOG_AREA`` (once; the log's rows are all past)."""
    report = LoadReport()
    text = (data_dir / LOG_FILE).read_text(encoding="utf-8")
    read = read_walk_log(
        text, now=now or datetime.now(UTC), time_zone=areas.time_zone(conn, LOG_AREA)
    )
    if read.refused:
        reasons = "; ".join(f"line {r.line}: {r.reason}" for r in read.refused[:3])
        raise InvalidInput(f"the demo's walk log has rows that cannot be imported: {reasons}")
    stored = import_walk_log(conn, read.taken, area=LOG_AREA, synthetic=True)
    report.add("history_walks", stored.stored)
    return report
