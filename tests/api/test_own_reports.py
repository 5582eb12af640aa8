"""Correcting one's own report ("Rätta" in "Mina rapporter", issue 14): by its reporter, within
24 hours, until a planner has triaged it; checked as a new report is, audited, and seen by open
maps (the list's ETag changes). Over FastAPI on the session's PostGIS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.api.test_deviations import feature

Auth = Callable[[str], dict[str, str]]


def _one(conn: psycopg.Connection, query: str, *params: object) -> Any:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def _report(client: TestClient, headers: dict[str, str], **props: Any) -> str:
    report = feature(**props)
    r = client.post("/api/v1/deviations", json=report, headers=headers)
    assert r.status_code == 201, r.text
    return str(report["properties"]["id"])


def test_the_reporter_corrects_category_severity_note_and_place(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker = signed_in("walker")
    report_id = _report(client, walker, accuracy_m=12.0)
    listed = client.get("/api/v1/deviations", params={"area": "solberga"}, headers=walker)
    etag = listed.headers["etag"]

    body = {
        "category": "hot_vald",
        "severity": 3,
        "description": "  Hot mot en vakt vid <b>stationen</b>  ",
        "geometry": {"type": "Point", "coordinates": [18.0121, 59.2791]},
    }
    r = client.patch(f"/api/v1/me/deviations/{report_id}", json=body, headers=walker)
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert (props["category"], props["severity"]) == ("hot_vald", 3)
    assert props["description"] == "Hot mot en vakt vid <b>stationen</b>"
    assert r.json()["geometry"]["coordinates"] == [18.0121, 59.2791]
    row = conn.execute(
        "SELECT accuracy_m, ST_X(geom), ST_Y(geom) FROM deviations WHERE id = %s", (report_id,)
    ).fetchone()
    assert row == (None, 18.0121, 59.2791)

    # "Mina rapporter" and every open map see it: the list's version changed.
    mine = client.get("/api/v1/me/deviations", headers=walker).json()["features"]
    assert [f["properties"]["severity"] for f in mine if f["properties"]["id"] == report_id] == [3]
    again = client.get(
        "/api/v1/deviations",
        params={"area": "solberga"},
        headers={**walker, "If-None-Match": etag},
    )
    assert again.status_code == 200
    assert again.headers["etag"] != etag

    # Members left out stay; a null note removes it.
    r = client.patch(
        f"/api/v1/me/deviations/{report_id}", json={"description": None}, headers=walker
    )
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert (props["category"], props["severity"]) == ("hot_vald", 3)
    assert props.get("description") is None

    audits = conn.execute(
        "SELECT user_id, details FROM audit_log WHERE action = 'deviation.correct' "
        "AND subject = %s ORDER BY id",
        (report_id,),
    ).fetchall()
    assert [a[1] for a in audits] == [
        {"fields": ["category", "description", "geometry", "severity"]},
        {"fields": ["description"]},
    ]
    walker_id = _one(conn, "SELECT reporter_id FROM deviations WHERE id = %s", report_id)
    assert {a[0] for a in audits} == {walker_id}


def test_a_resend_of_the_original_changes_nothing_back(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker = signed_in("walker")
    report = feature()
    report_id = report["properties"]["id"]
    assert client.post("/api/v1/deviations", json=report, headers=walker).status_code == 201
    r = client.patch(f"/api/v1/me/deviations/{report_id}", json={"severity": 1}, headers=walker)
    assert r.status_code == 200, r.text
    again = client.post("/api/v1/deviations", json=report, headers=walker)
    assert again.status_code == 200, again.text
    assert again.json()["properties"]["severity"] == 1


def test_only_the_reporter_may_correct(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth, auth: Auth
) -> None:
    report_id = _report(client, signed_in("walker"))
    change = {"severity": 1}
    for other in (auth("walker"), signed_in("planner"), signed_in("admin")):
        r = client.patch(f"/api/v1/me/deviations/{report_id}", json=change, headers=other)
        assert r.status_code == 404, r.text
    r = client.patch(
        f"/api/v1/me/deviations/{report_id}", json=change, headers=signed_in("partner")
    )
    assert r.status_code == 403
    assert client.patch(f"/api/v1/me/deviations/{report_id}", json=change).status_code == 401
    r = client.patch(
        f"/api/v1/me/deviations/{uuid.uuid4()}", json=change, headers=signed_in("walker")
    )
    assert r.status_code == 404
    assert _one(conn, "SELECT severity FROM deviations WHERE id = %s", report_id) == 2
    assert (
        _one(
            conn,
            "SELECT count(*) FROM audit_log WHERE action = 'deviation.correct' AND subject = %s",
            report_id,
        )
        == 0
    )


def test_too_late_and_already_triaged_are_409_with_their_codes(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker = signed_in("walker")
    late = _report(client, walker)
    conn.execute(
        "UPDATE deviations SET reported_at = now() - interval '25 hours' WHERE id = %s", (late,)
    )
    r = client.patch(f"/api/v1/me/deviations/{late}", json={"severity": 3}, headers=walker)
    assert r.status_code == 409
    assert r.json()["code"] == "too_late_to_correct"

    triaged = _report(client, walker)
    r = client.patch(
        f"/api/v1/deviations/{triaged}", json={"status": "confirmed"}, headers=signed_in("planner")
    )
    assert r.status_code == 200, r.text
    r = client.patch(f"/api/v1/me/deviations/{triaged}", json={"severity": 3}, headers=walker)
    assert r.status_code == 409
    assert r.json()["code"] == "already_triaged"
    assert _one(conn, "SELECT severity FROM deviations WHERE id = %s", triaged) == 2

    withdrawn = _report(client, walker)
    assert client.delete(f"/api/v1/deviations/{withdrawn}", headers=walker).status_code == 204
    r = client.patch(f"/api/v1/me/deviations/{withdrawn}", json={"severity": 3}, headers=walker)
    assert r.status_code == 410
    assert r.json()["code"] == "withdrawn"


def test_bad_corrections_are_422_naming_the_field(
    client: TestClient, conn: psycopg.Connection, signed_in: Auth
) -> None:
    walker = signed_in("walker")
    report_id = _report(client, walker)
    url = f"/api/v1/me/deviations/{report_id}"
    cases: list[tuple[Any, str, str]] = [
        ({}, "value_error", "nothing to correct"),
        ({"severity": 4}, "value_error", "severity"),
        ({"severity": True}, "value_error", "severity"),
        ({"severity": None}, "value_error", "severity"),
        ({"category": "nope"}, "unknown_category", "nope"),
        ({"category": ""}, "value_error", "category"),
        ({"description": "x" * 2001}, "too_long", "2000"),
        ({"observed_at": "2026-01-01T00:00:00Z"}, "value_error", "observed_at"),
        ({"geometry": {"type": "Point", "coordinates": [59.28, 18.01]}}, "lonlat_swapped", ""),
        ({"geometry": {"type": "Point", "coordinates": [11.97, 57.7]}}, "far_from_areas", ""),
        ({"geometry": {"type": "LineString", "coordinates": [[18, 59], [18.1, 59]]}}, "", ""),
        ([1, 2], "", ""),
    ]
    for body, kind, word in cases:
        r = client.patch(url, json=body, headers=walker)
        assert r.status_code == 422, (body, r.text)
        detail = r.json()["detail"]
        if kind:
            assert detail[0]["type"] == kind, (body, detail)
        assert word in str(detail), (body, detail)
    r = client.patch(url, content=b"severity=3", headers=walker)
    assert r.status_code in (415, 422)
    assert _one(conn, "SELECT severity FROM deviations WHERE id = %s", report_id) == 2
    assert _one(conn, "SELECT category FROM deviations WHERE id = %s", report_id) == "skadegorelse"
