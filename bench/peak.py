"""The Friday-night peak (issue 18 item 4): walkers polling the situation map and reporting.

    .venv/bin/python bench/peak.py [--walkers 2000,5000,10000,20000] [--seconds 45] [--workers 0]

A live ``nattvandring serve`` (``--workers``, default one per CPU) over a database of its own,
``nv_peak``, with the demo data (its synthetic deviations refreshed to end now), and a bounded
open-loop load from a separate process on loopback. The load model is the night map's: each
walker polls the situation every 15 s (``GET /api/v1/deviations`` with the page's filters: its
view's bbox, the last 14 days from a whole hour, ``limit=5000``, and the ETag of its last answer
in ``If-None-Match``) and reports a deviation every 10 minutes (``POST /api/v1/deviations``);
each walker's first poll and report fall at random within those periods. Requests go out at
their scheduled times whatever the answers (open loop), at most ``--max-outstanding`` at once
(beyond that one counts as an error), and latency runs from the scheduled time, so a server that
falls behind cannot hide it. The first poll period (``--warmup``) is not counted.

It prints p50/p95/p99 per request kind and the error count at each level. Goal: at 5,000
walkers p99 < 300 ms with 0 errors (a 503 is an error there); beyond capacity the service sheds
with fast 503s (p99 < 100 ms) and nothing else fails. Exits 1 when a goal is missed. The
reports it posts are SYNTHETIC (described "SYNTETISK peak") and deleted at the next run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

POLL_S = 15.0
REPORT_S = 600.0
PEAK_DB = "nv_peak"
MARK = "SYNTETISK peak"
ACCOUNTS = 20
"""Walker accounts the walkers share, each walker with a token of its own (`_tokens`)."""
CATEGORIES = ["skadegorelse", "ungdomar_samlas", "nedskrapning", "trasig_belysning", "ovrigt"]
# Where reports are made: around Solberga's centre (lon, lat, spread in degrees).
REPORT_AT = (18.0104, 59.2786, 0.006)


# -- the client (a separate process) -------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, kind: str, status: str, seconds: float) -> None:
        self.latencies.setdefault(f"{kind} {status}", []).append(seconds)
        by = self.statuses.setdefault(kind, {})
        by[status] = by.get(status, 0) + 1


class Connections:
    """Kept-alive HTTP/1.1 connections to one server (a lean client, so that the figures are
    the server's: a request costs the client some tens of microseconds)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        loop = asyncio.get_running_loop()
        # The server closes a connection idle for 5 s (uvicorn's keep-alive): never reuse one
        # that old, and retry once, on a new one, when a reused one turns out closed (as
        # browsers do).
        while self.idle:
            reader, writer, since = self.idle.pop()
            if loop.time() - since < 4.0:
                try:
                    return await self._exchange(reader, writer, method, path, headers, body)
                except (ConnectionError, asyncio.IncompleteReadError):
                    break
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return await self._exchange(reader, writer, method, path, headers, body)

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            if body:
                head += f"Content-Length: {len(body)}\r\n"
            writer.write(head.encode() + b"\r\n" + body)
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            got = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    got[k.strip().lower()] = v.strip()
            data = await reader.readexactly(int(got.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if got.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, asyncio.get_running_loop().time()))
        return status, got, data


def _report_body(rng: random.Random) -> bytes:
    lon, lat, spread = REPORT_AT
    return json.dumps(
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [
                    round(lon + rng.uniform(-spread, spread), 6),
                    round(lat + rng.uniform(-spread / 2, spread / 2), 6),
                ],
            },
            "properties": {
                "id": str(uuid.uuid4()),
                "category": rng.choice(CATEGORIES),
                "severity": rng.randint(1, 3),
                "observed_at": datetime.now(UTC).isoformat(),
                "description": MARK,
            },
        }
    ).encode()


async def run_load(
    base: str,
    *,
    walkers: int,
    seconds: float,
    warmup: float,
    tokens: list[str],
    views: list[str],
    max_outstanding: int,
    timeout_s: float,
) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    conns = Connections(host, int(port))
    stats = Stats()
    rng = random.Random(18)
    loop = asyncio.get_running_loop()
    start = loop.time() + 1.0
    measure_from = start + warmup
    end = measure_from + seconds
    outstanding = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(kind: str, at: float, walker: dict[str, Any]) -> None:
        nonlocal outstanding
        counted = at >= measure_from
        if outstanding >= max_outstanding:
            if counted:
                stats.add(kind, "dropped", 0.0)
            return
        outstanding += 1
        headers = {"Authorization": walker["auth"]}
        try:
            if kind == "poll":
                if walker["etag"]:
                    headers["If-None-Match"] = walker["etag"]
                req = conns.request("GET", walker["view"], headers)
            else:
                headers["Content-Type"] = "application/json"
                req = conns.request("POST", "/api/v1/deviations", headers, _report_body(rng))
            status, got, _ = await asyncio.wait_for(req, timeout_s)
            label = str(status)
            if kind == "poll" and status == 200:
                walker["etag"] = got.get("etag")
        except TimeoutError:
            label = "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            label = "connection error"
        finally:
            outstanding -= 1
        if counted:
            stats.add(kind, label, loop.time() - at)

    def spawn(kind: str, at: float, walker: dict[str, Any]) -> None:
        task = asyncio.create_task(one(kind, at, walker))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    # Every event in time order: (time, kind, walker); one loop sleeps until each.
    events: list[tuple[float, str, int]] = []
    people = []
    for i in range(walkers):
        people.append(
            {
                "auth": f"Bearer {tokens[i % len(tokens)]}",
                "view": views[i % len(views)],
                "etag": None,
            }
        )
        t = start + rng.uniform(0, POLL_S)
        while t < end:
            events.append((t, "poll", i))
            t += POLL_S
        t = start + rng.uniform(0, REPORT_S)
        while t < end:
            events.append((t, "report", i))
            t += REPORT_S
    events.sort()
    lag_max = 0.0
    for at, kind, i in events:
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag_max = max(lag_max, -delay)
        spawn(kind, at, people[i])
    if tasks:
        await asyncio.wait(set(tasks), timeout=timeout_s + 5)
    return {
        "latencies": stats.latencies,
        "statuses": stats.statuses,
        "client_lag_max_s": lag_max,
        "cpu_s": time.process_time(),
    }


