"""Organisations: `GET/POST /api/v1/organisations`, `GET/PATCH /api/v1/organisations/{id}`.

Planners and admins read them (``follow_up``); only admins change them (``administer``). An
organisation may be ``part_of`` another, named by name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.bodies import BodyRoute, limit
from api.deps import ConnDep
from api.security import AdminDep, FollowUpDep
from geo.db import organisations
from geo.inputs.agreements import OrganisationIn, OrganisationPatch

router = APIRouter(
    prefix="/api/v1", tags=["organisations"], route_class=BodyRoute, strict_content_type=False
)
BODY_LIMIT = limit(8 * 1024)


@router.get("/organisations")
def list_organisations(conn: ConnDep, user: FollowUpDep) -> dict[str, Any]:
    """Every organisation, by name: kind, the organisation it is part of, notes, version."""
    return {"organisations": organisations.list_organisations(conn)}


@router.get("/organisations/{organisation_id}")
def get_organisation(conn: ConnDep, user: FollowUpDep, organisation_id: int) -> dict[str, Any]:
    """One organisation."""
    return organisations.get_organisation(conn, organisation_id)


@router.post(
    "/organisations",
    status_code=201,
    responses={
        409: {"description": "The name is taken (`name_taken`)"},
        422: {"description": "`part_of` names no organisation (`unknown_organisation`)"},
    },
    openapi_extra=BODY_LIMIT,
)
def create_organisation(body: OrganisationIn, conn: ConnDep, user: AdminDep) -> JSONResponse:
    """Add an organisation (admins): ``name``, ``kind``, optionally ``part_of`` (a name) and
    ``notes``."""
    org = organisations.create_organisation(conn, body, user_id=user.id)
    return JSONResponse(org, status_code=201)


@router.patch(
    "/organisations/{organisation_id}",
    responses={409: {"description": "A stale `version` (`stale_version`) or a taken name"}},
    openapi_extra=BODY_LIMIT,
)
def patch_organisation(
    body: OrganisationPatch, conn: ConnDep, user: AdminDep, organisation_id: int
) -> dict[str, Any]:
    """Change an organisation (admins): ``version`` as read, and any of ``name``, ``kind``,
    ``part_of`` (null: part of none) and ``notes``."""
    return organisations.patch_organisation(conn, organisation_id, body, user_id=user.id)
