"""The audit trail (``audit_log``): every export, every read of who reported, every status
change and admin change writes a row here (DESIGN.md decisions 5 and 9)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg.rows import dict_row


def write_audit(
    conn: psycopg.Connection,
    *,
    user_id: int | None,
    action: str,
    subject: str,
    details: dict[str, Any],
) -> int:
    """Append an audit row (who, when, what) and return its id."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO audit_log (user_id, action, subject, details) "
            "VALUES (%s, %s, %s, %s::jsonb) RETURNING id",
            (user_id, action, subject, json.dumps(details, ensure_ascii=False, default=str)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def list_audit(
    conn: psycopg.Connection, *, action: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Audit rows, newest first, with the e-mail and role of who did it."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            SELECT l.id, l.at, u.email AS "user", u.role, l.action, l.subject, l.details
            FROM audit_log l LEFT JOIN users u ON u.id = l.user_id
            WHERE (%s::text IS NULL OR l.action = %s)
            ORDER BY l.at DESC, l.id DESC LIMIT %s OFFSET %s
            """,
            (action, action, limit, offset),
        ).fetchall()
    return [{**r, "at": r["at"].isoformat()} for r in rows]
