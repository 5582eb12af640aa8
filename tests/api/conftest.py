"""Fixtures shared by the API tests."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.capabilities import ROLES
from geo.db.accounts import add_user

PASSWORD = "correct horse battery"


@pytest.fixture()
def auth(client: TestClient, conn: psycopg.Connection) -> Callable[[str], dict[str, str]]:
    """One user per role, ``e-{role}@example.org`` of the organisation "Polisen"; gives the
    bearer-token headers of a role's user."""
    for role in ROLES:
        add_user(conn, f"e-{role}@example.org", PASSWORD, role=role, organisation="Polisen")

    def headers(role: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/auth/token", data={"username": f"e-{role}@example.org", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return headers
