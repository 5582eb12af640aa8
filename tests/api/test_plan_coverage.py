"""The planners' map's coverage overlay in headless Chromium: hot spots coloured by whether a
walk reached them (the demo's own tracks lie in Långbro, far from its hot spots; walks that other
tests record in the shared live database may reach a few)."""

from __future__ import annotations

from playwright.sync_api import sync_playwright

from tests.browser import launch, open_plan


def test_the_coverage_overlay_colours_the_hot_spots(
    live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["planner"]
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_plan(browser, live_server, email, password, errors)
            page.click(".leaflet-control-layers")  # open the layer control
            page.get_by_text("Täckning (hot spots nådda)").click()
            page.wait_for_selector("body[data-coverage]", state="attached", timeout=60000)
            cells = int(page.get_attribute("body", "data-coverage") or 0)
            spots = int(page.get_attribute("body", "data-coverage-spots") or 0)
            reached = int(page.get_attribute("body", "data-coverage-reached") or 0)
            assert cells > 0 and 0 < spots <= cells and 0 <= reached < spots
            # Leaflet draws only the shapes within (or near) the view: at most every hot spot,
            # green the reached ones (other tests' walks in this live database may reach some).
            assert 0 < page.locator("path.nv-not-covered").count() <= spots - reached
            assert page.locator("path.nv-covered").count() <= reached
            share = page.get_attribute("body", "data-coverage-share") or ""
            assert share.endswith("\u00a0%") and (reached > 0 or share == "0\u00a0%")
            page.locator("path.nv-not-covered").first.click(force=True)
            popup = page.wait_for_selector(".leaflet-popup-content")
            assert popup is not None and "Ingen vandring nådde den" in popup.inner_text()
            assert errors == []
        finally:
            browser.close()
