"""Load shedding: beyond what the server can answer in time, a fast 503 instead of a queue.

Without a limit every request is accepted and waits (for a thread, then for a pooled
connection): on a Friday night 4,000 walkers polling the map made requests wait 30 s and fail
(issue 18). Here at most ``max_in_flight`` requests run at once in each worker process; one more
waits at most ``queue_wait_s`` for a slot and is otherwise answered at once with 503, code
``overloaded`` and ``Retry-After``, which the pages and the phones' queues honour (a report
waits on the phone and is sent again; a map keeps what it shows).

The in-flight limit alone does not keep a 503 fast: most polls are answered in well under a
millisecond, so a saturated process rarely has 16 of them running at once, yet each new request
waits behind all the work its event loop has queued (at 10,000 walkers a 503 took 112 ms at p99).
So the middleware also watches its loop: a timer due every ``TICK_S`` notes how late it runs, and
once the loop has been at least ``lag_limit_s`` behind for ``LAG_WINDOW_S`` on end (a standing
queue, not one slow moment), every new request is shed at once until a tick is on time again
(the CoDel idea: act on the delay that persists, not on bursts).
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


class LoopLag:
    """Whether an event loop has a standing queue: a timer every `TICK_S` notes how late it ran.

    ``behind()`` is true once two ticks or more in a row, spanning `LAG_WINDOW_S`, ran at least
    ``limit_s`` late; one tick on time ends it. One long pause (a garbage collection, say) is not
    a standing queue: the tick after it is on time.
    """

    TICK_S = 0.01
    LAG_WINDOW_S = 0.1

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.late_s = 0.0
        self._behind_since: float | None = None
        self._late_ticks = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tick in ``loop`` (from its first call there on; a new loop starts afresh, the ticks
        in an old one end with it)."""
        if loop is not self._loop:
            self._loop, self._behind_since, self._late_ticks = loop, None, 0
            self._due = loop.time() + self.TICK_S
            loop.call_at(self._due, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            return  # a loop no longer watched
        now = loop.time()
        self.late_s = now - self._due
        if self.late_s < self.limit_s:
            self._behind_since, self._late_ticks = None, 0
        else:
            self._late_ticks += 1
            if self._behind_since is None:
                self._behind_since = self._due
        self._due = now + self.TICK_S
        loop.call_at(self._due, self._tick, loop)

    def behind(self) -> bool:
        """The loop has run ``limit_s`` or more behind for a whole window until its last tick."""
        since = self._behind_since
        return (
            since is not None
            and self._late_ticks >= 2
            and self._due - self.TICK_S - since >= self.LAG_WINDOW_S
        )


class LoadShedding:
    """ASGI middleware: an in-flight limit with a short wait, and shedding at once while the
    event loop has a standing queue (`LoopLag`; plain ASGI, no task per request).

    Parameters
    ----------
    max_in_flight
        Requests that run at once in this process (the rest wait or are shed).
    queue_wait_s
        How long a request over the limit may wait for a slot before it gets its 503.
    retry_after_s
        The ``Retry-After`` of the 503, in seconds.
    lag_limit_s
        How late the loop may run for `LoopLag.LAG_WINDOW_S` before every new request is shed;
        0 turns that off (only the in-flight limit sheds).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        queue_wait_s: float,
        retry_after_s: int,
        lag_limit_s: float = 0.0,
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
        self.lag = LoopLag(lag_limit_s) if lag_limit_s > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the serving loop, not at construction
            self._slots = asyncio.Semaphore(self.max_in_flight)
        slots = self._slots
        if self.lag is not None:
            self.lag.watch(asyncio.get_running_loop())
            if self.lag.behind():
                self.shed += 1
                await self._overloaded(send)
                return
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
