"""Heavy jobs cannot stall the service (issue 18, item 3).

Eight route plans with a long time limit at once, from eight planners and one of them twice,
through a live server: the plans that get a slot run, the others are refused at once (429 for
the user's second, 503 when every slot is busy, both with ``Retry-After``), and meanwhile
``/healthz`` and a deviation report answer quickly. The bounds are generous.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.heavy import HeavyJobs, JobRunning, ServerBusy
from api.server_process import served
from geo.db import connection, migrate
from geo.db.accounts import add_user
from geo.db.demo import load_demo
from routes.network_io import import_osm

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"
OSM = DATA_DIR / "osm_langbro_solberga_west_2020.osm"
PASSWORD = "heavy-test-password"
TIME_LIMIT_S = 8
QUICK_S = 2.0  # generous: these answer in milliseconds when nothing stalls them


def test_slots_are_per_user_and_bounded() -> None:
    jobs = HeavyJobs(2)
    with jobs.slot(1, "route plan"):
        try:
            with jobs.slot(1, "heat map"):
                raise AssertionError("a second job of one user ran")
        except JobRunning as exc:
            assert "route plan" in str(exc) and exc.retry_after_s > 0
        with jobs.slot(2, "export"):
            try:
                with jobs.slot(3, "heat map"):
                    raise AssertionError("a third job ran with two slots")
            except ServerBusy as exc:
                assert exc.retry_after_s > 0
            assert jobs.running == 2
    assert jobs.running == 0
    with jobs.slot(3, "heat map"):
        assert jobs.running == 1


def _plan_body() -> dict[str, Any]:
    return {
        "area": "langbro",
        "start": {"type": "Point", "coordinates": [17.9815, 59.2830]},
        "duration_min": 120,
        "time_limit_s": TIME_LIMIT_S,
        "candidates": [
            {
                "name": f"Punkt {i}",
                "point": {
                    "type": "Point",
                    "coordinates": [17.975 + 0.001 * i, 59.281 + 0.0005 * i],
                },
                "priority": 1 + i % 3,
            }
            for i in range(12)
        ],
    }


def test_eight_route_plans_do_not_delay_health_or_reports(make_database) -> None:  # type: ignore[no-untyped-def]
    url: str = make_database("nv_heavy")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        load_demo(conn, DATA_DIR)
        import_osm(conn, OSM)
        for i in range(7):
            add_user(
                conn,
                f"heavy-planner-{i}@example.org",
                PASSWORD,
                role="planner",
                organisation="Hägersten-Älvsjö stadsdelsförvaltning",
            )
        add_user(
            conn, "heavy-walker@example.org", PASSWORD, role="walker", organisation="Älvsjö AIK"
        )

    with served(url) as base, httpx.Client(base_url=base, timeout=60) as http:

        def token(email: str) -> dict[str, str]:
            r = http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        planners = [token(f"heavy-planner-{i}@example.org") for i in range(7)]
        walker = token("heavy-walker@example.org")
        plans: list[tuple[int, float, str | None, str]] = []

        def plan(headers: dict[str, str]) -> None:
            t0 = time.monotonic()
            r = httpx.post(
                f"{base}/api/v1/route-plans", json=_plan_body(), headers=headers, timeout=120
            )
            plans.append(
                (r.status_code, time.monotonic() - t0, r.headers.get("retry-after"), r.text)
            )

        threads = [threading.Thread(target=plan, args=(h,)) for h in [planners[0], *planners]]
        for t in threads:
            t.start()
        time.sleep(1.0)  # the plans that got a slot are computing now
        quick = []
        for _ in range(4):
            t0 = time.monotonic()
            h = http.get("/healthz")
            quick.append(("healthz", h.status_code, time.monotonic() - t0))
            t0 = time.monotonic()
            report = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
                "properties": {
                    "id": str(uuid.uuid4()),
                    "category": "nedskrapning",
                    "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                    "severity": 1,
                },
            }
            d = http.post("/api/v1/deviations", json=report, headers=walker)
            quick.append(("deviation", d.status_code, time.monotonic() - t0))
            time.sleep(0.5)
        for t in threads:
            t.join(timeout=120)

    assert all(status in (200, 201) and s < QUICK_S for _, status, s in quick), quick
    assert any(kind == "deviation" and status == 201 for kind, status, _ in quick)
    assert len(plans) == 8
    done = [p for p in plans if p[0] == 200]
    refused = [p for p in plans if p[0] != 200]
    assert done, plans
    # Planner 0's second plan is a 429 only when its first one holds a slot as it arrives; when
    # the slots are all taken first, both are 503s. The per-user rule is the pure test's
    # (test_slots_are_per_user_and_bounded), not this race's.
    assert all(p[0] in (429, 503) and p[2] and p[1] < QUICK_S for p in refused), [
        p[:3] for p in plans
    ]
    assert all(p[1] >= TIME_LIMIT_S * 0.5 for p in done), [p[:3] for p in plans]
