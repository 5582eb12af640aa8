"""Agreements: `GET/POST /api/v1/agreements`, `GET/PATCH /api/v1/agreements/{id}`, grant reports.

Planners and admins read agreements (``follow_up``); only admins create and change them
(``administer``). A grant's reports are sent by admins or planners (``administer`` or
``approve_walk``), read like agreements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.bodies import BodyRoute, limit
from api.deps import ConnDep
from api.security import AdminDep, FollowUpDep, require_any
from geo.capabilities import Capability
from geo.db import agreements, grant_reports
from geo.db.accounts import User
from geo.geometry import DEFAULT_TIME_ZONE
from geo.inputs.agreements import (
    MAX_AGREEMENT_BODY,
    MAX_GRANT_REPORT_BODY,
    AgreementIn,
    AgreementPatch,
    GrantReportIn,
)

router = APIRouter(
    prefix="/api/v1", tags=["agreements"], route_class=BodyRoute, strict_content_type=False
)
GrantReporterDep = Annotated[
    User, Depends(require_any(Capability.ADMINISTER, Capability.APPROVE_WALK))
]
"""Send a grant's report: admins and planners."""


@router.get("/agreements")
def list_agreements(
    conn: ConnDep,
    user: FollowUpDep,
    area: Annotated[str | None, Query(description="An area's slug (solberga)")] = None,
    organisation: Annotated[
        str | None,
        Query(description="An organisation's name: its agreements, through part_of too"),
    ] = None,
) -> dict[str, Any]:
    """Agreements ordered by the start of their period."""
    return {"agreements": agreements.list_agreements(conn, area=area, organisation=organisation)}


@router.get("/agreements/{agreement_id}")
def get_agreement(conn: ConnDep, user: FollowUpDep, agreement_id: int) -> dict[str, Any]:
    """One agreement."""
    return agreements.get_agreement(conn, agreement_id)


@router.post(
    "/agreements",
    status_code=201,
    responses={
        409: {"description": "An overlapping agreement (`agreement_overlap`) or a taken name"},
        422: {"description": "A reversed period, an unknown party, a missing rate or budget…"},
    },
    openapi_extra=limit(MAX_AGREEMENT_BODY),
)
def create_agreement(body: AgreementIn, conn: ConnDep, user: AdminDep) -> JSONResponse:
    """Add an agreement (admins): a flat body with the parties by name and the areas by slug;
    ``ends_on`` is the period's last day."""
    return JSONResponse(agreements.create_agreement(conn, body, user_id=user.id), status_code=201)


@router.patch(
    "/agreements/{agreement_id}",
    responses={409: {"description": "A stale `version` (`stale_version`) or an overlap"}},
    openapi_extra=limit(MAX_AGREEMENT_BODY),
)
def patch_agreement(
    body: AgreementPatch, conn: ConnDep, user: AdminDep, agreement_id: int
) -> dict[str, Any]:
    """Change an agreement (admins): ``version`` as read and the fields to change; the result
    is checked as a whole, as a new agreement would be."""
    return agreements.patch_agreement(conn, agreement_id, body, user_id=user.id)


@router.post(
    "/agreements/{agreement_id}/reports",
    status_code=201,
    responses={
        200: {"description": "The same report was stored before (a retry)"},
        409: {
            "description": "The id was used for another report (`key_reused`), or the date "
            "has a report (`grant_report_exists`)"
        },
    },
    openapi_extra=limit(MAX_GRANT_REPORT_BODY),
)
def create_report(
    body: GrantReportIn, conn: ConnDep, user: GrantReporterDep, agreement_id: int
) -> JSONResponse:
    """A grant's report for one of its reporting dates (``due_on``), keyed by a client-made
    UUID ``id``: sending it again returns the stored one (200)."""
    report, created = grant_reports.create_report(conn, agreement_id, body, user_id=user.id)
    return JSONResponse(report, status_code=201 if created else 200)


@router.get("/agreements/{agreement_id}/reports")
def list_reports(conn: ConnDep, user: FollowUpDep, agreement_id: int) -> dict[str, Any]:
    """A grant's reports and each reporting date's status today (``met``, ``late``,
    ``missed``, ``due``; the last date is the ``final`` report)."""
    today = datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()
    return grant_reports.list_reports(conn, agreement_id, today=today)
