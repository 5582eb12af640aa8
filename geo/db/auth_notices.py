"""Notices of changed sign-ins (migration 0019): a thread that LISTENs on ``nv_auth``.

Each worker process keeps which tokens the database accepted (`api.conditional.FreshAnswers`,
for `api.fast_list`). It may do so only while it hears of every change: this thread holds a
connection of its own that listens on the channel and calls ``on_change(listening)`` at every
notice, and also whenever it loses or regains the connection (what changed meanwhile went
unheard); while ``listening`` is false, nothing may be kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

logger = logging.getLogger(__name__)

CHANNEL = "nv_auth"


class AuthNotices:
    def __init__(
        self, url: str, on_change: Callable[[bool], None], *, retry_s: float = 1.0
    ) -> None:
        self.url = url
        self.on_change = on_change
        self.retry_s = retry_s
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nv-auth-notices", daemon=True)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self, *, wait_s: float = 5.0) -> None:
        """Start listening; waits up to ``wait_s`` for the first connection (not an error if
        the database is away: the thread keeps trying)."""
        self._thread.start()
        self._listening.wait(wait_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=2) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.on_change(True)  # whatever changed while nobody listened
                    self._listening.set()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.on_change(True)
            except psycopg.Error as exc:
                if self._listening.is_set():
                    logger.warning("lost the sign-in notices (%s); retrying", exc)
            finally:
                self._listening.clear()
                self.on_change(False)
            self._stop.wait(self.retry_s)
