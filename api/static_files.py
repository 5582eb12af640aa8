"""The pages' static files, with the caching each kind of URL can promise.

Under ``/static/v/<version>/`` (`api.app_paths.static_url`) a file never changes: a year,
``immutable`` (a phone on Slow 4G loads the page's scripts once, not on every visit). Under the
plain ``/static/`` the file is whatever this release has: ``no-cache``, revalidated each time
(its ETag and Last-Modified make that a 304).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"


class ImmutableStaticFiles(StaticFiles):
    """Static files whose URL names their version: cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE
        return response


class RevalidatedStaticFiles(StaticFiles):
    """Static files under their plain path: asked for again each time (``no-cache``)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response
