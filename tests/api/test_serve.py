"""`nattvandring serve` over real HTTP, and the map page in headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import sync_playwright

from geo.cluster import free_port
from geo.demo_store import LoadReport

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def live_server(db_url: str, demo_report: LoadReport) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "NATTVANDRING_DATABASE_URL": db_url}
    cli = Path(sys.executable).parent / "nattvandring"
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"nattvandring serve did not come up:\n{out}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_endpoints_over_real_http(live_server: str) -> None:
    health = httpx.get(f"{live_server}/healthz").json()
    assert health["status"] == "ok" and health["postgis"].startswith("3.")
    areas = httpx.get(f"{live_server}/api/v1/areas").json()
    assert len(areas["features"]) == 21
    r = httpx.get(f"{live_server}/api/v1/places", params={"bbox": "nonsense"})
    assert r.status_code == 422
    assert httpx.get(f"{live_server}/api/v1/areas/solberga").json()["id"] == "solberga"


def test_map_page_in_chromium_shows_solberga_and_talks_to_no_third_party(
    live_server: str, tmp_path: Path
) -> None:
    app_host = urlsplit(live_server).netloc
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            page.on("request", lambda req: requested.append(req.url))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{live_server}/")
            page.wait_for_selector(".leaflet-container")
            page.wait_for_selector("path.leaflet-interactive")
            assert errors == []
            assert "Solberga" in page.inner_text(".nv-banner")
            assert page.title() == "Nattvandring – lägesbild"
            # District outlines, three zones and the places are drawn as vector paths.
            assert page.locator("path.leaflet-interactive").count() > 200
            layers = page.locator(".leaflet-control-layers-overlays").inner_text()
            for name in ("Stadsdelar", "Platssamverkanszoner", "Platser"):
                assert name in layers
            page.screenshot(path=str(tmp_path / "map.png"))
        finally:
            browser.close()
    hosts = {urlsplit(u).netloc for u in requested if u.startswith("http")}
    # Only the app itself and the configured base-map tile server.
    assert hosts <= {app_host, "tile.openstreetmap.org"}, hosts
    assert app_host in hosts
