"""Headless Chromium for the page tests: Debian's own browser, driven by Playwright.

Playwright's browser download does not work on a closed network; Debian's ``chromium`` does.
The flags keep Chromium from calling Google's services, which a closed network refuses.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}


def launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def sign_in(
    page: Page, base: str, email: str, password: str, *, path: str = "/", loaded: str = "body"
) -> Page:
    """Open ``path`` on ``base``, sign in on the sign-in page it leads to, and wait until
    ``loaded`` is on the page (a selector: the page's data has arrived). Returns the page."""
    page.goto(f"{base}{path}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector(loaded, state="attached")
    return page
