"""The report back after a walk (återrapportering): one per walk, idempotent by its own client
UUID, by a walker of the club; corrected by its reporter until the walk is approved.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg

from geo.db.queries import stale_version
from geo.db.walks import Actor, check_club, walk_row
from geo.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ReportExists,
    WalkCancelled,
)
from geo.inputs import body_digest
from geo.inputs.walks import ReportIn

MAX_REPORT_FUTURE = timedelta(minutes=10)


# -- the report back ------------------------------------------------------------------------------


def get_report(conn: psycopg.Connection, walk_id: uuid.UUID) -> dict[str, Any]:
    """The walk's report as a JSON object (with whether fewer walkers came than needed)."""
    row = conn.execute(
        """
        SELECT json_build_object(
            'id', r.id, 'walk_id', r.walk_id, 'reporter_id', r.reporter_id,
            'started_at', r.started_at, 'ended_at', r.ended_at,
            'walkers_present', r.walkers_present, 'youths_met', r.youths_met, 'mood', r.mood,
            'contacts', to_json(r.contacts), 'summary', r.summary, 'version', r.version,
            'synthetic', r.synthetic, 'created_at', r.created_at, 'updated_at', r.updated_at,
            'walkers_needed', w.walkers_needed,
            'short_of_walkers', r.walkers_present < w.walkers_needed)::text
        FROM walk_reports r JOIN walks w ON w.id = r.walk_id WHERE r.walk_id = %s
        """,
        (walk_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"walk {walk_id} has no report yet")
    result: dict[str, Any] = json.loads(row[0])
    return result


def _check_report_times(stored: dict[str, Any], report: ReportIn, now: datetime) -> None:
    if report.ended_at > now + MAX_REPORT_FUTURE:
        raise InvalidInput(
            "ended_at is in the future: report a walk after it ends", field="ended_at"
        )
    if abs(report.started_at - stored["planned_start"]) > timedelta(hours=12):
        raise InvalidInput(
            f"started_at is more than 12 h from the walk's planned start "
            f"({stored['planned_start'].isoformat()}): is it the right walk?",
            field="started_at",
        )


def _reported(report: ReportIn) -> tuple[Any, ...]:
    """What the report says of the walk, in the column order of its INSERT and UPDATE:
    started_at, ended_at, walkers_present, youths_met, mood, contacts, summary."""
    return (
        report.started_at,
        report.ended_at,
        report.walkers_present,
        report.youths_met,
        report.mood,
        list(report.contacts),
        report.summary,
    )


def create_report(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    report: ReportIn,
    actor: Actor,
    *,
    now: datetime,
    synthetic: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Store the report back of a walk by a walker of its club; the walk becomes ``reported``.

    Idempotent by the report's own ``id`` (the same body returns the stored report and
    ``False``). A second report for the walk is a `Conflict` that says one exists (correct it
    with `correct_report`); a cancelled walk takes no report.
    """
    digest = body_digest(report)
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        check_club(stored, actor, "report it back")
        existing = conn.execute(
            "SELECT id, body_sha256 FROM walk_reports WHERE walk_id = %s", (walk_id,)
        ).fetchone()
        if existing is not None:
            if existing[0] == report.id and existing[1] == digest:
                return get_report(conn, walk_id), False
            raise ReportExists(
                f"walk {walk_id} has a report already (id {existing[0]}): correct it with "
                "PATCH instead of sending a second one"
            )
        if conn.execute("SELECT 1 FROM walk_reports WHERE id = %s", (report.id,)).fetchone():
            raise Conflict(
                f"a report with id {report.id} exists for another walk: make a new "
                "UUID for a new report"
            )
        if stored["status"] == "cancelled":
            raise WalkCancelled(
                f"the walk was cancelled ({stored['cancel_reason']}): a cancelled walk takes no "
                "report"
            )
        if stored["status"] not in ("planned", "ongoing"):
            raise Conflict(f"the walk is {stored['status']}: it takes no new report")
        _check_report_times(stored, report, now)
        conn.execute(
            """
            INSERT INTO walk_reports (id, walk_id, reporter_id, started_at, ended_at,
                                      walkers_present, youths_met, mood, contacts, summary,
                                      body_sha256, synthetic)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (
                report.id,
                walk_id,
                actor.user_id,
                *_reported(report),
                digest,
                synthetic,
            ),
        )
        # The report's times count (a leader may have forgotten to tap Start).
        conn.execute(
            "UPDATE walks SET status = 'reported', started_at = %s, ended_at = %s, walkers = %s, "
            "version = version + 1, updated_at = now() WHERE id = %s",
            (report.started_at, report.ended_at, report.walkers_present, walk_id),
        )
    return get_report(conn, walk_id), True


def correct_report(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    report: ReportIn,
    actor: Actor,
    *,
    now: datetime,
    version: int,
) -> dict[str, Any]:
    """Correct a report: by its reporter, until the walk is approved (or rejected)."""
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        row = conn.execute(
            "SELECT reporter_id, version, id FROM walk_reports WHERE walk_id = %s FOR UPDATE",
            (walk_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"walk {walk_id} has no report yet")
        if row[0] != actor.user_id:
            raise Forbidden("only the walker who reported the walk can correct the report")
        if stored["status"] != "reported":
            raise Conflict(f"the walk is {stored['status']}: its report can no longer change")
        if row[1] != version:
            raise stale_version(
                conn,
                "walk_reports",
                "walk_id",
                walk_id,
                version,
                noun="report",
                missing=f"walk {walk_id} has no report yet",
            )
        if report.id != row[2]:
            raise InvalidInput(f"the report's id is {row[2]}", field="id")
        _check_report_times(stored, report, now)
        conn.execute(
            """
            UPDATE walk_reports SET started_at = %s, ended_at = %s, walkers_present = %s,
                   youths_met = %s, mood = %s, contacts = %s, summary = %s, body_sha256 = %s,
                   version = version + 1, updated_at = now()
            WHERE walk_id = %s
            """,
            (
                *_reported(report),
                body_digest(report),
                walk_id,
            ),
        )
        conn.execute(
            "UPDATE walks SET started_at = %s, ended_at = %s, walkers = %s, updated_at = now() "
            "WHERE id = %s",
            (report.started_at, report.ended_at, report.walkers_present, walk_id),
        )
    return get_report(conn, walk_id)
