"""The situation map polls its deviation list with If-None-Match and keeps its markers on a
304 (issue 18 item 4), in headless Chromium over real HTTP."""

from __future__ import annotations

from playwright.sync_api import Browser, Request

from tests.api.test_situation_page import signed_in


def test_the_page_sends_its_etag_and_keeps_the_map_on_304(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        # The first visit fetches the list again when the service worker takes over (so that it
        # keeps a copy): the ETag sent below is of that answer.
        page.wait_for_selector("body[data-offline-ready]", state="attached")
        shown = int(page.get_attribute("body", "data-deviations") or 0)
        assert shown > 0
        sent: list[Request] = []
        page.on(
            "request",
            lambda r: sent.append(r) if "/api/v1/deviations?" in r.url else None,
        )
        with page.expect_response(lambda r: "/api/v1/deviations?" in r.url) as answer:
            page.evaluate("window.nattvandring.loadDeviations({ poll: true })")
        assert answer.value.status == 304
        assert sent and sent[-1].headers.get("if-none-match", "").startswith('W/"')
        page.wait_for_selector("body[data-deviations-fresh='false']", state="attached")
        assert page.locator("path.nv-deviation").count() == shown
        assert int(page.get_attribute("body", "data-deviations") or 0) == shown
