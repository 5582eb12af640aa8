"""The FastAPI application: `create_app` builds it from settings; nothing happens at import."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from api.access_log import OffLoopAccessLog
from api.app_paths import STATIC_DIR, static_prefix
from api.bodies import plain_parameters
from api.conditional import BodyCache, FreshAnswers
from api.errors import document_errors, install_error_handlers
from api.fast_list import FreshListShortcut
from api.guard import RequestGuard
from api.headers import install_security_headers
from api.heavy import HeavyJobs, default_slots, shutdown_processes
from api.routers import (
    admin_pages,
    aggregates,
    agreements,
    analysis,
    approvals,
    auth,
    coverage,
    deviations,
    docs,
    exports,
    follow_up,
    health,
    layers,
    me,
    ogc,
    organisations,
    pages,
    police_events,
    route_plans,
    tiles,
    users,
    walk_reports,
    walk_routes,
    walks,
)
from api.settings import AppSettings
from api.shedding import LoadShedding
from api.static_files import ImmutableStaticFiles, RevalidatedStaticFiles
from geo.db import connection, migrate
from geo.db.auth_notices import AuthNotices

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
            url,
            min_size=settings.db.pool_min_size,
            max_size=settings.db.pool_max_size,
            timeout_s=settings.db.pool_timeout_s,
            probe_interval_s=settings.db.probe_interval_s,
        )
        pool.open(wait=True, timeout=30)
        app.state.pool = pool
        fresh: FreshAnswers = app.state.deviation_lists_fresh
        notices = AuthNotices(url, lambda hearing: fresh.forget_viewers(hearing=hearing))
        if settings.token_memory_s > 0 and settings.list_fresh_ms > 0:
            notices.start()
        # Started here, after uvicorn has configured its loggers (in every worker process).
        access_log = OffLoopAccessLog()
        access_log.start()
        # What start-up made (modules, classes, the routes' models: hundreds of thousands of
        # objects) lives as long as the process: out of the collector's sight, a full collection
        # no longer walks it all (each one paused the event loop for 160-280 ms under
        # bench/peak.py's 10,000 walkers, and collected nothing; now 12-31 ms).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            notices.stop()
            pool.close()
            shutdown_processes()
            access_log.stop()

    app = FastAPI(
        title="nattvandring",
        version="0.1.0",
        description=(
            "Situation maps, deviation reports, heat maps and walk routes for night-walk "
            "programmes. Coordinates are WGS 84 (EPSG:4326) in GeoJSON's lon/lat order."
        ),
        lifespan=lifespan,
        # FastAPI's OpenTelemetry support, unused here (no exporter is configured), asked the
        # global providers whether it is on at every request: 8 % of a worker's event loop at
        # the peak (issue 18). Off; a deployment that exports traces turns it on here.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # NUL characters and lone surrogates in query and path parameters: a 422 (api.bodies).
        dependencies=[Depends(plain_parameters)],
        # /docs is the app's own page on its vendored Swagger UI (`api.routers.docs`).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.heavy = HeavyJobs(settings.heavy_slots or default_slots())
    app.state.deviation_list_cache = BodyCache()
    app.state.tile_cache = BodyCache(max_bytes=64_000_000)
    app.state.deviation_lists_fresh = FreshAnswers(
        settings.list_fresh_ms / 1000, viewer_s=settings.token_memory_s
    )
    install_error_handlers(app)
    document_errors(app)
    # Both inside the security headers (installed outermost), so that their refusals carry them
    # too; the load shedding outside the guard, so that a shed request costs nothing more.
    # Text answers compressed (JSON, GeoJSON, pages, scripts): a phone on Slow 4G gets a
    # fifth of the bytes. Weak ETags (`api.conditional`) stay valid for the compressed body.
    # Innermost: a poll of a list held fresh is answered before FastAPI (`api.fast_list`).
    app.add_middleware(FreshListShortcut, fresh=app.state.deviation_lists_fresh)
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(RequestGuard, hsts=settings.hsts)
    app.add_middleware(
        LoadShedding,
        max_in_flight=settings.max_in_flight,
        queue_wait_s=settings.queue_wait_ms / 1000,
        retry_after_s=settings.retry_after_s,
    )
    install_security_headers(app)
    app.include_router(health.router)
    app.include_router(layers.router)
    app.include_router(auth.router)
    app.include_router(deviations.router)
    app.include_router(aggregates.router)
    app.include_router(police_events.router)
    app.include_router(coverage.router)
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
    app.include_router(users.router)
    app.include_router(admin_pages.router)
    app.include_router(ogc.router)
    app.include_router(tiles.router)
    app.include_router(docs.router)
    app.include_router(pages.router)
    # The pages' files under their version (`api.app_paths.static_url`): never changed, kept
    # for a year; the unversioned paths stay for scripts and tests, revalidated each time.
    app.mount(static_prefix(), ImmutableStaticFiles(directory=STATIC_DIR), name="static_versioned")
    app.mount("/static", RevalidatedStaticFiles(directory=STATIC_DIR), name="static")
    return app


def worker_app() -> FastAPI:
    """The app of one of `serve --workers`' processes: settings from the environment."""
    return create_app(AppSettings())
