"""Request bodies of the approval of walks: approve (optionally under a named agreement), approve
many at once, and the reason of a rejection or of a withdrawn approval; checked before SQL."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

MAX_BULK = 500
MAX_APPROVAL_BODY = 1024
MAX_BULK_BODY = 64 * 1024


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ApproveIn(_Body):
    """``POST /api/v1/walks/{id}/approve``: the agreement to pay under, when not the one the
    walk's date and organisation choose (it must cover the walk all the same)."""

    agreement_id: int | None = Field(default=None, gt=0)


class BulkApproveIn(_Body):
    """``POST /api/v1/walks/approve``: the walks to approve, each under its covering agreement."""

    ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BULK)


class ReasonIn(_Body):
    """Why a walk is rejected, or why its approval is withdrawn (shown to the club)."""

    reason: str = Field(min_length=1, max_length=500)
