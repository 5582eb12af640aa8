"""Fixtures shared by the API tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from geo.db.accounts import add_user
from tests.browser import launch

PASSWORD = "correct horse battery"


def _role_headers(
    client: TestClient, conn: psycopg.Connection, *, prefix: str, organisation: str
) -> Callable[[str], dict[str, str]]:
    """Bearer headers of the user ``{prefix}-{role}@example.org`` of ``organisation``, made the
    first time a role is asked for."""
    made: set[str] = set()

    def headers(role: str) -> dict[str, str]:
        email = f"{prefix}-{role}@example.org"
        if role not in made:
            add_user(conn, email, PASSWORD, role=role, organisation=organisation)
            made.add(role)
        r = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return headers


@pytest.fixture()
def signed_in(client: TestClient, conn: psycopg.Connection) -> Callable[[str], dict[str, str]]:
    """Bearer headers of a user of a role (walker, planner, partner, admin) of Älvsjö AIK."""
    return _role_headers(client, conn, prefix="s", organisation="Älvsjö AIK")


@pytest.fixture()
def auth(client: TestClient, conn: psycopg.Connection) -> Callable[[str], dict[str, str]]:
    """Bearer headers of a user of a role, ``e-{role}@example.org`` of the organisation
    "Polisen"."""
    return _role_headers(client, conn, prefix="e", organisation="Polisen")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test module."""
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
