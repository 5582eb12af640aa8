"""The app's connection pool behind a circuit breaker: fast 503s while PostgreSQL is down.

A plain `psycopg_pool.ConnectionPool` makes every request wait its whole timeout while the server
is unreachable, and after a restart its reconnection attempts back off exponentially (an API that
needed 20 s to recover after a 40 s outage). `GuardedPool` instead

- waits at most ``timeout_s`` (well under a second) for a pooled connection;
- marks the database *down* as soon as a connection attempt fails, after which every request is
  refused at once (`DatabaseUnavailable`, a 503 with ``Retry-After``) without touching the
  network;
- while down, probes the server from one background thread every ``probe_interval_s`` with a
  single cheap connection; when that succeeds it opens a fresh pool (no backed-off attempts left
  over from the outage) and marks the database *up* again.

`Single` offers the same ``connection()`` over one existing connection (the CLI, the tests).
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from geo.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)


class Connections(Protocol):
    """Something that lends a connection for a block: what a request commits at the block's end
    (`GuardedPool`, `Single`)."""

    def connection(self) -> Any: ...  # a context manager yielding a psycopg.Connection


class Single:
    """``connection()`` over one connection that stays open: each block is a transaction (a
    savepoint when one is open already, as in the tests' rolled-back transaction)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self.conn.transaction():
            yield self.conn


CHECK_IDLE_S = 30.0
"""A connection idle for longer than this is checked with a round trip before it is lent."""


def _mark_returned(conn: psycopg.Connection) -> None:
    conn.info_returned_at = time.monotonic()  # type: ignore[attr-defined]


def check_connection(conn: psycopg.Connection) -> None:
    """The pool's check before it lends ``conn``, without a round trip in the common case.

    A server that went away (a restart, a killed backend, ``pg_terminate_backend``) closes the
    socket, and an idle connection's socket becomes readable (EOF or the server's last notice):
    only then, or after ``CHECK_IDLE_S`` of idleness (a firewall may have dropped it silently),
    is the full check (an empty query) run. A poll of the situation map saves a round trip; a
    dropped connection is still never handed out.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    idle = time.monotonic() - getattr(conn, "info_returned_at", 0.0)
    readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    if readable or idle > CHECK_IDLE_S:
        ConnectionPool.check_connection(conn)


class GuardedPool:
    """A connection pool with a circuit breaker (see the module's docstring).

    Parameters
    ----------
    url
        The database's URL.
    min_size, max_size
        The pool's size.
    timeout_s
        How long a request waits for a pooled connection before a 503.
    probe_interval_s
        While down, how often the server is probed.
    connect_timeout_s
        libpq's connect timeout of each connection (libpq's minimum is 2 s).
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        timeout_s: float = 0.8,
        probe_interval_s: float = 0.5,
        connect_timeout_s: int = 2,
    ) -> None:
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self.timeout_s = timeout_s
        self.probe_interval_s = probe_interval_s
        self.connect_timeout_s = connect_timeout_s
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._closed = False
        self._probe: threading.Thread | None = None
        self._pool = self._make_pool()

    # -- the pool ------------------------------------------------------------------------------

    def _make_pool(self) -> ConnectionPool:
        guard = self

        class Watched(psycopg.Connection):  # type: ignore[type-arg]
            """A connection whose failed connect marks the database down."""

            @classmethod
            def connect(cls, *args: Any, **kwargs: Any) -> Any:
                try:
                    return super().connect(*args, **kwargs)
                except psycopg.OperationalError as exc:
                    guard.mark_down(exc)
                    raise

        return ConnectionPool(
            self.url,
            connection_class=Watched,
            min_size=self.min_size,
            max_size=self.max_size,
            open=False,
            timeout=self.timeout_s,
            kwargs={"connect_timeout": self.connect_timeout_s},
            # A connection the server dropped (restart, idle timeout) is replaced, not handed out.
            check=check_connection,
            reset=_mark_returned,
            # The pool's own retries stop soon: after an outage the probe opens a fresh pool.
            reconnect_timeout=10,
            reconnect_failed=lambda pool: logger.warning("pool %s gave up reconnecting", pool.name),
            name="nattvandring",
        )

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    def open(self, *, wait: bool = True, timeout: float = 30) -> None:
        self._pool.open(wait=wait, timeout=timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            probe = self._probe
        self._pool.close()
        if probe is not None:
            probe.join(timeout=5)

    def get_stats(self) -> dict[str, int]:
        return self._pool.get_stats()

    # -- the breaker ---------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self._down_since is None

    def mark_down(self, reason: BaseException | str) -> None:
        """Refuse requests from now on and probe the server until it answers again."""
        with self._lock:
            if self._closed:
                return
            if self._down_since is None:
                self._down_since = time.monotonic()
                logger.error("the database is down (%s): answering 503 until it is back", reason)
            if self._probe is None or not self._probe.is_alive():
                self._probe = threading.Thread(
                    target=self._probe_until_up, name="nattvandring-db-probe", daemon=True
                )
                self._probe.start()

    def _probe_until_up(self) -> None:
        while True:
            time.sleep(self.probe_interval_s)
            with self._lock:
                if self._closed:
                    return
            try:
                with psycopg.connect(self.url, connect_timeout=self.connect_timeout_s) as conn:
                    conn.execute("SELECT 1")
            except psycopg.Error:
                continue
            self._recover()
            return

    def _recover(self) -> None:
        fresh = self._make_pool()
        fresh.open(wait=False)
        with self._lock:
            if self._closed:
                fresh.close()
                return
            old, self._pool = self._pool, fresh
            down_s = time.monotonic() - (self._down_since or time.monotonic())
            self._down_since = None
            self._probe = None
        logger.warning("the database is back after %.1f s", down_s)
        # Connections lent from the old pool are closed when they come back.
        threading.Thread(target=old.close, kwargs={"timeout": 1.0}, daemon=True).start()

    # -- lending -------------------------------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection for a block, committed at its end; `DatabaseUnavailable` at once
        while the database is down, or after ``timeout_s`` when no connection comes free."""
        if self._down_since is not None:
            raise DatabaseUnavailable("the database is not available right now; try again soon")
        pool = self._pool
        try:
            with pool.connection() as conn:
                yield conn
        except (PoolTimeout, PoolClosed) as exc:
            if self._down_since is not None:
                raise DatabaseUnavailable(
                    "the database is not available right now; try again soon"
                ) from exc
            raise DatabaseUnavailable(
                f"no database connection came free within {self.timeout_s:g} s; try again soon"
            ) from exc
        except psycopg.OperationalError as exc:
            if conn_broken(exc):
                self.mark_down(exc)
            raise DatabaseUnavailable(f"the database is not available: {exc}") from exc


def conn_broken(exc: psycopg.OperationalError) -> bool:
    """Whether an error means the server went away (rather than, say, a statement timeout)."""
    return exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))
