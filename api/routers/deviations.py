"""Deviation reports (avvikelser): report, list, read, change status; and their categories."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.bodies import BodyRoute, limit
from api.conditional import BodyCache, FreshAnswer, FreshAnswers, etag_for, matches
from api.deps import BBoxDep, ConnDep
from api.fast_list import list_key, presented_digest, remember
from api.routers.layers import GEOJSON, geojson_response
from api.security import AdminDep, ReporterDep, ReportReaderDep, TriageDep
from geo.capabilities import Capability
from geo.db import audit, categories, deviations, own_reports, triage
from geo.db.accounts import User
from geo.db.deviations import DEFAULT_LIMIT, MAX_LIMIT, MAX_SEARCH, Viewer
from geo.errors import Forbidden
from geo.geometry import BBox, parse_bbox
from geo.inputs import (
    MAX_BODY_BYTES,
    BatchStatusChange,
    CategoryChange,
    DeviationReport,
    NewCategory,
    StatusChange,
)

# Bodies are read whole (at most 64 KB) before a connection is taken: `api.bodies`.
router = APIRouter(
    prefix="/api/v1", tags=["deviations"], route_class=BodyRoute, strict_content_type=False
)


GZIPPED = " gzip"
"""The suffix of an ETag under which the list cache keeps the body gzipped."""


@router.get("/categories")
def list_categories(
    conn: ConnDep,
    include_inactive: Annotated[
        bool, Query(description="Also the inactive ones, with `active` (the admins' page)")
    ] = False,
) -> list[dict[str, Any]]:
    """Deviation categories: code, Swedish name, map colour and default weight."""
    if include_inactive:
        return categories.all_categories_json(conn)
    return categories.categories_json(conn)


@router.post("/categories", status_code=201)
def create_category(
    request: Request, conn: ConnDep, user: AdminDep, new: NewCategory
) -> dict[str, Any]:
    """Add a category (admins): ``code`` (a-z and _), ``name_sv``, ``colour`` (#rrggbb),
    ``weight`` (0–10, default 1; the heat map's weight)."""
    forget_fresh_lists(request)
    return categories.save_category(
        conn,
        new.code,
        name_sv=new.name_sv,
        colour=new.colour,
        weight=new.weight,
        active=new.active,
        create=True,
        actor_id=user.id,
    )


@router.patch("/categories/{code}")
def change_category(
    request: Request, conn: ConnDep, user: AdminDep, code: str, change: CategoryChange
) -> dict[str, Any]:
    """Change a category's name, colour, weight, or make it inactive (admins). Categories are
    never deleted: old reports keep theirs."""
    forget_fresh_lists(request)
    return categories.save_category(
        conn,
        code,
        name_sv=change.name_sv,
        colour=change.colour,
        weight=change.weight,
        active=change.active,
        actor_id=user.id,
    )


@router.post(
    "/deviations",
    status_code=201,
    responses={200: {"description": "The same report was stored before (a retry)"}},
    response_class=Response,
    openapi_extra=limit(MAX_BODY_BYTES),
)
async def report_deviation(
    request: Request, report: DeviationReport, user: ReporterDep, conn: ConnDep
) -> Response:
    """Report a deviation: a GeoJSON Point Feature with a client-made UUID in ``properties.id``.

    Sending the same report again returns the stored one (200); the same id with another
    content is a 409.
    """
    # psycopg here is synchronous: run the database work in the thread pool, as FastAPI does
    # for plain `def` endpoints, so that one slow insert does not stall every other request.
    feature, created = await run_in_threadpool(
        deviations.insert_report,
        conn,
        report,
        reporter_id=user.id,
        organisation_id=user.organisation_id,
        viewer=Viewer.of(user),
    )
    if created:
        # The lists held fresh show it within a moment; the reporter's own next list at once.
        _fresh(request).changed(reporter=presented_digest(request.headers))
    return Response(feature, status_code=201 if created else 200, media_type=GEOJSON)


@router.get(
    "/deviations",
    response_class=Response,
    responses={304: {"description": "Not modified: the list is the one of the ETag sent"}},
)
def list_deviations(
    request: Request,
    conn: ConnDep,
    user: ReportReaderDep,
    bbox: BBoxDep,
    area: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    category: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    zone: Annotated[
        str | None, Query(description="A collaboration zone's slug: the reports inside it")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            description="Planners and admins: the reports whose description holds this text "
            "(any case)",
            max_length=MAX_SEARCH,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    include_reporters: Annotated[
        bool,
        Query(
            description="Planners and admins: who reported "
            "(personal data; each such read is audited)"
        ),
    ] = False,
    if_none_match: Annotated[
        str | None,
        Header(description="The ETag of a list read before: 304 when it is still the answer"),
    ] = None,
) -> Response:
    """Deviations, newest first, as a GeoJSON FeatureCollection (``numberMatched`` for paging).

    Who reported is never in a list unless a planner or admin asks with
    ``include_reporters=true``, and that read writes an audit row. Partners read aggregates
    only (``GET /api/v1/deviation-aggregates``): 403 here.

    The answer has an ``ETag``; sent back in ``If-None-Match`` it gives a 304 without a body
    while nothing in the list's areas has changed (a poll every 15 s costs two small queries).
    Lists with who reported have none: each such read is audited and answered in full; nor have
    lists of a zone (redrawing a zone changes the list without a report changing).
    """
    viewer = Viewer.of(user)
    etag = None
    if q is not None and not user.can(Capability.SEE_DESCRIPTIONS):
        raise Forbidden("searching the descriptions (q) is for planners and admins")
    visibility = (tuple(sorted(viewer.capabilities)), viewer.organisation_id)
    key = list_key(request.query_params, visibility)
    made = time.monotonic()  # the build begins before the version is read (`FreshAnswers`)
    if not include_reporters and zone is None:
        # The next polls with this token, within the moment, are answered by `api.fast_list`.
        remember(_fresh(request), request, visibility)
        fresh = _fresh(request).get(key, reader=presented_digest(request.headers))
        if fresh is not None:
            if matches(if_none_match, fresh.etag):
                return Response(status_code=304, headers={"ETag": fresh.etag})
            return _list_answer(request, fresh)
        etag = list_etag(conn, request.query_params.multi_items(), viewer, area=area, bbox=bbox)
        if etag is not None:
            cache = _list_cache(request)
            cached, zipped = cache.get(etag), cache.get(etag + GZIPPED)
            if cached is not None and zipped is not None:
                # Held fresh again, so that the next polls are answered before the app.
                answer = _fresh(request).put(key, etag, cached, made=made, gzipped=zipped)
                if matches(if_none_match, etag):
                    return Response(status_code=304, headers={"ETag": etag})
                return _list_answer(request, answer)
            if matches(if_none_match, etag):
                return Response(status_code=304, headers={"ETag": etag})
    page = deviations.list_features(
        conn,
        viewer=viewer,
        bbox=bbox,
        area=area,
        since=since,
        until=until,
        categories=category,
        statuses=status,
        zone=zone,
        text=q,
        limit=limit,
        offset=offset,
        reporters=include_reporters,
    )
    if include_reporters:
        audit.write_audit(
            conn,
            user_id=user.id,
            action="deviations.read_reporters",
            subject=area or "",
            details={
                "bbox": bbox.as_tuple() if bbox else None,
                "since": since,
                "until": until,
                "category": category,
                "status": status,
                "zone": zone,
                "q": q,
                "limit": limit,
                "offset": offset,
                "returned": page.number_returned,
            },
        )
    if etag is None:
        return geojson_response(page.geojson)
    answer = _fresh(request).put(key, etag, page.geojson.encode(), made=made)
    _list_cache(request).put(etag, answer.body)
    _list_cache(request).put(etag + GZIPPED, answer.gzipped)
    return _list_answer(request, answer)


def list_etag(
    conn: psycopg.Connection,
    query: list[tuple[str, str]],
    viewer: Viewer,
    *,
    area: str | None,
    bbox: BBox | None,
) -> str | None:
    """The ETag of the list of ``query`` (its parameters as sent) for ``viewer``: made from the
    list's version (read before the list), the query and who asks. None for an unknown area."""
    version = deviations.list_version(conn, area=area, bbox=bbox)
    if version is None:
        return None
    return etag_for(
        "deviations",
        version,
        sorted(query),
        sorted(viewer.capabilities),
        viewer.organisation_id,
    )


@dataclass(frozen=True)
class FirstList:
    """The situation page's first deviation list, carried in the page: the query's URL (the
    page polls that one while the map's view lies inside its box), the answer's ETag and the
    FeatureCollection as JSON text."""

    url: str
    etag: str | None
    geojson: str


def first_list(
    conn: psycopg.Connection, user: User, *, bbox: BBox, since: datetime, limit: int = MAX_LIMIT
) -> FirstList:
    """What ``GET /api/v1/deviations?since=…&bbox=…&limit=…`` answers ``user``, with its ETag,
    so that the page that carries it draws the reports without a request of its own and its
    first poll is a 304 while nothing changed."""
    viewer = Viewer.of(user)
    # The box and time as the poll's URL will give them back (5 decimals, whole seconds).
    box_text = ",".join(f"{v:.5f}" for v in bbox.as_tuple())
    box = parse_bbox(box_text)
    since = since.astimezone(UTC).replace(microsecond=0)
    query = [
        ("since", since.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("bbox", box_text),
        ("limit", str(limit)),
    ]
    etag = list_etag(conn, query, viewer, area=None, bbox=box)  # before the list: see there
    page = deviations.list_features(conn, viewer=viewer, bbox=box, since=since, limit=limit)
    return FirstList("/api/v1/deviations?" + urlencode(query), etag, page.geojson)


def _list_answer(request: Request, answer: FreshAnswer) -> Response:
    """A list's answer, gzipped (once, when it was built) for a client that accepts it."""
    headers = {"ETag": answer.etag, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(answer.gzipped, media_type=GEOJSON, headers=headers)
    return Response(answer.body, media_type=GEOJSON, headers=headers)


def _fresh(request: Request) -> FreshAnswers:
    """This process's lists reused without a query for a moment (`api.conditional.FreshAnswers`)."""
    fresh: FreshAnswers = request.app.state.deviation_lists_fresh
    return fresh


def forget_fresh_lists(request: Request) -> None:
    """After a change of deviations in this process: the next list asks the database."""
    _fresh(request).forget()


def _list_cache(request: Request) -> BodyCache:
    """This process's cache of list bodies (`api.conditional.BodyCache`, made by `create_app`)."""
    cache: BodyCache = request.app.state.deviation_list_cache
    return cache


@router.post("/deviations/status")
def change_statuses(
    request: Request, conn: ConnDep, user: TriageDep, change: BatchStatusChange
) -> dict[str, Any]:
    """Set the status of several deviations at once (planners and admins): ``{"ids": [...],
    "status": "confirmed"}``. All change or none: an unknown id is a 404 that names it and
    changes nothing. Each change writes an audit row (``deviation.status``, with the previous
    status). Answers ``{"status", "changes": [{"id", "status", "previous"}]}``."""
    changes = triage.set_statuses(conn, change.ids, change.status, user_id=user.id)
    forget_fresh_lists(request)
    return {"status": change.status, "changes": changes}


@router.get("/deviations/{deviation_id}", response_class=Response)
def get_deviation(conn: ConnDep, user: ReportReaderDep, deviation_id: uuid.UUID) -> Response:
    """One deviation as a GeoJSON Feature; planners and admins see who reported it, and that
    read writes an audit row. Partners: 403 (they read aggregates only)."""
    feature = deviations.get_feature(conn, deviation_id, viewer=Viewer.of(user))
    if user.can(Capability.SEE_REPORTERS):
        audit.write_audit(
            conn, user_id=user.id, action="deviation.read", subject=str(deviation_id), details={}
        )
    return geojson_response(feature)


@router.delete(
    "/deviations/{deviation_id}",
    status_code=204,
    response_class=Response,
    responses={410: {"description": "Withdrawn already (`withdrawn`)"}},
)
def withdraw_deviation(
    request: Request, conn: ConnDep, user: ReporterDep, deviation_id: uuid.UUID
) -> Response:
    """Withdraw one's own report within 10 minutes of sending it (the phone's "Ångra").

    It vanishes from every list, aggregate and export; its id stays reserved, so a resend of the
    report (from a queue or another tab) answers 410 and stores nothing. Audited. Another user's
    report: 404; an older one: 409 ``too_late_to_withdraw``.
    """
    own_reports.withdraw_report(conn, deviation_id, reporter_id=user.id)
    forget_fresh_lists(request)
    audit.write_audit(
        conn, user_id=user.id, action="deviation.withdraw", subject=str(deviation_id), details={}
    )
    return Response(status_code=204)


@router.patch("/deviations/{deviation_id}", response_class=Response)
def change_status(
    request: Request,
    conn: ConnDep,
    user: TriageDep,
    deviation_id: uuid.UUID,
    change: StatusChange,
) -> Response:
    """Set a deviation's status (planners and admins)."""
    deviations.set_status(conn, deviation_id, change.status, user_id=user.id)
    forget_fresh_lists(request)
    return geojson_response(deviations.get_feature(conn, deviation_id, viewer=Viewer.of(user)))