def client_main(args: argparse.Namespace) -> int:
    spec = json.loads(Path(args.client).read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass
    result = asyncio.run(
        run_load(
            spec["base"],
            walkers=spec["walkers"],
            seconds=spec["seconds"],
            warmup=spec["warmup"],
            tokens=spec["tokens"],
            views=spec["views"],
            max_outstanding=spec["max_outstanding"],
            timeout_s=spec["timeout_s"],
        )
    )
    # To a file of its own: a warning on stdout cannot garble the figures.
    Path(spec["result_file"]).write_text(json.dumps(result))
    return 0


# -- the benchmark -------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _database() -> str:
    from api.settings import AppSettings
    from geo.db import connection, migrate
    from geo.db.demo import load_demo

    settings = AppSettings()
    server = connection.database_url(settings.db)
    connection.ensure_database(server, PEAK_DB)
    url = connection.server_url(server, PEAK_DB)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        conn.execute("DELETE FROM deviations WHERE description = %s AND NOT synthetic", (MARK,))
        load_demo(conn, settings.data_dir, refresh_deviations=True)
        conn.execute("VACUUM ANALYZE deviations")
    return url


def _tokens(url: str, base: str, count: int) -> list[str]:
    """A bearer token of its own for each of ``count`` walkers, as each phone has its own
    session: ``ACCOUNTS`` accounts of two clubs, one signed in through the API (the path a phone
    takes) and the rest of the tokens issued straight in the database (an Argon2 hash per
    sign-in would take long)."""
    import httpx

    from geo.db import connection
    from geo.db.accounts import add_user, get_user, issue_token

    password = "peak-benchmark-not-secret"
    tokens = []
    with connection.connect(url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM auth_tokens t USING users u WHERE u.id = t.user_id "
            "AND u.email LIKE 'peak-walker-%%'"
        )
        users = []
        for i in range(ACCOUNTS):
            email = f"peak-walker-{i}@example.org"
            row = conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()
            if not row:
                club = "Älvsjö AIK" if i % 2 == 0 else "Kulturföreningen Solan"
                add_user(conn, email, password, role="walker", organisation=club)
                row = conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()
            assert row is not None
            users.append(get_user(conn, row[0]))
        with httpx.Client(base_url=base, timeout=30) as client:
            r = client.post(
                "/api/v1/auth/token",
                data={"username": "peak-walker-0@example.org", "password": password},
            )
            r.raise_for_status()
            tokens.append(r.json()["access_token"])
        with conn.transaction():
            tokens += [issue_token(conn, users[i % ACCOUNTS]) for i in range(1, count)]
    return tokens


def _views(url: str) -> list[str]:
    """The page's list URLs: the demo districts' views (their bounds, padded by half, as the
    page pads the map's), the last 14 days from a whole hour, and once with a category."""
    from urllib.parse import urlencode

    from geo.db import connection

    with connection.connect(url) as conn:
        rows = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            "SELECT ST_Extent(geom)::geometry AS e FROM areas "
            "WHERE slug IN ('solberga', 'alvsjo') GROUP BY slug ORDER BY slug) s"
        ).fetchall()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    since = (hour - timedelta(days=14)).isoformat().replace("+00:00", "Z")
    views = []
    for x0, y0, x1, y1 in rows:
        dx, dy = (x1 - x0) / 2, (y1 - y0) / 2
        bbox = ",".join(f"{v:.5f}" for v in (x0 - dx, y0 - dy, x1 + dx, y1 + dy))
        views.append({"since": since, "bbox": bbox, "limit": "5000"})
    views.append({**views[0], "category": "ungdomar_samlas"})
    return ["/api/v1/deviations?" + urlencode(v) for v in views]


