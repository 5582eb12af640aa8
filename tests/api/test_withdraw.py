"""Withdrawing a report ("Ångra", issue 14): by its reporter within 10 minutes; the report
vanishes from every read, its id stays reserved (a resend is a 410 and stores nothing), and the
withdrawal is audited. Over FastAPI on the session's PostGIS."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.test_deviations import feature

Auth = Callable[[str], dict[str, str]]


def _count(conn: psycopg.Connection, query: str, *params: object) -> int:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def test_the_reporter_withdraws_and_a_resend_is_gone(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker = signed_in("walker")
    report = feature(description=f"Ångrad {uuid.uuid4()}")
    report_id = report["properties"]["id"]
    assert client.post("/api/v1/deviations", json=report, headers=walker).status_code == 201
    mine = client.get("/api/v1/me/deviations", headers=walker)
    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "no-store"
    assert report_id in [f["properties"]["id"] for f in mine.json()["features"]]

    # Another walker may not withdraw it (and learns nothing of it); nor may a planner.
    assert (
        client.delete(f"/api/v1/deviations/{report_id}", headers=signed_in("planner")).status_code
        == 404
    )
    r = client.delete(f"/api/v1/deviations/{report_id}", headers=walker)
    assert r.status_code == 204, r.text

    assert _count(conn, "SELECT count(*) FROM deviations WHERE id = %s", report_id) == 0
    assert client.get(f"/api/v1/deviations/{report_id}", headers=walker).status_code == 404
    listed = client.get("/api/v1/deviations", params={"limit": 5000}, headers=walker).json()
    assert report_id not in [f["properties"]["id"] for f in listed["features"]]
    mine = client.get("/api/v1/me/deviations", headers=walker).json()
    assert report_id not in [f["properties"]["id"] for f in mine["features"]]
    audited = _count(
        conn,
        "SELECT count(*) FROM audit_log WHERE action = 'deviation.withdraw' AND subject = %s",
        report_id,
    )
    assert audited == 1

    # The id stays reserved: a resend from a queue or another tab is 410 and stores nothing.
    again = client.post("/api/v1/deviations", json=report, headers=walker)
    assert again.status_code == 410
    assert again.json()["code"] == "withdrawn"
    assert _count(conn, "SELECT count(*) FROM deviations WHERE id = %s", report_id) == 0
    assert client.delete(f"/api/v1/deviations/{report_id}", headers=walker).status_code == 410
    # Nor can any other path store it: the database refuses the id.
    with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, geom) "
            "VALUES (%s, 'skadegorelse', now(), 1, ST_SetSRID(ST_MakePoint(18.01, 59.28), 4326))",
            (report_id,),
        )


def test_after_ten_minutes_it_is_too_late(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker = signed_in("walker")
    report = feature()
    report_id = report["properties"]["id"]
    assert client.post("/api/v1/deviations", json=report, headers=walker).status_code == 201
    conn.execute(
        "UPDATE deviations SET reported_at = now() - interval '11 minutes' WHERE id = %s",
        (report_id,),
    )
    r = client.delete(f"/api/v1/deviations/{report_id}", headers=walker)
    assert r.status_code == 409
    assert r.json()["code"] == "too_late_to_withdraw"
    assert _count(conn, "SELECT count(*) FROM deviations WHERE id = %s", report_id) == 1


def test_partners_cannot_withdraw_and_unknown_ids_are_404(
    client: TestClient, signed_in: Auth
) -> None:
    assert (
        client.delete(f"/api/v1/deviations/{uuid.uuid4()}", headers=signed_in("walker")).status_code
        == 404
    )
    assert (
        client.delete(
            f"/api/v1/deviations/{uuid.uuid4()}", headers=signed_in("partner")
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/deviations/{uuid.uuid4()}").status_code == 401
