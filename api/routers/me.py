"""The signed-in walker's own walks: tonight's walk on the phone, upcoming walks and the club's
season to sign up for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from api.bodies import BodyRoute, limit
from api.deps import ConnDep
from api.routers.deviations import forget_fresh_lists
from api.routers.layers import geojson_response
from api.routers.walks import actor
from api.security import ReporterDep, TriageDep, WalkerDep
from geo.db import deviations, own_reports, triage, walk_views
from geo.db.deviations import Viewer
from geo.inputs import MAX_BODY_BYTES, ReportCorrection

OWN_REPORTS_FOR = own_reports.CORRECT_WITHIN
"""The reports "Mina rapporter" lists: those its reporter may still correct."""

router = APIRouter(
    prefix="/api/v1/me", tags=["walks"], route_class=BodyRoute, strict_content_type=False
)


@router.get("/walk-tonight")
def walk_tonight(conn: ConnDep, user: WalkerDep) -> dict[str, Any]:
    """The walker's walk (signed up or leading) under way or starting within 12 hours: the
    meeting point and times, the route (GeoJSON), who is signed up (display names, within the
    club), the leader and whom to call (``contacts``: ``field_worker``, ``police``,
    ``emergency``); ``{"walk": null}`` when there is none."""
    return {"walk": walk_views.my_walk_tonight(conn, actor(user), now=datetime.now(UTC))}


@router.get("/deviations", response_class=Response, tags=["deviations"])
def my_deviations(conn: ConnDep, user: ReporterDep) -> Response:
    """The signed-in user's own reports of the last 24 hours, newest first (a GeoJSON
    FeatureCollection, with their own notes): the phone's list "Mina rapporter"."""
    page = deviations.list_features(
        conn,
        viewer=Viewer.of(user),
        reporter_id=user.id,
        since=datetime.now(UTC) - OWN_REPORTS_FOR,
        limit=200,
    )
    return geojson_response(page.geojson)


@router.get("/triage", tags=["deviations"])
def my_triage(conn: ConnDep, user: TriageDep, area: str | None = None) -> dict[str, Any]:
    """The planners' count of new reports: ``new`` (all with the status new), ``new_since_seen``
    (those that arrived since the planner last marked them seen, or all when they never did)
    and ``seen_at``; ``?area=`` counts one area's."""
    return triage.triage_state(conn, user_id=user.id, area=area)


@router.post("/triage/seen", tags=["deviations"])
def mark_triage_seen(conn: ConnDep, user: TriageDep, area: str | None = None) -> dict[str, Any]:
    """The planner has looked at the new reports now: ``new_since_seen`` starts again from 0.
    No body. Answers as ``GET /api/v1/me/triage``."""
    triage.mark_seen(conn, user_id=user.id)
    return triage.triage_state(conn, user_id=user.id, area=area)


@router.patch(
    "/deviations/{deviation_id}",
    response_class=Response,
    tags=["deviations"],
    openapi_extra=limit(MAX_BODY_BYTES),
    responses={410: {"description": "Withdrawn by its reporter (`withdrawn`)"}},
)
def correct_my_deviation(
    request: Request,
    conn: ConnDep,
    user: ReporterDep,
    deviation_id: uuid.UUID,
    correction: ReportCorrection,
) -> Response:
    """Correct one's own report ("Rätta" in "Mina rapporter"): ``category``, ``severity``,
    ``description`` (null removes it) or ``geometry`` (a GeoJSON Point); members left out stay.

    Within 24 hours of sending it, while no planner has triaged it: an older one is 409
    ``too_late_to_correct``, a confirmed or dismissed one 409 ``already_triaged``. Another
    user's report: 404. Audited (``deviation.correct``). Answers the corrected Feature.
    """
    own_reports.correct_report(conn, deviation_id, correction, reporter_id=user.id)
    forget_fresh_lists(request)
    return geojson_response(deviations.get_feature(conn, deviation_id, viewer=Viewer.of(user)))


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
