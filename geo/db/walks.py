"""Walks (pass) in PostGIS: the schedule, sign-ups, the walk itself, its track and the report
back (återrapportering), and the walked tracks that maps and exports show.

Who may do what is decided by the caller (the API's capability table); what depends on the
walk itself is checked here, in one transaction with the change: a walker signs up only for a
walk of their own club, the report comes from the club, a cancelled walk takes no report.
Errors are those of `geo.errors` and name the field to fix; nothing is half-stored.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from shapely import Geometry, to_wkb

from geo.db import areas
from geo.db.idempotent import Expr, create_once
from geo.db.queries import feature_collection, feature_sql, geometry_json, stale_version
from geo.errors import (
    Conflict,
    Forbidden,
    InvalidGeometry,
    InvalidInput,
    InvalidParameter,
    NotFound,
)
from geo.geometry import DEFAULT_TIME_ZONE
from geo.inputs import body_digest
from geo.walks import (
    DEFAULT_WALKERS_NEEDED,
    STATUSES,
    LogRow,
    RefusedRow,
    ReportIn,
    SeriesIn,
    TrackPoint,
    WalkIn,
    WalkPatch,
    expand_series,
    period_bounds,
)

NEAR_AREA_M = 2000
MAX_LIST = 1000
START_EARLY = timedelta(hours=1)
TONIGHT = timedelta(hours=12)
UNREPORTED_AFTER = timedelta(days=2)
MAX_REPORT_FUTURE = timedelta(minutes=10)
PHONE = re.compile(r"^\+?[0-9][0-9 -]{1,29}$")
DEFAULT_POLICE = "114 14"
DEFAULT_EMERGENCY = "112"


@dataclass(frozen=True)
class Actor:
    """Who acts: a user's id and organisation (the API knows them from the sign-in)."""

    user_id: int
    organisation_id: int


# -- reading --------------------------------------------------------------------------------------

_WALK_JSON = sql.SQL(
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
        'version', w.version,
        'updated_at', w.updated_at)
    """
).format(meeting_point=geometry_json("w.meeting_point"))

_FROM = sql.SQL(
    """
    FROM walks w
    JOIN organisations o ON o.id = w.organisation_id
    LEFT JOIN areas a ON a.id = w.area_id
    LEFT JOIN places p ON p.id = w.meeting_place_id
    LEFT JOIN walk_routes r ON r.id = w.route_id
    LEFT JOIN users l ON l.id = w.leader_id
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
        sql.SQL("SELECT {}::text {} WHERE w.id = %s").format(_WALK_JSON, _FROM), (walk_id,)
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


def _walk_row(conn: psycopg.Connection, walk_id: uuid.UUID, *, lock: bool = True) -> dict[str, Any]:
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
        ).format(_WALK_JSON, _FROM, cond),
        [*params, limit],
    ).fetchone()
    walks = json.loads(row[0]) if row else []
    return {"numberMatched": total, "numberReturned": len(walks), "walks": walks}


# -- creating -------------------------------------------------------------------------------------


def club_id(conn: psycopg.Connection, name: str, *, field: str = "organisation") -> int:
    """The id of the club named ``name``; `InvalidInput` listing the clubs when unknown."""
    row = conn.execute(
        "SELECT id, kind FROM organisations WHERE name = %s", (name.strip(),)
    ).fetchone()
    if row is None or row[1] != "club":
        clubs = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM organisations WHERE kind = 'club' ORDER BY name"
            )
        ]
        what = "no organisation" if row is None else "not a club:"
        raise InvalidInput(
            f"{what} {name!r}; walks are walked by clubs: {', '.join(clubs) or '(none yet)'}",
            field=field,
        )
    return int(row[0])


def _meeting(
    conn: psycopg.Connection, point: tuple[float, float] | None, place: int | None
) -> tuple[float, float, int | None]:
    """The meeting position (lon, lat) and place id, checked against the known areas."""
    if place is not None:
        _, lon, lat = areas.place_point(conn, place, field="meeting_place")
        return lon, lat, place
    assert point is not None
    return point[0], point[1], None


