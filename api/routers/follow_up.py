"""The follow-up of walks and costs (JSON, CSV, PDF), the summary for the councillors, and the
planners' page ``/plan/follow-up`` that shows it (planners and admins: ``FOLLOW_UP``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api import follow_up as files
from api.deps import ConnDep, DbDep, SettingsDep
from api.guard import reject_cookie_get
from api.headers import attachment, page_response
from api.heavy import BriefFollowUpDep, jobs
from api.routers.pages import ROLES_SV, render
from api.security import OptionalUserDep
from geo.capabilities import Capability
from geo.db import areas
from geo.db.follow_up import BY, follow_up
from geo.db.follow_up_summary import programme_summary
from geo.errors import InvalidParameter
from maps.follow_up_pdf import BY_SV, FLAGS_SV, KINDS_SV, STATUS_SV

router = APIRouter(tags=["follow-up"])

SinceQ = Annotated[str | None, Query(description="YYYY-MM-DD or a datetime with zone")]
UntilQ = Annotated[str | None, Query(description="YYYY-MM-DD (inclusive) or a datetime with zone")]


def _file(result: files.Export) -> Response:
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
    "/api/v1/follow-up",
    responses={200: {"content": {t: {} for t in files.MEDIA_TYPES.values()}}},
)
def get_follow_up(
    request: Request,
    db: DbDep,
    user: BriefFollowUpDep,
    since: SinceQ = None,
    until: UntilQ = None,
    by: Annotated[str, Query(description=" | ".join(BY))] = "agreement",
    organisation: str | None = None,
    area: str | None = None,
    format: str = "json",  # noqa: A002
) -> Response:
    """Approved walks, cost (Σ ledger amounts), walker-nights, youths met and flags per
    agreement, organisation, month or area, for walks whose local date lies in
    ``since``–``until`` (inclusive). ``format=csv`` and ``format=pdf`` are files (audited as
    ``follow_up.export``): by GET for a bearer token, from a signed-in page by ``POST`` (403
    ``download_needs_post`` otherwise); ``json`` (the default) is the answer itself."""
    files.check_format(format)
    q = files.make_query(by=by, since=since, until=until, organisation=organisation, area=area)
    if format == "json":
        with db.connection() as conn:
            return JSONResponse(follow_up(conn, q, today=files.today()))
    reject_cookie_get(request)
    with jobs(request).slot(user.id, "follow-up file"):
        return _file(files.export(db, q, fmt=format, user_id=user.id, via="api"))


@router.post(
    "/api/v1/follow-up",
    responses={200: {"content": {t: {} for t in files.MEDIA_TYPES.values()}}},
)
def post_follow_up(
    request: Request,
    db: DbDep,
    user: BriefFollowUpDep,
    since: Annotated[str | None, Form()] = None,
    until: Annotated[str | None, Form()] = None,
    by: Annotated[str, Form()] = "agreement",
    organisation: Annotated[str | None, Form()] = None,
    area: Annotated[str | None, Form()] = None,
    format: Annotated[str, Form()] = "csv",  # noqa: A002
) -> Response:
    """The follow-up's CSV or PDF file with the parameters of the GET as a form (the page's
    download buttons); empty fields are absent."""
    if format not in ("csv", "pdf"):
        raise InvalidParameter(f"format must be csv or pdf; got {format!r}", field="format")
    q = files.make_query(
        by=by,
        since=since or None,
        until=until or None,
        organisation=organisation or None,
        area=area or None,
    )
    with jobs(request).slot(user.id, "follow-up file"):
        return _file(files.export(db, q, fmt=format, user_id=user.id, via="api"))


@router.get(
    "/api/v1/follow-up/summary",
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
def get_summary(
    request: Request,
    db: DbDep,
    user: BriefFollowUpDep,
    area: str,
    format: str = "json",  # noqa: A002
) -> Response:
    """A programme's summary (the agreements of ``area`` in order with their dates,
    extensions, walks and cost; totals before and during the IOP and in all; grants' budgets
    and reporting). ``format=pdf``: one A4 page, audited."""
    if format not in ("json", "pdf"):
        raise InvalidParameter(f"format must be json or pdf; got {format!r}", field="format")
    if format == "pdf":
        reject_cookie_get(request)
        with jobs(request).slot(user.id, "summary file"):
            return _file(files.summary_export(db, area=area, user_id=user.id, via="api"))
    with db.connection() as conn:
        return JSONResponse(programme_summary(conn, area=area, today=files.today()))


@router.post("/api/v1/follow-up/summary", responses={200: {"content": {"application/pdf": {}}}})
def post_summary(
    request: Request,
    db: DbDep,
    user: BriefFollowUpDep,
    area: Annotated[str, Form()],
    format: Annotated[str, Form()] = "pdf",  # noqa: A002
) -> Response:
    """The summary's PDF (the page's download button): the GET's parameters as a form."""
    if format != "pdf":
        raise InvalidParameter(f"format must be pdf; got {format!r}", field="format")
    with jobs(request).slot(user.id, "summary file"):
        return _file(files.summary_export(db, area=area, user_id=user.id, via="api"))


@router.get("/plan/follow-up", include_in_schema=False)
def follow_up_page(conn: ConnDep, settings: SettingsDep, user: OptionalUserDep) -> Response:
    """The planners' follow-up page: a programme's agreements with walks and costs, the totals
    before and during the IOP, and the follow-up per agreement, club, month or area."""
    if user is None:
        return RedirectResponse("/login?next=/plan/follow-up", status_code=303)
    if not user.can(Capability.FOLLOW_UP):
        page = render(
            "message.html",
            title="Uppföljningen är till för planerare",
            text="Ditt konto har inte behörighet att följa upp pass och kostnader.",
        )
        return page_response(page, tile_url=None, status_code=403)
    area_rows = [(r[0], r[1]) for r in areas.areas_with_network(conn)]
    default = (
        settings.default_area
        if any(a == settings.default_area for a, _ in area_rows)
        else (area_rows[0][0] if area_rows else "")
    )
    config: dict[str, Any] = {
        "area": default,
        "by": dict(BY_SV),
        "kinds": KINDS_SV,
        "flags": FLAGS_SV,
        "reporting": STATUS_SV,
    }
    page = render(
        "follow_up.html",
        title="Nattvandring – uppföljning",
        who=f"{user.email} ({ROLES_SV.get(user.role, user.role)})",
        config=config,
        area_options=area_rows,
        default_area=default,
        by_options=list(BY_SV.items()),
    )
    return page_response(page, tile_url=None)
