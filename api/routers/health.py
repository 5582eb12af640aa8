"""Liveness and database health."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConnDep
from geo.db import connection

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(conn: ConnDep) -> dict[str, str]:
    """200 with the PostgreSQL, PostGIS and schema versions; 503 when the database is down."""
    return {"status": "ok", "database": "ok", **connection.database_health(conn)}