def _level(base: str, walkers: int, args: argparse.Namespace, spec: dict[str, Any]) -> dict:
    spec_file = Path(f"/tmp/nv-peak-{os.getpid()}.json")
    result_file = spec_file.with_suffix(".result.json")
    spec_file.write_text(
        json.dumps({**spec, "base": base, "walkers": walkers, "result_file": str(result_file)})
    )
    try:
        subprocess.run([sys.executable, __file__, "--client", str(spec_file)], check=True)
        result: dict[str, Any] = json.loads(result_file.read_text())
    finally:
        spec_file.unlink(missing_ok=True)
        result_file.unlink(missing_ok=True)
    return result


def _print_level(walkers: int, result: dict[str, Any], seconds: float) -> dict[str, Any]:
    lat: dict[str, list[float]] = result["latencies"]
    statuses: dict[str, dict[str, int]] = result["statuses"]
    print(f"\n{walkers:,} walkers ({seconds:g} s measured):")
    summary: dict[str, Any] = {"errors": 0, "shed": [], "served": [], "other": 0}
    for kind in ("poll", "report"):
        counts = statuses.get(kind, {})
        served = [
            v
            for k, vs in lat.items()
            if k.startswith(kind + " ")
            for v in vs
            if k.split(" ", 1)[1] in ("200", "201", "304")
        ]
        shed = lat.get(f"{kind} 503", [])
        n = sum(counts.values())
        errors = n - len(served)
        summary["errors"] += errors
        summary["other"] += errors - len(shed)
        summary["served"] += served
        summary["shed"] += shed
        p50, p95, p99 = (_percentile(served, q) * 1000 for q in (0.5, 0.95, 0.99))
        print(
            f"  {kind:<7} {n / seconds:7.1f}/s  answered p50 {p50:7.1f}  p95 {p95:7.1f}  "
            f"p99 {p99:7.1f} ms;  statuses {dict(sorted(counts.items()))}"
        )
        if shed:
            print(
                f"          503 (shed): {len(shed)}, p50 {_percentile(shed, 0.5) * 1000:.1f} ms, "
                f"p99 {_percentile(shed, 0.99) * 1000:.1f} ms"
            )
    every = summary["served"] + summary["shed"]
    summary["p99_ms"] = _percentile(every, 0.99) * 1000
    summary["shed_p99_ms"] = _percentile(summary["shed"], 0.99) * 1000
    print(
        f"  all requests: p99 {summary['p99_ms']:.1f} ms, errors {summary['errors']} "
        f"(503: {len(summary['shed'])}, other: {summary['other']}); "
        f"client CPU {result['cpu_s']:.1f} s, "
        f"client lag max {result['client_lag_max_s'] * 1000:.0f} ms"
    )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", default="2000,5000,10000,20000")
    parser.add_argument("--seconds", type=float, default=45.0, help="measured, per level")
    parser.add_argument("--warmup", type=float, default=POLL_S, help="not measured, per level")
    parser.add_argument("--workers", type=int, default=0, help="server processes (0: per CPU)")
    parser.add_argument("--max-outstanding", type=int, default=3000)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        return client_main(args)

    from api.server_process import served
    from bench.common import report

    levels = [int(n) for n in args.walkers.split(",")]
    url = _database()
    log_path = Path(f"/tmp/nv-peak-serve-{os.getpid()}.log")
    ok = True
    # Settings of the server under test from the environment (NATTVANDRING_MAX_IN_FLIGHT …),
    # so that a run can try others; the defaults are what `serve` uses.
    with log_path.open("w") as log, served(url, log=log, workers=args.workers) as base:
        spec = {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "tokens": _tokens(url, base, max(levels)),
            "views": _views(url),
            "max_outstanding": args.max_outstanding,
            "timeout_s": 30.0,
        }
        print(
            f"nattvandring serve --workers {args.workers or os.cpu_count()} on {os.cpu_count()} "
            f"CPUs; each walker polls every {POLL_S:g} s and reports every {REPORT_S / 60:g} min; "
            f"load average before: {os.getloadavg()[0]:.1f} (others' work shares these CPUs)"
        )
        for walkers in levels:
            summary = _print_level(walkers, _level(base, walkers, args, spec), args.seconds)
            print(f"  load average after: {os.getloadavg()[0]:.1f}")
            if walkers == 5000:
                ok &= report(
                    "5,000 walkers: p99 of every request",
                    summary["p99_ms"],
                    300,
                    "ms",
                    higher_is_better=False,
                )
                ok &= (
                    report(
                        "5,000 walkers: errors (503s included)",
                        summary["errors"],
                        0,
                        "",
                        higher_is_better=False,
                    )
                    if summary["errors"]
                    else _zero("5,000 walkers: errors (503s included)")
                )
            elif walkers > 5000 and summary["shed"]:
                ok &= report(
                    f"{walkers:,} walkers: p99 of the 503s",
                    summary["shed_p99_ms"],
                    100,
                    "ms",
                    higher_is_better=False,
                )
                if summary["other"]:
                    print(
                        f"  {walkers:,} walkers: {summary['other']} errors other than 503  MISSED"
                    )
                    ok = False
    return 0 if ok else 1


def _zero(name: str) -> bool:
    print(f"  {name:<58} {0:>10} {'':<9} target 0  OK")
    return True


if __name__ == "__main__":
    sys.exit(main())
