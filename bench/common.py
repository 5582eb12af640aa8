"""Shared set-up of the benchmarks: a database with many deviations, and a live server.

The benchmarks use the same database as the app (the embedded PostGIS, or the server in
``NATTVANDRING_DATABASE_URL``) but their own database in it, ``nv_bench``, which they fill once
and reuse while the row count matches. Its deviations are SYNTHETIC (random, not real reports).
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from api.server_process import served
from api.settings import AppSettings
from geo.db import connection, migrate
from geo.db.accounts import add_user
from geo.db.demo import load_demo

BENCH_DB = "nv_bench"
BENCH_PASSWORD = "benchmark-password-not-secret"


def bench_database(n_deviations: int, *, focus_area: str = "solberga", days: int = 365) -> str:
    """The URL of the benchmark database with the demo areas and ``n_deviations`` deviations
    (60 % in ``focus_area``, the rest anywhere in the demo's districts), spread over ``days``."""
    settings = AppSettings()
    server = connection.database_url(settings.db)
    connection.ensure_database(server, BENCH_DB)
    url = connection.server_url(server, BENCH_DB)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        if not conn.execute("SELECT 1 FROM areas LIMIT 1").fetchone():
            load_demo(conn, settings.data_dir)
        row = conn.execute("SELECT count(*) FROM deviations").fetchone()
        if row and row[0] == n_deviations:
            return url
        print(
            f"[bench] filling {BENCH_DB} with {n_deviations:,} synthetic deviations …", flush=True
        )
        with conn.transaction():
            conn.execute("DELETE FROM deviations")
            # Points: 60 % uniformly inside the focus area, the rest inside any demo district;
            # times uniform over the period; all SYNTHETIC.
            conn.execute(
                """
                WITH focus AS (SELECT id, geom FROM areas WHERE slug = %(focus)s),
                     everywhere AS (SELECT ST_Union(geom) AS geom FROM areas),
                     pts AS (
                        SELECT (ST_Dump(ST_GeneratePoints(f.geom, %(n_focus)s, 42))).geom AS geom
                        FROM focus f
                        UNION ALL
                        SELECT (ST_Dump(ST_GeneratePoints(e.geom, %(n_rest)s, 43))).geom
                        FROM everywhere e)
                INSERT INTO deviations (id, category, observed_at, severity, area_id, synthetic,
                                        description, geom)
                SELECT gen_random_uuid(),
                       (ARRAY['skadegorelse','narkotika','ungdomar_samlas','hot_vald',
                              'trasig_belysning','nedskrapning','brand','otrygg_plats',
                              'ovrigt'])[1 + floor(random() * 9)::int],
                       now() - random() * make_interval(days => %(days)s),
                       1 + floor(random() * 3)::int,
                       (SELECT a.id FROM areas a WHERE ST_Intersects(a.geom, p.geom)
                        ORDER BY a.id LIMIT 1),
                       true, 'SYNTETISK benchmark', ST_SetSRID(p.geom, 4326)
                FROM pts p
                """,
                {
                    "focus": focus_area,
                    "n_focus": int(n_deviations * 0.6),
                    "n_rest": n_deviations - int(n_deviations * 0.6),
                    "days": days,
                },
            )
        conn.execute("ANALYZE deviations")
    return url


def ensure_user(url: str, role: str) -> str:
    """A benchmark user of ``role`` (created once); returns its e-mail."""
    email = f"bench-{role}@example.org"
    with connection.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM users WHERE email = %s", (email,)).fetchone():
            add_user(conn, email, BENCH_PASSWORD, role=role, organisation="Älvsjö AIK")
    return email


@contextmanager
def scratch_demo_database(prefix: str) -> Iterator[str]:
    """A database of its own (``{prefix}_<random>``), migrated, with the demo loaded; dropped
    at the end, whatever the run wrote into it."""
    server = connection.database_url(AppSettings().db)
    name = f"{prefix}_{secrets.token_hex(4)}"
    connection.ensure_database(server, name)
    url = connection.server_url(server, name)
    try:
        with connection.connect(url, autocommit=True) as conn:
            migrate.migrate(conn)
            load_demo(conn, AppSettings().data_dir)
        yield url
    finally:
        connection.drop_database(server, name)


@contextmanager
def live_server(url: str) -> Iterator[str]:
    """``nattvandring serve`` on a free port over ``url``; yields the base URL."""
    try:
        with served(url) as base:
            yield base
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def token(base: str, email: str) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": email, "password": BENCH_PASSWORD}
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def timed(fn: Callable[[], object], *, repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def report(name: str, value: float, target: float, unit: str, *, higher_is_better: bool) -> bool:
    """Print one figure with its target and ratio; True when the target is met."""
    ok = value >= target if higher_is_better else value <= target
    ratio = value / target if higher_is_better else target / value if value else float("inf")
    print(
        f"  {name:<58} {value:>10.1f} {unit:<9} target {'≥' if higher_is_better else '≤'} "
        f"{target:g} {unit}  ({ratio:.2f}× the target)  {'OK' if ok else 'MISSED'}"
    )
    return ok


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def unique_suffix() -> str:
    return secrets.token_hex(4)
