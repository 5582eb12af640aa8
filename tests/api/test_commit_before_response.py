"""What a request writes is committed before its response leaves the server.

A client acts on a response at once: a browser follows the sign-in redirect with its new session
cookie, a phone reads back the report it has just sent. Each test looks at the database from a
second connection at the moment the response starts, and must see the write there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import AppSettings
from geo.db import connection
from geo.settings import DatabaseSettings
from tests.conftest import DATA_DIR

Asgi = Callable[..., Any]


def _watching(app: Asgi, look: Callable[[], object], seen: list[object]) -> Asgi:
    """``app``, with ``look()`` called as each HTTP response starts; its result goes to ``seen``."""

    async def watched(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def send_and_look(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen.append(look())
            await send(message)

        await app(scope, receive, send_and_look)

    return watched


def _count(live_db_url: str, query: str, *params: object) -> int:
    with connection.connect(live_db_url) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def _client(live_db_url: str, look: Callable[[], object], seen: list[object]) -> TestClient:
    settings = AppSettings(db=DatabaseSettings(database_url=live_db_url), data_dir=DATA_DIR)
    return TestClient(_watching(create_app(settings), look, seen))


def test_the_session_exists_when_the_sign_in_redirect_arrives(
    live_db_url: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    sessions = (
        "SELECT count(*) FROM auth_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE u.email = %s AND t.kind = 'session'"
    )
    before = _count(live_db_url, sessions, email)
    seen: list[object] = []
    with _client(live_db_url, lambda: _count(live_db_url, sessions, email), seen) as client:
        r = client.post(
            "/login", data={"username": email, "password": password}, follow_redirects=False
        )
    assert r.status_code == 303, r.text
    assert seen == [before + 1]


def test_a_report_is_stored_when_its_201_arrives(
    live_db_url: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    report_id = str(uuid.uuid4())
    seen: list[object] = []
    look = lambda: _count(live_db_url, "SELECT count(*) FROM deviations WHERE id = %s", report_id)  # noqa: E731
    with _client(live_db_url, look, seen) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        ).json()["access_token"]
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
            "properties": {
                "id": report_id,
                "category": "trasig_belysning",
                "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                "severity": 1,
            },
        }
        r = client.post(
            "/api/v1/deviations", json=feature, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 201, r.text
    assert seen == [0, 1]  # the token's answer, then the report's
