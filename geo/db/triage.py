"""The planners' triage of reports in PostGIS: status changes of several reports at once, each
audited, and the count of new reports since a planner last looked (``triage_seen``, migration
0014)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import psycopg

from geo.db import areas
from geo.db.deviations import STATUSES
from geo.errors import InvalidInput, NotFound

MAX_BATCH = 500
"""How many reports one status change may name (a list page's worth, and then some)."""


def set_statuses(
    conn: psycopg.Connection, ids: list[uuid.UUID], status: str, *, user_id: int
) -> list[dict[str, Any]]:
    """Give every report of ``ids`` the status ``status``, all or none, one audit row each.

    Returns ``[{"id", "status", "previous"}]`` in the order of ``ids``. An id that names no
    report makes the whole change `NotFound` (the message lists the unknown ids) and changes
    nothing; an id named twice, an empty or too long list is `InvalidInput`.
    """
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    if not ids:
        raise InvalidInput("ids must name at least one report", field="ids")
    if len(ids) > MAX_BATCH:
        raise InvalidInput(
            f"at most {MAX_BATCH} reports at once; got {len(ids)}: send them in parts",
            field="ids",
        )
    if len(set(ids)) != len(ids):
        raise InvalidInput("ids names a report more than once", field="ids")
    with conn.transaction():
        # Locked in id order, so that two batches over the same reports cannot deadlock.
        rows = conn.execute(
            "SELECT id, status FROM deviations WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            (ids,),
        ).fetchall()
        previous = {row[0]: str(row[1]) for row in rows}
        missing = [str(i) for i in ids if i not in previous]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise NotFound(f"no deviation {shown}: nothing was changed (withdrawn, or a wrong id)")
        conn.execute("UPDATE deviations SET status = %s WHERE id = ANY(%s)", (status, ids))
        changes = [{"id": str(i), "status": status, "previous": previous[i]} for i in ids]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO audit_log (user_id, action, subject, details) "
                "VALUES (%s, 'deviation.status', %s, %s::jsonb)",
                [
                    (
                        user_id,
                        c["id"],
                        json.dumps({"status": status, "previous": c["previous"], "batch": True}),
                    )
                    for c in changes
                ],
            )
    return changes


def triage_state(
    conn: psycopg.Connection, *, user_id: int, area: str | None = None
) -> dict[str, Any]:
    """What the planners' map says about new reports: ``new`` (every report with the status
    new), ``new_since_seen`` (those of them that arrived after the user last looked, or all when
    they never did) and ``seen_at`` (ISO 8601, or None); of one area with ``area``.

    Reports count by when they arrived (``reported_at``), not when they were observed: a report
    that waited in a phone's queue is new to the planner when it comes.
    """
    area_id = areas.area_id(conn, area) if area is not None else None
    row = conn.execute(
        """
        WITH seen AS (SELECT seen_at FROM triage_seen WHERE user_id = %(user)s)
        SELECT count(*),
               count(*) FILTER (WHERE d.reported_at > coalesce((SELECT seen_at FROM seen),
                                                               '-infinity')),
               (SELECT seen_at FROM seen)
        FROM deviations d
        WHERE d.status = 'new' AND (%(area)s::bigint IS NULL OR d.area_id = %(area)s)
        """,
        {"user": user_id, "area": area_id},
    ).fetchone()
    assert row is not None
    seen_at: datetime | None = row[2]
    return {
        "new": int(row[0]),
        "new_since_seen": int(row[1]),
        "seen_at": seen_at.isoformat() if seen_at else None,
    }


def mark_seen(conn: psycopg.Connection, *, user_id: int) -> None:
    """The user has looked at the reports now (``triage_seen``)."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO triage_seen (user_id, seen_at) VALUES (%s, now()) "
            "ON CONFLICT (user_id) DO UPDATE SET seen_at = excluded.seen_at",
            (user_id,),
        )
