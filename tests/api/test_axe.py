"""axe-core on every page (issue 14): 0 violations, in headless Chromium over real HTTP.

axe-core comes from npm (``tests/axe``, installed by ``make setup`` with ``npm ci``); its
``axe.min.js`` is run in each served page by Playwright (not through the page's CSP).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.api.test_situation_page import sign_in

AXE = Path(__file__).resolve().parent.parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1100, "height": 850}


def violations(page: Page) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays on.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return found


def test_axe_core_is_installed() -> None:
    assert AXE.is_file(), "run make setup (npm ci in tests/axe)"


@pytest.mark.parametrize(
    ("role", "path", "loaded"),
    [
        ("walker", "/", "body[data-deviations]"),
        ("partner", "/", "body[data-hotspots]"),
        ("planner", "/", "body[data-deviations]"),
        ("planner", "/plan", "body[data-layers]"),
        ("planner", "/plan/walks", "body"),
        ("planner", "/plan/follow-up", "body"),
    ],
)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violations(
    browser: Browser,
    live_server: str,
    web_users: dict[str, tuple[str, str]],
    role: str,
    path: str,
    loaded: str,
    scheme: str,
) -> None:
    email, password = web_users[role]
    context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = sign_in(context, live_server, email, password, loaded="body")
        if path != "/":
            page.goto(f"{live_server}{path}")
        page.wait_for_selector(loaded, state="attached", timeout=30_000)
        page.wait_for_timeout(500)
        found = violations(page)
        assert found == [], json.dumps(found, ensure_ascii=False)
    finally:
        context.close()


def test_the_sign_in_page_has_no_axe_violations(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login")
        found = violations(page)
        assert found == [], json.dumps(found, ensure_ascii=False)
    finally:
        context.close()
