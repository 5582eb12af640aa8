"""Benchmark of the deviation API (issue: walkers), over real HTTP against PostGIS.

    .venv/bin/python bench/deviations.py [--deviations 100000] [--posts 1000]

With 100,000 deviations in the database:
- ``GET /api/v1/deviations`` for one area's last 14 days (a few thousand features): ≤ 300 ms;
- 1,000 reports posted one after another through the API: ≥ 200 reports/s.
Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    bench_database,
    ensure_user,
    live_server,
    median_ms,
    report,
    timed,
    token,
)


def _commit_latency_ms(url: str, n: int = 200) -> tuple[float, float]:
    """Median and 95th percentile of a one-row insert and commit (what fsync costs here)."""
    import statistics

    import psycopg

    times = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (x int)")
        for i in range(n):
            t0 = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_probe VALUES (%s)", (i,))
            times.append((time.perf_counter() - t0) * 1000)
        conn.execute("DROP TABLE bench_commit_probe")
    times.sort()
    return statistics.median(times), times[int(0.95 * len(times)) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deviations", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1000)
    args = parser.parse_args()

    url = bench_database(args.deviations)
    planner = ensure_user(url, "planner")
    walker = ensure_user(url, "walker")
    ok = True
    with live_server(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        since = (datetime.now(UTC) - timedelta(days=14)).isoformat()
        params: dict[str, str | int] = {"area": "solberga", "since": since, "limit": 5000}
        headers = token(base, planner)
        first = client.get("/api/v1/deviations", params=params, headers=headers)
        first.raise_for_status()
        n = first.json()["numberReturned"]

        def list_once() -> None:
            client.get("/api/v1/deviations", params=params, headers=headers).raise_for_status()

        times = timed(list_once, repeat=20)
        print(
            f"{args.deviations:,} deviations in the database; Solberga, last 14 days: "
            f"{n:,} features, {len(first.content) / 1e6:.1f} MB"
        )
        ok &= report(
            "GET /api/v1/deviations, one area, 14 days (median of 20)",
            median_ms(times),
            300,
            "ms",
            higher_is_better=False,
        )

        headers = token(base, walker)
        now = datetime.now(UTC)
        features: list[dict[str, Any]] = [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [18.0104 + (i % 50) * 1e-4, 59.2786 + (i // 50) * 1e-5],
                },
                "properties": {
                    "id": str(uuid.uuid4()),
                    "category": "skadegorelse",
                    "severity": 2,
                    "observed_at": (now - timedelta(seconds=i)).isoformat(),
                    "description": "SYNTETISK benchmark",
                },
            }
            for i in range(args.posts)
        ]
        # A lean HTTP/1.1 client with one kept-alive connection (http.client), so that the
        # figure is the server's, not the Python client's: httpx costs about a millisecond a
        # request on this machine.
        host, port = base.removeprefix("http://").split(":")
        lean = http.client.HTTPConnection(host, int(port), timeout=30)
        post_headers = {**headers, "Content-Type": "application/json"}
        t0 = time.perf_counter()
        for f in features:
            lean.request("POST", "/api/v1/deviations", body=json.dumps(f), headers=post_headers)
            r = lean.getresponse()
            body = r.read()
            if r.status != 201:
                raise SystemExit(f"POST failed: {r.status} {body.decode()}")
        elapsed = time.perf_counter() - t0
        commit_ms = _commit_latency_ms(url)
        print(
            f"  (this database's commit latency, the disk's flush: median {commit_ms[0]:.2f} ms,"
            f" p95 {commit_ms[1]:.2f} ms; every report is one durable commit)"
        )
        ok &= report(
            f"POST /api/v1/deviations, {args.posts:,} one after another",
            args.posts / elapsed,
            200,
            "reports/s",
            higher_is_better=True,
        )
    # Keep the database at the size the next run expects.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM deviations WHERE id = ANY(%s)",
            ([uuid.UUID(f["properties"]["id"]) for f in features],),
        )
        # Now, not by autovacuum in the middle of the next run.
        conn.execute("VACUUM ANALYZE deviations")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
