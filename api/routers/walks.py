"""Walks (pass): the schedule (planners), sign-ups, start and end (walkers of the club), and the
planners' flags. Tracks and reports are `api.routers.walk_reports`; the walker's own views
`api.routers.me`.

Who may call an operation is a capability (`api.security`); what depends on the walk itself
(the walker's club, its status) is checked by `geo.db.walks` in the transaction of the change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.bodies import BodyRoute, limit
from api.deps import ConnDep
from api.security import WalkCountsDep, WalkerDep, WalkPlannerDep, WalkReaderDep
from geo.capabilities import Capability
from geo.db import walk_schedule, walk_views, walks
from geo.db.accounts import User
from geo.db.walks import Actor
from geo.inputs.walks import (
    MAX_SERIES_BODY,
    MAX_WALK_BODY,
    GuestsIn,
    SeriesIn,
    WalkIn,
    WalkPatch,
    period_value,
)

router = APIRouter(
    prefix="/api/v1", tags=["walks"], route_class=BodyRoute, strict_content_type=False
)


def actor(user: User) -> Actor:
    """The acting user as the walk functions know them."""
    return Actor(user.id, user.organisation_id)


def read_walk(conn: ConnDep, walk_id: uuid.UUID, user: User) -> dict[str, Any]:
    """A walk, with its sign-ups by name for planners and for the walk's own club."""
    return walks.get_walk(
        conn,
        walk_id,
        names_for=user.organisation_id,
        all_names=user.can(Capability.SCHEDULE_WALKS),
    )


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "/walks",
    status_code=201,
    responses={
        200: {"description": "The same walk was stored before (a retry)"},
        409: {"description": "The id was used for another walk (`key_reused`)"},
    },
    openapi_extra=limit(MAX_WALK_BODY),
)
def create_walk(walk: WalkIn, conn: ConnDep, user: WalkPlannerDep) -> JSONResponse:
    """Schedule a walk (planners), keyed by a client-made UUID ``id``: sending the same walk
    again returns the stored one (200); the same id with another body is a 409."""
    stored, created = walk_schedule.create_walk(conn, walk, user_id=user.id)
    return JSONResponse(stored, status_code=201 if created else 200)


@router.post(
    "/walks/series",
    status_code=201,
    responses={200: {"description": "Every walk of the series was stored before"}},
    openapi_extra=limit(MAX_SERIES_BODY),
)
def create_series(series: SeriesIn, conn: ConnDep, user: WalkPlannerDep) -> JSONResponse:
    """Schedule a season at once (planners): every ``days`` (e.g. ``fri-sat``) from
    ``first_date`` to ``last_date`` at ``start_time``–``end_time`` (local times; an end before
    the start is the next day), without ``skip_dates``. Repeating it makes no duplicates."""
    made, created = walk_schedule.create_series(conn, series, user_id=user.id)
    return JSONResponse(
        {"walks": made, "created": created}, status_code=201 if created > 0 else 200
    )


@router.get("/walks")
def list_walks(
    conn: ConnDep,
    user: WalkCountsDep,
    since: Annotated[str | None, Query(description="YYYY-MM-DD or a datetime with zone")] = None,
    until: Annotated[
        str | None, Query(description="YYYY-MM-DD (inclusive) or a datetime with zone")
    ] = None,
    organisation: str | None = None,
    area: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Walks starting in the period, oldest first (``numberMatched``). Partners get how many
    there are per status only (``by_status``), never single walks."""
    found = walks.list_walks(
        conn,
        since=period_value(since, "since"),
        until=period_value(until, "until"),
        organisation=organisation,
        area=area,
        status=status,
        counts_only=not user.can(Capability.READ_WALKS),
    )
    return found


@router.get("/walks/flags")
def walk_flags(
    conn: ConnDep,
    user: WalkPlannerDep,
    days: Annotated[int, Query(ge=1, le=60)] = 7,
    area: str | None = None,
) -> dict[str, Any]:
    """What a planner should look at: planned walks of the coming ``days`` short of walkers,
    and walks not reported two days after their end."""
    now = _now()
    return {
        "short_of_walkers": walk_views.short_of_walkers(conn, now=now, days=days, area=area),
        "unreported": walk_views.unreported(conn, now=now),
    }


@router.get("/walks/{walk_id}")
def get_walk(conn: ConnDep, user: WalkReaderDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """One walk (sign-ups by display name for planners and the walk's own club)."""
    return read_walk(conn, walk_id, user)


@router.patch("/walks/{walk_id}", openapi_extra=limit(MAX_WALK_BODY))
def patch_walk(
    patch: WalkPatch, conn: ConnDep, user: WalkPlannerDep, walk_id: uuid.UUID
) -> dict[str, Any]:
    """Change a planned walk (times, meeting point, route, leader, walkers needed, notes) or
    cancel it (``cancel_reason``); ``version`` is the one read (409 when it is stale)."""
    return walk_schedule.patch_walk(conn, walk_id, patch, user_id=user.id)


@router.post("/walks/{walk_id}/signups")
def sign_up(conn: ConnDep, user: WalkerDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """Sign up for a walk of one's own club (until its planned end; no body). Signing up twice
    is fine."""
    walk, _ = walks.sign_up(conn, walk_id, actor(user), now=_now())
    return walk


@router.delete("/walks/{walk_id}/signups")
def withdraw(conn: ConnDep, user: WalkerDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """Withdraw one's sign-up (until the walk's planned end)."""
    return walks.withdraw(conn, walk_id, actor(user), now=_now())


@router.put("/walks/{walk_id}/guests", openapi_extra=limit(1024))
def set_guests(
    guests: GuestsIn, conn: ConnDep, user: WalkReaderDep, walk_id: uuid.UUID
) -> dict[str, Any]:
    """How many walk without an account (by the walk's leader or a planner)."""
    return walks.set_guests(
        conn,
        walk_id,
        guests.guests,
        actor(user),
        planner=user.can(Capability.SCHEDULE_WALKS),
    )


@router.post("/walks/{walk_id}/start")
def start_walk(conn: ConnDep, user: WalkerDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """Start the walk (no body): status ``ongoing``, from an hour before its planned start.
    Starting it again returns it unchanged."""
    return walks.start_walk(conn, walk_id, actor(user), now=_now())


@router.post("/walks/{walk_id}/end")
def end_walk(conn: ConnDep, user: WalkerDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """End the ongoing walk (no body); the report back is next."""
    return walks.end_walk(conn, walk_id, actor(user), now=_now())
