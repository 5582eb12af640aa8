"""The signed-in walker's own walks: tonight's walk on the phone, upcoming walks and the club's
season to sign up for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from api.deps import ConnDep
from api.routers.walks import actor
from api.security import WalkerDep
from geo.db import walk_views

router = APIRouter(prefix="/api/v1/me", tags=["walks"])


@router.get("/walk-tonight")
def walk_tonight(conn: ConnDep, user: WalkerDep) -> dict[str, Any]:
    """The walker's walk (signed up or leading) under way or starting within 12 hours: the
    meeting point and times, the route (GeoJSON), who is signed up (display names, within the
    club), the leader and whom to call (``contacts``: ``field_worker``, ``police``,
    ``emergency``); ``{"walk": null}`` when there is none."""
    return {"walk": walk_views.my_walk_tonight(conn, actor(user), now=datetime.now(UTC))}


@router.get("/walks")
def my_walks(conn: ConnDep, user: WalkerDep) -> dict[str, Any]:
    """The walker's upcoming walks (signed up or leading), the club's walks of the season
    to sign up for (each with ``signed_up_by_me`` and ``leading``) and the walks to report back
    (``to_report``: led or signed up for, ended within the last seven days, not reported yet,
    each with its ``signups``), also those never started in the app."""
    now = datetime.now(UTC)
    club = walk_views.club_walks(conn, actor(user), now=now)
    upcoming = [w for w in club if w["signed_up_by_me"] or w["leading"]]
    to_report = walk_views.walks_to_report(conn, actor(user), now=now)
    return {"upcoming": upcoming, "club": club, "to_report": to_report}
