"""What planners and walkers look at: walks short of walkers, walks not reported, a walker's
sign-up list, the walks they are to report back and their walk tonight with the area's numbers
to call (and setting them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from geo.db import areas
from geo.db.queries import geometry_json
from geo.db.walks import WALK_FROM, WALK_JSON, Actor, get_walk
from geo.errors import (
    InvalidInput,
)
from geo.inputs.admin import PHONE

TONIGHT = timedelta(hours=12)
UNREPORTED_AFTER = timedelta(days=2)
REPORT_WITHIN = timedelta(days=7)
DEFAULT_POLICE = "114 14"
DEFAULT_EMERGENCY = "112"


# -- planners' and walkers' views -----------------------------------------------------------------


def _walk_list(
    conn: psycopg.Connection,
    where: sql.Composable,
    params: Sequence[Any] | Mapping[str, Any],
) -> list[dict[str, Any]]:
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(json_agg(x.walk ORDER BY x.planned_start, x.id), '[]')::text FROM "
            "(SELECT {} AS walk, w.planned_start, w.id {} WHERE {}) x"
        ).format(WALK_JSON, WALK_FROM, where),
        params,
    ).fetchone()
    return json.loads(row[0]) if row else []


def short_of_walkers(
    conn: psycopg.Connection, *, now: datetime, days: int = 7, area: str | None = None
) -> list[dict[str, Any]]:
    """Planned walks of the coming ``days`` with fewer sign-ups and guests than needed."""
    params: list[Any] = [now, now + timedelta(days=days)]
    where: sql.Composable = sql.SQL(
        "w.status = 'planned' AND w.planned_start >= %s AND w.planned_start < %s "
        "AND (SELECT count(*) FROM walk_signups s WHERE s.walk_id = w.id) + w.guests "
        "< w.walkers_needed"
    )
    if area is not None:
        where = sql.SQL("{} AND w.area_id = %s").format(where)
        params.append(areas.area_id(conn, area))
    return _walk_list(conn, where, params)


def unreported(
    conn: psycopg.Connection, *, now: datetime, after: timedelta = UNREPORTED_AFTER
) -> list[dict[str, Any]]:
    """Walks planned (or started) but not reported ``after`` (two days) past their end."""
    return _walk_list(
        conn,
        sql.SQL(
            "w.status IN ('planned', 'ongoing') "
            "AND coalesce(w.planned_end, w.planned_start + interval '4 hours') < %s "
            "AND NOT EXISTS (SELECT 1 FROM walk_reports r WHERE r.walk_id = w.id)"
        ),
        [now - after],
    )


def club_walks(
    conn: psycopg.Connection, actor: Actor, *, now: datetime, days: int = 180
) -> list[dict[str, Any]]:
    """The sign-up list of a walker: the club's walks that have not ended, within ``days``,
    each with whether the walker is signed up (``signed_up_by_me``) or leads it."""
    found = _walk_list(
        conn,
        sql.SQL(
            "w.organisation_id = %s AND w.status IN ('planned', 'ongoing') "
            "AND coalesce(w.planned_end, w.planned_start + interval '4 hours') >= %s "
            "AND w.planned_start < %s"
        ),
        [actor.organisation_id, now, now + timedelta(days=days)],
    )
    mine = {
        str(r[0])
        for r in conn.execute(
            "SELECT walk_id FROM walk_signups WHERE user_id = %s", (actor.user_id,)
        )
    }
    for walk in found:
        walk["signed_up_by_me"] = walk["id"] in mine
        walk["leading"] = bool(walk["leader"]) and walk["leader"]["id"] == actor.user_id
    return found


def walks_to_report(
    conn: psycopg.Connection, actor: Actor, *, now: datetime, within: timedelta = REPORT_WITHIN
) -> list[dict[str, Any]]:
    """The walks the user is to report back: of their club, led or signed up for, ended in the
    app or past their planned end within ``within`` (seven days), not cancelled and without a
    report; each with its sign-ups by display name, which the report form starts from.

    A walk never started in the app counts as well as one ended on another phone: the report's
    own times are what counts.
    """
    # A walk without a planned end lasts four hours, as in the other views.
    end = sql.SQL("coalesce(w.planned_end, w.planned_start + interval '4 hours')")
    found = _walk_list(
        conn,
        sql.SQL(
            "w.organisation_id = %(org)s AND w.status IN ('planned', 'ongoing') "
            "AND (w.leader_id = %(user)s OR EXISTS ("
            "SELECT 1 FROM walk_signups s WHERE s.walk_id = w.id AND s.user_id = %(user)s)) "
            "AND (w.ended_at IS NOT NULL OR {end} < %(now)s) "
            "AND coalesce(w.ended_at, {end}) >= %(since)s "
            "AND NOT EXISTS (SELECT 1 FROM walk_reports r WHERE r.walk_id = w.id)"
        ).format(end=end),
        {
            "org": actor.organisation_id,
            "user": actor.user_id,
            "now": now,
            "since": now - within,
        },
    )
    names: dict[str, list[dict[str, Any]]] = {w["id"]: [] for w in found}
    if names:
        for walk_id, uid, display_name in conn.execute(
            "SELECT s.walk_id::text, u.id, u.display_name FROM walk_signups s "
            "JOIN users u ON u.id = s.user_id WHERE s.walk_id = ANY(%s::uuid[]) "
            "ORDER BY s.created_at, u.id",
            (list(names),),
        ):
            names[walk_id].append({"user_id": uid, "display_name": display_name})
    for walk in found:
        walk["signups"] = names[walk["id"]]
        walk["leading"] = bool(walk["leader"]) and walk["leader"]["id"] == actor.user_id
    return found


def my_walk_tonight(
    conn: psycopg.Connection, actor: Actor, *, now: datetime
) -> dict[str, Any] | None:
    """The user's walk (signed up or leading) under way or starting within 12 hours: when and
    where to meet, the route, who walks (display names, within the club), the leader and the
    area's numbers to call. None when there is none."""
    row = conn.execute(
        """
        SELECT w.id FROM walks w
        WHERE w.status IN ('planned', 'ongoing') AND w.ended_at IS NULL
          AND w.organisation_id = %(org)s
          AND (w.leader_id = %(user)s OR EXISTS (
                SELECT 1 FROM walk_signups s WHERE s.walk_id = w.id AND s.user_id = %(user)s))
          AND w.planned_start <= %(now)s + %(ahead)s
          AND coalesce(w.planned_end, w.planned_start + interval '4 hours') >= %(now)s
        ORDER BY w.planned_start, w.id LIMIT 1
        """,
        {"org": actor.organisation_id, "user": actor.user_id, "now": now, "ahead": TONIGHT},
    ).fetchone()
    if row is None:
        return None
    walk = get_walk(conn, row[0], names_for=actor.organisation_id)
    extra = conn.execute(
        sql.SQL(
            """
            SELECT {route}, a.field_worker_phone, a.police_phone, a.emergency_phone, a.name
            FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
            LEFT JOIN areas a ON a.id = w.area_id WHERE w.id = %s
            """
        ).format(route=geometry_json("r.geom")),
        (row[0],),
    ).fetchone()
    assert extra is not None
    walk["route_geometry"] = extra[0]
    walk["area_name"] = extra[4]
    walk["contacts"] = {
        "field_worker": extra[1],
        "police": extra[2] or DEFAULT_POLICE,
        "emergency": extra[3] or DEFAULT_EMERGENCY,
    }
    return walk


