"""Base-map tiles the walker has seen are kept for offline use within the tile server's policy
(issue 14): headless Chromium against `nattvandring serve` whose tile URL points at a small tile
server on loopback (`tests.api.loopback.TileServer`: real HTTP, PNG tiles, cache headers)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from api.server_process import served
from tests.api.loopback import TileServer
from tests.api.test_situation_page import signed_in

TILE = re.compile(r"/(\d+)/(\d+)/(\d+)\.png$")
MAX_AGE_S = 3


@pytest.fixture(scope="module")
def tiles() -> Iterator[TileServer]:
    with TileServer(max_age_s=MAX_AGE_S) as server:
        yield server


@pytest.fixture(scope="module")
def tiled_server(live_db_url: str, tiles: TileServer) -> Iterator[str]:
    """The app with the loopback tile server as its base map."""
    with served(live_db_url, env={"NATTVANDRING_TILE_URL": tiles.template}) as base:
        yield base


def _tiles_shown(page: Page) -> dict[str, list[str]]:
    """The base map's tile URLs by state: "loaded" (drawn) and "failed"."""
    result: dict[str, list[str]] = page.evaluate(
        """() => ({
            loaded: [...document.querySelectorAll('img.leaflet-tile.leaflet-tile-loaded')]
                .map(i => i.src),
            failed: [...document.querySelectorAll('img.leaflet-tile')]
                .filter(i => !i.classList.contains('leaflet-tile-loaded')).map(i => i.src),
        })"""
    )
    return result


def _wait_tiles(page: Page) -> None:
    # Leaflet marks the container once every tile of the view has loaded or failed.
    page.wait_for_function(
        """() => { const t = [...document.querySelectorAll('img.leaflet-tile')];
            return t.length > 0 && t.every(i => i.complete); }""",
        timeout=15_000,
    )
    page.wait_for_timeout(300)


def _kept(page: Page) -> list[str]:
    keys: list[str] = page.evaluate(
        "() => caches.open('nattvandring-tiles').then(c => c.keys()).then(k => k.map(r => r.url))"
    )
    return keys


def _x(url: str) -> int:
    m = TILE.search(url)
    assert m, url
    return int(m.group(2))


def test_tiles_seen_online_are_shown_offline_and_no_store_ones_are_not_kept(
    browser: Browser,
    tiled_server: str,
    tiles: TileServer,
    web_users: dict[str, tuple[str, str]],
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, tiled_server, email, password) as page:
        page.wait_for_selector("body[data-offline-ready]", state="attached")
        # The first visit's tiles came before the worker took over: the worker sees the next.
        page.reload()
        page.wait_for_selector("body[data-deviations]", state="attached")
        _wait_tiles(page)
        shown = _tiles_shown(page)["loaded"]
        assert shown, "no base-map tile was drawn online"
        odd = sorted(u for u in shown if _x(u) % 2)
        even = sorted(u for u in shown if _x(u) % 2 == 0)
        assert odd and even
        page.wait_for_function(
            "n => caches.open('nattvandring-tiles').then(c => c.keys()).then(k => k.length >= n)",
            arg=len(odd),
        )
        kept = _kept(page)
        assert sorted(set(kept) & set(shown)) == odd  # the no-store tiles are not kept
        assert all(_x(u) % 2 for u in kept)
        # Fetched with CORS and the site's origin only as the referrer.
        site = tiled_server.rstrip("/")
        asked = [r for r in tiles.requests if r[0].endswith(".png")]
        assert asked and all(r[2] == site for r in asked[-len(shown) :]), asked[-3:]
        assert all(r[1] in (None, site + "/") for r in asked), {r[1] for r in asked}

        # Fresh tiles are answered from the worker's cache: reloading asks the server only for
        # the no-store ones.
        before = len(tiles.requests)
        page.reload()
        page.wait_for_selector("body[data-deviations]", state="attached")
        _wait_tiles(page)
        again = {p for p, _, _ in tiles.requests[before:] if p.endswith(".png")}
        assert again and all(int(p.split("/")[2]) % 2 == 0 for p in again), sorted(again)

        # Once expired, they are fetched again.
        page.wait_for_timeout(MAX_AGE_S * 1000 + 500)
        before = len(tiles.requests)
        page.reload()
        page.wait_for_selector("body[data-deviations]", state="attached")
        _wait_tiles(page)
        refetched = {p for p, _, _ in tiles.requests[before:] if p.endswith(".png")}
        assert any(int(p.split("/")[2]) % 2 for p in refetched), sorted(refetched)

        # Offline: the tiles seen are drawn from the worker's copy (expired or not), the
        # no-store ones are not there.
        page.context.set_offline(True)
        try:
            page.reload()
            page.wait_for_selector("body[data-deviations]", state="attached")
            _wait_tiles(page)
            offline = _tiles_shown(page)
            assert set(odd) <= set(offline["loaded"])
            assert not any(_x(u) % 2 == 0 for u in offline["loaded"])
            assert set(even) <= set(offline["failed"])
        finally:
            page.context.set_offline(False)
