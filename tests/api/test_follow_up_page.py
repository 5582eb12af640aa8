"""The planners' follow-up page (/plan/follow-up): who may open it (TestClient), and in headless
Chromium over real HTTP, the summary table with the totals before and during the IOP and in
all ("66 300 kr"), and the follow-up per month."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from api.server_process import served
from geo.db import connection, migrate
from geo.db.accounts import add_user
from tests.api.follow_up_data import load_programme
from tests.api.test_pages import config_of, sign_in

NBSP = "\u00a0"


def test_the_page_is_for_planners_and_admins(client: TestClient, conn: psycopg.Connection) -> None:
    r = client.get("/plan/follow-up", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/plan/follow-up"
    for role, org in (("walker", "Älvsjö AIK"), ("partner", "Polisen")):
        add_user(conn, f"fu-{role}@example.org", "correct horse 9", role=role, organisation=org)
        sign_in(client, f"fu-{role}@example.org", "correct horse 9")
        refused = client.get("/plan/follow-up")
        assert refused.status_code == 403 and "Uppföljningen är till för planerare" in refused.text
    add_user(conn, "fu-admin@example.org", "correct horse 9", role="admin", organisation="Polisen")
    sign_in(client, "fu-admin@example.org", "correct horse 9")
    page = client.get("/plan/follow-up")
    assert page.status_code == 200 and "<title>Nattvandring – uppföljning</title>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    config = config_of(page.text)
    assert config["by"] == {
        "agreement": "Avtal",
        "organisation": "Förening",
        "month": "Månad",
        "area": "Område",
    }
    assert 'href="/plan/follow-up"' in client.get("/plan/walks").text


@pytest.fixture(scope="module")
def follow_server(
    make_database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """``nattvandring serve`` over a database of its own: the programme's areas, agreements and
    ledger rows are committed there, so they never reach the shared live database that other
    page tests count areas in (and the ledger cannot be cleaned up: it is append-only)."""
    url: str = make_database("nv_live_follow")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    log = tmp_path_factory.mktemp("serve-follow") / "serve.log"
    with log.open("w") as out:
        try:
            with served(url, log=out) as base:
                yield base, url
        except RuntimeError as exc:
            raise AssertionError(f"{exc}:\n{log.read_text()}") from None


def test_the_summary_and_the_follow_up_in_the_browser(
    browser: Browser, follow_server: tuple[str, str]
) -> None:
    live_server, db_url = follow_server
    email, password = f"fu-planner-{secrets.token_hex(3)}@example.org", secrets.token_urlsafe(12)
    with connection.connect(db_url, autocommit=True) as conn:
        add_user(conn, email, password, role="planner", organisation="Kommunen")
        with conn.transaction():
            prog = load_programme(conn, synthetic=True)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/plan/follow-up")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded='1']", state="attached")
        page.select_option("#nv-follow-filter select[name=area]", prog["area"])
        row = "#nv-summary tfoot tr[data-total='agreement']"
        page.wait_for_function(
            "s => (document.querySelector(s) || {}).textContent?.includes('66')", arg=row
        )

        def total(key: str) -> str:
            return page.inner_text(f"#nv-summary tfoot tr[data-total='{key}']").replace(NBSP, " ")

        assert "Före IOP" in total("agreement") and "66 300 kr" in total("agreement")
        assert "39" in total("agreement")
        assert "Under IOP" in total("iop") and "112 200 kr" in total("iop")
        assert "Totalt" in total("all") and "178 500 kr" in total("all") and "105" in total("all")
        rows = page.locator("#nv-summary tbody tr")
        assert rows.count() == 5
        i2 = rows.nth(3).inner_text()
        assert f"Prov IOP hösten 2024 {prog['tag']}" in i2  # what it extends
        assert "42 500 kr" in i2.replace(NBSP, " ")
        assert page.is_visible("#nv-follow-synthetic")
        # Downloads are POSTs of the page's forms (a cross-site GET could audit in your name).
        assert page.get_attribute("#nv-summary-pdf", "formmethod") == "post"
        assert page.input_value("#nv-follow-filter select[name=area]") == prog["area"]

        page.select_option("#nv-follow-query select[name=by]", "month")
        page.wait_for_function(
            "() => document.getElementById('nv-follow-key').textContent === 'Månad'"
        )
        page.wait_for_function(
            "() => [...document.querySelectorAll('#nv-follow tbody tr')]"
            ".some(r => r.textContent.startsWith('2024-10'))"
        )
        october = [
            r for r in page.locator("#nv-follow tbody tr").all_inner_texts()
            if r.startswith("2024-10")
        ]  # fmt: skip
        assert october and "42 500 kr" in october[0].replace(NBSP, " ")  # 25 walks
        with page.expect_download() as download:
            page.click("#nv-follow-csv")
        csv_text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
        assert csv_text.splitlines()[1 if csv_text.startswith("#") else 0].startswith("month,")
        assert "2024-10" in csv_text
    finally:
        context.close()
