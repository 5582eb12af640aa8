"""Accounts, sign-in and the deviation API, over FastAPI on the session's PostGIS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import TooManyAttempts, Unauthorized, add_user, authenticate
from maps.styles import CATEGORIES as STYLED_CATEGORIES

PASSWORD = "correct horse battery"
STATION = [18.0104, 59.2786]
ROLES = ("walker", "planner", "partner", "admin")


@pytest.fixture()
def users(conn: psycopg.Connection) -> dict[str, str]:
    """One user per role (and a walker of another club); returns role → e-mail."""
    made = {}
    for role in ROLES:
        email = f"{role}@example.org"
        add_user(conn, email, PASSWORD, role=role, organisation="Älvsjö AIK")
        made[role] = email
    add_user(conn, "other@example.org", PASSWORD, role="walker", organisation="Södra Folkparken")
    made["other_walker"] = "other@example.org"
    return made


@pytest.fixture()
def auth(client: TestClient, users: dict[str, str]) -> Callable[[str], dict[str, str]]:
    def headers(who: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", data={"username": users[who], "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "bearer"
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return headers


def feature(**props: Any) -> dict[str, Any]:
    coords = props.pop("coordinates", STATION)
    base = {
        "id": str(uuid.uuid4()),
        "category": "skadegorelse",
        "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "severity": 2,
        "description": "Krossad ruta vid busshållplatsen",
    }
    base.update(props)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": base,
    }


def test_token_and_wrong_password(client: TestClient, users: dict[str, str]) -> None:
    r = client.post("/api/v1/auth/token", data={"username": users["walker"], "password": "nope"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.post("/api/v1/auth/token", data={"username": "nobody@x.se", "password": "x"})
    assert r.status_code == 401


def test_failed_logins_are_rate_limited_per_account_and_address(
    conn: psycopg.Connection, users: dict[str, str]
) -> None:
    for _ in range(5):
        with pytest.raises(Unauthorized):
            authenticate(conn, users["walker"], "wrong password", address="198.51.100.7")
    # Delayed now from that address, even with the right password; other accounts are not,
    # and neither is the same account from another address (no lockout by a stranger).
    with pytest.raises(TooManyAttempts) as err:
        authenticate(conn, users["walker"], PASSWORD, address="198.51.100.7")
    assert err.value.retry_after_s > 0
    assert authenticate(conn, users["planner"], PASSWORD, address="198.51.100.7").role == "planner"
    assert authenticate(conn, users["walker"], PASSWORD, address="203.0.113.9").role == "walker"
    later = datetime.now(UTC) + timedelta(minutes=20)
    user = authenticate(conn, users["walker"], PASSWORD, address="198.51.100.7", now=later)
    assert user.role == "walker"


def test_categories(client: TestClient) -> None:
    cats = client.get("/api/v1/categories").json()
    codes = {c["code"] for c in cats}
    assert set(STYLED_CATEGORIES) <= codes  # the nine that migration 0002 seeds
    assert all(c["colour"].startswith("#") and c["name_sv"] for c in cats)


def test_report_is_stored_once_and_retries_return_it(
    client: TestClient, auth: Callable[[str], dict[str, str]], conn: psycopg.Connection
) -> None:
    h = auth("walker")
    body = feature()
    first = client.post("/api/v1/deviations", json=body, headers=h)
    assert first.status_code == 201, first.text
    props = first.json()["properties"]
    assert props["category"] == "skadegorelse" and props["area"] == "solberga"
    assert "reporter" not in props
    again = client.post("/api/v1/deviations", json=body, headers=h)
    assert again.status_code == 200 and again.json() == first.json()
    changed = dict(body, properties=dict(body["properties"], severity=3))
    assert client.post("/api/v1/deviations", json=changed, headers=h).status_code == 409
    count = conn.execute(
        "SELECT count(*), min(reporter_id) IS NOT NULL FROM deviations WHERE id = %s",
        (body["properties"]["id"],),
    ).fetchone()
    assert count == (1, True)


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"coordinates": [18.01, 95.0]}, 422, "latitude"),
        ({"coordinates": [59.2786, 18.0104]}, 422, "swapped"),
        ({"coordinates": [11.97, 57.70]}, 422, "farther than 2 km"),
        ({"category": "ufo"}, 422, "unknown category"),
        ({"severity": 4}, 422, "severity"),
        ({"observed_at": "igår"}, 422, "ISO 8601"),
        ({"observed_at": "2026-11-20T22:15:00"}, 422, "time zone"),
        ({"description": "x" * 2001}, 422, "2000"),
        ({"colour": "red"}, 422, "unknown properties"),
        ({"id": "not-a-uuid"}, 422, "UUID"),
        ({"accuracy_m": -3}, 422, "accuracy_m"),
    ],
)
def test_bad_reports_get_a_clear_422_and_store_nothing(
    client: TestClient,
    auth: Callable[[str], dict[str, str]],
    conn: psycopg.Connection,
    change: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    before = conn.execute("SELECT count(*) FROM deviations").fetchone()
    r = client.post("/api/v1/deviations", json=feature(**change), headers=auth("walker"))
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"][0]["msg"]
    assert conn.execute("SELECT count(*) FROM deviations").fetchone() == before


def test_observed_at_limits(client: TestClient, auth: Callable[[str], dict[str, str]]) -> None:
    h = auth("walker")
    future = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    for when, fragment in ((future, "future"), (old, "30 days")):
        r = client.post("/api/v1/deviations", json=feature(observed_at=when), headers=h)
        assert r.status_code == 422 and fragment in r.json()["detail"][0]["msg"]


def test_oversized_and_malformed_bodies(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    h = auth("walker")
    big = feature(description="x" * 70_000)
    assert client.post("/api/v1/deviations", json=big, headers=h).status_code == 413
    r = client.post("/api/v1/deviations", content=b"{not json", headers=h)
    assert r.status_code == 422 and "JSON" in r.json()["detail"][0]["msg"]
    r = client.post("/api/v1/deviations", json={"type": "Point"}, headers=h)
    assert r.status_code == 422 and "Feature" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("who", "post", "read", "patch"),
    [
        (None, 401, 401, 401),
        ("walker", 201, 200, 403),
        ("planner", 201, 200, 200),
        # Partners read aggregates only (DESIGN.md decision 8): no list of single reports.
        ("partner", 403, 403, 403),
        ("admin", 201, 200, 200),
    ],
)
def test_roles(
    client: TestClient,
    auth: Callable[[str], dict[str, str]],
    who: str | None,
    post: int,
    read: int,
    patch: int,
) -> None:
    h = auth(who) if who else {}
    assert client.post("/api/v1/deviations", json=feature(), headers=h).status_code == post
    assert client.get("/api/v1/deviations", params={"limit": 5}, headers=h).status_code == read
    stored = client.post("/api/v1/deviations", json=feature(), headers=auth("planner")).json()
    r = client.patch(f"/api/v1/deviations/{stored['id']}", json={"status": "confirmed"}, headers=h)
    assert r.status_code == patch
    if patch == 200:
        assert r.json()["properties"]["status"] == "confirmed"


def test_who_sees_reporters_and_descriptions(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    mine = client.post("/api/v1/deviations", json=feature(), headers=auth("walker")).json()
    theirs = client.post("/api/v1/deviations", json=feature(), headers=auth("other_walker")).json()
    for who in ("walker", "other_walker", "planner"):
        h = auth(who)
        a = client.get(f"/api/v1/deviations/{mine['id']}", headers=h).json()["properties"]
        b = client.get(f"/api/v1/deviations/{theirs['id']}", headers=h).json()["properties"]
        if who == "planner":
            assert a["reporter"] == "walker@example.org" and a["description"]
            continue
        assert "reporter" not in a and "reporter" not in b
        assert "organisation" not in a and "organisation" not in b
        if who == "walker":
            assert "description" in a and "description" not in b
        elif who == "other_walker":
            assert "description" not in a and "description" in b
        else:
            assert "description" not in a and "description" not in b
    # A partner reads no single report: neither one nor a list (403, with nothing of it).
    for path in (f"/api/v1/deviations/{mine['id']}", "/api/v1/deviations"):
        refused = client.get(path, headers=auth("partner"))
        assert refused.status_code == 403, refused.text
        assert "Krossad" not in refused.text and "coordinates" not in refused.text


def test_list_filters_and_paging(client: TestClient, auth: Callable[[str], dict[str, str]]) -> None:
    h = auth("planner")
    since = (datetime.now(UTC) - timedelta(days=14)).isoformat()
    recent = client.get(
        "/api/v1/deviations", params={"area": "solberga", "since": since}, headers=h
    ).json()
    assert recent["numberMatched"] > 0
    assert all(f["properties"]["area"] == "solberga" for f in recent["features"])
    assert all(f["properties"]["observed_at"] >= since[:10] for f in recent["features"])
    both = client.get(
        "/api/v1/deviations",
        params=[("category", "narkotika"), ("category", "brand"), ("limit", 20)],
        headers=h,
    ).json()
    assert {f["properties"]["category"] for f in both["features"]} <= {"narkotika", "brand"}
    assert both["numberReturned"] == 20 < both["numberMatched"]
    page2 = client.get(
        "/api/v1/deviations",
        params=[("category", "narkotika"), ("category", "brand"), ("limit", 20), ("offset", 20)],
        headers=h,
    ).json()
    assert {f["id"] for f in page2["features"]}.isdisjoint({f["id"] for f in both["features"]})
    assert client.get("/api/v1/deviations", params={"limit": 100000}, headers=h).status_code == 422
    bad = client.get("/api/v1/deviations", params={"category": "ufo"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "category"]
    swapped = client.get(
        "/api/v1/deviations",
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=h,
    )
    assert swapped.status_code == 422
    assert (
        client.get("/api/v1/deviations", params={"area": "atlantis"}, headers=h).status_code == 404
    )


def test_admins_manage_categories(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    new = {"code": "klotter", "name_sv": "Klotter", "colour": "#123abc", "weight": 0.7}
    for role in ("walker", "planner", "partner"):
        assert client.post("/api/v1/categories", json=new, headers=auth(role)).status_code == 403
    r = client.post("/api/v1/categories", json=new, headers=auth("admin"))
    assert r.status_code == 201 and r.json()["active"] is True
    assert client.post("/api/v1/categories", json=new, headers=auth("admin")).status_code == 409
    bad = client.post(
        "/api/v1/categories", json={**new, "code": "x2", "colour": "red"}, headers=auth("admin")
    )
    assert bad.status_code == 422
    listed = {c["code"]: c for c in client.get("/api/v1/categories").json()}
    assert listed["klotter"]["name_sv"] == "Klotter"
    report = feature(category="klotter")
    assert client.post("/api/v1/deviations", json=report, headers=auth("walker")).status_code == 201
    # Made inactive: gone from the list, no new reports, the old report keeps it.
    r = client.patch("/api/v1/categories/klotter", json={"active": False}, headers=auth("admin"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert "klotter" not in {c["code"] for c in client.get("/api/v1/categories").json()}
    again = client.post(
        "/api/v1/deviations", json=feature(category="klotter"), headers=auth("walker")
    )
    assert again.status_code == 422
    old = client.get(f"/api/v1/deviations/{report['properties']['id']}", headers=auth("planner"))
    assert old.json()["properties"]["category"] == "klotter"
    assert (
        client.patch(
            "/api/v1/categories/nope", json={"active": False}, headers=auth("admin")
        ).status_code
        == 404
    )


def test_who_reported_is_shown_to_planners_only_on_request_and_audited(
    client: TestClient, auth: Callable[[str], dict[str, str]], conn: psycopg.Connection
) -> None:
    report = client.post("/api/v1/deviations", json=feature(), headers=auth("walker")).json()

    def audited(action: str) -> int:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE action = %s", (action,)).fetchone()
        return int(row[0]) if row else 0

    listed = client.get("/api/v1/deviations", params={"limit": 20}, headers=auth("planner"))
    assert all("reporter" not in f["properties"] for f in listed.json()["features"])
    before = audited("deviations.read_reporters")
    named = client.get(
        "/api/v1/deviations",
        params={"limit": 20, "include_reporters": "true"},
        headers=auth("planner"),
    ).json()
    mine = next(f for f in named["features"] if f["id"] == report["id"])
    assert mine["properties"]["reporter"] == "walker@example.org"
    assert audited("deviations.read_reporters") == before + 1
    refused = client.get(
        "/api/v1/deviations", params={"include_reporters": "true"}, headers=auth("walker")
    )
    assert refused.status_code == 403
    before = audited("deviation.read")
    client.get(f"/api/v1/deviations/{report['id']}", headers=auth("planner"))
    client.get(f"/api/v1/deviations/{report['id']}", headers=auth("walker"))  # no personal data
    assert audited("deviation.read") == before + 1
