"""Typed FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Query, Request
from psycopg_pool import PoolTimeout

from api.settings import AppSettings
from geo.errors import DatabaseError
from geo.geometry import BBOX_FORM, BBox, parse_bbox


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection for one request; what a request writes commits at its end.

    A database that cannot be reached becomes a `DatabaseError` (503), not a 500.
    """
    try:
        with request.app.state.pool.connection() as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise DatabaseError(f"the database is not available: {exc}") from exc


async def get_settings(request: Request) -> AppSettings:
    settings: AppSettings = request.app.state.settings
    return settings


async def bbox_param(
    bbox: Annotated[str | None, Query(description=f"Filter: {BBOX_FORM}")] = None,
) -> BBox | None:
    return parse_bbox(bbox) if bbox is not None else None


# scope="function": the connection is given back, and what the request wrote committed, before
# the response is sent. With FastAPI's default ("request") the commit ran after the response, so a
# browser that followed the sign-in redirect at once could arrive before its session existed, and
# a client reading back what it had just written could miss it.
ConnDep = Annotated[psycopg.Connection, Depends(get_conn, scope="function")]
SettingsDep = Annotated[AppSettings, Depends(get_settings)]
BBoxDep = Annotated[BBox | None, Depends(bbox_param)]
