"""Typed FastAPI dependencies shared by the routers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Header, Query, Request

from api.settings import AppSettings
from geo.db.guarded import Connections
from geo.errors import InvalidInput
from geo.geometry import BBOX_FORM, BBox, parse_bbox


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection for one request; what a request writes commits at its end.

    A database that is down, or no connection free within the pool's short timeout, is a
    `DatabaseUnavailable` (503 with ``Retry-After``) within a second, not a hang or a 500.
    """
    with request.app.state.pool.connection() as conn:
        yield conn


def get_db(request: Request) -> Connections:
    """The pool itself, for work that must give its connection back while it computes (route
    plans, heat maps, exports: `api.heavy`): ``with db.connection() as conn:`` per step."""
    db: Connections = request.app.state.pool
    return db


async def get_settings(request: Request) -> AppSettings:
    settings: AppSettings = request.app.state.settings
    return settings


async def bbox_param(
    bbox: Annotated[str | None, Query(description=f"Filter: {BBOX_FORM}")] = None,
) -> BBox | None:
    return parse_bbox(bbox) if bbox is not None else None


async def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            description="A UUID made by the client: a retry with the same key and body is stored "
            "once (and answered 200 with what was stored); another body is a 409"
        ),
    ] = None,
) -> uuid.UUID | None:
    """The ``Idempotency-Key`` header as a UUID (None without one); 422 for anything else."""
    if idempotency_key is None:
        return None
    try:
        return uuid.UUID(idempotency_key)
    except ValueError:
        raise InvalidInput(
            "the Idempotency-Key header must be a UUID", field="Idempotency-Key"
        ) from None


# scope="function": the connection is given back, and what the request wrote committed, before
# the response is sent. With FastAPI's default ("request") the commit ran after the response, so a
# browser that followed the sign-in redirect at once could arrive before its session existed, and
# a client reading back what it had just written could miss it.
ConnDep = Annotated[psycopg.Connection, Depends(get_conn, scope="function")]
DbDep = Annotated[Connections, Depends(get_db)]
SettingsDep = Annotated[AppSettings, Depends(get_settings)]
BBoxDep = Annotated[BBox | None, Depends(bbox_param)]
IdempotencyKeyDep = Annotated[uuid.UUID | None, Depends(idempotency_key)]
