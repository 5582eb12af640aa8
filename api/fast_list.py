"""The situation map's poll without FastAPI: an answer `api.conditional.FreshAnswers` holds, for
a token the database accepted a while ago.

On a Friday night thousands of phones ask for the same few lists every 15 s. Through FastAPI
each poll costs its routing, its dependencies (a thread hop each for the pooled connection and
the token's lookup) and two queries, although within ``list_fresh_ms`` the answer is known
(`api.conditional.FreshAnswers`). This plain ASGI middleware answers such a poll itself, when

- it is a ``GET /api/v1/deviations`` whose query string, sorted, is that of an answer built
  within the moment (built only after the query was checked, and never for lists with who
  reported);
- its bearer token or session cookie was accepted by the database within ``token_memory_s``
  (60 s), for a viewer with the visibility the answer was built for (`remember`, called by the
  endpoint).

Everything else goes on to the app. Tokens are trusted only while the process hears of every
change of a sign-in (`geo.db.auth_notices`, NOTIFY from migration 0019: a sign-out, a disabled
account, a new role or organisation), and are all forgotten at each. A write through this
process other than a report also forgets them, before and after it runs, so that what it changes
holds for its own next request whatever the notices' delay.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping

from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.conditional import FreshAnswers, matches
from api.guard import SAFE_METHODS, SESSION_COOKIE
from api.routers.layers import GEOJSON

LIST_PATH = "/api/v1/deviations"
GENERATION = "nattvandring.token_generation"
"""The state's key for the tokens' generation when a poll went on to the app (`remember`)."""
ANSWERED = object()
"""`FreshListShortcut._answer`'s word for a poll it answered itself."""


def presented_token(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """The credential a request presents, as ``(kind, token)``: a bearer token before the
    session cookie, as `api.security.current_user` reads them; None without either."""
    scheme, _, param = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and param:
        return "bearer", param
    cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
    if cookie:
        return "session", cookie
    return None


def token_digest(kind: str, token: str) -> bytes:
    return hashlib.sha256(f"{kind}:{token}".encode()).digest()


def presented_digest(headers: Mapping[str, str]) -> bytes | None:
    """The `token_digest` of the credential a request presents; None without one."""
    presented = presented_token(headers)
    return token_digest(*presented) if presented is not None else None


def list_key(query: QueryParams, visibility: object) -> object:
    """An answer's key in `FreshAnswers`: the sorted query and the viewer's visibility."""
    return (tuple(sorted(query.multi_items())), visibility)


def remember(fresh: FreshAnswers, request: Request, visibility: object) -> None:
    """The endpoint's part: the token of this request was accepted for ``visibility`` (kept
    unless the tokens were forgotten since the request came in)."""
    digest = presented_digest(request.headers)
    generation = request.scope.get("state", {}).get(GENERATION)
    if digest is not None and generation is not None:
        fresh.remember_viewer(digest, visibility, generation=generation)


class FreshListShortcut:
    """ASGI middleware: a poll of a list held fresh, answered without the app (see the module).

    Polls of one list that find it no longer fresh, all at once (at the peak, right after a
    report), are built once: the first goes on to the app, and the others with a remembered
    token wait for its answer (at most ``build_wait_s``) and are answered from it, rather than
    each building the same list again (single flight).
    """

    def __init__(self, app: ASGIApp, *, fresh: FreshAnswers, build_wait_s: float = 2.0) -> None:
        self.app = app
        self.fresh = fresh
        self.build_wait_s = build_wait_s
        self._building: dict[object, asyncio.Future[None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS and scope["path"] != LIST_PATH:
            self.fresh.forget_viewers()
            try:
                await self.app(scope, receive, send)
            finally:
                self.fresh.forget_viewers()
            return
        if scope["method"] == "GET" and scope["path"] == LIST_PATH:
            key = await self._answer(scope, send)
            if key is ANSWERED:
                return
            # In the request's state (FastAPI passes copies of the scope on, sharing its state):
            # a dict of this request's own, not the lifespan's.
            scope["state"] = {**scope.get("state", {}), GENERATION: self.fresh.generation}
            if key is not None:
                await self._build(key, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _build(self, key: object, scope: Scope, receive: Receive, send: Send) -> None:
        """The app answers a poll of a list no longer fresh; the polls of the same list that
        come meanwhile wait for it (`_answer`), until its answer starts (the endpoint keeps the
        list before it answers) or it fails."""
        built = asyncio.get_running_loop().create_future()
        self._building[key] = built

        def done() -> None:
            if self._building.get(key) is built:
                del self._building[key]
            if not built.done():
                built.set_result(None)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                done()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            done()

    async def _answer(self, scope: Scope, send: Send) -> object:
        """`ANSWERED` when the poll was answered here; else the list's key when the app is to
        build it for the others too (a remembered token); else None."""
        headers = Headers(scope=scope)
        reader = presented_digest(headers)
        if reader is None:
            return None
        visibility = self.fresh.viewer(reader)
        if visibility is None:
            return None
        key = list_key(QueryParams(scope["query_string"]), visibility)
        answer = self.fresh.get(key, reader=reader)
        if answer is None:
            building = self._building.get(key)
            if building is None:
                return key
            try:  # another poll builds it: its answer, rather than a build of our own
                await asyncio.wait_for(asyncio.shield(building), self.build_wait_s)
            except TimeoutError:
                return None
            answer = self.fresh.get(key, reader=reader)
            if answer is None:
                return None
        out = [(b"etag", answer.etag.encode())]
        if matches(headers.get("if-none-match"), answer.etag):
            await send({"type": "http.response.start", "status": 304, "headers": out})
            await send({"type": "http.response.body", "body": b""})
            return ANSWERED
        body = answer.body
        out += [(b"content-type", GEOJSON.encode()), (b"vary", b"Accept-Encoding")]
        if "gzip" in headers.get("accept-encoding", ""):
            body = answer.gzipped
            out.append((b"content-encoding", b"gzip"))
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": body})
        return ANSWERED
