"""CPU-heavy requests (route plans, heat maps, hot spots, exports, PDFs): limited, and off the
database while they compute (issue 18, item 3).

- **Limits.** At most ``slots`` heavy jobs run at once in the app and one per user: a user's
  second concurrent job is a 429 (`JobRunning`), a job when every slot is busy a 503
  (`ServerBusy`), both with ``Retry-After`` and answered at once, never queued.
- **No connection while computing.** A heavy endpoint signs its caller in over a short
  connection of its own (`heavy_user`), reads what it needs in a ``with db.connection()`` block,
  gives the connection back, computes, and writes (an audit row) in a new short block. A
  deviation report or ``/healthz`` therefore always finds a pooled connection.
- **Off the interpreter.** OR-Tools' search holds Python's GIL for its whole time limit, which
  would stop every other request of the process; route plans therefore run in a small process
  pool (`run_in_process`), started on first use and shared by the apps of a process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from api.deps import DbDep
from api.security import current_user, oauth2, require, require_user
from geo.capabilities import Capability
from geo.db.accounts import User
from geo.errors import NattvandringError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class JobRunning(NattvandringError):
    """The user has a heavy job running already (429)."""

    code = "job_running"
    retry_after_s = 1


class ServerBusy(NattvandringError):
    """Every slot for heavy jobs is busy (503)."""

    code = "busy"
    retry_after_s = 5


def default_slots() -> int:
    """Heavy jobs at once: one per core, at least one and at most four."""
    return max(1, min(4, os.cpu_count() or 1))


class HeavyJobs:
    """The slots for heavy jobs: ``slots`` at once, one per user."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._lock = threading.Lock()
        self._running: dict[int, str] = {}

    @property
    def running(self) -> int:
        return len(self._running)

    @contextmanager
    def slot(self, user_id: int, what: str) -> Iterator[None]:
        """Hold a slot for ``what`` (a route plan, a heat map…) while the block runs."""
        with self._lock:
            if user_id in self._running:
                raise JobRunning(
                    f"you have a {self._running[user_id]} under way already; wait for it "
                    "before you start another"
                )
            if len(self._running) >= self.slots:
                raise ServerBusy(
                    f"the server is busy with {self.slots} heavy jobs (route plans, heat maps, "
                    "exports); try again in a few seconds"
                )
            self._running[user_id] = what
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(user_id, None)


def _brief_user(
    request: Request, db: DbDep, token: Annotated[str | None, Depends(oauth2)]
) -> User | None:
    """Who is calling, over a connection that is given back before the job starts."""
    with db.connection() as conn:
        return current_user(request, conn, token)


_BRIEF_USER = Depends(_brief_user)
BriefOptionalUserDep = Annotated[User | None, _BRIEF_USER]
"""Who is calling (None: nobody signed in), over a connection given back at once: for
endpoints that read over `api.deps.DbDep` in blocks of their own (the feature service)."""


def brief_user(*capabilities: Capability) -> Callable[[User | None], Awaitable[User]]:
    """A dependency: the signed-in user with ``capabilities`` (401, 403 as `api.security.require`)
    over a connection that is given back at once; for endpoints that hold a slot only for some
    of their answers (`jobs`)."""
    check = require(*capabilities)

    async def dependency(user: User | None = _BRIEF_USER) -> User:
        return await check(await require_user(user))

    return dependency


def heavy_user(
    what: str, *capabilities: Capability
) -> Callable[[Request, User | None], AsyncIterator[User]]:
    """A dependency: as `brief_user`, holding one of the app's heavy-job slots for the request
    (429, 503 when there is none)."""
    check = brief_user(*capabilities)

    async def dependency(request: Request, user: User | None = _BRIEF_USER) -> AsyncIterator[User]:
        allowed = await check(user)
        with jobs(request).slot(allowed.id, what):
            yield allowed

    return dependency


def jobs(request: Request) -> HeavyJobs:
    """The app's heavy-job slots."""
    found: HeavyJobs = request.app.state.heavy
    return found


RoutePlannerDep = Annotated[User, Depends(heavy_user("route plan", Capability.PLAN_ROUTES))]
HeavyAnalystDep = Annotated[User, Depends(heavy_user("heat map", Capability.ANALYSE))]
HeavyExporterDep = Annotated[User, Depends(heavy_user("export", Capability.EXPORT_PARTNER))]
"""The meeting export; the detail profile also needs ``EXPORT_DETAIL`` (`api.meeting.check`)."""
BriefExporterDep = Annotated[User, Depends(brief_user(Capability.EXPORT_PARTNER))]
"""The export's preview: off the database while it computes, but without a slot."""
BriefFollowUpDep = Annotated[User, Depends(brief_user(Capability.FOLLOW_UP))]
"""The follow-up: its files take a slot (`jobs`), its JSON does not."""


# -- the process pool ------------------------------------------------------------------------------

_pool_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # forkserver: workers start from a clean process that has the planner imported
            # (no copy of the server's threads, sockets or pooled connections, and fast).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["routes.planner"])
            _pool = ProcessPoolExecutor(max_workers=default_slots(), mp_context=context)
        return _pool


def shutdown_processes() -> None:
    """Stop the process pool and its forkserver (at the end of `serve`, of a test session).

    A process that ends without this (pytest-xdist's workers leave through ``os._exit``) leaves
    the forkserver and its idle workers running, orphaned. The next heavy job starts them again.
    """
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    pool.shutdown(wait=True, cancel_futures=True)
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # CPython's; absent elsewhere
    if stop is not None:
        stop()


def _call(fn: Callable[..., Any], args: Any, kwargs: Any) -> tuple[bool, Any]:
    """In the worker: our errors travel back as (class, message, attributes), since errors with
    keyword-only arguments (`routes.errors.BudgetTooShort`) cannot be unpickled."""
    try:
        return True, fn(*args, **kwargs)
    except NattvandringError as exc:
        return False, (type(exc), str(exc), dict(exc.__dict__))


def run_in_process(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the heavy-job process pool (picklable arguments and result);
    our errors come back as they were raised. A worker that died is a `ServerBusy`."""
    global _pool
    future: Future[tuple[bool, Any]] = _executor().submit(_call, fn, args, kwargs)
    try:
        ok, value = future.result()
    except BrokenProcessPool as exc:
        logger.error("a heavy-job worker died: %s", exc)
        with _pool_lock:
            _pool = None
        raise ServerBusy("the job's worker process stopped; try again") from exc
    if ok:
        result: T = value
        return result
    cls, message, attributes = value
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(attributes)
    raise error
