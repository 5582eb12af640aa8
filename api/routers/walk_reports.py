"""A walk's track (the phone's batches, an uploaded GPX or GeoJSON file, the track back as
GeoJSON or GPX), its report back (återrapportering) and plan vs walked.

Cleaning a track is pure computation (`routes.tracks`) between two database steps, in one
transaction that holds the walk's row: two batches at once are cleaned one after the other, so
a retried batch is stored once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from shapely import from_wkb

from api.bodies import BodyRoute, limit, raw_body
from api.deps import ConnDep
from api.headers import attachment
from api.routers.walks import actor
from api.security import WalkerDep, WalkPlannerDep, WalkReaderDep, WalkTrackDep
from geo.capabilities import Capability
from geo.db import walk_reports, walk_tracks, walks
from geo.db.accounts import User
from geo.inputs.walks import (
    MAX_REPORT_BODY,
    MAX_TRACK_BATCH_BODY,
    ReportIn,
    ReportPatch,
    TrackBatch,
)
from routes.gpx import MAX_GPX_BYTES
from routes.tracks import (
    build_track,
    clean_track,
    plan_vs_walked,
    read_track_upload,
    track_to_gpx,
)

router = APIRouter(
    prefix="/api/v1", tags=["walks"], route_class=BodyRoute, strict_content_type=False
)
TRACK_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "The walk's track: a GPX 1.1 file (``<trkpt>`` with ``<time>``) or a GeoJSON "
            "LineString Feature with ``properties.coordTimes`` (at most 10 MB)"
        ),
        "content": {
            "application/gpx+xml": {"schema": {"type": "string", "format": "binary"}},
            "application/geo+json": {"schema": {"type": "object"}},
        },
    }
}


def _dropped(cleaned: Any) -> dict[str, int]:
    return {
        "inaccurate": cleaned.inaccurate,
        "outside_time": cleaned.outside_time,
        "too_fast": cleaned.too_fast,
        "duplicates": cleaned.duplicates,
    }


@router.post("/walks/{walk_id}/track/points", openapi_extra=limit(MAX_TRACK_BATCH_BODY))
def add_track_points(
    batch: TrackBatch, conn: ConnDep, user: WalkerDep, walk_id: uuid.UUID
) -> dict[str, Any]:
    """A batch of positions recorded by the phone (walkers of the club). Points less accurate
    than 50 m, outside the walk's time ± 1 hour or after a jump faster than 30 km/h are
    dropped and counted; a retried batch stores nothing again."""
    with conn.transaction():
        ctx = walk_tracks.track_context(conn, walk_id, actor(user))
        cleaned = clean_track(
            batch.points,
            window_start=ctx.window_start,
            window_end=ctx.window_end,
            stored=ctx.stored,
            epsg=ctx.epsg,
        )
        stored = walk_tracks.store_track(conn, walk_id, cleaned.kept, build_track(cleaned.kept))
    return {"stored": stored, "dropped": _dropped(cleaned)}


@router.post("/walks/{walk_id}/track", openapi_extra=limit(MAX_GPX_BYTES, **TRACK_BODY))
def upload_track(
    raw: Annotated[bytes, Depends(raw_body)],
    conn: ConnDep,
    user: WalkTrackDep,
    walk_id: uuid.UUID,
) -> dict[str, Any]:
    """Upload the walk's track from another app (a walker of the club or a planner): GPX 1.1
    or GeoJSON, at most 10 MB; it replaces the points recorded before. Answers the track
    Feature with ``dropped`` counts."""
    points = read_track_upload(raw)
    with conn.transaction():
        ctx = walk_tracks.track_context(
            conn, walk_id, actor(user), planner=user.can(Capability.SCHEDULE_WALKS)
        )
        cleaned = clean_track(
            points, window_start=ctx.window_start, window_end=ctx.window_end, epsg=ctx.epsg
        )
        walk_tracks.store_track(
            conn, walk_id, cleaned.kept, build_track(cleaned.kept), replace=True
        )
    feature = walk_tracks.track_feature(conn, walk_id)
    feature["properties"]["dropped"] = _dropped(cleaned)
    return feature


@router.get("/walks/{walk_id}/track")
def get_track(conn: ConnDep, user: WalkReaderDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """The walked track as a GeoJSON Feature (a MultiLineString; null geometry before any)."""
    return walk_tracks.track_feature(conn, walk_id)


@router.get(
    "/walks/{walk_id}/track.gpx",
    response_class=Response,
    responses={200: {"content": {"application/gpx+xml": {}}}},
)
def get_track_gpx(conn: ConnDep, user: WalkReaderDep, walk_id: uuid.UUID) -> Response:
    """The walked track as GPX 1.1 (one track segment per part of the line)."""
    feature = walk_tracks.track_feature(conn, walk_id)
    lines = (feature["geometry"] or {}).get("coordinates") or []
    return Response(
        track_to_gpx(f"walk-{walk_id}", lines),
        media_type="application/gpx+xml",
        headers={"Content-Disposition": attachment(f"walk-{walk_id}.gpx")},
    )


def _may_read_report(conn: ConnDep, user: User, walk_id: uuid.UUID) -> bool:
    """Whether ``user`` reads the whole report (summary included): the club and planners."""
    if user.can(Capability.SCHEDULE_WALKS):
        return True
    walk = walks.get_walk(conn, walk_id)
    return bool(walk["organisation"]["id"] == user.organisation_id)


@router.post(
    "/walks/{walk_id}/report",
    status_code=201,
    responses={
        200: {"description": "The same report was stored before (a retry)"},
        409: {"description": "The walk has a report already (`report_exists`)"},
    },
    openapi_extra=limit(MAX_REPORT_BODY),
)
def create_report(
    report: ReportIn, conn: ConnDep, user: WalkerDep, walk_id: uuid.UUID
) -> JSONResponse:
    """Report the walk back (the leader or a walker of the club), keyed by the report's own
    client UUID ``id``: the same report again is a 200; a second report a 409
    (``report_exists``: correct the first with PATCH); a cancelled walk takes none."""
    stored, created = walk_reports.create_report(
        conn, walk_id, report, actor(user), now=datetime.now(UTC)
    )
    return JSONResponse(stored, status_code=201 if created else 200)


@router.get("/walks/{walk_id}/report")
def get_report(conn: ConnDep, user: WalkReaderDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """The walk's report (the summary only to the walk's club and planners)."""
    report = walk_reports.get_report(conn, walk_id)
    if not _may_read_report(conn, user, walk_id):
        report.pop("summary", None)
        report.pop("reporter_id", None)
    return report


@router.patch("/walks/{walk_id}/report", openapi_extra=limit(MAX_REPORT_BODY))
def correct_report(
    patch: ReportPatch, conn: ConnDep, user: WalkerDep, walk_id: uuid.UUID
) -> dict[str, Any]:
    """Correct the report (its reporter, until the walk is approved): the whole report again
    with the ``version`` read (409 when it is stale)."""
    return walk_reports.correct_report(
        conn, walk_id, patch.report(), actor(user), now=datetime.now(UTC), version=patch.version
    )


@router.get("/walks/{walk_id}/plan-vs-walked")
def get_plan_vs_walked(conn: ConnDep, user: WalkPlannerDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """How the walk followed its plan: length walked, the share of the planned route within
    50 m of the track, and which of the route plan's stops the track passed within 50 m."""
    given = walk_tracks.plan_inputs(conn, walk_id)
    track = from_wkb(given["track_wkb"]) if given["track_wkb"] else None
    route = from_wkb(given["route_wkb"]) if given["route_wkb"] else None
    result = plan_vs_walked(track, route=route, stops=given["stops"], epsg=given["epsg"])
    passed = set(result.stops_passed)
    share = result.planned_share_walked
    return {
        "length_walked_m": round(result.walked_m, 1),
        "route_length_m": None if result.planned_m is None else round(result.planned_m, 1),
        "route_share_within_50m": None if share is None else round(share, 3),
        "stops": [{"name": name, "passed": name in passed} for name, _, _ in given["stops"]],
    }
