"""Load shedding: beyond what the server can answer in time, a fast 503 instead of a queue.

Without a limit every request is accepted and waits (for a thread, then for a pooled
connection): on a Friday night 4,000 walkers polling the map made requests wait 30 s and fail
(issue 18). Here at most ``max_in_flight`` requests run at once in each worker process; one more
waits at most ``queue_wait_s`` for a slot and is otherwise answered at once with 503, code
``overloaded`` and ``Retry-After``, which the pages and the phones' queues honour (a report
waits on the phone and is sent again; a map keeps what it shows). While the process's event
loop runs late (by more than ``lag_limit_s``, measured by a timer of its own), one more does not
wait at all: the loop is behind, a wait would only make every answer later.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque

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
    lag_limit_s
        How late the event loop may run (its timer's lateness) before a request over the limit
        is shed without a wait; it counts as late for ``LAG_HOLD_S`` after such a lateness.
    """

    TICK_S = 0.025
    """How often the loop's lateness is measured."""
    LAG_HOLD_S = 0.5
    """How long the loop counts as late after its timer ran late."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        queue_wait_s: float,
        retry_after_s: int,
        lag_limit_s: float = 0.025,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.app = app
        self.max_in_flight = max_in_flight
        self.queue_wait_s = queue_wait_s
        self.retry_after_s = retry_after_s
        self.lag_limit_s = lag_limit_s
        self.in_flight = 0
        self.shed = 0
        # Requests waiting for a slot: each a future, given a slot (True) by `_release` or
        # refused (False) by its timer. Made in the serving loop, not at construction.
        self._waiting: deque[asyncio.Future[bool]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._late_until = 0.0
        self._overloaded_body = json.dumps(
            {
                "detail": f"the service is busy: try again in {retry_after_s} s (nothing was done)",
                "code": "overloaded",
            }
        ).encode()

    @property
    def lagging(self) -> bool:
        """Whether the event loop ran late lately (see ``lag_limit_s``)."""
        return self._loop is not None and self._loop.time() < self._late_until

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the first request (or, in tests, a new loop)
            self._loop, self._late_until, self._waiting = loop, 0.0, deque()
            loop.call_later(self.TICK_S, self._tick, loop, loop.time() + self.TICK_S)
        if self.in_flight < self.max_in_flight:
            self.in_flight += 1
        elif not await self._wait():
            self.shed += 1
            await self._overloaded(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        if loop is not self._loop:
            return
        now = loop.time()
        if now - due > self.lag_limit_s:
            self._late_until = now + self.LAG_HOLD_S
        loop.call_later(self.TICK_S, self._tick, loop, now + self.TICK_S)

    async def _wait(self) -> bool:
        """Wait for a slot at most ``queue_wait_s`` (not at all while the loop runs late)."""
        if self.queue_wait_s <= 0 or self.lagging:
            return False
        assert self._loop is not None
        waiter: asyncio.Future[bool] = self._loop.create_future()
        self._waiting.append(waiter)
        timer = self._loop.call_later(self.queue_wait_s, _refuse, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._release()  # given a slot just as the request was given up
            raise
        finally:
            timer.cancel()

    def _release(self) -> None:
        """A request is done: its slot goes to the first request still waiting, if any."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self.in_flight -= 1

    async def _overloaded(self, send: Send) -> None:
        body = self._overloaded_body
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


def _refuse(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
