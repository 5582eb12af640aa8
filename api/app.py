"""The FastAPI application: `create_app` builds it from settings; nothing happens at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.app_paths import STATIC_DIR
from api.conditional import BodyCache
from api.errors import install_error_handlers
from api.headers import SecurityHeaders
from api.routers import (
    admin_pages,
    aggregates,
    agreements,
    analysis,
    approvals,
    auth,
    deviations,
    exports,
    follow_up,
    health,
    layers,
    me,
    organisations,
    pages,
    route_plans,
    walk_reports,
    walk_routes,
    walks,
)
from api.settings import AppSettings
from api.shedding import LoadShedding
from geo.db import connection, migrate

logger = logging.getLogger(__name__)


def create_app(settings: AppSettings | None = None) -> FastAPI:
    """The nattvandring web app.

    At start-up it finds the database (starting the embedded PostGIS when no
    ``NATTVANDRING_DATABASE_URL`` is set), applies pending migrations and opens a connection
    pool, which it closes at shutdown.
    """
    settings = settings or AppSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = connection.database_url(settings.db)
        with connection.connect(url, autocommit=True) as conn:
            applied = migrate.migrate(conn)
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
        pool = connection.open_pool(
            url, min_size=settings.db.pool_min_size, max_size=settings.db.pool_max_size
        )
        pool.open(wait=True, timeout=30)
        app.state.pool = pool
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="nattvandring",
        version="0.1.0",
        description=(
            "Situation maps, deviation reports, heat maps and walk routes for night-walk "
            "programmes. Coordinates are WGS 84 (EPSG:4326) in GeoJSON's lon/lat order."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.deviation_list_cache = BodyCache()
    install_error_handlers(app)
    # Inside the security headers, so that a shed request's 503 carries them too.
    app.add_middleware(
        LoadShedding,
        max_in_flight=settings.max_in_flight,
        queue_wait_s=settings.queue_wait_ms / 1000,
        retry_after_s=settings.retry_after_s,
    )
    app.add_middleware(SecurityHeaders)
    app.include_router(health.router)
    app.include_router(layers.router)
    app.include_router(auth.router)
    app.include_router(deviations.router)
    app.include_router(aggregates.router)
    app.include_router(analysis.router)
    app.include_router(walk_routes.router)
    app.include_router(route_plans.router)
    app.include_router(walks.router)
    app.include_router(walk_reports.router)
    app.include_router(me.router)
    app.include_router(exports.router)
    app.include_router(organisations.router)
    app.include_router(agreements.router)
    app.include_router(approvals.router)
    app.include_router(follow_up.router)
    app.include_router(admin_pages.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def worker_app() -> FastAPI:
    """The app of one of `serve --workers`' processes: settings from the environment."""
    return create_app(AppSettings())
