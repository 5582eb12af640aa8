"""Security headers: a Content-Security-Policy for every page, and the headers every response gets.

Pages are Jinja2 templates whose scripts are all files served by this app (ES modules and the
vendored Leaflet); the only inline ``<script>`` a page has is its config, of type
``application/json``, which the browser never runs. So ``script-src 'self'`` is the whole script
policy: an injected script (from a report's text, say) can never run, even if some future bug let
it into the HTML. The one other host a page may talk to is the base-map tile server, and only for
images.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` that keeps å, ä, ö (RFC 6266 ``filename*``, UTF-8) with a
    transliterated ASCII ``filename`` for clients that read only that one.

    >>> print(attachment("Älvsjö.pdf"))
    attachment; filename="Alvsjo.pdf"; filename*=UTF-8''%C3%84lvsj%C3%B6.pdf
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def content_security_policy(*, tile_url: str | None) -> str:
    """The policy of the pages, with the tile server's origin (if any) for images.

    >>> content_security_policy(tile_url=None).split("; ")[1]
    "script-src 'self'"
    """
    tile_origin = ""
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        tile_origin = f"{parts.scheme}://{parts.netloc}".replace("://a.", "://*.")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Leaflet positions map panes with inline styles.
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {tile_origin}".rstrip(),
            "connect-src 'self'",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def page_response(page: str, *, tile_url: str | None, status_code: int = 200) -> HTMLResponse:
    """An HTML page with its own Content-Security-Policy; never cached by shared caches."""
    return HTMLResponse(
        page,
        status_code=status_code,
        headers={
            "Content-Security-Policy": content_security_policy(tile_url=tile_url),
            "Cache-Control": "no-store" if status_code >= 400 else "private, no-cache",
        },
    )


def install_security_headers(app: FastAPI) -> None:
    """`SecurityHeaders` around the whole app, outside Starlette's ServerErrorMiddleware, so that
    a 500 from an unhandled exception carries the headers too (middleware added with
    ``add_middleware`` runs inside it)."""
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build())

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]


class SecurityHeaders:
    """ASGI middleware: the base headers on every response, and ``frame-ancestors 'none'`` where a
    response has no policy of its own (the API's JSON, the OpenAPI pages).

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which costs a task per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = "frame-ancestors 'none'"
            await send(message)

        await self.app(scope, receive, send_with_headers)
