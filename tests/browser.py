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


def open_plan(browser: Browser, base: str, email: str, password: str, errors: list[str]) -> Page:
    """The planners' page at a laptop's size, signed in, its saved routes loaded (``body
    [data-routes]``); the page's script errors are collected in ``errors``."""
    page = browser.new_page(viewport={"width": 1200, "height": 850})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return sign_in(page, base, email, password, path="/plan", loaded="body[data-routes]")


def refused_plan(page: Page, start: str) -> str:
    """On the planners' page: ask for a route plan from the start place named ``start`` in the
    area chosen, and return the status line once it says no plan came ("Inget ruttförslag")."""
    options = page.locator("#nv-plan-form select[name=start] option")
    place = options.filter(has_text=start).first.get_attribute("value")
    assert place, f"no start place {start!r} on the page"
    page.select_option("#nv-plan-form select[name=start]", place)
    page.click("#nv-plan-form button[type=submit]")
    page.wait_for_selector("#nv-plan-status:has-text('Inget ruttförslag')")
    return page.inner_text("#nv-plan-status")
