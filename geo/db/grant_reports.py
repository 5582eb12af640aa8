"""What a grant's partner reports on its reporting dates (redovisning; the last date is the final
report), and whether each date was met.

A report is keyed by a client-made UUID (`geo.db.idempotent.create_once`): the same report sent
again is stored once, the same id with another body is a 409 ``key_reused``. One report per
reporting date: a second one (another id) is a 409 ``grant_report_exists``.

A reporting date's status, on a given day: ``met`` (reported by the date), ``late`` (reported
after it), ``missed`` (the date has passed without a report), ``due`` (not yet reported, the
date still to come).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from geo.db.audit import write_audit
from geo.db.idempotent import create_once
from geo.errors import GrantReportExists, InvalidInput, NotFound
from geo.inputs import body_digest
from geo.inputs.agreements import GrantReportIn

REPORT_JSON = """
    json_build_object(
        'id', g.id,
        'due_on', g.due_on,
        'submitted_on', g.submitted_on,
        'covers_from', g.covers_from,
        'covers_until', g.covers_until,
        'activities', g.activities,
        'participants', g.participants,
        'summary', g.summary,
        'synthetic', g.synthetic,
        'created_at', g.created_at)
"""


def _grant(conn: psycopg.Connection, agreement_id: int) -> tuple[str, list[date]]:
    """The agreement's compensation and reporting dates; `NotFound` when there is none."""
    row = conn.execute(
        "SELECT compensation, reporting_dates FROM agreements WHERE id = %s", (agreement_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no agreement {agreement_id}; GET /api/v1/agreements lists them")
    return str(row[0]), list(row[1])


def reporting_status(due_on: date, submitted_on: date | None, *, today: date) -> str:
    """``met``, ``late``, ``missed`` or ``due`` (see the module's docstring).

    >>> reporting_status(date(2019, 2, 28), date(2019, 3, 4), today=date(2026, 1, 1))
    'late'
    >>> reporting_status(date(2019, 2, 28), None, today=date(2019, 2, 28))
    'due'
    """
    if submitted_on is not None:
        return "met" if submitted_on <= due_on else "late"
    return "missed" if due_on < today else "due"


def _report(conn: psycopg.Connection, report_id: Any) -> dict[str, Any]:
    row = conn.execute(
        f"SELECT {REPORT_JSON}::text FROM grant_reports g WHERE g.id = %s",  # noqa: S608
        (report_id,),
    ).fetchone()
    assert row is not None
    found: dict[str, Any] = json.loads(row[0])
    return found


def create_report(
    conn: psycopg.Connection, agreement_id: int, body: GrantReportIn, *, user_id: int | None
) -> tuple[dict[str, Any], bool]:
    """Store the report for one reporting date of a grant; the report and whether it is new.

    Refused with nothing written: an agreement that is no grant or a ``due_on`` that is not one
    of its reporting dates (422), a second report for the date (`GrantReportExists`).
    """
    compensation, dates = _grant(conn, agreement_id)
    if compensation != "grant":
        raise InvalidInput(
            "this agreement pays per walk: its walks are reported back one by one, and only "
            "grants take reports on reporting dates",
            field="due_on",
            code="not_a_grant",
        )
    if body.due_on not in dates:
        listed = ", ".join(d.isoformat() for d in dates) or "(none)"
        raise InvalidInput(
            f"{body.due_on} is not a reporting date of this grant; they are {listed}",
            field="due_on",
            code="not_a_reporting_date",
        )

    def values() -> dict[str, Any]:
        taken = conn.execute(
            "SELECT id FROM grant_reports WHERE agreement_id = %s AND due_on = %s",
            (agreement_id, body.due_on),
        ).fetchone()
        if taken is not None:
            raise GrantReportExists(
                f"the reporting date {body.due_on} has a report already ({taken[0]})"
            )
        return {
            "agreement_id": agreement_id,
            "due_on": body.due_on,
            "submitted_on": body.submitted_on,
            "covers_from": body.covers_from,
            "covers_until": body.covers_until,
            "activities": body.activities,
            "participants": body.participants,
            "summary": body.summary,
            "created_by": user_id,
        }

    with conn.transaction():
        try:
            report_id, created = create_once(
                conn,
                "grant_reports",
                key=body.id,
                key_column="id",
                digest=body_digest(body),
                values=values,
                conflict="this report id was used for another report: make a new id",
                same={"agreement_id": agreement_id},
            )
        except pg_errors.UniqueViolation:  # another id for the date, stored concurrently
            raise GrantReportExists(
                f"the reporting date {body.due_on} has a report already"
            ) from None
        if created and user_id is not None:
            write_audit(
                conn,
                user_id=user_id,
                action="grant_report.create",
                subject=f"agreement:{agreement_id}",
                details={"report": str(report_id), "due_on": body.due_on.isoformat()},
            )
        return _report(conn, report_id), created


def list_reports(conn: psycopg.Connection, agreement_id: int, *, today: date) -> dict[str, Any]:
    """A grant's reports (by due date) and the status of each reporting date on ``today``."""
    _, dates = _grant(conn, agreement_id)
    row = conn.execute(
        f"SELECT coalesce(json_agg({REPORT_JSON} ORDER BY g.due_on), '[]')::text "  # noqa: S608
        "FROM grant_reports g WHERE g.agreement_id = %s",
        (agreement_id,),
    ).fetchone()
    assert row is not None
    reports: list[dict[str, Any]] = json.loads(row[0])
    submitted = {r["due_on"]: date.fromisoformat(r["submitted_on"]) for r in reports}
    ordered = sorted(dates)
    return {
        "reports": reports,
        "reporting_dates": [
            {
                "due_on": d.isoformat(),
                "final": i == len(ordered) - 1,
                "status": reporting_status(d, submitted.get(d.isoformat()), today=today),
            }
            for i, d in enumerate(ordered)
        ],
    }
