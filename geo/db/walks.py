"""Walks (pass) in PostGIS: reading a walk and the list, and the walkers' own steps (sign-up,
withdrawal, guests, start and end).

The other families: `geo.db.walk_schedule` (creating, changing and cancelling walks, the log of
earlier seasons), `geo.db.walk_tracks` (the recorded track, walked tracks for maps),
`geo.db.walk_reports` (the report back), `geo.db.walk_views` (my walk tonight, the sign-up list,
the planners' flags, the area's numbers to call).

Who may do what is decided by the caller (the API's capability table); what depends on the
walk itself is checked here, in one transaction with the change: a walker signs up only for a
walk of their own club (`NotYourClub`). Errors are those of `geo.errors` and name the field to
fix; nothing is half-stored.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from geo.db import areas
from geo.db.queries import geometry_json
from geo.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidParameter,
    NotFound,
    NotYourClub,
)
from geo.geometry import DEFAULT_TIME_ZONE
from geo.walks import (
    STATUSES,
    period_bounds,
)

MAX_LIST = 1000
START_EARLY = timedelta(hours=1)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user's id and organisation (the API knows them from the sign-in)."""

    user_id: int
    organisation_id: int


# -- reading --------------------------------------------------------------------------------------

WALK_JSON = sql.SQL(
    """
    json_build_object(
        'id', w.id,
        'organisation', json_build_object('id', o.id, 'name', o.name),
        'area', a.slug,
        'meeting_point', {meeting_point},
        'meeting_place', CASE WHEN p.id IS NOT NULL
                              THEN json_build_object('id', p.id, 'name', p.name) END,
        'planned_start', w.planned_start,
        'planned_end', w.planned_end,
        'status', w.status,
        'cancel_reason', w.cancel_reason,
        'walkers_needed', w.walkers_needed,
        'signed_up', (SELECT count(*) FROM walk_signups s WHERE s.walk_id = w.id),
        'guests', w.guests,
        'route', CASE WHEN r.id IS NOT NULL
                      THEN json_build_object('id', r.id, 'name', r.name) END,
        'leader', CASE WHEN l.id IS NOT NULL
                       THEN json_build_object('id', l.id, 'display_name', l.display_name) END,
        'started_at', w.started_at,
        'ended_at', w.ended_at,
        'walkers', w.walkers,
        'reported', EXISTS (SELECT 1 FROM walk_reports wr WHERE wr.walk_id = w.id),
        'has_track', w.track IS NOT NULL,
        'notes', w.notes,
        'source', w.source,
        'synthetic', w.synthetic,
        'agreement', CASE WHEN wag.id IS NOT NULL
                          THEN json_build_object('id', wag.id, 'name', wag.name) END,
        'approved_at', w.approved_at,
        'reject_reason', w.reject_reason,
        'version', w.version,
        'updated_at', w.updated_at)
    """
).format(meeting_point=geometry_json("w.meeting_point"))

WALK_FROM = sql.SQL(
    """
    FROM walks w
    JOIN organisations o ON o.id = w.organisation_id
    LEFT JOIN areas a ON a.id = w.area_id
    LEFT JOIN places p ON p.id = w.meeting_place_id
    LEFT JOIN walk_routes r ON r.id = w.route_id
    LEFT JOIN users l ON l.id = w.leader_id
    LEFT JOIN agreements wag ON wag.id = w.agreement_id
    """
)


