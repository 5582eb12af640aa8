"""The walkers' situation map in headless Chromium on a phone-sized screen, over real HTTP.

Reports made in the browser are checked in the database itself: stored once, in the right place,
by the right reporter, also when the network was down in between.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, Route

from geo.db import connection
from tests.browser import PHONE

XSS = "<img src=x onerror=alert(1)>"


@contextmanager
def signed_in(
    browser: Browser, base: str, email: str, password: str, **options: Any
) -> Iterator[Page]:
    """A page of a new browser context (phone-sized unless ``viewport`` says otherwise),
    signed in and showing the situation map; the context is closed afterwards."""
    context = browser.new_context(**{"viewport": PHONE, **options})
    try:
        yield sign_in(context, base, email, password)
    finally:
        context.close()


def sign_in(
    context: BrowserContext,
    base: str,
    email: str,
    password: str,
    *,
    loaded: str = "body[data-deviations]",
) -> Page:
    """Sign in and wait until ``loaded`` is on the page (by default: the reports are shown)."""
    page = context.new_page()
    page.goto(f"{base}/")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector(loaded, state="attached")
    return page


def rows(live_db_url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with connection.connect(live_db_url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def tap_map(page: Page, *, fx: float = 0.5, fy: float = 0.3) -> None:
    box = page.locator(".leaflet-container").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] * fy
    sheet = page.locator("#nv-report")
    if sheet.is_visible():  # the open report sheet covers the lower map: tap above it
        top = sheet.bounding_box()
        assert top is not None
        y = min(y, top["y"] - 20)
    page.mouse.click(box["x"] + box["width"] * fx, y)


def test_walker_sees_deviations_and_reports_one_by_tapping_the_map(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        shown = int(page.get_attribute("body", "data-deviations") or 0)
        assert shown > 0
        assert page.locator("path.nv-deviation").count() == shown
        assert "avvikelser senaste 14 dygn" in page.inner_text("#nv-status")
        # The 24-hour filter shows fewer.
        page.click("[data-days='1']")
        page.wait_for_selector("text=senaste 24 h", state="attached")
        assert int(page.get_attribute("body", "data-deviations") or 0) < shown

        note = f"Krossad busskur {uuid.uuid4()}"
        page.click("#nv-report-open")  # tap 1
        tap_map(page)  # tap 2: the position
        assert "vald på kartan" in page.inner_text("#nv-report-position")
        page.fill("#nv-note", note)
        page.click("[data-category='skadegorelse']")  # tap 3: category, and it is sent
        page.wait_for_selector("body[data-pending='0']", state="attached")
        page.wait_for_selector("text=Avvikelsen är sparad.")
        stored = rows(
            live_db_url,
            "SELECT d.category, u.email, ST_X(d.geom), ST_Y(d.geom), a.slug FROM deviations d "
            "JOIN users u ON u.id = d.reporter_id LEFT JOIN areas a ON a.id = d.area_id "
            "WHERE d.description = %s",
            note,
        )
        assert len(stored) == 1
        category, reporter, lon, lat, area = stored[0]
        assert (category, reporter) == ("skadegorelse", email)
        assert 17.9 < float(str(lon)) < 18.1 and 59.25 < float(str(lat)) < 59.31
        assert area is not None
        # It is on the map now, with the walker's own note (a poll may have redrawn the map
        # meanwhile: the report is looked for, not counted).
        on_map = page.evaluate(
            """note => { let n = 0; window.nattvandring.deviationLayer.eachLayer(l => {
                if (l.feature.properties.description === note) n++; }); return n; }""",
            note,
        )
        assert on_map == 1


def _gps(position: dict[str, float]) -> dict[str, Any]:
    """Browser-context options: the phone's GPS at ``position``, permission granted."""
    return {"geolocation": position, "permissions": ["geolocation"]}


def _report_here(page: Page, note: str, *, accuracy_m: int) -> None:
    """Report broken lighting where the GPS says, with a note: two taps."""
    page.click("#nv-report-open")  # tap 1; the GPS gives the position
    page.wait_for_selector(f"text=din GPS-position, ±{accuracy_m} m")
    page.fill("#nv-note", note)
    page.click("[data-category='trasig_belysning']")  # tap 2


