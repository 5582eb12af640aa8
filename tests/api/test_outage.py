"""The fault test: PostgreSQL crashes and restarts under a live server (issue 18, item 2).

On an embedded cluster of its own (not the one the other tests share), `nattvandring serve`
takes deviation reports while the cluster is stopped with ``pg_ctl stop -m immediate`` (a crash:
the next start recovers from the WAL) and started again. Each report is retried with its own id
until it is stored, as the walkers' page does. Every report must be stored exactly once, and while
the database is down every answer must be a quick 503 with ``Retry-After``, never a hang.
The bounds are generous; the figures themselves are measured by ``bench/outage.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.server_process import served
from geo.db import connection, migrate
from geo.db.accounts import add_user
from geo.db.demo import load_demo
from geo.db.embedded import DATABASE, EmbeddedCluster

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"
STATION = [18.0104, 59.2786]
PASSWORD = "outage-test-password"
REPORTS = 40
SLOW_S = 5.0  # generous: the goal is 1 s (bench/outage.py)


@pytest.fixture()
def cluster() -> Iterator[EmbeddedCluster]:
    home = Path(tempfile.mkdtemp(prefix="nv-outage-"))
    os.chmod(home, 0o755)
    made = EmbeddedCluster(home)
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(home, ignore_errors=True)


def _report(report_id: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": STATION},
        "properties": {
            "id": report_id,
            "category": "nedskrapning",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "severity": 1,
        },
    }


def test_reports_survive_a_crash_and_restart_with_fast_503s(
    cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    url = cluster.start()
    connection.ensure_database(url, DATABASE)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        load_demo(conn, DATA_DIR)
        add_user(
            conn, "outage-walker@example.org", PASSWORD, role="walker", organisation="Älvsjö AIK"
        )
    ids = [str(uuid.uuid4()) for _ in range(REPORTS)]
    # Each report's body made once, as the page's queue keeps it: a retry sends the same bytes
    # (a report whose commit reached the server just before the crash is then answered 200).
    bodies = {report_id: _report(report_id) for report_id in ids}
    answers: list[tuple[int, float, str | None]] = []  # status (0: no answer), seconds, Retry-After
    log = (tmp_path / "serve.log").open("w")
    with served(url, log=log) as base, httpx.Client(base_url=base, timeout=30) as http:
        r = http.post(
            "/api/v1/auth/token",
            data={"username": "outage-walker@example.org", "password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        sent = threading.Event()

        def send_all() -> None:
            with httpx.Client(base_url=base, timeout=30, headers=auth) as walker:
                for i, report_id in enumerate(ids):
                    if i == 10:
                        sent.set()
                    while True:  # the page's retry: the same id until it is stored
                        t0 = time.monotonic()
                        try:
                            a = walker.post("/api/v1/deviations", json=bodies[report_id])
                            status, retry = a.status_code, a.headers.get("retry-after")
                        except httpx.TransportError:
                            status, retry = 0, None
                        answers.append((status, time.monotonic() - t0, retry))
                        if status in (200, 201):
                            break
                        time.sleep(0.2)
                    time.sleep(0.05)

        sender = threading.Thread(target=send_all)
        sender.start()
        assert sent.wait(30)
        assert cluster.stop(mode="immediate")
        down = []
        for _ in range(6):  # three seconds down, /healthz asked twice a second
            t0 = time.monotonic()
            h = http.get("/healthz")
            down.append((h.status_code, time.monotonic() - t0, h.headers.get("retry-after")))
            time.sleep(0.5)
        cluster.start()
        t_back = time.monotonic()
        while http.get("/healthz").status_code != 200:
            assert time.monotonic() - t_back < 30, "the API did not recover after the restart"
            time.sleep(0.1)
        sender.join(timeout=120)
        assert not sender.is_alive()

    assert all(status == 503 and s < SLOW_S and retry for status, s, retry in down), down
    refused = [a for a in answers if a[0] not in (200, 201)]
    assert refused, "no report was sent while the database was down"
    assert all(status == 503 and retry for status, _, retry in refused), refused
    assert max(s for _, s, _ in answers) < SLOW_S, max(answers, key=lambda a: a[1])
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id::text, count(*) FROM deviations WHERE id = ANY(%s::uuid[]) GROUP BY id",
            (ids,),
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert all(r[1] == 1 for r in rows)
