"""Hostile input (issue 18, item 1): each of the inputs that gave a 500 is a 4xx that says what
is wrong, and every response, a 500 included, carries the security headers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import ConnDep
from api.settings import AppSettings
from tests.api.test_errors import report

JSON = {"content-type": "application/json"}
ZONE_RING = [[17.98, 59.282], [17.985, 59.282], [17.985, 59.285], [17.98, 59.282]]


def zone(properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ZONE_RING]},
        "properties": properties,
    }


def first_error(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    item: dict[str, Any] = r.json()["detail"][0]
    assert item["msg"]
    return item


def test_nul_characters_anywhere_are_422_naming_the_field(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    h = signed_in("planner")
    r = client.post("/api/v1/deviations", json=report(description="a\x00b"), headers=h)
    item = first_error(r)
    assert (item["type"], item["loc"]) == (
        "nul_character",
        ["body", "properties", "description"],
    )
    # In a key too.
    body = report()
    body["properties"]["x\x00"] = 1
    assert first_error(client.post("/api/v1/deviations", json=body, headers=h))["type"] == (
        "nul_character"
    )
    item = first_error(client.get("/api/v1/zones", params={"area": "a\x00"}, headers=h))
    assert (item["type"], item["loc"]) == ("nul_character", ["query", "area"])
    item = first_error(client.get("/api/v1/areas/sol%00berga"))
    assert (item["type"], item["loc"]) == ("nul_character", ["path", "slug"])


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/login"])
@pytest.mark.parametrize("field", ["username", "password"])
def test_nul_in_the_sign_in_forms_is_422(client: TestClient, path: str, field: str) -> None:
    form = {"username": "someone@example.org", "password": "secret", field: "x\x00y"}
    item = first_error(client.post(path, data=form, follow_redirects=False))
    assert (item["type"], item["loc"]) == ("nul_character", ["body", field])


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        # An integer beyond 64 bits, where the model would take any integer.
        (json.dumps(report()).replace('"severity": 2', '"severity": 1' + "0" * 25), None),
        ('{"type": "Feature", "n": 123456789012345678901234567890}', "integer_too_large"),
        ("[" * 5000 + "]" * 5000, "json_too_deep"),
        ('{"a":' * 40 + "1" + "}" * 40, "json_too_deep"),
        (json.dumps(report(description="x")).replace('"x"', '"\\ud800"'), "invalid_unicode"),
        (json.dumps(report(description="x")).replace('"x"', '"\\udfff tail"'), "invalid_unicode"),
        ('{"type": "Feature", "n": NaN}', "value_error"),
        ('{"type": "Feature", "n": -Infinity}', "value_error"),
    ],
)
def test_json_that_cannot_be_stored_is_422(
    client: TestClient, signed_in: Callable[[str], dict[str, str]], raw: str, code: str | None
) -> None:
    r = client.post("/api/v1/deviations", content=raw, headers={**signed_in("walker"), **JSON})
    item = first_error(r)
    assert item["type"] == (code or "integer_too_large"), item
    if code == "invalid_unicode":
        assert item["loc"] == ["body", "properties", "description"]


def test_raw_utf8_surrogates_and_bytes_that_are_not_utf8_are_422(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    h = {**signed_in("walker"), **JSON}
    good = json.dumps(report(description="x"), ensure_ascii=False).encode()
    # U+D800 written as UTF-8 bytes (which `json.loads` decodes with "surrogatepass").
    for raw in (good.replace(b'"x"', b'"\xed\xa0\x80"'), good.replace(b'"x"', b'"\xff"')):
        assert first_error(client.post("/api/v1/deviations", content=raw, headers=h))["type"] == (
            "invalid_unicode"
        )


@pytest.mark.parametrize("path", ["/api/v1/deviations", "/api/v1/audit"])
@pytest.mark.parametrize("offset", [2**63, 2**63 - 1 + 10, 10**30])
def test_offsets_beyond_bigint_are_422(
    client: TestClient, signed_in: Callable[[str], dict[str, str]], path: str, offset: int
) -> None:
    item = first_error(client.get(path, params={"offset": offset}, headers=signed_in("planner")))
    assert item["loc"] == ["query", "offset"]


def test_the_largest_offset_is_an_empty_page(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    h = signed_in("planner")
    r = client.get("/api/v1/deviations", params={"offset": 2**63 - 1}, headers=h)
    assert r.status_code == 200 and r.json()["features"] == []


@pytest.mark.parametrize("properties", [[1], "x", 7, True, [{"name": "a"}]])
def test_zone_properties_that_are_not_an_object_are_422(
    client: TestClient, signed_in: Callable[[str], dict[str, str]], properties: Any
) -> None:
    h = signed_in("planner")
    item = first_error(client.post("/api/v1/zones", json=zone(properties), headers=h))
    assert item["loc"][:2] == ["body", "properties"]
    made = client.post("/api/v1/zones", json=zone({"name": "Hård zon"}), headers=h)
    assert made.status_code == 201, made.text
    slug = made.json()["id"]
    item = first_error(client.put(f"/api/v1/zones/{slug}", json=zone(properties), headers=h))
    assert item["loc"][:2] == ["body", "properties"]


def test_a_stored_plan_without_positions_still_downloads_as_gpx(
    client: TestClient, conn: psycopg.Connection, signed_in: Callable[[str], dict[str, str]]
) -> None:
    h = signed_in("planner")
    line = [[17.9837465, 59.2838017], [17.9840781, 59.2833519]]
    route = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": line},
        "properties": {"name": "Plan", "area": "langbro", "plan": {"stops": [{"name": "x"}]}},
    }
    item = first_error(client.post("/api/v1/routes", json=route, headers=h))
    assert item["loc"] == ["body", "properties", "plan"] and "stops[0]" in item["msg"]
    good = {"name": "Lekplatsen", "lon": 17.984, "lat": 59.2836, "arrive_min": 5}
    route["properties"]["plan"] = {"stops": [good]}
    made = client.post("/api/v1/routes", json=route, headers=h)
    assert made.status_code == 201, made.text
    route_id = made.json()["id"]
    # A plan stored before its stops were checked (as the issue found it).
    bad = [{"name": "no position"}, {"lon": "x", "lat": None}, "text", good]
    conn.execute(
        "UPDATE walk_routes SET plan = %s::jsonb WHERE id = %s",
        (json.dumps({"stops": bad}), route_id),
    )
    r = client.get(f"/api/v1/routes/{route_id}.gpx", headers=h)
    assert r.status_code == 200, r.text
    assert r.text.count("<wpt ") == 1 and "Lekplatsen" in r.text


def _faulty_app(settings: AppSettings) -> TestClient:
    app = create_app(settings)
    broken = APIRouter()

    @broken.get("/test/raises")
    def raises() -> None:
        raise RuntimeError("a bug")

    @broken.get("/test/data-error")
    def data_error(conn: ConnDep) -> None:
        conn.execute("SELECT %s::int", ("not a number",))

    @broken.get("/test/unique")
    def unique(conn: ConnDep) -> None:
        conn.execute("CREATE TEMP TABLE t (k int UNIQUE)")
        conn.execute("INSERT INTO t VALUES (1), (1)")

    app.include_router(broken)
    return TestClient(app, raise_server_exceptions=False)


def test_a_500_carries_the_security_headers_and_database_refusals_are_4xx(
    client: TestClient, conn: psycopg.Connection, settings: AppSettings
) -> None:
    faulty = _faulty_app(settings)
    faulty.app.dependency_overrides = client.app.dependency_overrides  # type: ignore[attr-defined]
    r = faulty.get("/test/raises")
    assert r.status_code == 500 and r.json()["code"] == "internal"
    assert "a bug" not in r.text
    for response in (r, faulty.get("/api/v1/areas/none"), faulty.get("/healthz")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert first_error(faulty.get("/test/data-error"))["type"] == "invalid_value"
    r = faulty.get("/test/unique")
    assert r.status_code == 409 and r.json()["code"] == "conflict"


def test_concurrent_zones_with_one_name_are_stored_with_numbered_slugs(
    live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    """20 concurrent POSTs of one name over real HTTP (the issue: 14 × 500): each is stored, with
    a slug of its own, as when they are sent one after the other."""
    email, password = web_users["planner"]
    token = httpx.post(
        f"{live_server}/api/v1/auth/token", data={"username": email, "password": password}
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    name = f"Samma namn {uuid.uuid4().hex[:6]}"

    def post(_: int) -> httpx.Response:
        return httpx.post(
            f"{live_server}/api/v1/zones", json=zone({"name": name}), headers=h, timeout=60
        )

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    try:
        assert sorted(r.status_code for r in answers) == [201] * 20, [r.text for r in answers]
        slugs = {r.json()["id"] for r in answers}
        assert len(slugs) == 20
        assert all(r.headers["X-Content-Type-Options"] == "nosniff" for r in answers)
    finally:
        for r in answers:
            if r.status_code == 201:
                httpx.delete(f"{live_server}/api/v1/zones/{r.json()['id']}", headers=h)
