"""A reporter's own deviation reports: withdraw one ("Ångra", within 10 minutes) and correct one
("Rätta", within 24 hours, until a planner has triaged it).

Both find the report the same way (`own_report`): under the report's key lock (so that a resend,
a withdrawal and a correction of one report take turns), refusing a withdrawn id, and answering
`NotFound` for another user's report (it is not theirs to know of). Every change of a report's
row bumps its area's list version (the triggers of migration 0010), so open maps see a
correction on their next poll.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg.rows import class_row

from geo.db import audit
from geo.db.deviations import check_place, is_withdrawn, lock_report
from geo.errors import AlreadyTriaged, NotFound, TooLateToCorrect, TooLateToWithdraw, Withdrawn
from geo.inputs import ReportCorrection

WITHDRAW_WITHIN = timedelta(minutes=10)
"""How long after it was stored a reporter may withdraw a report ("Ångra" on the phone)."""
CORRECT_WITHIN = timedelta(hours=24)
"""How long after it was stored a reporter may correct a report ("Mina rapporter")."""


@dataclass(frozen=True)
class OwnReport:
    """What the reporter's changes are checked against (one row of ``deviations``)."""

    id: uuid.UUID
    category: str
    status: str
    lon: float
    lat: float
    age: timedelta
    """Since it was stored (the database's clock)."""


def own_report(conn: psycopg.Connection, deviation_id: uuid.UUID, *, reporter_id: int) -> OwnReport:
    """The reporter's own report, locked for the rest of the caller's transaction.

    `Withdrawn` for a withdrawn id, `NotFound` when there is no such report of this reporter.
    """
    lock_report(conn, deviation_id)
    if is_withdrawn(conn, deviation_id):
        raise Withdrawn(f"report {deviation_id} is withdrawn")
    with conn.cursor(row_factory=class_row(OwnReport)) as cur:
        row = cur.execute(
            "SELECT id, category, status, ST_X(geom) AS lon, ST_Y(geom) AS lat, "
            "now() - reported_at AS age FROM deviations "
            "WHERE id = %s AND reporter_id = %s FOR UPDATE",
            (deviation_id, reporter_id),
        ).fetchone()
    if row is None:
        raise NotFound(f"no report {deviation_id} of yours")
    return row


def withdraw_report(
    conn: psycopg.Connection,
    deviation_id: uuid.UUID,
    *,
    reporter_id: int,
    within: timedelta = WITHDRAW_WITHIN,
) -> None:
    """Withdraw a report by its reporter, within ``within`` of storing it ("Ångra").

    The row is deleted (so the report leaves every list, aggregate, heat map and export) and its
    id is kept in ``withdrawn_deviations``: a resend of it is `Withdrawn` (410) and stores
    nothing, also a resend that waited for this withdrawal on the key's lock. Withdrawing it
    again is `Withdrawn` too. Another user's report is `NotFound` (it is not theirs to know of);
    an older one `TooLateToWithdraw`. The caller writes the audit row.
    """
    with conn.transaction():
        report = own_report(conn, deviation_id, reporter_id=reporter_id)
        if report.age > within:
            raise TooLateToWithdraw(
                f"report {deviation_id} was stored more than {within.total_seconds() / 60:g} "
                "minutes ago: ask a planner to dismiss it instead"
            )
        conn.execute("DELETE FROM deviations WHERE id = %s", (deviation_id,))
        conn.execute(
            "INSERT INTO withdrawn_deviations (id, reporter_id) VALUES (%s, %s)",
            (deviation_id, reporter_id),
        )


def correct_report(
    conn: psycopg.Connection,
    deviation_id: uuid.UUID,
    correction: ReportCorrection,
    *,
    reporter_id: int,
    within: timedelta = CORRECT_WITHIN,
) -> list[str]:
    """Correct a report by its reporter: its category, severity, note or place; returns the
    members changed. Audited (``deviation.correct``, with the names of the members, not
    their values).

    Within ``within`` of storing it (else `TooLateToCorrect`) and while it is ``new``: once a
    planner confirmed or dismissed it, `AlreadyTriaged`. A new place is checked as a new
    report's (within 2 km of an area) and may move the report to another area; its GPS accuracy
    no longer applies. The stored body digest stays, so a resend of the original report from a
    phone's queue is still answered as the same report (200) and changes nothing back.
    """
    with conn.transaction():
        report = own_report(conn, deviation_id, reporter_id=reporter_id)
        if report.age > within:
            raise TooLateToCorrect(
                f"report {deviation_id} was stored more than {within.total_seconds() / 3600:g} "
                "hours ago: ask a planner to correct or dismiss it"
            )
        if report.status != "new":
            raise AlreadyTriaged(
                f"report {deviation_id} was marked {report.status} by a planner: ask them to "
                "change it"
            )
        fields = correction.changed()
        category = correction.category or report.category
        point = correction.geometry
        area_id: int | None = None
        if correction.category is not None or point is not None:
            area_id = check_place(
                conn,
                category=category,
                lon=point.lon if point else report.lon,
                lat=point.lat if point else report.lat,
                category_field="category",
            )
        conn.execute(
            """
            UPDATE deviations SET
                category = %(category)s,
                severity = coalesce(%(severity)s, severity),
                description = CASE WHEN %(set_description)s THEN %(description)s
                                   ELSE description END,
                geom = CASE WHEN %(moved)s
                            THEN ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) ELSE geom END,
                accuracy_m = CASE WHEN %(moved)s THEN NULL ELSE accuracy_m END,
                area_id = coalesce(%(area_id)s, area_id)
            WHERE id = %(id)s
            """,
            {
                "category": category,
                "severity": correction.severity,
                "set_description": "description" in fields,
                "description": correction.description,
                "moved": point is not None,
                "lon": point.lon if point else None,
                "lat": point.lat if point else None,
                "area_id": area_id,
                "id": deviation_id,
            },
        )
        audit.write_audit(
            conn,
            user_id=reporter_id,
            action="deviation.correct",
            subject=str(deviation_id),
            details={"fields": fields},
        )
    return fields
