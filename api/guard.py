"""What every request passes before it reaches a route: cross-site requests made with a browser's
session cookie are refused (CSRF), and responses say how they may be kept.

Cross-site requests (issue 18, item 7). A page of another site can make the browser send a
request to this one, with the signed-in user's session cookie (SameSite=Lax still sends it with
a top-level navigation). So a request that carries the session cookie (or signs in or out) is
refused with 403 when the browser says it comes from another site (``Sec-Fetch-Site`` is
``cross-site`` or ``same-site``, or ``Origin`` names another host) and it

- changes something (any method but GET, HEAD and OPTIONS: every write, ``/login``,
  ``/logout``), or
- is for the API (``/api/…``): answers there may write audit rows (a read of who reported, an
  export), and no page of another site has any business reading them.

A request with a bearer token (``Authorization: Bearer …``) is exempt: a browser never adds one
by itself, so a page of another site cannot make one in the user's name. Navigations to the
pages (``GET /``, ``/plan`` …) from a link elsewhere still work. Files that the pages download
(exports) are POSTs, which every browser sends with ``Origin``; their GET stays for bearer-token
clients (scripts, QGIS) only (`reject_cookie_get`).

Caching. An API answer that does not say otherwise is ``Cache-Control: no-store``: most hold
personal data or a token. With ``hsts`` (``NATTVANDRING_HSTS``), ``Strict-Transport-Security``
is sent on every response when the request came over HTTPS (``auto``, the default: directly, or
through a proxy whose ``X-Forwarded-Proto`` uvicorn trusts, see ``FORWARDED_ALLOW_IPS``), always
(``on``, for a proxy that terminates TLS but does not say so) or never (``off``).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo.errors import Forbidden

SESSION_COOKIE = "nv_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Sign-in and sign-out change who the browser is signed in as, with or without a cookie.
SIGN_IN_PATHS = frozenset({"/login", "/logout"})
HSTS_MODES = ("auto", "on", "off")
HSTS_VALUE = "max-age=31536000"
CROSS_SITE_MESSAGE = (
    "a page of another site may not use your sign-in here: open the page on this site, or "
    "send a bearer token"
)


class DownloadNeedsPost(Forbidden):
    """A file download by GET with the session cookie (`reject_cookie_get`)."""

    code = "download_needs_post"


def same_origin(headers: Headers) -> bool:
    """Whether the browser says this request comes from this site's own pages.

    ``Sec-Fetch-Site`` (every current browser sends it) must be ``same-origin`` or ``none``
    (typed into the address bar, a bookmark); ``Origin``, where sent, must name this host. A
    request with neither header is not from a browser page of another site (browsers send
    ``Origin`` with every cross-site POST), so it passes.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin == "null":  # a sandboxed frame, a file: page, a redirect across sites
        return False
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


def has_bearer(headers: Headers) -> bool:
    return headers.get("authorization", "").lower().startswith("bearer ")


def client_address(request: Request) -> str:
    """The client's IP address (behind a trusted proxy, the one it forwarded for: uvicorn
    rewrites it from ``X-Forwarded-For``)."""
    return request.client.host if request.client else "unknown"


def reject_cookie_get(request: Request) -> None:
    """A dependency of file downloads: a GET signed in with the session cookie is refused.

    A browser follows a link to a GET without saying where the link was (older browsers send
    no ``Sec-Fetch-Site``), so a page of another site could make a signed-in user download,
    and audit, a file. The pages POST instead; scripts and QGIS send a bearer token.
    """
    if (
        request.method == "GET"
        and not has_bearer(request.headers)
        and SESSION_COOKIE in request.cookies
    ):
        raise DownloadNeedsPost(
            "from a page, downloads are POSTs (the page's own button); scripts send a bearer "
            "token (POST /api/v1/auth/token)"
        )


class RequestGuard:
    """ASGI middleware: refuses cross-site cookie requests (see the module) and sets
    ``Cache-Control`` and ``Strict-Transport-Security``. Plain ASGI, no task per request."""

    def __init__(self, app: ASGIApp, *, hsts: str = "auto") -> None:
        if hsts not in HSTS_MODES:
            raise ValueError(f"hsts must be one of {', '.join(HSTS_MODES)}; got {hsts!r}")
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        api = path.startswith("/api/")
        with_cookie = SESSION_COOKIE in cookie_parser(headers.get("cookie", ""))
        if (
            (with_cookie or path in SIGN_IN_PATHS)
            and not has_bearer(headers)
            and (scope["method"] not in SAFE_METHODS or api)
            and not same_origin(headers)
        ):
            await _refuse(send)
            return
        hsts = self.hsts == "on" or (self.hsts == "auto" and scope.get("scheme") == "https")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                if api and "cache-control" not in out:
                    out["Cache-Control"] = "no-store"
                if hsts:
                    out["Strict-Transport-Security"] = HSTS_VALUE
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send) -> None:
    body = json.dumps({"detail": CROSS_SITE_MESSAGE, "code": "cross_site_request"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
