"""Benchmark of the API while PostgreSQL is down and after it is back (issue 18, item 2).

    .venv/bin/python bench/outage.py [--outage-s 40] [--reports 200]

On an embedded cluster of its own (in a temporary directory, removed at the end) the live server
takes deviation reports, one after another, each retried with its own id until it is stored,
while ``/healthz`` is asked ten times a second. The cluster is crashed (``pg_ctl stop -m
immediate``), left down for ``--outage-s`` seconds and started again. Figures and goals:

- the slowest answer while the database is down (``/healthz`` and reports; all 503 with
  ``Retry-After``): ≤ 1 s;
- from the restart (the server accepts connections again) to the first ``/healthz`` 200 and to
  the first stored report: ≤ 2 s;
- every report stored exactly once.
Exits with status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.settings import AppSettings  # noqa: E402
from bench.common import BENCH_PASSWORD, live_server, report, token  # noqa: E402
from geo.db import connection, migrate  # noqa: E402
from geo.db.accounts import add_user  # noqa: E402
from geo.db.demo import load_demo  # noqa: E402
from geo.db.embedded import DATABASE, EmbeddedCluster  # noqa: E402

WALKER = "bench-outage-walker@example.org"


def _feature(report_id: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
        "properties": {
            "id": report_id,
            "category": "nedskrapning",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "severity": 1,
        },
    }


class Log:
    """Answers as (sent at, seconds, status; 0 when there was none, Retry-After)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[float, float, int, str | None]] = []
        self.stored_at: list[float] = []

    def add(self, t0: float, status: int, retry: str | None) -> None:
        with self.lock:
            self.rows.append((t0, time.monotonic() - t0, status, retry))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-s", type=float, default=40.0)
    parser.add_argument("--reports", type=int, default=200)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="nv-bench-outage-"))
    os.chmod(home, 0o755)
    cluster = EmbeddedCluster(home)
    try:
        url = cluster.start()
        connection.ensure_database(url, DATABASE)
        with connection.connect(url, autocommit=True) as conn:
            migrate.migrate(conn)
            load_demo(conn, AppSettings().data_dir)
            add_user(conn, WALKER, BENCH_PASSWORD, role="walker", organisation="Älvsjö AIK")
        ids = [str(uuid.uuid4()) for _ in range(args.reports)]
        health, reports = Log(), Log()
        with live_server(url) as base:
            auth = token(base, WALKER)
            stop = threading.Event()

            def poll_health() -> None:
                with httpx.Client(base_url=base, timeout=60) as http:
                    while not stop.is_set():
                        t0 = time.monotonic()
                        try:
                            r = http.get("/healthz")
                            health.add(t0, r.status_code, r.headers.get("retry-after"))
                        except httpx.TransportError:
                            health.add(t0, 0, None)
                        time.sleep(0.1)

            def send_reports() -> None:
                gap = (args.outage_s + 20) / args.reports  # spread over the whole run
                with httpx.Client(base_url=base, timeout=60, headers=auth) as http:
                    for report_id in ids:
                        while True:
                            t0 = time.monotonic()
                            try:
                                r = http.post("/api/v1/deviations", json=_feature(report_id))
                                reports.add(t0, r.status_code, r.headers.get("retry-after"))
                                if r.status_code in (200, 201):
                                    reports.stored_at.append(time.monotonic())
                                    break
                            except httpx.TransportError:
                                reports.add(t0, 0, None)
                            time.sleep(0.1)
                        time.sleep(gap)

            threads = [threading.Thread(target=poll_health), threading.Thread(target=send_reports)]
            for t in threads:
                t.start()
            time.sleep(5)
            print(f"[bench] crashing PostgreSQL for {args.outage_s:g} s", flush=True)
            t_kill = time.monotonic()
            cluster.stop(mode="immediate")
            time.sleep(args.outage_s)
            cluster.start()
            t_back = time.monotonic()
            print(f"[bench] restarted after {t_back - t_kill:.1f} s", flush=True)
            threads[1].join()
            stop.set()
            threads[0].join()
        with connection.connect(url) as conn:
            rows = conn.execute(
                "SELECT count(*), count(DISTINCT id) FROM deviations WHERE id = ANY(%s::uuid[])",
                (ids,),
            ).fetchone()
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)

    assert rows is not None
    # Asked while down: sent after the kill and answered before the restart completed.
    down = [
        r
        for log in (health, reports)
        for r in log.rows
        if t_kill + 0.5 < r[0] and r[0] + r[1] < t_back
    ]
    refused_ok = all(status == 503 and retry for _, _, status, retry in down)
    slowest_down = max((s for _, s, _, _ in down), default=float("inf"))
    first_ok = min(
        (t0 + s for t0, s, status, _ in health.rows if status == 200 and t0 > t_back),
        default=float("inf"),
    )
    first_stored = min((t for t in reports.stored_at if t > t_back), default=float("inf"))
    print(
        f"outage of {args.outage_s:g} s: {len(down)} requests while down "
        f"({'all 503 with Retry-After' if refused_ok else 'NOT all 503 with Retry-After'}); "
        f"{rows[0]} of {args.reports} reports stored, {rows[0] - rows[1]} twice"
    )
    ok = [
        report(
            "slowest answer while the database is down",
            slowest_down * 1000,
            1000,
            "ms",
            higher_is_better=False,
        ),
        report(
            "restart → first /healthz 200",
            (first_ok - t_back) * 1000,
            2000,
            "ms",
            higher_is_better=False,
        ),
        report(
            "restart → first stored report",
            (first_stored - t_back) * 1000,
            2000,
            "ms",
            higher_is_better=False,
        ),
        refused_ok and bool(down),
        rows[0] == rows[1] == args.reports,
    ]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    raise SystemExit(main())