def get_walk(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    *,
    names_for: int | None = None,
    all_names: bool = False,
) -> dict[str, Any]:
    """A walk as a JSON object; with its sign-ups by display name when the reader may see them.

    ``all_names`` (planners) shows the sign-ups of every walk, ``names_for`` (a walker's
    organisation id) those of that club's walks only: walkers are named only to their own
    organisation and to planners (DESIGN.md decision 9).
    """
    row = conn.execute(
        sql.SQL("SELECT {}::text {} WHERE w.id = %s").format(WALK_JSON, WALK_FROM), (walk_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    walk: dict[str, Any] = json.loads(row[0])
    if all_names or (names_for is not None and names_for == walk["organisation"]["id"]):
        walk["signups"] = [
            {"user_id": r[0], "display_name": r[1]}
            for r in conn.execute(
                "SELECT u.id, u.display_name FROM walk_signups s JOIN users u ON u.id = s.user_id "
                "WHERE s.walk_id = %s ORDER BY s.created_at, u.id",
                (walk_id,),
            )
        ]
    return walk


_SELECT = "SELECT * FROM walks WHERE id = %s"
_SELECT_LOCKED = "SELECT * FROM walks WHERE id = %s FOR UPDATE"


def walk_row(conn: psycopg.Connection, walk_id: uuid.UUID, *, lock: bool = True) -> dict[str, Any]:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(_SELECT_LOCKED if lock else _SELECT, (walk_id,))
        .fetchone()
    )
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    return row


def list_walks(
    conn: psycopg.Connection,
    *,
    since: Any = None,
    until: Any = None,
    organisation: str | None = None,
    area: str | None = None,
    status: str | None = None,
    counts_only: bool = False,
    limit: int = MAX_LIST,
) -> dict[str, Any]:
    """Walks starting in ``[since, until)`` (dates are local days, ``until`` inclusive; or
    datetimes with a zone), oldest first, filtered by organisation name, area slug and status.

    ``counts_only`` answers only how many walks there are per status (for readers who may not
    see single walks: partners).
    """
    time_zone = DEFAULT_TIME_ZONE
    where: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    if area is not None:
        aid = areas.area_id(conn, area)
        zone_row = conn.execute("SELECT time_zone FROM areas WHERE id = %s", (aid,)).fetchone()
        time_zone = str(zone_row[0]) if zone_row else time_zone
        where.append(sql.SQL("w.area_id = %s"))
        params.append(aid)
    lo, hi = period_bounds(since, until, time_zone=time_zone)
    if lo is not None:
        where.append(sql.SQL("w.planned_start >= %s"))
        params.append(lo)
    if hi is not None:
        where.append(sql.SQL("w.planned_start < %s"))
        params.append(hi)
    if organisation is not None:
        org = conn.execute(
            "SELECT id FROM organisations WHERE name = %s", (organisation.strip(),)
        ).fetchone()
        if org is None:
            raise InvalidParameter(
                f"no organisation {organisation!r}; organisations are named by name",
                field="organisation",
            )
        where.append(sql.SQL("w.organisation_id = %s"))
        params.append(org[0])
    if status is not None:
        if status not in STATUSES:
            raise InvalidParameter(
                f"unknown status {status!r}: use one of {', '.join(STATUSES)}", field="status"
            )
        where.append(sql.SQL("w.status = %s"))
        params.append(status)
    cond = sql.SQL(" AND ").join(where)
    counts: dict[str, int] = dict(
        conn.execute(
            sql.SQL("SELECT w.status, count(*) FROM walks w WHERE {} GROUP BY w.status").format(
                cond
            ),
            params,
        ).fetchall()
    )
    total = sum(counts.values())
    if counts_only:
        return {"numberMatched": total, "by_status": {s: counts.get(s, 0) for s in STATUSES}}
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(json_agg(x.walk ORDER BY x.planned_start, x.id), '[]')::text FROM "
            "(SELECT {} AS walk, w.planned_start, w.id {} WHERE {} "
            "ORDER BY w.planned_start, w.id LIMIT %s) x"
        ).format(WALK_JSON, WALK_FROM, cond),
        [*params, limit],
    ).fetchone()
    walks = json.loads(row[0]) if row else []
    return {"numberMatched": total, "numberReturned": len(walks), "walks": walks}


# -- walkers --------------------------------------------------------------------------------------


def check_club(stored: dict[str, Any], actor: Actor, what: str) -> None:
    if stored["organisation_id"] != actor.organisation_id:
        raise NotYourClub(f"only walkers of the walk's club can {what}")