def set_area_contacts(
    conn: psycopg.Connection,
    slug: str,
    *,
    field_worker: str | None = None,
    police: str | None = None,
    emergency: str | None = None,
) -> dict[str, str | None]:
    """Set an area's numbers to call during a walk (the ones given); return all three."""
    given = {
        "field_worker_phone": field_worker,
        "police_phone": police,
        "emergency_phone": emergency,
    }
    for column, value in given.items():
        if value is not None and not PHONE.fullmatch(value.strip()):
            option = column.removesuffix("_phone").replace("_", "-")
            raise InvalidInput(
                f"{value!r} is not a phone number: digits, spaces and dashes, e.g. 08-508 000 00",
                field=option,
            )
    aid = areas.area_id(conn, slug)
    with conn.transaction():
        for column, value in given.items():
            if value is not None:
                conn.execute(
                    sql.SQL("UPDATE areas SET {} = %s, updated_at = now() WHERE id = %s").format(
                        sql.Identifier(column)
                    ),
                    (value.strip(), aid),
                )
    row = conn.execute(
        "SELECT field_worker_phone, police_phone, emergency_phone FROM areas WHERE id = %s",
        (aid,),
    ).fetchone()
    assert row is not None
    return {"field_worker": row[0], "police": row[1], "emergency": row[2]}
