"""Exports for collaboration meetings, and the audit trail of exports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import JSONResponse, Response

from api import meeting
from api.deps import ConnDep, DbDep, SettingsDep
from api.guard import reject_cookie_get
from api.headers import attachment
from api.heavy import BriefExporterDep, HeavyExporterDep
from api.security import AuditReaderDep
from geo.db import audit

router = APIRouter(prefix="/api/v1", tags=["exports"])


def meeting_request(
    settings: SettingsDep,
    area: Annotated[str | None, Query(description="Area slug (default: the app's area)")] = None,
    since: Annotated[date | None, Query(description="First day (default: 90 days ago)")] = None,
    until: Annotated[date | None, Query(description="Last day, inclusive (default: today)")] = None,
    format: Literal["gpkg", "geojson", "kml", "csv", "shp", "pdf", "html"] = "gpkg",  # noqa: A002
    profile: Literal["partner", "detail"] = "partner",
    include_descriptions: bool = False,
    bucket: Literal["week", "night"] = "week",
) -> meeting.Request:
    last = until or date.today()
    return meeting.Request(
        area=area or settings.default_area,
        since=since or last - timedelta(days=90),
        until=last,
        fmt=format,
        profile=profile,
        include_descriptions=include_descriptions,
        bucket=bucket,
    )


MeetingDep = Annotated[meeting.Request, Depends(meeting_request)]
FormatField = Literal["gpkg", "geojson", "kml", "csv", "shp", "pdf", "html"]


def meeting_form(
    settings: SettingsDep,
    area: Annotated[str | None, Form()] = None,
    since: Annotated[date | None, Form()] = None,
    until: Annotated[date | None, Form()] = None,
    format: Annotated[FormatField, Form()] = "gpkg",  # noqa: A002
    profile: Annotated[Literal["partner", "detail"], Form()] = "partner",
    include_descriptions: Annotated[bool, Form()] = False,
    bucket: Annotated[Literal["week", "night"], Form()] = "week",
) -> meeting.Request:
    """The export's parameters from the planners' page's form (the same as the GET's query)."""
    return meeting_request(
        settings, area or None, since, until, format, profile, include_descriptions, bucket
    )


def _download(result: meeting.Export) -> Response:
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": attachment(result.filename),
            "X-Content-SHA256": result.sha256,
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/exports/meeting",
    response_class=Response,
    responses={200: {"content": {t: {} for t in meeting.MEDIA_TYPES.values()}}},
    dependencies=[Depends(reject_cookie_get)],
)
def export_meeting(db: DbDep, user: HeavyExporterDep, req: MeetingDep) -> Response:
    """Map layers (GeoPackage with QGIS styles, zipped GeoJSON or Shapefile, KML, CSV, or one
    self-contained HTML map that opens offline) or the meeting report (PDF, A4, Swedish) for an
    area and period.

    ``profile=partner`` (the default; the only one partners get): deviations counted per
    collaboration zone and 250 m SWEREF 99 TM cell by category and week (or night), counts
    under 3 left out, no free text, reporters or exact times; the days are widened to whole
    weeks (or nights), which the file names. ``profile=detail`` (planners): single reports of
    exactly the days asked, without reporters; descriptions only with
    ``include_descriptions=true``.
    Every download writes an audit row (``GET /api/v1/audit``). For scripts and QGIS (a
    bearer token); a signed-in page POSTs the same parameters as a form instead (403
    ``download_needs_post`` for a GET with the session cookie).
    """
    return _download(meeting.export(db, req, user))


@router.post(
    "/exports/meeting",
    response_class=Response,
    responses={200: {"content": {t: {} for t in meeting.MEDIA_TYPES.values()}}},
)
def export_meeting_form(
    db: DbDep, user: HeavyExporterDep, req: Annotated[meeting.Request, Depends(meeting_form)]
) -> Response:
    """The export of ``GET /api/v1/exports/meeting`` with its parameters as a form (what the
    planners' page sends: a POST, which a page of another site cannot make in your name)."""
    return _download(meeting.export(db, req, user))


@router.get("/exports/meeting/preview")
def preview_meeting(db: DbDep, user: BriefExporterDep, req: MeetingDep) -> dict[str, Any]:
    """What the export will contain: rows per layer (no file is made, nothing is audited)."""
    return meeting.preview(db, req, user)


@router.get("/audit")
def audit_trail(
    conn: ConnDep,
    user: AuditReaderDep,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> JSONResponse:
    """The audit trail, newest first: exports (who, when, profile, filters, rows, SHA-256) and
    status changes of deviations. Planners and admins."""
    return JSONResponse(audit.list_audit(conn, action=action, limit=limit, offset=offset))
