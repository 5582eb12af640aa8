"""The demo's history of walks: Solberga's earlier seasons from a SYNTHETIC walk log.

``data/demo_walk_log_solberga.csv`` (made by ``scripts/make_demo_walk_log.py``) holds as many
walks per agreement period as the district's documents count (39 before the IOP, 66 during it),
on invented dates. `load_demo_history` imports it the way a district imports its own log
(`nattvandring walks import`): the walks are stored as ``reported``, marked synthetic, and wait
for a planner's approval, after which the follow-up shows what they cost (105 × 1,700 SEK). A
second load finds them stored (the log's walks are keyed by club and start).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from geo.db import areas
from geo.db.demo import DEMO_FILE, LoadReport
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


def load_demo_grant_reports(conn: psycopg.Connection, data_dir: Path) -> LoadReport:
    """The demo grant's SYNTHETIC reports on its reporting dates (``grant_reports`` in the demo
    file), stored once by their ids and marked synthetic."""
    report = LoadReport()
    with (data_dir / DEMO_FILE).open(encoding="utf-8") as fh:
        spec = json.load(fh)["grant_reports"]
    row = conn.execute("SELECT id FROM agreements WHERE name = %s", (spec["agreement"],)).fetchone()
    if row is None:
        raise InvalidInput(f"the demo has no agreement {spec['agreement']!r}", field="agreement")
    for r in spec["reports"]:
        cur = conn.execute(
            """
            INSERT INTO grant_reports (id, agreement_id, due_on, submitted_on, covers_from,
                                       covers_until, activities, participants, summary, synthetic)
            VALUES (%(id)s, %(agreement_id)s, %(due_on)s, %(submitted_on)s, %(covers_from)s,
                    %(covers_until)s, %(activities)s, %(participants)s, %(summary)s, true)
            ON CONFLICT DO NOTHING
            """,
            {**r, "agreement_id": row[0]},
        )
        report.add("grant_reports", cur.rowcount)
    return report