def test_gps_report_takes_two_taps_and_keeps_the_accuracy(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    station = {"latitude": 59.2786, "longitude": 18.0104, "accuracy": 12}
    with signed_in(browser, live_server, email, password, **_gps(station)) as page:
        note = f"Trasig lampa {uuid.uuid4()}"
        _report_here(page, note, accuracy_m=12)
        page.wait_for_selector("body[data-pending='0']", state="attached")
        page.wait_for_selector("text=Avvikelsen är sparad.")
        stored = rows(
            live_db_url,
            "SELECT ST_X(geom), ST_Y(geom), accuracy_m FROM deviations WHERE description = %s",
            note,
        )
        assert len(stored) == 1
        lon, lat, accuracy = (float(str(v)) for v in stored[0])
        assert (round(lon, 4), round(lat, 4), accuracy) == (18.0104, 59.2786, 12.0)


def test_a_refused_report_says_why_in_swedish(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    gothenburg = {"latitude": 57.7089, "longitude": 11.9746, "accuracy": 20}
    with signed_in(browser, live_server, email, password, **_gps(gothenburg)) as page:
        note = f"Fel plats {uuid.uuid4()}"
        _report_here(page, note, accuracy_m=20)
        page.wait_for_selector("text=positionen ligger mer än 2 km från alla områden")
        page.wait_for_selector("body[data-pending='0']", state="attached")
    assert rows(live_db_url, "SELECT 1 FROM deviations WHERE description = %s", note) == []


def _dead_network_for_posts(route: Route) -> None:
    if route.request.method == "POST":
        route.abort("internetdisconnected")
    else:
        route.fallback()


def test_offline_report_waits_survives_a_reload_and_is_stored_once(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        # The service worker has the page, so it opens again with no network.
        page.wait_for_selector("body[data-offline-ready]", state="attached")
        page.context.set_offline(True)
        # Chromium's offline emulation does not cover everything once a service worker controls
        # the page (Playwright issue 2311): after the reload a report's POST, passed through by
        # the worker, sometimes reached the server. Offline means no request gets there, so the
        # reports' endpoint fails as a dead network would, as long as the test is offline.
        page.context.route(f"{live_server}/api/v1/deviations", _dead_network_for_posts)
        note = f"Ungdomar vid lekplatsen {uuid.uuid4()}"
        page.click("#nv-report-open")
        tap_map(page, fy=0.35)
        page.fill("#nv-note", note)
        page.click("[data-category='ungdomar_samlas']")
        page.wait_for_selector("body[data-pending='1']", state="attached")
        assert "1 rapport väntar på nätet" in page.inner_text("#nv-pending")
        assert page.locator("path.nv-pending").count() == 1
        assert rows(live_db_url, "SELECT 1 FROM deviations WHERE description = %s", note) == []

        page.reload()  # still offline: served by the service worker
        page.wait_for_selector("body[data-pending='1']", state="attached")
        assert page.locator("path.nv-pending").count() == 1
        assert rows(live_db_url, "SELECT 1 FROM deviations WHERE description = %s", note) == []

        page.context.unroute(f"{live_server}/api/v1/deviations", _dead_network_for_posts)
        page.context.set_offline(False)  # the browser's "online" event sends it
        page.wait_for_selector("body[data-pending='0']", state="attached", timeout=30_000)
        # A second flush (a retry of the same report) stores nothing more.
        page.evaluate("window.nattvandring.flushQueue()")
        page.reload()
        page.wait_for_selector("body[data-pending='0']", state="attached")
        stored = rows(live_db_url, "SELECT category FROM deviations WHERE description = %s", note)
        assert stored == [("ungdomar_samlas",)]


def test_a_script_in_a_description_is_shown_as_text(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    token = httpx.post(
        f"{live_server}/api/v1/auth/token", data={"username": email, "password": password}
    ).json()["access_token"]
    report_id = str(uuid.uuid4())
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
        "properties": {
            "id": report_id,
            "category": "hot_vald",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
            "severity": 3,
            "description": XSS,
        },
    }
    r = httpx.post(
        f"{live_server}/api/v1/deviations",
        json=feature,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    dialogs: list[str] = []
    with signed_in(browser, live_server, email, password) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # The first list may be one a worker held from just before the report (at most a
        # second old for another reader); the page's next poll brings it (generous bound).
        page.wait_for_function(
            """id => { let found = false;
                window.nattvandring.deviationLayer.eachLayer(l => {
                    if (l.feature.properties.id === id) found = true; });
                return found; }""",
            arg=report_id,
            timeout=30_000,
        )
        opened = page.evaluate(
            """id => { let found = false;
                window.nattvandring.deviationLayer.eachLayer(l => {
                    if (l.feature.properties.id === id) { l.openPopup(); found = true; } });
                return found; }""",
            report_id,
        )
        assert opened
        popup = page.locator(".leaflet-popup-content")
        assert popup.locator(".nv-description").inner_text() == XSS
        assert popup.locator("img").count() == 0
        page.wait_for_timeout(300)
        assert dialogs == []


def test_a_walker_can_sign_out_on_a_phone(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    """A club's shared phone: the next walker must not report in the last one's name."""
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        button = page.locator(".nv-user button", has_text="Logga ut")
        box = button.bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"]
        with page.expect_response(lambda r: urlsplit(r.url).path == "/logout") as sign_out:
            button.click(timeout=5000)  # fails when something else (or nothing) is on top of it
        answer = sign_out.value
        assert answer.status == 303, f"POST /logout answered {answer.status}: {answer.text()[:300]}"
        page.wait_for_url("**/login")
        page.goto(f"{live_server}/")
        assert urlsplit(page.url).path == "/login"


def test_planner_sees_heat_map_and_hotspots_with_legends(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["planner"]
    errors: list[str] = []
    desktop = {"width": 1000, "height": 800}
    with signed_in(browser, live_server, email, password, viewport=desktop) as page:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # The analysis module comes after the first markers (import()).
        page.wait_for_selector("body[data-later-loaded]", state="attached")
        layers = page.locator(".leaflet-control-layers-overlays").inner_text()
        assert "Värmekarta" in layers and "Hot spots" in layers
        page.click(".nv-analysis summary")
        page.select_option("[name=period]", "365")
        page.select_option("[name=tow]", "fri-sat|20-02")
        page.check("[name=show_heat]")
        page.check("[name=show_hot]")
        page.wait_for_selector("body[data-heat]", state="attached")
        page.wait_for_selector("body[data-hotspots]", state="attached")
        page.wait_for_selector("img.nv-heat", state="attached")
        assert int(page.get_attribute("body", "data-hotspots") or 0) > 0
        assert page.locator("path.nv-hotspot").count() > 0
        legend = page.inner_text("#nv-legend")
        assert "rapporter per km² och vecka" in legend
        assert "Het punkt 99 %" in legend and "Getis-Ord Gi*" in legend
        # Switching the heat map off removes it and its legend.
        page.uncheck("[name=show_heat]")
        page.wait_for_selector("img.nv-heat", state="detached")
        assert "Värmekarta" not in page.inner_text("#nv-legend")
        assert errors == []


def test_the_map_draws_the_layers_it_fetches_and_zone_names_stay_text(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    planner, planner_password = web_users["planner"]
    token = httpx.post(
        f"{live_server}/api/v1/auth/token",
        data={"username": planner, "password": planner_password},
    ).json()["access_token"]
    d = 0.0004
    ring = [[18.0, 59.283], [18.0 + d, 59.283], [18.0 + d, 59.283 + d], [18.0, 59.283 + d]]
    zone = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        "properties": {"name": XSS, "description": XSS},
    }
    r = httpx.post(
        f"{live_server}/api/v1/zones",
        json=zone,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code in (200, 201), r.text
    counts = {
        name: len(httpx.get(f"{live_server}/api/v1/{name}").json()["features"])
        for name in ("areas", "zones", "places")
    }
    assert counts["places"] > 100 and counts["areas"] > 10
    email, password = web_users["walker"]
    dialogs: list[str] = []
    with signed_in(browser, live_server, email, password) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.wait_for_selector("body[data-layers='streets areas zones places']", state="attached")
        assert page.locator("path.nv-area").count() == counts["areas"]
        assert page.locator("path.nv-zone").count() == counts["zones"]
        assert page.locator("path.nv-place").count() == counts["places"]
        overlays = page.locator(".leaflet-control-layers-overlays").inner_text()
        for title in ("Stadsdelar", "Platssamverkanszoner", "Platser", "Avvikelser"):
            assert title in overlays
        opened = page.evaluate(
            """async name => { const layers = await window.nattvandring.baseLayers;
                let found = false;
                layers.zones.eachLayer(l => {
                    if (l.feature.properties.name === name) { l.openTooltip(); found = true; } });
                return found; }""",
            XSS,
        )
        assert opened
        tooltip = page.locator(".leaflet-tooltip", has_text="Zon:")
        assert XSS in tooltip.inner_text()
        assert tooltip.locator("img").count() == 0
        page.wait_for_timeout(300)
        assert dialogs == []
