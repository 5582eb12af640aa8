"""Reading the ledger: its entries (payments and reversals) and their total, computed from the
rows each time, never stored (DESIGN.md decision 6). The rows are written by
`geo.db.approvals`; a trigger refuses to change or delete them.

Entries are found by their walk's local date (``walk_money.local_date``), as the follow-up
counts walks: a reversal booked in January of a walk walked in December belongs to December, so
the period's total is what its walks cost.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from geo.errors import InvalidParameter

MAX_ENTRIES = 5000

_ENTRY = sql.SQL(
    """
    json_build_object(
        'id', l.id,
        'walk_id', l.walk_id,
        'approval_no', l.approval_no,
        'kind', l.kind,
        'amount_sek', l.amount_sek,
        'agreement', json_build_object('id', a.id, 'name', a.name, 'kind', a.kind),
        'organisation', json_build_object('id', o.id, 'name', o.name),
        'local_date', m.local_date,
        'user', CASE WHEN u.id IS NOT NULL
                     THEN json_build_object('id', u.id, 'display_name', u.display_name) END,
        'reason', l.reason,
        'synthetic', l.synthetic,
        'created_at', l.created_at)
    """
)

_FROM = sql.SQL(
    """
    FROM ledger_entries l
    JOIN walk_money m ON m.walk_id = l.walk_id
    JOIN agreements a ON a.id = l.agreement_id
    JOIN organisations o ON o.id = m.organisation_id
    LEFT JOIN users u ON u.id = l.user_id
    """
)


def _named(conn: psycopg.Connection, table: str, value: str, field: str) -> int:
    """The id of an agreement or organisation named by its id or its name."""
    text = value.strip()
    query = sql.SQL("SELECT id FROM {} WHERE {} = %s").format(
        sql.Identifier(table), sql.Identifier("id" if text.isdigit() else "name")
    )
    row = conn.execute(query, (int(text) if text.isdigit() else text,)).fetchone()
    if row is None:
        raise InvalidParameter(f"no {field} {value!r} (give its id or its name)", field=field)
    return int(row[0])


def list_ledger(
    conn: psycopg.Connection,
    *,
    since: date | None = None,
    until: date | None = None,
    agreement: str | None = None,
    organisation: str | None = None,
    limit: int = MAX_ENTRIES,
) -> dict[str, Any]:
    """Ledger entries of walks whose local date is in ``[since, until]`` (both inclusive),
    oldest walk first, filtered by agreement and organisation (an id or a name), with
    ``total_sek``: the sum of every matching entry (also those past ``limit``)."""
    if since is not None and until is not None and until < since:
        raise InvalidParameter(
            f"until ({until}) is before since ({since})", field="until", code="period_reversed"
        )
    where: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    if since is not None:
        where.append(sql.SQL("m.local_date >= %s"))
        params.append(since)
    if until is not None:
        where.append(sql.SQL("m.local_date <= %s"))
        params.append(until)
    if agreement is not None:
        where.append(sql.SQL("l.agreement_id = %s"))
        params.append(_named(conn, "agreements", agreement, "agreement"))
    if organisation is not None:
        where.append(sql.SQL("m.organisation_id = %s"))
        params.append(_named(conn, "organisations", organisation, "organisation"))
    cond = sql.SQL(" AND ").join(where)
    totals = conn.execute(
        sql.SQL("SELECT count(*), coalesce(sum(l.amount_sek), 0) {} WHERE {}").format(_FROM, cond),
        params,
    ).fetchone()
    assert totals is not None
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(json_agg(x.e ORDER BY x.d, x.id), '[]')::text FROM "
            "(SELECT {} AS e, m.local_date AS d, l.id {} WHERE {} "
            "ORDER BY m.local_date, l.id LIMIT %s) x"
        ).format(_ENTRY, _FROM, cond),
        [*params, limit],
    ).fetchone()
    entries = json.loads(row[0]) if row else []
    return {
        "entries": entries,
        "numberMatched": int(totals[0]),
        "numberReturned": len(entries),
        "total_sek": int(totals[1]),
    }
