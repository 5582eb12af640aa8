"""Test data for the approval and ledger tests, written with plain SQL: organisations,
agreements (the agreements API is built elsewhere; these tests do not depend on it) and
reported walks with their report back."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def tag() -> str:
    return secrets.token_hex(3)


def make_org(
    conn: psycopg.Connection, name: str, *, kind: str = "club", part_of: int | None = None
) -> int:
    row = conn.execute(
        "INSERT INTO organisations (name, kind, part_of_id) VALUES (%s, %s, %s) RETURNING id",
        (name, kind, part_of),
    ).fetchone()
    assert row is not None
    return int(row[0])


def agree(
    conn: psycopg.Connection,
    name: str,
    *,
    parties: list[int],
    starts_on: date,
    ends_on: date,
    rate_sek: int | None = 1700,
    budget_sek: int | None = None,
    kind: str = "iop",
    signed_on: date | None = None,
) -> int:
    """An agreement paying ``rate_sek`` a walk, or a grant of ``budget_sek``."""
    compensation = "grant" if budget_sek is not None else "per_walk"
    row = conn.execute(
        "INSERT INTO agreements (name, kind, compensation, starts_on, ends_on, rate_sek, "
        "budget_sek, signed_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (name, kind, compensation, starts_on, ends_on, rate_sek, budget_sek, signed_on),
    ).fetchone()
    assert row is not None
    for org in parties:
        conn.execute(
            "INSERT INTO agreement_parties (agreement_id, organisation_id) VALUES (%s, %s)",
            (row[0], org),
        )
    return int(row[0])


def user_id(conn: psycopg.Connection, email: str) -> int:
    row = conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()
    assert row is not None
    return int(row[0])


def reported_walk(
    conn: psycopg.Connection,
    organisation_id: int,
    start: datetime,
    *,
    reporter_id: int | None,
    hours: float = 4,
    walkers: int = 6,
    status: str = "reported",
) -> uuid.UUID:
    """A walk of ``organisation_id`` in Solberga from ``start`` (an aware datetime), reported
    back by ``reporter_id`` (``status="planned"`` makes one without a report)."""
    walk_id = uuid.uuid4()
    end = start + timedelta(hours=hours)
    reported = status != "planned"
    conn.execute(
        """
        INSERT INTO walks (id, organisation_id, area_id, planned_start, planned_end, started_at,
                           ended_at, walkers, status, meeting_point)
        VALUES (%s, %s, (SELECT id FROM areas WHERE slug = 'solberga'), %s, %s, %s, %s, %s, %s,
                ST_SetSRID(ST_MakePoint(18.0104, 59.2786), 4326))
        """,
        (
            walk_id,
            organisation_id,
            start,
            end,
            start if reported else None,
            end if reported else None,
            walkers if reported else None,
            status,
        ),
    )
    if reported:
        conn.execute(
            "INSERT INTO walk_reports (id, walk_id, reporter_id, started_at, ended_at, "
            "walkers_present, youths_met, mood) VALUES (%s, %s, %s, %s, %s, %s, 12, 'calm')",
            (uuid.uuid4(), walk_id, reporter_id, start, end, walkers),
        )
    return walk_id


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Stockholm wall-clock time on ``day``."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM)


def ledger_rows(conn: psycopg.Connection, walk_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT approval_no, kind, amount_sek FROM ledger_entries WHERE walk_id = %s ORDER BY id",
        (walk_id,),
    ).fetchall()
