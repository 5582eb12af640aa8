"""The schedule of walks: creating one walk (idempotent by its client UUID) or a season, changing
and cancelling a planned walk, and importing the log of earlier seasons.

A walk's club, meeting point (within 2 km of an area), route and leader are checked here, in the
transaction that stores it; nothing is half-stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from geo.db import areas
from geo.db.idempotent import Expr, create_once
from geo.db.queries import stale_version
from geo.db.walks import get_walk, walk_row
from geo.errors import (
    Conflict,
    FarFromAreas,
    InvalidInput,
    LonLatSwapped,
)
from geo.geometry import DEFAULT_TIME_ZONE
from geo.inputs import body_digest
from geo.inputs.walks import SeriesIn, WalkIn, WalkPatch
from geo.walks import (
    DEFAULT_WALKERS_NEEDED,
    LogRow,
    RefusedRow,
    expand_series,
)

NEAR_AREA_M = 2000


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
        # The codes of deviation reports: the pages say the same thing in Swedish.
        error = LonLatSwapped if hint else FarFromAreas
        raise error(
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
    """The walkers a walk needs: as given, else its agreement's, else six.

    The agreement is the one the approval would choose: its period contains the walk's local
    date, and its parties include the walk's club or the organisation the club is part of
    (Kulturföreningen Solan walks under Södra Folkparken's agreements); the latest start wins.
    """
    if given is not None:
        return given
    row = conn.execute(
        """
        SELECT a.walkers_per_walk FROM agreements a
        JOIN agreement_parties p ON p.agreement_id = a.id
        JOIN organisations o ON o.id = %s
        WHERE p.organisation_id IN (o.id, o.part_of_id)
          AND (%s AT TIME ZONE %s)::date BETWEEN a.starts_on AND a.ends_on
        ORDER BY a.starts_on DESC, a.id DESC LIMIT 1
        """,
        (organisation_id, start, DEFAULT_TIME_ZONE),
    ).fetchone()
    return int(row[0]) if row else DEFAULT_WALKERS_NEEDED


@dataclass(frozen=True)
class _Placed:
    """What a walk body names, checked and resolved: its club, area and meeting point."""

    organisation_id: int
    area_id: int
    lon: float
    lat: float
    place_id: int | None


def _placed(conn: psycopg.Connection, body: WalkIn | SeriesIn) -> _Placed:
    """The club, meeting point and area of a walk or series body, with its route and leader
    checked; `InvalidInput` naming the field that is wrong."""
    org = club_id(conn, body.organisation)
    lon, lat, place = _meeting(conn, body.meeting_point, body.meeting_place)
    area_id = _area_near(conn, lon, lat, body.area, field="meeting_point")
    _check_route(conn, body.route_id)
    _check_leader(conn, body.leader_id, org)
    return _Placed(org, area_id, lon, lat, place)


def _insert_walk(
    conn: psycopg.Connection,
    walk: WalkIn,
    placed: _Placed,
    *,
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
            "organisation_id": placed.organisation_id,
            "area_id": placed.area_id,
            "route_id": walk.route_id,
            "meeting_point": Expr("ST_SetSRID(ST_MakePoint(%s, %s), 4326)", placed.lon, placed.lat),
            "meeting_place_id": placed.place_id,
            "planned_start": walk.planned_start,
            "planned_end": walk.planned_end,
            "walkers_needed": _walkers_needed(
                conn, placed.organisation_id, walk.planned_start, walk.walkers_needed
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
        new = _insert_walk(
            conn,
            walk,
            _placed(conn, walk),
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
        placed = _placed(conn, series)
        zone = conn.execute(
            "SELECT time_zone FROM areas WHERE id = %s", (placed.area_id,)
        ).fetchone()
        assert zone is not None
        walks = expand_series(series, time_zone=str(zone[0]))
        new = 0
        for walk in walks:
            new += _insert_walk(
                conn,
                walk,
                placed,
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
        stored = walk_row(conn, walk_id)
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
    stored = walk_row(conn, walk_id, lock=False)
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


# -- the log of earlier seasons -------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import of the walk log stored: new walks, walks stored before, refused rows."""

    stored: int = 0
    existing: int = 0
    refused: list[RefusedRow] = field(default_factory=list)


def import_walk_log(
    conn: psycopg.Connection,
    rows: Sequence[LogRow],
    *,
    area: str,
    user_id: int | None = None,
    synthetic: bool = False,
) -> ImportReport:
    """Store the walks of a log as ``reported`` with their walker count, once each (a repeated
    import finds them stored); a row of an unknown club is refused with the reason.
    ``synthetic`` marks the demo's invented log (`geo.db.demo_history`)."""
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
                                   walkers_needed, created_by, synthetic)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'reported', %s, 'import', %s, %s, %s)
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
                    synthetic,
                ),
            )
            if cur.rowcount:
                result.stored += 1
            else:
                result.existing += 1
    return result
