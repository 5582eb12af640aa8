"""Request bodies: described in the OpenAPI document, read whole before a connection is taken,
refused early when too large or not JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import AppSettings
from geo.settings import DatabaseSettings
from routes.gpx import route_to_gpx
from tests.conftest import DATA_DIR

Asgi = Callable[..., Any]
SPADVAGEN = [(17.9837465, 59.2838017), (17.9840781, 59.2833519)]
# Operations that take no body (logging out and the pages are not in the document): the walk's
# actions, whose whole meaning is the path and the signed-in walker (issue "Walks": "no body").
BODILESS: set[tuple[str, str]] = {
    ("post", "/api/v1/walks/{walk_id}/signups"),  # sign up the signed-in walker
    ("post", "/api/v1/walks/{walk_id}/start"),  # start the walk now
    ("post", "/api/v1/walks/{walk_id}/end"),  # end the walk now
    ("post", "/api/v1/users/{user_id}/password"),  # a new one-time password, made by the server
    ("post", "/api/v1/me/triage/seen"),  # the planner has looked at the new reports now
}


def test_every_write_operation_describes_its_body(client: TestClient) -> None:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    writes = [
        (method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in ("post", "put", "patch") and (method, path) not in BODILESS
    ]
    assert len(writes) >= 11  # deviations, categories, routes, GPX, zones, plans, sign-in
    for method, path, op in writes:
        body = op.get("requestBody")
        assert body, f"{method.upper()} {path} has no requestBody"
        assert body["content"], f"{method.upper()} {path}"
        for media_type, content in body["content"].items():
            assert content.get("schema"), f"{method.upper()} {path} {media_type} has no schema"
    ops = spec["paths"]
    gpx = ops["/api/v1/routes/gpx"]["post"]["requestBody"]["content"]
    assert gpx["application/gpx+xml"]["schema"]["format"] == "binary"
    report = ops["/api/v1/deviations"]["post"]["requestBody"]["content"]["application/json"]
    assert report["schema"]["$ref"].endswith("/DeviationReport")
    schemas = spec["components"]["schemas"]
    assert {"severity", "observed_at", "id", "category"} <= set(
        schemas["ReportProperties"]["required"]
    )
    assert ops["/api/v1/routes"]["post"]["x-max-body-bytes"] == 2 * 1024 * 1024


def _chunked(app: Asgi, look: Callable[[], int], seen: list[int]) -> Asgi:
    """``app``, with each request body delivered in two pieces; ``look()`` is recorded when the
    app asks for the second piece (the client is still sending)."""

    async def chunked(scope: dict[str, Any], receive: Any, send: Any) -> None:
        rest: list[dict[str, Any]] = []

        async def slow_receive() -> dict[str, Any]:
            if rest:
                seen.append(look())
                return rest.pop()
            message: dict[str, Any] = await receive()
            body = message.get("body", b"")
            if message["type"] != "http.request" or len(body) < 2:
                return message
            half = len(body) // 2
            rest.append({"type": "http.request", "body": body[half:], "more_body": False})
            return {"type": "http.request", "body": body[:half], "more_body": True}

        await app(scope, slow_receive, send)

    return chunked


def _report() -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
        "properties": {
            "id": str(uuid.uuid4()),
            "category": "brand",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
            "severity": 1,
        },
    }


@pytest.mark.parametrize("kind", ["report", "gpx"])
def test_the_body_is_read_before_a_pooled_connection_is_taken(
    live_db_url: str, web_users: dict[str, tuple[str, str]], kind: str
) -> None:
    settings = AppSettings(db=DatabaseSettings(database_url=live_db_url), data_dir=DATA_DIR)
    app = create_app(settings)

    def in_use() -> int:
        stats = app.state.pool.get_stats()
        return int(stats["pool_size"] - stats["pool_available"])

    seen: list[int] = []
    role = "walker" if kind == "report" else "planner"
    email, password = web_users[role]
    with TestClient(_chunked(app, in_use, seen)) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        seen.clear()  # the sign-in form's own body
        if kind == "report":
            r = client.post("/api/v1/deviations", json=_report(), headers=h)
        else:
            gpx = route_to_gpx(f"Långsam {uuid.uuid4().hex[:6]}", SPADVAGEN)
            r = client.post(
                "/api/v1/routes/gpx",
                params={"name": "Långsamt uppladdad"},
                content=gpx.encode(),
                headers={**h, "Content-Type": "application/gpx+xml"},
            )
    assert r.status_code == 201, r.text
    # The app asked for the rest of the body while holding no connection.
    assert seen == [0]


def test_a_body_over_the_limit_is_413_before_it_is_parsed(client: TestClient, conn: Any) -> None:
    from geo.db.accounts import add_user

    add_user(conn, "bodies@example.org", "correct horse battery", role="planner", organisation="X")
    token = client.post(
        "/api/v1/auth/token",
        data={"username": "bodies@example.org", "password": "correct horse battery"},
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    # Not even JSON: the size alone decides.
    r = client.post("/api/v1/deviations", content=b"[" * (65 * 1024), headers=h)
    assert r.status_code == 413 and r.json() == {
        "detail": "the body is over 64 KB",
        "code": "too_large",
    }
    r = client.post("/api/v1/zones", content=b"x" * (1024 * 1024 + 1), headers=h)
    assert r.status_code == 413 and "1 MB" in r.json()["detail"]
    # Form data sent for a JSON body: 415, saying what to send.
    r = client.post(
        "/api/v1/deviations",
        content=json.dumps(_report()),
        headers={**h, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    assert "application/json" in r.json()["detail"]
    # GeoJSON's own media type is JSON.
    r = client.post(
        "/api/v1/deviations",
        content=json.dumps(_report()),
        headers={**h, "Content-Type": "application/geo+json"},
    )
    assert r.status_code == 201, r.text
