"""The demo's synthetic walk log: the district's counts per agreement period (39 walks before
the IOP, 66 during it), stored as reported walks once, each on its local day inside a period."""

from __future__ import annotations

import psycopg

from geo.db.demo_history import load_demo_history
from tests.conftest import DATA_DIR


def test_the_log_gives_the_seed_counts_per_period_once(conn: psycopg.Connection) -> None:
    first = load_demo_history(conn, DATA_DIR).changed
    again = load_demo_history(conn, DATA_DIR).changed
    assert first["history_walks"] == 105
    assert again["history_walks"] == 0
    rows = conn.execute(
        """
        SELECT ag.kind, count(*) AS walks, bool_and(w.synthetic), bool_and(w.status = 'reported'),
               min(m.local_date), max(m.local_date)
        FROM walks w
        JOIN walk_money m ON m.walk_id = w.id
        JOIN agreements ag ON m.local_date BETWEEN ag.starts_on AND ag.ends_on
        WHERE w.source = 'import' AND w.notes LIKE 'SYNTETISK%%'
        GROUP BY ag.kind ORDER BY ag.kind
        """
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("agreement", 39), ("iop", 66)]
    assert all(r[2] and r[3] for r in rows)
    # The first day of the first period and the last day of the last one are walked.
    assert str(rows[0][4]) == "2023-09-29" and str(rows[1][5]) == "2025-12-20"
    # The Saturday walks (21:00–01:00) belong to the Saturday, not to the Sunday they end on.
    sundays = conn.execute(
        "SELECT count(*) FROM walk_money m JOIN walks w ON w.id = m.walk_id "
        "WHERE w.source = 'import' AND extract(isodow FROM m.local_date) = 7"
    ).fetchone()
    assert sundays is not None and sundays[0] == 0
