"""Security headers: a Content-Security-Policy for every page, and the headers every response gets.

Pages are rendered by folium, which writes the map's set-up as inline ``<script>`` blocks. Rather
than allow ``'unsafe-inline'`` scripts, each page's policy lists the SHA-256 of exactly the inline
scripts it carries, so an injected script (from a report's text, say) can never run, even if some
future bug let it into the HTML. Scripts otherwise come only from this server; the one other host
a page may talk to is the base-map tile server, and only for images.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def inline_script_hashes(page: str) -> list[str]:
    """``'sha256-…'`` sources for the executable inline scripts of ``page``.

    >>> inline_script_hashes('<script>alert(1)</script><script src="/x.js"></script>')
    ["'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"]
    """
    found = []
    for m in _INLINE_SCRIPT.finditer(page):
        attrs = m.group("attrs").lower()
        if "src=" in attrs or "application/json" in attrs:
            continue  # external (covered by 'self') or data, which the browser never runs
        digest = hashlib.sha256(m.group("body").encode("utf-8")).digest()
        found.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(set(found))


def content_security_policy(page: str, *, tile_url: str | None) -> str:
    """The policy for one rendered page."""
    tile_origin = ""
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        tile_origin = f"{parts.scheme}://{parts.netloc}".replace("://a.", "://*.")
    scripts = " ".join(["'self'", *inline_script_hashes(page)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            # Leaflet and folium position map panes with inline styles.
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
            "Content-Security-Policy": content_security_policy(page, tile_url=tile_url),
            "Cache-Control": "no-store" if status_code >= 400 else "private, no-cache",
        },
    )


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
