"""Approval of reported walks and the ledger: approve, reject, withdraw, `GET /api/v1/ledger`.

The rules (the covering agreement, four eyes, paid once) live in `geo.db.approvals`; here are
the capabilities: approving and rejecting need ``APPROVE_WALK``, withdrawing an approval
``ADMINISTER``, reading the ledger ``FOLLOW_UP``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.bodies import BodyRoute, limit
from api.deps import ConnDep
from api.security import AdminDep, ApproverDep, FollowUpDep
from geo.db import approvals, ledger
from geo.db.walks import Actor
from geo.inputs.approvals import (
    MAX_APPROVAL_BODY,
    MAX_BULK_BODY,
    ApproveIn,
    BulkApproveIn,
    ReasonIn,
)

router = APIRouter(
    prefix="/api/v1", tags=["approvals"], route_class=BodyRoute, strict_content_type=False
)


@router.post(
    "/walks/approve",
    openapi_extra=limit(MAX_BULK_BODY),
    responses={200: {"description": "One result per walk: its approval's status or a code"}},
)
def approve_many(body: BulkApproveIn, conn: ConnDep, user: ApproverDep) -> dict[str, Any]:
    """Approve up to 500 reported walks, each under the agreement that covers it; a walk that
    cannot be approved (``not_reported``, ``own_walk``…) does not stop the others."""
    actor = Actor(user.id, user.organisation_id)
    return {"results": approvals.approve_many(conn, list(body.ids), actor)}


@router.post(
    "/walks/{walk_id}/approve",
    openapi_extra=limit(MAX_APPROVAL_BODY),
    responses={
        403: {"description": "Four eyes: `own_walk` or `own_club`"},
        409: {"description": "The walk is not reported (`not_reported`)"},
        422: {"description": "The named agreement does not cover the walk"},
    },
)
def approve(
    conn: ConnDep, user: ApproverDep, walk_id: uuid.UUID, body: ApproveIn | None = None
) -> dict[str, Any]:
    """Approve a reported walk: paid once under the agreement whose period holds its date and
    whose parties include its organisation (or ``agreement_id``, which must cover it). An
    approved walk answers with the same approval again."""
    walk, approval = approvals.approve(
        conn,
        walk_id,
        Actor(user.id, user.organisation_id),
        agreement_id=body.agreement_id if body else None,
    )
    return {"walk": walk, "approval": approval}


@router.post("/walks/{walk_id}/reject", openapi_extra=limit(MAX_APPROVAL_BODY))
def reject(body: ReasonIn, conn: ConnDep, user: ApproverDep, walk_id: uuid.UUID) -> dict[str, Any]:
    """Reject a reported walk with a ``reason`` (the club sees it); it is never paid."""
    return approvals.reject(conn, walk_id, Actor(user.id, user.organisation_id), reason=body.reason)


@router.post("/walks/{walk_id}/withdraw-approval", openapi_extra=limit(MAX_APPROVAL_BODY))
def withdraw_approval(
    body: ReasonIn, conn: ConnDep, user: AdminDep, walk_id: uuid.UUID
) -> dict[str, Any]:
    """Withdraw an approval (admins, with a ``reason``): a reversal row for its payment, and the
    walk is ``reported`` again; approving it again is a new payment."""
    walk, reversal = approvals.withdraw_approval(conn, walk_id, user_id=user.id, reason=body.reason)
    return {"walk": walk, "reversal": reversal}


@router.get("/ledger")
def list_ledger(
    conn: ConnDep,
    user: FollowUpDep,
    since: Annotated[date | None, Query(description="The walks' first local date")] = None,
    until: Annotated[date | None, Query(description="The walks' last local date")] = None,
    agreement: Annotated[str | None, Query(description="An agreement's id or name")] = None,
    organisation: Annotated[str | None, Query(description="An organisation's id or name")] = None,
) -> dict[str, Any]:
    """Payments and reversals of walks walked in the period, with their total (``total_sek``,
    a sum over the rows)."""
    return ledger.list_ledger(
        conn, since=since, until=until, agreement=agreement, organisation=organisation
    )