def _area_near(
    conn: psycopg.Connection,
    lon: float,
    lat: float,
    area: str | None,
    *,
    field: str,
    prefer: int | None = None,
) -> int:
    """The walk's area: the one given, else ``prefer`` (the stored one) when it is within 2 km
    of the meeting point, else the nearest within 2 km."""
    row = conn.execute(
        """
        WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS g)
        SELECT a.id, a.slug FROM areas a, pt
        WHERE a.geom && ST_Expand(pt.g, 0.1)
          AND ST_DWithin(a.geom::geography, pt.g::geography, %s)
        ORDER BY ST_Distance(a.geom::geography, pt.g::geography), a.id
        """,
        (lon, lat, NEAR_AREA_M),
    ).fetchall()
    if not row:
        hint = ""
        if -90 <= lon <= 90:
            swapped = conn.execute(
                "SELECT 1 FROM areas WHERE ST_DWithin(geom::geography, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s) LIMIT 1",
                (lat, lon, NEAR_AREA_M),
            ).fetchone()
            if swapped:
                hint = f"; the coordinates look swapped: send [{lat}, {lon}]"
        raise InvalidGeometry(
            f"the meeting point [{lon}, {lat}] is farther than {NEAR_AREA_M / 1000:g} km from "
            f"every known area (GeoJSON order is [longitude, latitude]){hint}",
            field=field,
        )
    near = {int(r[0]) for r in row}
    if area is None:
        return prefer if prefer in near else int(row[0][0])
    aid = areas.area_id(conn, area)
    if aid not in near:
        raise InvalidInput(
            f"the meeting point is more than {NEAR_AREA_M / 1000:g} km from area {area!r}",
            field="area",
        )
    return aid


def _check_leader(conn: psycopg.Connection, leader_id: int | None, organisation_id: int) -> None:
    if leader_id is None:
        return
    row = conn.execute(
        "SELECT organisation_id, disabled FROM users WHERE id = %s", (leader_id,)
    ).fetchone()
    if row is None or row[1]:
        raise InvalidInput(f"no user {leader_id}", field="leader_id")
    if row[0] != organisation_id:
        raise InvalidInput("the leader must be a walker of the walk's club", field="leader_id")


def _check_route(conn: psycopg.Connection, route_id: int | None) -> None:
    if (
        route_id is not None
        and not conn.execute("SELECT 1 FROM walk_routes WHERE id = %s", (route_id,)).fetchone()
    ):
        raise InvalidInput(
            f"no walk route {route_id}; GET /api/v1/routes lists them", field="route_id"
        )


def _walkers_needed(
    conn: psycopg.Connection, organisation_id: int, start: datetime, given: int | None
) -> int:
    """The walkers a walk needs: as given, else its agreement's, else six."""
    if given is not None:
        return given
    row = conn.execute(
        """
        SELECT a.walkers_per_walk FROM agreements a
        JOIN agreement_parties p ON p.agreement_id = a.id
        WHERE p.organisation_id = %s
          AND (%s AT TIME ZONE %s)::date BETWEEN a.starts_on AND a.ends_on
        ORDER BY a.starts_on DESC LIMIT 1
        """,
        (organisation_id, start, DEFAULT_TIME_ZONE),
    ).fetchone()
    return int(row[0]) if row else DEFAULT_WALKERS_NEEDED


def _insert_walk(
    conn: psycopg.Connection,
    walk: WalkIn,
    *,
    organisation_id: int,
    area_id: int,
    lon: float,
    lat: float,
    place_id: int | None,
    user_id: int | None,
    source: str,
    series_id: uuid.UUID | None,
    synthetic: bool,
) -> bool:
    """Insert a walk unless its id exists (`geo.db.idempotent.create_once`): whether it was
    new; `KeyReused` (409) for another body under the same id."""
    _, created = create_once(
        conn,
        "walks",
        key=walk.id,
        key_column="id",
        digest=body_digest(walk),
        conflict=(
            f"a different walk with id {walk.id} exists already: make a new UUID for a new "
            "walk (resend only exactly the same walk), or PATCH the stored one"
        ),
        values=lambda: {
            "organisation_id": organisation_id,
            "area_id": area_id,
            "route_id": walk.route_id,
            "meeting_point": Expr("ST_SetSRID(ST_MakePoint(%s, %s), 4326)", lon, lat),
            "meeting_place_id": place_id,
            "planned_start": walk.planned_start,
            "planned_end": walk.planned_end,
            "walkers_needed": _walkers_needed(
                conn, organisation_id, walk.planned_start, walk.walkers_needed
            ),
            "leader_id": walk.leader_id,
            "notes": walk.notes,
            "series_id": series_id,
            "source": source,
            "synthetic": synthetic,
            "created_by": user_id,
        },
    )
    return bool(created)


