"""`nattvandring serve` over real HTTP, and the map page in headless Chromium."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.browser import PHONE, launch


def test_endpoints_over_real_http(live_server: str) -> None:
    health = httpx.get(f"{live_server}/healthz").json()
    assert health["status"] == "ok" and health["postgis"].startswith("3.")
    areas = httpx.get(f"{live_server}/api/v1/areas").json()
    assert len(areas["features"]) == 23
    r = httpx.get(f"{live_server}/api/v1/places", params={"bbox": "nonsense"})
    assert r.status_code == 422
    assert httpx.get(f"{live_server}/api/v1/areas/solberga").json()["id"] == "solberga"


def test_map_page_in_chromium_shows_solberga_and_talks_to_no_third_party(
    live_server: str, web_users: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    app_host = urlsplit(live_server).netloc
    requested: list[str] = []
    # A walker: the map loads single reports (a partner's map has none, DESIGN.md decision 8).
    email, password = web_users["walker"]
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport=PHONE)
            page.on("request", lambda req: requested.append(req.url))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{live_server}/")
            # Anonymous visitors are sent to the sign-in page first.
            assert urlsplit(page.url).path == "/login"
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            try:
                page.wait_for_selector(".leaflet-container", timeout=60_000)
            except PlaywrightTimeout:
                raise AssertionError(
                    f"no map at {page.url}: {page.inner_text('body')[:500]!r}; "
                    f"page errors: {errors}"
                ) from None
            page.wait_for_selector("body[data-deviations]", state="attached")
            page.wait_for_selector("path.leaflet-interactive")
            assert errors == []
            assert "Solberga" in page.inner_text(".nv-banner")
            assert page.title() == "Nattvandring – lägesbild"
            # District outlines, three zones and the places are drawn as vector paths.
            assert page.locator("path.leaflet-interactive").count() > 200
            layers = page.locator(".leaflet-control-layers-overlays").inner_text()
            for name in ("Stadsdelar", "Platssamverkanszoner", "Platser", "Avvikelser"):
                assert name in layers
            page.screenshot(path=str(tmp_path / "map.png"))
        finally:
            browser.close()
    hosts = {urlsplit(u).netloc for u in requested if u.startswith("http")}
    # Only the app itself and the configured base-map tile server.
    assert hosts <= {app_host, "tile.openstreetmap.org"}, hosts
    assert app_host in hosts
