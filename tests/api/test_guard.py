"""Sign-in and cross-site requests (issue 18, item 7): login/logout CSRF, cross-site GETs of
files, the sign-in throttle per account and address, no-store and HSTS."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_conn
from api.settings import AppSettings
from geo.db.accounts import add_user

PASSWORD = "correct horse battery"
EVIL = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
OWN = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
PERIOD = {"area": "solberga", "since": "2021-01-04", "until": "2021-01-31", "format": "csv"}


@pytest.fixture()
def planner(conn: psycopg.Connection) -> str:
    add_user(conn, "guard-planner@example.org", PASSWORD, role="planner", organisation="SDF")
    return "guard-planner@example.org"


def sign_in(client: TestClient, email: str, password: str = PASSWORD, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"username": email, "password": password},
        headers=headers,
        follow_redirects=False,
    )


def token(client: TestClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": email, "password": password})


def audit_rows(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM audit_log").fetchone()
    assert row is not None
    return int(row[0])


def from_address(client: TestClient, conn: psycopg.Connection, address: str) -> TestClient:
    """Another client of the same app and test connection, from ``address``.

    Without the client fixture's savepoint per request: as on a pooled connection, where the
    sign-in's own transaction commits the failure before the refusal is raised, what a refused
    sign-in writes stays (the test's rollback still undoes it).
    """

    def plain_conn() -> Iterator[psycopg.Connection]:
        yield conn

    client.app.dependency_overrides[get_conn] = plain_conn
    return TestClient(client.app, client=(address, 50000))


# -- login and logout CSRF -------------------------------------------------------------------


def test_a_cross_site_login_is_refused(client: TestClient, planner: str) -> None:
    r = sign_in(client, planner, **EVIL)
    assert r.status_code == 403 and r.json()["code"] == "cross_site_request"
    assert "set-cookie" not in r.headers
    # Origin alone (a browser without Fetch Metadata) and a sandboxed "null" origin too.
    assert sign_in(client, planner, Origin="https://evil.example").status_code == 403
    assert sign_in(client, planner, Origin="null").status_code == 403
    assert sign_in(client, planner, **{"Sec-Fetch-Site": "same-site"}).status_code == 403
    r = sign_in(client, planner, **OWN)
    assert r.status_code == 303 and "nv_session=" in r.headers["set-cookie"]


def test_a_cross_site_logout_is_refused(client: TestClient, planner: str) -> None:
    assert sign_in(client, planner, **OWN).status_code == 303
    r = client.post("/logout", headers=EVIL, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 200  # still signed in
    r = client.post("/logout", headers=OWN, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401


def test_cookie_writes_from_another_site_are_refused_and_bearer_ones_pass(
    client: TestClient, planner: str
) -> None:
    sign_in(client, planner, **OWN)
    body = {"status": "confirmed"}
    r = client.patch(
        "/api/v1/deviations/00000000-0000-4000-8000-000000000000", json=body, headers=EVIL
    )
    assert r.status_code == 403 and r.json()["code"] == "cross_site_request"
    # A bearer token is not something a page of another site can send in the user's name.
    bearer = {"Authorization": f"Bearer {token(client, planner).json()['access_token']}"}
    r = client.patch(
        "/api/v1/deviations/00000000-0000-4000-8000-000000000000",
        json=body,
        headers={**EVIL, **bearer},
    )
    assert r.status_code == 404


# -- exports: no audit row in the victim's name ----------------------------------------------


def test_a_cross_site_get_of_an_export_writes_no_audit_row(
    client: TestClient, conn: psycopg.Connection, planner: str
) -> None:
    sign_in(client, planner, **OWN)
    before = audit_rows(conn)
    # A link or an <img> on another site (with Fetch Metadata), an old browser's link (none),
    # and a GET of the follow-up's files and of a read of reporters.
    refused = [
        client.get("/api/v1/exports/meeting", params=PERIOD, headers=EVIL),
        client.get("/api/v1/exports/meeting", params=PERIOD),
        client.get("/api/v1/follow-up", params={"format": "csv"}),
        client.get("/api/v1/follow-up/summary", params={"area": "solberga", "format": "pdf"}),
        client.get("/api/v1/deviations", params={"include_reporters": "true"}, headers=EVIL),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert refused[1].json()["code"] == "download_needs_post"
    assert audit_rows(conn) == before
    # The page's own POST (the form's button) downloads and audits.
    r = client.post("/api/v1/exports/meeting", data=PERIOD, headers=OWN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert audit_rows(conn) == before + 1
    # ... and a POST from another site does not.
    assert client.post("/api/v1/exports/meeting", data=PERIOD, headers=EVIL).status_code == 403
    r = client.post("/api/v1/follow-up", data={"format": "csv", "since": ""}, headers=OWN)
    assert r.status_code == 200 and "walks_approved" in r.text
    assert audit_rows(conn) == before + 2


def test_the_planners_page_posts_its_export_form(client: TestClient, planner: str) -> None:
    sign_in(client, planner, **OWN)
    page = client.get("/plan").text
    assert '<form id="nv-export-form" class="nv-form" method="post"' in page


def test_scripts_get_exports_with_a_bearer_token(
    client: TestClient, conn: psycopg.Connection, planner: str
) -> None:
    bearer = {"Authorization": f"Bearer {token(client, planner).json()['access_token']}"}
    before = audit_rows(conn)
    r = client.get("/api/v1/exports/meeting", params=PERIOD, headers=bearer)
    assert r.status_code == 200 and audit_rows(conn) == before + 1


# -- the sign-in throttle --------------------------------------------------------------------


def test_wrong_passwords_from_another_address_do_not_lock_the_owner_out(
    client: TestClient, conn: psycopg.Connection, planner: str, caplog: pytest.LogCaptureFixture
) -> None:
    attacker = from_address(client, conn, "198.51.100.66")
    with caplog.at_level(logging.WARNING, logger="geo.db.accounts"):
        codes = [token(attacker, planner, f"guess {i}").status_code for i in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    # The administrator's log names the account and the address.
    assert any(
        "guard-planner@example.org" in r.getMessage() and "198.51.100.66" in r.getMessage()
        for r in caplog.records
    )
    # The owner, from their own address, signs in at once, by token and by the page.
    owner = from_address(client, conn, "203.0.113.5")
    assert token(owner, planner).status_code == 200
    assert sign_in(owner, planner).status_code == 303
    # The attacker waits, even with the right password.
    r = token(attacker, planner)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_the_429_does_not_tell_whether_an_account_exists(
    client: TestClient, conn: psycopg.Connection, planner: str
) -> None:
    answers = {}
    for email in (planner, "nobody-here@example.org"):
        c = from_address(client, conn, "192.0.2.44")
        codes = [token(c, email, "wrong").status_code for _ in range(6)]
        r = token(c, email, "wrong")
        page = sign_in(c, email, "wrong")
        answers[email] = (
            codes,
            r.status_code,
            re.sub(r"\d+", "N", r.text),  # the seconds to wait may differ by one
            r.headers["retry-after"],
            re.sub(r"\d+ sekunder", "N sekunder", page.text.replace(email, "X")),
        )
    known, unknown = answers[planner], answers["nobody-here@example.org"]
    assert known[0] == unknown[0] == [401] * 5 + [429]
    assert known[1] == unknown[1] == 429
    assert known[2] == unknown[2]
    assert abs(int(known[3]) - int(unknown[3])) <= 1
    assert known[4] == unknown[4] and page.status_code == 429


# -- caching and HSTS ------------------------------------------------------------------------


def test_api_answers_are_not_stored(client: TestClient, planner: str) -> None:
    r = token(client, planner)
    assert r.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for path in ("/api/v1/auth/me", "/api/v1/deviations", "/api/v1/walks"):
        r = client.get(path, headers=bearer)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
    assert client.get("/api/v1/auth/me").headers["cache-control"] == "no-store"  # a 401 too


def test_hsts_over_https_or_when_set(settings: AppSettings) -> None:
    plain = TestClient(create_app(settings))
    assert "strict-transport-security" not in plain.get("/login").headers
    https = TestClient(create_app(settings), base_url="https://testserver")
    assert https.get("/login").headers["strict-transport-security"].startswith("max-age=")
    forced = TestClient(create_app(settings.model_copy(update={"hsts": "on"})))
    assert "max-age=31536000" in forced.get("/login").headers["strict-transport-security"]
    off = TestClient(
        create_app(settings.model_copy(update={"hsts": "off"})), base_url="https://testserver"
    )
    assert "strict-transport-security" not in off.get("/login").headers
