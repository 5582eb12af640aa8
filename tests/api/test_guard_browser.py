"""Item 7 of issue 18 on a live server: /docs renders in Chromium with the network off, a page of
another site cannot sign a browser in or out, and the sign-in throttle holds over the pool."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Request

from geo.db import connection
from geo.db.accounts import add_user

EVIL = "http://evil.example"


def _only_own(base: str, requests: list[str]):  # type: ignore[no-untyped-def]
    own = urlsplit(base).netloc

    def handle(route, request: Request) -> None:  # type: ignore[no-untyped-def]
        requests.append(request.url)
        if urlsplit(request.url).netloc == own:
            route.continue_()
        else:
            route.abort()

    return handle


def test_docs_render_from_the_apps_own_swagger_ui(browser: Browser, live_server: str) -> None:
    context = browser.new_context()
    requests: list[str] = []
    context.route("**/*", _only_own(live_server, requests))
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        r = page.goto(live_server + "/docs")
        assert r is not None and r.status == 200
        assert "script-src 'self'" in r.headers["content-security-policy"]
        page.wait_for_selector(".opblock", timeout=20_000)
        assert page.locator(".opblock").count() > 20
        assert "/api/v1/deviations" in page.inner_text("#swagger-ui")
        foreign = [u for u in requests if urlsplit(u).netloc != urlsplit(live_server).netloc]
        assert foreign == [] and problems == []
    finally:
        context.close()


def test_a_page_of_another_site_cannot_sign_in_or_out(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["planner"]
    context = browser.new_context()
    page = context.new_page()
    # The attacker's page: a form that posts itself to this site's /login (login CSRF), or /logout.
    attack = (
        '<form id="f" method="post" action="{action}">'
        '<input name="username" value="{email}"><input name="password" value="{password}">'
        "</form><script>document.getElementById('f').submit()</script>"
    )

    def attacker_page(action: str):  # type: ignore[no-untyped-def]
        body = attack.format(action=live_server + action, email=email, password=password)
        return lambda route: route.fulfill(content_type="text/html", body=body)

    for action in ("/login", "/logout"):
        context.route(f"{EVIL}{action}", attacker_page(action))
    try:
        with page.expect_response(live_server + "/login") as answer:
            page.goto(f"{EVIL}/login")
        assert answer.value.status == 403
        assert not [c for c in context.cookies() if c["name"] == "nv_session"]
        # Signed in on the site itself; the other site's sign-out is refused.
        page.goto(live_server + "/login")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(live_server + "/")
        with page.expect_response(live_server + "/logout") as answer:
            page.goto(f"{EVIL}/logout")
        assert answer.value.status == 403
        page.goto(live_server + "/")
        assert urlsplit(page.url).path == "/"  # still signed in: not sent to /login
    finally:
        context.close()


def test_the_throttle_holds_on_the_live_server(live_server: str, live_db_url: str) -> None:
    email = f"throttle-{secrets.token_hex(3)}@example.org"
    password = secrets.token_urlsafe(12)
    with connection.connect(live_db_url, autocommit=True) as conn:
        add_user(conn, email, password, role="walker", organisation="Älvsjö AIK")
    url = live_server + "/api/v1/auth/token"
    with httpx.Client(timeout=30) as http:
        codes = [
            http.post(url, data={"username": email, "password": "wrong"}).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 5 + [429]
        assert http.post(url, data={"username": email, "password": password}).status_code == 429