def sign_up(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Sign a walker up for a walk of their own club, until its planned end; whether new."""
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        check_club(stored, actor, "sign up for it")
        if stored["status"] not in ("planned", "ongoing"):
            raise Conflict(f"the walk is {stored['status']}: sign-up is closed")
        end = stored["planned_end"] or stored["planned_start"] + timedelta(hours=4)
        if now >= end:
            raise Conflict("the walk has ended: sign-up is closed")
        cur = conn.execute(
            "INSERT INTO walk_signups (walk_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (walk_id, actor.user_id),
        )
    return get_walk(conn, walk_id, names_for=actor.organisation_id), cur.rowcount == 1


def withdraw(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, now: datetime
) -> dict[str, Any]:
    """Withdraw a walker's sign-up (until the walk's planned end); withdrawing twice is fine."""
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        end = stored["planned_end"] or stored["planned_start"] + timedelta(hours=4)
        if now >= end:
            raise Conflict("the walk has ended: its sign-ups are history now")
        conn.execute(
            "DELETE FROM walk_signups WHERE walk_id = %s AND user_id = %s",
            (walk_id, actor.user_id),
        )
    return get_walk(conn, walk_id, names_for=actor.organisation_id)


def set_guests(
    conn: psycopg.Connection, walk_id: uuid.UUID, guests: int, actor: Actor, *, planner: bool
) -> dict[str, Any]:
    """Set how many walkers without an account walk (by the walk's leader or a planner)."""
    if isinstance(guests, bool) or not 0 <= guests <= 100:
        raise InvalidInput("guests must be a whole number 0–100", field="guests")
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        if not planner and stored["leader_id"] != actor.user_id:
            raise Forbidden(
                "only the walk's leader or a planner can add walkers without an account"
            )
        if stored["status"] in ("approved", "rejected", "cancelled"):
            raise Conflict(f"the walk is {stored['status']}")
        conn.execute(
            "UPDATE walks SET guests = %s, updated_at = now() WHERE id = %s", (guests, walk_id)
        )
    return get_walk(conn, walk_id, all_names=planner, names_for=actor.organisation_id)


def start_walk(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, now: datetime
) -> dict[str, Any]:
    """Start a walk (status ``ongoing``): a walker of the club, from an hour before its start.

    Starting a started walk again returns it unchanged (a retried tap).
    """
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        check_club(stored, actor, "start it")
        if stored["status"] == "ongoing":
            return get_walk(conn, walk_id, names_for=actor.organisation_id)
        if stored["status"] != "planned":
            raise Conflict(f"the walk is {stored['status']}: it cannot be started")
        if now < stored["planned_start"] - START_EARLY:
            raise Conflict(
                f"the walk starts at {stored['planned_start'].isoformat()}: start it at most an "
                "hour before"
            )
        end = stored["planned_end"] or stored["planned_start"] + timedelta(hours=4)
        if now > end + timedelta(hours=1):
            raise Conflict("the walk's time is over: report it back instead of starting it")
        conn.execute(
            "UPDATE walks SET status = 'ongoing', started_at = %s, version = version + 1, "
            "updated_at = now() WHERE id = %s",
            (now, walk_id),
        )
    return get_walk(conn, walk_id, names_for=actor.organisation_id)


def end_walk(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, now: datetime
) -> dict[str, Any]:
    """End an ongoing walk (``ended_at``); the report is next. Ending twice changes nothing."""
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        check_club(stored, actor, "end it")
        if stored["status"] != "ongoing":
            raise Conflict(f"the walk is {stored['status']}, not ongoing: start it first")
        if stored["ended_at"] is None:
            ended = min(
                max(now, stored["started_at"] + timedelta(seconds=1)),
                stored["started_at"] + timedelta(hours=12),
            )
            conn.execute(
                "UPDATE walks SET ended_at = %s, version = version + 1, updated_at = now() "
                "WHERE id = %s",
                (ended, walk_id),
            )
    return get_walk(conn, walk_id, names_for=actor.organisation_id)
