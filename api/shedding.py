"""Load shedding: beyond what the server can answer in time, a fast 503 instead of a queue.

Without a limit every request is accepted and waits (for a thread, then for a pooled
connection): on a Friday night 4,000 walkers polling the map made requests wait 30 s and fail
(issue 18). Here at most ``max_in_flight`` requests run at once in each worker process; one more
waits at most ``queue_wait_s`` for a slot and is otherwise answered at once with 503, code
``overloaded`` and ``Retry-After``, which the pages and the phones' queues honour (a report
waits on the phone and is sent again; a map keeps what it shows).
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = frozenset({"/healthz", "/sw.js"})
EXEMPT_PREFIXES = ("/static/",)
"""Cheap answers never shed: what monitoring needs most when the service is busy, and the files
a page loads at once (a dozen modules and styles: shedding one would break the page, and the
service worker keeps them on the phone anyway)."""


class LoadShedding:
    """ASGI middleware: an in-flight limit with a short wait (plain ASGI, no task per request).

    Parameters
    ----------
    max_in_flight
        Requests that run at once in this process (the rest wait or are shed).
    queue_wait_s
        How long a request over the limit may wait for a slot before it gets its 503.
    retry_after_s
        The ``Retry-After`` of the 503, in seconds.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        queue_wait_s: float,
        retry_after_s: int,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.app = app
        self.max_in_flight = max_in_flight
        self.queue_wait_s = queue_wait_s
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.shed = 0
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the serving loop, not at construction
            self._slots = asyncio.Semaphore(self.max_in_flight)
        slots = self._slots
        if slots.locked():
            try:
                await asyncio.wait_for(slots.acquire(), self.queue_wait_s)
            except TimeoutError:
                self.shed += 1
                await self._overloaded(send)
                return
        else:
            await slots.acquire()
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            slots.release()

    async def _overloaded(self, send: Send) -> None:
        body = json.dumps(
            {
                "detail": "the service is busy: try again in "
                f"{self.retry_after_s} s (nothing was done)",
                "code": "overloaded",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after_s).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
