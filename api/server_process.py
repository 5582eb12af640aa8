"""``nattvandring serve`` in a child process, for the browser tests and the benchmarks: started on
a free loopback port over a given database, ready when ``/healthz`` answers 200, stopped on exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from geo.db.embedded import free_port


@contextmanager
def served(
    database_url: str,
    *,
    log: IO[str] | None = None,
    timeout_s: float = 60.0,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve the app over ``database_url`` until the block ends; yields the base URL.

    The server's output goes to ``log`` (discarded without one); ``workers`` processes (0: one
    per CPU); ``env``: more environment (settings such as ``NATTVANDRING_MAX_IN_FLIGHT``).
    `RuntimeError` when it has not answered ``/healthz`` within ``timeout_s`` or exited first.
    """
    port = free_port()
    full_env = {**os.environ, **(env or {}), "NATTVANDRING_DATABASE_URL": database_url}
    cli = Path(sys.executable).parent / "nattvandring"
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--workers", str(workers)],
        env=full_env,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nattvandring serve did not come up")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
