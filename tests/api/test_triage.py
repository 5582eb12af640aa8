"""The planners' triage over the API: filters by zone and text, several status changes at once
(atomic, audited), and the count of new reports since the planner last looked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import shapely
from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
STATION = [18.0104, 59.2786]


def _report(client: TestClient, headers: dict[str, str], **props: Any) -> str:
    coords = props.pop("coordinates", STATION)
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": {
            "id": str(uuid.uuid4()),
            "category": "skadegorelse",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "severity": 2,
            **props,
        },
    }
    r = client.post("/api/v1/deviations", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(body["properties"]["id"])


def _ids(fc: dict[str, Any]) -> set[str]:
    return {f["id"] for f in fc["features"]}


def test_search_in_descriptions_is_for_planners_and_takes_text_literally(
    client: TestClient, signed_in: Auth
) -> None:
    walker, planner = signed_in("walker"), signed_in("planner")
    token = uuid.uuid4().hex[:8]
    hit = _report(client, walker, description=f"Krossad ruta {token.upper()} vid kiosken")
    percent = _report(client, walker, description=f"{token} 100% sönder")
    _report(client, walker, description="Något helt annat")
    r = client.get("/api/v1/deviations", params={"q": token}, headers=planner)
    assert r.status_code == 200, r.text
    assert _ids(r.json()) == {hit, percent}
    # % and _ are text, not patterns.
    r = client.get("/api/v1/deviations", params={"q": f"{token} 100%"}, headers=planner)
    assert _ids(r.json()) == {percent}
    r = client.get("/api/v1/deviations", params={"q": "%"}, headers=planner)
    assert percent in _ids(r.json()) and hit not in _ids(r.json())
    # Walkers may not search (they may not read every description).
    r = client.get("/api/v1/deviations", params={"q": token}, headers=walker)
    assert r.status_code == 403
    for bad in ("", "   ", "x" * 201):
        r = client.get("/api/v1/deviations", params={"q": bad}, headers=planner)
        assert r.status_code == 422, (bad, r.text)


def test_zone_filter(client: TestClient, signed_in: Auth) -> None:
    walker, planner = signed_in("walker"), signed_in("planner")
    ring = [[18.009, 59.278], [18.012, 59.278], [18.012, 59.2795], [18.009, 59.2795]]
    zone = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        "properties": {"name": f"Stationen {uuid.uuid4().hex[:6]}", "description": "Test"},
    }
    r = client.post("/api/v1/zones", json=zone, headers=planner)
    assert r.status_code == 201, r.text
    slug = r.json()["id"]
    inside = _report(client, walker, coordinates=[18.0104, 59.2786])
    outside = _report(client, walker, coordinates=[18.0150, 59.2786])
    r = client.get("/api/v1/deviations", params={"zone": slug, "limit": 5000}, headers=planner)
    assert r.status_code == 200, r.text
    got = _ids(r.json())
    assert inside in got and outside not in got
    outline = shapely.Polygon(ring)
    for f in r.json()["features"]:
        assert outline.buffer(1e-9).contains(shapely.Point(f["geometry"]["coordinates"]))
    r = client.get("/api/v1/deviations", params={"zone": "ingen-sadan-zon"}, headers=planner)
    assert r.status_code == 404
    assert "ingen-sadan-zon" in r.json()["detail"]


def test_several_status_changes_at_once_are_atomic_and_audited(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker, planner = signed_in("walker"), signed_in("planner")
    ids = [_report(client, walker, description=f"nr {i}") for i in range(3)]
    r = client.post(
        "/api/v1/deviations/status", json={"ids": ids[:2], "status": "confirmed"}, headers=planner
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "confirmed",
        "changes": [{"id": i, "status": "confirmed", "previous": "new"} for i in ids[:2]],
    }
    statuses = dict(
        conn.execute(
            "SELECT id::text, status FROM deviations WHERE id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
    )
    assert statuses == {ids[0]: "confirmed", ids[1]: "confirmed", ids[2]: "new"}
    audit = conn.execute(
        "SELECT l.subject, l.details->>'status', l.details->>'previous', u.email "
        "FROM audit_log l JOIN users u ON u.id = l.user_id "
        "WHERE l.action = 'deviation.status' AND l.subject = ANY(%s) ORDER BY l.subject",
        (ids,),
    ).fetchall()
    assert [(a[0], a[1], a[2]) for a in audit] == sorted((i, "confirmed", "new") for i in ids[:2])
    assert {a[3] for a in audit} == {"s-planner@example.org"}
    # The audit trail shows them to a planner.
    r = client.get("/api/v1/audit", params={"action": "deviation.status"}, headers=planner)
    assert r.status_code == 200
    assert set(ids[:2]) <= {row["subject"] for row in r.json()}

    # One unknown id: a 404 naming it, and nothing changes.
    unknown = str(uuid.uuid4())
    r = client.post(
        "/api/v1/deviations/status",
        json={"ids": [ids[2], unknown], "status": "dismissed"},
        headers=planner,
    )
    assert r.status_code == 404
    assert unknown in r.json()["detail"]
    row = conn.execute("SELECT status FROM deviations WHERE id = %s", (ids[2],)).fetchone()
    assert row == ("new",)


def test_status_batch_refuses_bad_input_and_other_roles(
    client: TestClient, signed_in: Auth
) -> None:
    walker, planner = signed_in("walker"), signed_in("planner")
    one = _report(client, walker)
    url = "/api/v1/deviations/status"
    for body in (
        {"ids": [], "status": "confirmed"},
        {"ids": ["not-a-uuid"], "status": "confirmed"},
        {"ids": [one], "status": "done"},
        {"ids": [one, one], "status": "confirmed"},
        {"ids": [str(uuid.uuid4()) for _ in range(501)], "status": "confirmed"},
        {"ids": [one]},
        {"ids": one, "status": "confirmed"},
        {"ids": [one], "status": "confirmed", "extra": 1},
    ):
        r = client.post(url, json=body, headers=planner)
        assert r.status_code == 422, (body, r.text)
    r = client.post(url, content=b"[", headers={**planner, "Content-Type": "application/json"})
    assert r.status_code == 422
    r = client.post(url, json={"ids": [one], "status": "confirmed"}, headers=walker)
    assert r.status_code == 403
    r = client.post(url, json={"ids": [one], "status": "confirmed"}, headers=signed_in("partner"))
    assert r.status_code == 403
    r = client.post(url, json={"ids": [one], "status": "confirmed"})
    assert r.status_code == 401


def test_new_since_the_planner_last_looked(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker, planner, admin = signed_in("walker"), signed_in("planner"), signed_in("admin")
    # Older reports than this test's: make the demo's new reports seen long ago, so that the
    # counts here are this test's own.
    conn.execute("UPDATE deviations SET status = 'confirmed' WHERE status = 'new'")
    r = client.get("/api/v1/me/triage", headers=planner)
    assert r.status_code == 200, r.text
    assert r.json() == {"new": 0, "new_since_seen": 0, "seen_at": None}
    first = [_report(client, walker) for _ in range(2)]
    assert client.get("/api/v1/me/triage", headers=planner).json()["new_since_seen"] == 2
    r = client.post("/api/v1/me/triage/seen", headers=planner)
    assert r.status_code == 200, r.text
    assert r.json()["new"] == 2 and r.json()["new_since_seen"] == 0
    assert r.json()["seen_at"] is not None
    # The tests share one transaction (now() stands still): move the look back a second.
    conn.execute("UPDATE triage_seen SET seen_at = seen_at - interval '1 second'")
    conn.execute(
        "UPDATE deviations SET reported_at = reported_at - interval '2 seconds' "
        "WHERE id = ANY(%s::uuid[])",
        (first,),
    )
    _report(client, walker)
    state = client.get("/api/v1/me/triage", headers=planner).json()
    assert state["new"] == 3 and state["new_since_seen"] == 1
    # Each planner has their own: the admin never looked.
    assert client.get("/api/v1/me/triage", headers=admin).json()["new_since_seen"] == 3
    # A triaged report is no longer new.
    client.post(
        "/api/v1/deviations/status", json={"ids": first, "status": "dismissed"}, headers=planner
    )
    assert client.get("/api/v1/me/triage", headers=admin).json()["new"] == 1
    # Of one area; an unknown one is a 404.
    assert client.get("/api/v1/me/triage?area=alvsjo", headers=planner).status_code == 200
    assert client.get("/api/v1/me/triage?area=nowhere", headers=planner).status_code == 404
    assert client.get("/api/v1/me/triage", headers=walker).status_code == 403
    assert client.post("/api/v1/me/triage/seen", headers=walker).status_code == 403