def create_walk(
    conn: psycopg.Connection,
    walk: WalkIn,
    *,
    user_id: int | None,
    synthetic: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Store a walk once; return it and whether it is new (201) or the stored one (200).

    The same ``id`` with another body is a `Conflict`; an unknown club, a meeting point far
    from every area, an unknown route or leader an `InvalidInput` naming the field.
    """
    with conn.transaction():
        org = club_id(conn, walk.organisation)
        lon, lat, place = _meeting(conn, walk.meeting_point, walk.meeting_place)
        area_id = _area_near(conn, lon, lat, walk.area, field="meeting_point")
        _check_route(conn, walk.route_id)
        _check_leader(conn, walk.leader_id, org)
        new = _insert_walk(
            conn,
            walk,
            organisation_id=org,
            area_id=area_id,
            lon=lon,
            lat=lat,
            place_id=place,
            user_id=user_id,
            source="demo" if synthetic else "api",
            series_id=None,
            synthetic=synthetic,
        )
    return get_walk(conn, walk.id, all_names=True), new


def create_series(
    conn: psycopg.Connection, series: SeriesIn, *, user_id: int | None, synthetic: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """Store the walks of a series (in the area's time zone); return them and how many are new.

    Sending the same series again makes no duplicates (walk ids are uuid5 of the series id and
    the date); a walk of the series changed since is a `Conflict`, and then nothing is stored.
    """
    with conn.transaction():
        org = club_id(conn, series.organisation)
        lon, lat, place = _meeting(conn, series.meeting_point, series.meeting_place)
        area_id = _area_near(conn, lon, lat, series.area, field="meeting_point")
        _check_route(conn, series.route_id)
        _check_leader(conn, series.leader_id, org)
        zone = conn.execute("SELECT time_zone FROM areas WHERE id = %s", (area_id,)).fetchone()
        assert zone is not None
        walks = expand_series(series, time_zone=str(zone[0]))
        new = 0
        for walk in walks:
            new += _insert_walk(
                conn,
                walk,
                organisation_id=org,
                area_id=area_id,
                lon=lon,
                lat=lat,
                place_id=place,
                user_id=user_id,
                source="demo" if synthetic else "series",
                series_id=series.id,
                synthetic=synthetic,
            )
    return [get_walk(conn, w.id, all_names=True) for w in walks], new


# -- changing -------------------------------------------------------------------------------------


def patch_walk(
    conn: psycopg.Connection, walk_id: uuid.UUID, patch: WalkPatch, *, user_id: int | None
) -> dict[str, Any]:
    """Change a planned walk's times, meeting point, route, leader, walkers needed or notes, or
    cancel it (``cancel_reason``); ``patch.version`` must be the stored version."""
    sets = patch.model_fields_set - {"version"}
    if not sets:
        raise InvalidInput(
            "nothing to change: send the fields to change with version", field="version"
        )
    with conn.transaction():
        stored = _walk_row(conn, walk_id)
        if stored["version"] != patch.version:
            raise stale_version(
                conn,
                "walks",
                "id",
                walk_id,
                patch.version,
                noun="walk",
                missing=f"no walk {walk_id}",
            )
        if stored["status"] != "planned":
            raise Conflict(
                f"the walk is {stored['status']}: only a planned walk can be changed or cancelled"
            )
        start = patch.planned_start or stored["planned_start"]
        end = patch.planned_end or stored["planned_end"]
        if end is not None and end <= start:
            raise InvalidInput("the walk must end after it starts", field="planned_end")
        if end is not None and end - start > timedelta(hours=12):
            raise InvalidInput("the walk lasts more than 12 h", field="planned_end")
        values: dict[str, Any] = {"planned_start": start, "planned_end": end}
        if "meeting_point" in sets or "meeting_place" in sets:
            lon, lat, place = _meeting(conn, patch.meeting_point, patch.meeting_place)
            values["area_id"] = _area_near(
                conn, lon, lat, None, field="meeting_point", prefer=stored["area_id"]
            )
            values["meeting_lon"], values["meeting_lat"] = lon, lat
            values["meeting_place_id"] = place
        if "route_id" in sets:
            _check_route(conn, patch.route_id)
            values["route_id"] = patch.route_id
        if "leader_id" in sets:
            _check_leader(conn, patch.leader_id, stored["organisation_id"])
            values["leader_id"] = patch.leader_id
        for name in ("walkers_needed", "notes", "cancel_reason"):
            if name in sets and getattr(patch, name) is not None:
                values[name] = getattr(patch, name)
        assignments: list[sql.Composable] = []
        for k in values:
            if k in ("meeting_lon", "meeting_lat"):
                continue
            assignments.append(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)))
        if "meeting_lon" in values:
            assignments.append(
                sql.SQL("meeting_point = ST_SetSRID(ST_MakePoint({}, {}), 4326)").format(
                    sql.Placeholder("meeting_lon"), sql.Placeholder("meeting_lat")
                )
            )
        if "cancel_reason" in values:
            assignments.append(sql.SQL("status = 'cancelled'"))
        conn.execute(
            sql.SQL(
                "UPDATE walks SET {}, version = version + 1, updated_at = now() WHERE id = {}"
            ).format(sql.SQL(", ").join(assignments), sql.Placeholder("walk_id")),
            {**values, "walk_id": walk_id},
        )
        if "cancel_reason" in values:
            _audit(conn, user_id, "walk.cancel", walk_id, {"reason": values["cancel_reason"]})
    return get_walk(conn, walk_id, all_names=True)


def cancel_walk(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    reason: str,
    *,
    user_id: int | None,
    version: int | None = None,
) -> dict[str, Any]:
    """Cancel a planned walk with a reason (a cancelled walk keeps its row and its sign-ups)."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput(
            "give a reason for the cancellation (at most 500 characters)", field="cancel_reason"
        )
    stored = _walk_row(conn, walk_id, lock=False)
    patch = WalkPatch(version=version or stored["version"], cancel_reason=reason)
    return patch_walk(conn, walk_id, patch, user_id=user_id)


def _audit(
    conn: psycopg.Connection,
    user_id: int | None,
    action: str,
    walk_id: uuid.UUID,
    details: dict[str, Any],
) -> None:
    conn.execute(
        "INSERT INTO audit_log (user_id, action, subject, details) VALUES (%s, %s, %s, %s)",
        (user_id, action, str(walk_id), json.dumps(details)),
    )


# -- walkers --------------------------------------------------------------------------------------


def _club_walk(stored: dict[str, Any], actor: Actor, what: str) -> None:
    if stored["organisation_id"] != actor.organisation_id:
        raise Forbidden(f"only walkers of the walk's club can {what}")


def sign_up(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Sign a walker up for a walk of their own club, until its planned end; whether new."""
    with conn.transaction():
        stored = _walk_row(conn, walk_id)
        _club_walk(stored, actor, "sign up for it")
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
        stored = _walk_row(conn, walk_id)
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
        stored = _walk_row(conn, walk_id)
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
        stored = _walk_row(conn, walk_id)
        _club_walk(stored, actor, "start it")
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
        stored = _walk_row(conn, walk_id)
        _club_walk(stored, actor, "end it")
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


# -- tracks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackContext:
    """What cleaning a walk's track needs: its time window, metric CRS and the kept points."""

    walk_id: uuid.UUID
    window_start: datetime
    window_end: datetime
    epsg: int
    stored: list[TrackPoint] = field(default_factory=list)


def track_context(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, planner: bool = False
) -> TrackContext:
    """The walk's time window (planned and walked times together), for a walker of its club or
    a planner; a cancelled walk takes no track.

    The walk's row is locked for the rest of the caller's transaction, so that two batches
    at once are cleaned one after the other. The API combines the three steps::

        ctx = track_context(conn, walk_id, actor)
        cleaned = routes.tracks.clean_track(batch.points, window_start=ctx.window_start,
                                            window_end=ctx.window_end, stored=ctx.stored,
                                            epsg=ctx.epsg)
        store_track(conn, walk_id, cleaned.kept, routes.tracks.build_track(cleaned.kept))

    (an uploaded file: `routes.tracks.read_track_upload`, no ``stored``, ``replace=True``).
    """
    stored = _walk_row(conn, walk_id)
    if not planner:
        _club_walk(stored, actor, "record its track")
    if stored["status"] == "cancelled":
        raise Conflict("the walk was cancelled: it has no track")
    end = stored["planned_end"] or stored["planned_start"] + timedelta(hours=4)
    times = [
        t
        for t in (stored["planned_start"], end, stored["started_at"], stored["ended_at"])
        if t is not None
    ]
    srid = conn.execute(
        "SELECT coalesce((SELECT metric_srid FROM areas WHERE id = %s), 3006)",
        (stored["area_id"],),
    ).fetchone()
    assert srid is not None
    points = [
        TrackPoint(recorded_at=r[0], lon=r[1], lat=r[2], accuracy_m=r[3])
        for r in conn.execute(
            "SELECT recorded_at, ST_X(geom), ST_Y(geom), accuracy_m FROM walk_track_points "
            "WHERE walk_id = %s ORDER BY recorded_at",
            (walk_id,),
        )
    ]
    return TrackContext(walk_id, min(times), max(times), int(srid[0]), points)


def store_track(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    points: Sequence[TrackPoint],
    track: Geometry | None,
    *,
    replace: bool = False,
) -> int:
    """Store cleaned points (a retried batch once) and the walk's track line built from all of
    them; ``replace`` drops the earlier points first (an uploaded track). Returns the number
    of points added."""
    with conn.transaction():
        _walk_row(conn, walk_id)
        if replace:
            conn.execute("DELETE FROM walk_track_points WHERE walk_id = %s", (walk_id,))
        # One statement for the batch; a point at a time already stored is a retry.
        cur = conn.execute(
            """
            INSERT INTO walk_track_points (walk_id, recorded_at, accuracy_m, geom)
            SELECT %s, u.t, u.a, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326)
            FROM unnest(%s::timestamptz[], %s::float8[], %s::float8[], %s::float8[])
                 AS u(t, a, x, y)
            ON CONFLICT DO NOTHING
            """,
            (
                walk_id,
                [p.recorded_at for p in points],
                [p.accuracy_m for p in points],
                [p.lon for p in points],
                [p.lat for p in points],
            ),
        )
        added = max(cur.rowcount, 0)
        conn.execute(
            "UPDATE walks SET track = CASE WHEN %(wkb)s::bytea IS NULL THEN NULL ELSE "
            "ST_Multi(ST_SetSRID(ST_GeomFromWKB(%(wkb)s::bytea), 4326)) END, "
            "updated_at = now() WHERE id = %(id)s",
            {"wkb": to_wkb(track) if track is not None else None, "id": walk_id},
        )
    return added


def track_feature(conn: psycopg.Connection, walk_id: uuid.UUID) -> dict[str, Any]:
    """The walk's track as a GeoJSON Feature (MultiLineString, or null geometry when none)."""
    row = conn.execute(
        sql.SQL(
            "SELECT {}::text, "
            "(SELECT count(*) FROM walk_track_points t WHERE t.walk_id = w.id), "
            "ST_Length(track::geography) FROM walks w WHERE id = %s"
        ).format(geometry_json("w.track")),
        (walk_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    return {
        "type": "Feature",
        "id": str(walk_id),
        "geometry": json.loads(row[0]) if row[0] else None,
        "properties": {
            "walk_id": str(walk_id),
            "points": int(row[1]),
            "length_m": round(float(row[2]), 1) if row[2] is not None else 0.0,
        },
    }


def plan_inputs(conn: psycopg.Connection, walk_id: uuid.UUID) -> dict[str, Any]:
    """What plan vs walked needs: the track and the planned route (WKB), the route plan's stops
    (name, lon, lat) and the area's metric CRS."""
    row = conn.execute(
        """
        SELECT ST_AsBinary(w.track), ST_AsBinary(r.geom), r.plan,
               coalesce(a.metric_srid, 3006)
        FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
        LEFT JOIN areas a ON a.id = w.area_id WHERE w.id = %s
        """,
        (walk_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    stops = []
    plan = row[2] or {}
    for s in plan.get("stops", []) if isinstance(plan, dict) else []:
        if isinstance(s, dict) and {"lon", "lat"} <= set(s):
            stops.append((str(s.get("name", "")), float(s["lon"]), float(s["lat"])))
    return {
        "track_wkb": bytes(row[0]) if row[0] else None,
        "route_wkb": bytes(row[1]) if row[1] else None,
        "stops": stops,
        "epsg": int(row[3]),
    }


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
        stored = _walk_row(conn, walk_id)
        _club_walk(stored, actor, "report it back")
        existing = conn.execute(
            "SELECT id, body_sha256 FROM walk_reports WHERE walk_id = %s", (walk_id,)
        ).fetchone()
        if existing is not None:
            if existing[0] == report.id and existing[1] == digest:
                return get_report(conn, walk_id), False
            raise Conflict(
                f"walk {walk_id} has a report already (id {existing[0]}): correct it instead "
                "of sending a second one"
            )
        if conn.execute("SELECT 1 FROM walk_reports WHERE id = %s", (report.id,)).fetchone():
            raise Conflict(
                f"a report with id {report.id} exists for another walk: make a new "
                "UUID for a new report"
            )
        if stored["status"] == "cancelled":
            raise Conflict(
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
                report.started_at,
                report.ended_at,
                report.walkers_present,
                report.youths_met,
                report.mood,
                list(report.contacts),
                report.summary,
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
        stored = _walk_row(conn, walk_id)
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
                report.started_at,
                report.ended_at,
                report.walkers_present,
                report.youths_met,
                report.mood,
                list(report.contacts),
                report.summary,
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


# -- planners' and walkers' views -----------------------------------------------------------------


def _walk_list(
    conn: psycopg.Connection, where: sql.Composable, params: Sequence[Any]
) -> list[dict[str, Any]]:
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(json_agg(x.walk ORDER BY x.planned_start, x.id), '[]')::text FROM "
            "(SELECT {} AS walk, w.planned_start, w.id {} WHERE {}) x"
        ).format(_WALK_JSON, _FROM, where),
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
            SELECT {}, a.field_worker_phone, a.police_phone, a.emergency_phone, a.name
            FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
            LEFT JOIN areas a ON a.id = w.area_id WHERE w.id = %s
            """
        ).format(geometry_json("r.geom")),
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


# -- the log of earlier seasons -------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import of the walk log stored: new walks, walks stored before, refused rows."""

    stored: int = 0
    existing: int = 0
    refused: list[RefusedRow] = field(default_factory=list)


def import_walk_log(
    conn: psycopg.Connection, rows: Sequence[LogRow], *, area: str, user_id: int | None = None
) -> ImportReport:
    """Store the walks of a log as ``reported`` with their walker count, once each (a repeated
    import finds them stored); a row of an unknown club is refused with the reason."""
    result = ImportReport()
    aid = areas.area_id(conn, area)
    clubs: dict[str, int | None] = {}
    with conn.transaction():
        for row in rows:
            if row.organisation not in clubs:
                try:
                    clubs[row.organisation] = club_id(conn, row.organisation)
                except InvalidInput as exc:
                    clubs[row.organisation] = None
                    reason = str(exc)
                else:
                    reason = ""
            org = clubs[row.organisation]
            if org is None:
                result.refused.append(
                    RefusedRow(row.line, reason or f"no club {row.organisation!r}")
                )
                continue
            cur = conn.execute(
                """
                INSERT INTO walks (id, organisation_id, area_id, planned_start, planned_end,
                                   started_at, ended_at, walkers, status, notes, source,
                                   walkers_needed, created_by)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'reported', %s, 'import', %s, %s)
                ON CONFLICT (id) DO NOTHING
                """,
                (
                    row.id,
                    org,
                    aid,
                    row.planned_start,
                    row.planned_end,
                    row.planned_start,
                    row.planned_end,
                    row.walkers,
                    row.notes,
                    _walkers_needed(conn, org, row.planned_start, None),
                    user_id,
                ),
            )
            if cur.rowcount:
                result.stored += 1
            else:
                result.existing += 1
    return result


# -- maps and exports -----------------------------------------------------------------------------


_TRACK_FEATURE = feature_sql(
    geometry="w.track",
    properties={
        # The walk's local date in the area's own time zone (``areas.time_zone``).
        "date": "(coalesce(w.started_at, w.planned_start) AT TIME ZONE a.time_zone)::date",
        "walkers": "w.walkers",
        "route": "r.name",
    },
)


def walked_tracks(
    conn: psycopg.Connection, *, area: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """Tracks of walks reported (or approved) in the period: date (local), number of walkers,
    route name."""
    area_id = areas.area_id(conn, area)
    query = sql.SQL(
        """
        SELECT w.planned_start AS sort_key, {feature} AS feature
        FROM walks w LEFT JOIN walk_routes r ON r.id = w.route_id
             CROSS JOIN (SELECT time_zone FROM areas WHERE id = %s) a
        WHERE w.track IS NOT NULL AND w.status IN ('reported', 'approved')
          AND w.planned_start >= %s AND w.planned_start < %s
          AND (w.area_id = %s OR ST_Intersects(w.track, (SELECT geom FROM areas WHERE id = %s)))
        """
    ).format(feature=_TRACK_FEATURE)
    result: dict[str, Any] = json.loads(
        feature_collection(conn, query, [area_id, since, until, area_id, area_id])
    )
    return result
