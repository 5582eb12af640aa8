"""The police notices over HTTP: signed in, partners included; links to polisen.se; counts per
district and type beside our deviations (partners: months under 3 left out)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]
Q = {"area": "solberga", "since": "2025-01-01", "until": "2025-12-31"}


def test_signed_out_is_refused_and_walkers_have_no_access(
    client: TestClient, auth: Headers
) -> None:
    assert client.get("/api/v1/police-events", params=Q).status_code == 401
    walker = client.get("/api/v1/police-events", params=Q, headers=auth("walker"))
    assert walker.status_code == 403


def test_partners_read_the_list_and_the_counts(client: TestClient, auth: Headers) -> None:
    r = client.get("/api/v1/police-events", params=Q, headers=auth("partner"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "Händelser: Polisen (polisen.se)"
    events = body["events"]
    assert events and all(e["url"].startswith("https://polisen.se/") for e in events)
    assert all("Solberga" in e["districts"] for e in events)
    assert all("geom" not in e and "geometry" not in e for e in events)
    assert {e["level_sv"] for e in events} <= {"stadsdel", "namngiven plats", "korsning", "gata"}
    c = client.get("/api/v1/police-events/counts", params=Q, headers=auth("partner")).json()
    solberga = sum(r["count"] for r in c["police_events"] if r["district"] == "Solberga")
    assert solberga == len(events)
    assert all(r["period_start"].startswith("2025-") for r in c["police_events"])
    assert all(r["count"] is None or r["count"] >= 3 for r in c["deviations"])


def test_planners_see_every_month_of_our_deviations(client: TestClient, auth: Headers) -> None:
    since = {"area": "solberga", "since": "2025-06-01", "until": "2025-12-31"}
    c = client.get("/api/v1/police-events/counts", params=since, headers=auth("planner")).json()
    assert all(isinstance(r["count"], int) for r in c["deviations"])
    bad = client.get(
        "/api/v1/police-events", params={**Q, "since": "2026-01-01"}, headers=auth("planner")
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]
