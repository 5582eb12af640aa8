"""The issue's "done when", through the API: after the demo is loaded, a district planner
approves the walks the demo reports, and the follow-up for Solberga shows per agreement and in
all the walks and costs the demo's walk log implies (the district's own figures: 39 walks and
66,300 SEK before the IOP, 66 walks and 112,200 SEK during it, 105 walks and 178,500 SEK)."""

from __future__ import annotations

import csv

import psycopg
from fastapi.testclient import TestClient

from geo.db.accounts import add_user
from geo.db.demo_history import load_demo_history
from tests.api.conftest import PASSWORD
from tests.conftest import DATA_DIR

LOG_RATE_SEK = 1700


def _district_planner(client: TestClient, conn: psycopg.Connection) -> dict[str, str]:
    email = "distriktsplanerare@example.org"
    add_user(
        conn, email, PASSWORD, role="planner", organisation="Hägersten-Älvsjö stadsdelsförvaltning"
    )
    r = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_planner_approves_the_demo_walks_and_the_follow_up_adds_up(
    client: TestClient, conn: psycopg.Connection
) -> None:
    load_demo_history(conn, DATA_DIR)
    planner = _district_planner(client, conn)
    # The walk log's walks: what the log implies, read from the file itself.
    with (DATA_DIR / "demo_walk_log_solberga.csv").open(encoding="utf-8") as fh:
        log = list(csv.DictReader(fh))
    r = client.get(
        "/api/v1/walks",
        params={"area": "solberga", "status": "reported", "until": "2025-12-31"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    ids = [w["id"] for w in r.json()["walks"]]
    assert len(ids) == len(log) == 105
    r = client.post("/api/v1/walks/approve", json={"ids": ids}, headers=planner)
    assert r.status_code == 200, r.text
    statuses = [x["status"] for x in r.json()["results"]]
    assert statuses == ["paid"] * len(log), r.json()
    # Approving them all again pays nothing more.
    again = client.post("/api/v1/walks/approve", json={"ids": ids[:5]}, headers=planner)
    assert again.status_code == 200
    r = client.get(
        "/api/v1/follow-up",
        params={"area": "solberga", "by": "agreement", "until": "2025-12-31"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    rows = {row["agreement"]["name"]: row for row in body["rows"] if row["agreement"]}
    assert body["total_sek"] == len(log) * LOG_RATE_SEK == 178_500
    by_kind: dict[str, list[int]] = {"agreement": [0, 0], "iop": [0, 0]}
    for row in rows.values():
        by_kind[row["agreement"]["kind"]][0] += row["walks_approved"]
        by_kind[row["agreement"]["kind"]][1] += row["cost_sek"]
        assert row["cost_sek"] == row["walks_approved"] * LOG_RATE_SEK
        assert row["walker_nights"] >= 4 * row["walks_approved"]
    assert by_kind == {"agreement": [39, 66_300], "iop": [66, 112_200]}
    assert rows["IOP nattvandring hösten 2024"]["walks_approved"] == 22
    # The first IOP was signed on 2024-12-17: its earlier walks are flagged.
    flags = {f["code"]: f["walks"] for f in rows["IOP nattvandring hösten 2024"]["flags"]}
    assert flags.get("before_signed", 0) >= 15
    # The councillors' summary gives the same figures.
    r = client.get("/api/v1/follow-up/summary", params={"area": "solberga"}, headers=planner)
    assert r.status_code == 200, r.text
    summary = r.json()
    totals = {k: (v["walks_approved"], v["cost_sek"]) for k, v in summary["totals"].items()}
    assert totals == {
        "agreement": (39, 66_300),
        "iop": (66, 112_200),
        "all": (105, 178_500),
    }
    assert summary["note"] == "SYNTETISKA DEMODATA"
    assert [a["name"] for a in summary["agreements"]][:2] == [
        "Nattvandring Älvsjö AIK hösten 2023",
        "Nattvandring sommaren 2024",
    ]
