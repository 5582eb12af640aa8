"""The situation map at night (issue 14) in headless Chromium over real HTTP: what an offline
reload shows and says, live updates from another walker, lie-fi, "Ångra", reporting by keyboard
only and a GPS fix too coarse to use."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Browser, Page, Route

from tests.api.loopback import DelayingProxy
from tests.api.test_situation_page import rows, sign_in, signed_in, tap_map
from tests.browser import PHONE

STATION = [18.0104, 59.2786]
CLOCK = re.compile(r"offline – senast uppdaterad \d\d:\d\d · ")


def _shown(page: Page) -> int:
    return int(page.get_attribute("body", "data-deviations") or -1)


def _status(page: Page) -> str:
    return page.inner_text("#nv-status")


def _wait_status(page: Page, text: str, timeout: int = 15_000) -> None:
    page.wait_for_function(
        "t => document.querySelector('#nv-status').textContent.includes(t)",
        arg=text,
        timeout=timeout,
    )


def _token(base: str, email: str, password: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _post_report(base: str, token: str, *, category: str = "hot_vald") -> str:
    report_id = str(uuid.uuid4())
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": STATION},
        "properties": {
            "id": report_id,
            "category": category,
            "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "severity": 3,
        },
    }
    r = httpx.post(
        f"{base}/api/v1/deviations", json=feature, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201, r.text
    return report_id


HAS_REPORT = """id => { let found = false;
    window.nattvandring.deviationLayer.eachLayer(l => {
        if (l.feature.properties.id === id) found = true; });
    return found; }"""


def test_an_offline_reload_shows_the_count_of_its_filters_and_when_it_was_fetched(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        page.wait_for_selector("body[data-offline-ready]", state="attached")
        _wait_status(page, "uppdaterad")
        fourteen = _shown(page)
        by_category = page.evaluate(
            """() => { const n = {}; window.nattvandring.deviationLayer.eachLayer(l => {
                const c = l.feature.properties.category; n[c] = (n[c] || 0) + 1; });
                return n; }"""
        )
        category = max(by_category, key=by_category.get)
        page.click("[data-days='30']")
        _wait_status(page, "senaste 30 dygn")
        thirty = _shown(page)
        assert thirty > fourteen > by_category[category] > 0
        page.click("[data-days='14']")
        _wait_status(page, "senaste 14 dygn")
        page.wait_for_timeout(500)  # the service worker stores the answers

        page.context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-deviations-offline='true']", state="attached")
        assert _shown(page) == fourteen
        assert CLOCK.search(_status(page)), _status(page)
        assert f"{fourteen} avvikelser senaste 14 dygn" in _status(page)
        page.click("[data-days='30']")
        _wait_status(page, "senaste 30 dygn")
        assert _shown(page) == thirty
        assert CLOCK.search(_status(page))
        # A filter never fetched: the page filters a wider answer the cache has.
        page.click("[data-days='14']")
        _wait_status(page, "senaste 14 dygn")
        page.select_option("#nv-category", category)
        page.wait_for_function(
            "n => document.body.getAttribute('data-deviations') === String(n)",
            arg=by_category[category],
        )
        assert CLOCK.search(_status(page))
        page.context.set_offline(False)


def test_another_walkers_report_appears_on_an_open_map_and_at_once_when_back_online(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    planner, planner_password = web_users["planner"]
    token = _token(live_server, planner, planner_password)
    with signed_in(browser, live_server, email, password) as page:
        page.wait_for_selector("body[data-offline-ready]", state="attached")
        started = time.monotonic()
        first = _post_report(live_server, token)
        page.wait_for_function(HAS_REPORT, arg=first, timeout=30_000)
        assert time.monotonic() - started < 30
        assert "avvikelser senaste 14 dygn · uppdaterad" in _status(page)

        # Offline, the map says how old it is; the network back, it fetches at once.
        page.context.set_offline(True)
        page.evaluate("window.nattvandring.loadDeviations({ poll: true })")
        page.wait_for_selector("body[data-deviations-offline='true']", state="attached")
        assert CLOCK.search(_status(page))
        second = _post_report(live_server, token)
        # Offline for more than the second in which a list begun before a report may still be
        # answered (`api.conditional.FreshAnswers`): what was stored meanwhile is in the next.
        page.wait_for_timeout(1100)
        page.context.set_offline(False)
        page.wait_for_function(HAS_REPORT, arg=second, timeout=10_000)
        page.wait_for_selector("body[data-deviations-offline='false']", state="attached")


def test_lie_fi_opens_from_the_cache_in_under_four_seconds(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    with DelayingProxy(live_server) as proxy:
        with signed_in(browser, proxy.url, email, password) as page:
            page.wait_for_selector("body[data-offline-ready]", state="attached")
            _wait_status(page, "uppdaterad")
            shown = _shown(page)
            page.wait_for_timeout(500)
            proxy.delay_s = 15  # connected, but every answer comes 15 s late
            started = time.monotonic()
            page.reload(wait_until="commit", timeout=10_000)
            page.wait_for_selector(
                "body[data-deviations-offline='true']", state="attached", timeout=10_000
            )
            took = time.monotonic() - started
            assert took < 4.0, took
            assert _shown(page) == shown
            assert CLOCK.search(_status(page))
            proxy.delay_s = 0


def test_undo_withdraws_the_report_and_a_resend_stores_nothing(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        note = f"Ångras {uuid.uuid4()}"
        page.click("#nv-report-open")
        tap_map(page)
        page.fill("#nv-note", note)
        page.click("[data-category='nedskrapning']")
        page.wait_for_selector("text=Avvikelsen är sparad.")
        report_id = page.get_attribute("#nv-undo", "data-id")
        assert report_id and rows(live_db_url, "SELECT 1 FROM deviations WHERE id = %s", report_id)
        page.wait_for_selector(f"#nv-mine li[data-id='{report_id}']", state="attached")
        page.click("#nv-undo-button", timeout=5000)
        page.wait_for_selector("text=Rapporten är ångrad.")
        assert page.evaluate(HAS_REPORT, report_id) is False
        assert rows(live_db_url, "SELECT 1 FROM deviations WHERE description = %s", note) == []
        assert rows(live_db_url, "SELECT 1 FROM withdrawn_deviations WHERE id = %s", report_id)
        page.wait_for_selector(f"#nv-mine li[data-id='{report_id}']", state="detached")
        # Another tab's queue sends it again: 410, nothing stored.
        status = page.evaluate(
            """id => fetch('/api/v1/deviations', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', 'X-Requested-With': 'nattvandring'},
                body: JSON.stringify({type: 'Feature',
                    geometry: {type: 'Point', coordinates: [18.0104, 59.2786]},
                    properties: {id, category: 'nedskrapning', severity: 2,
                                 observed_at: new Date().toISOString()}})}).then(r => r.status)""",
            report_id,
        )
        assert status == 410
        assert rows(live_db_url, "SELECT 1 FROM deviations WHERE id = %s", report_id) == []
        # The undo bar goes after 10 s.
        page.wait_for_timeout(300)
        assert page.locator("#nv-undo").is_hidden()


def _tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_reporting_by_keyboard_only(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        _tab_to(page, "#nv-report-open")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "nv-report"
        page.keyboard.press("Escape")  # Esc closes, and focus goes back
        assert page.locator("#nv-report").is_hidden()
        assert page.evaluate("document.activeElement.id") == "nv-report-open"

        page.keyboard.press("Enter")
        _tab_to(page, "#nv-report-centre")
        page.keyboard.press("Enter")
        assert "vald på kartan" in page.inner_text("#nv-report-position")
        note = f"Tangentbord {uuid.uuid4()}"
        _tab_to(page, "#nv-note")
        page.keyboard.type(note)
        _tab_to(page, "[data-category='brand']")
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-pending='0']", state="attached")
        page.wait_for_selector("text=Avvikelsen är sparad.")
        assert page.evaluate("document.activeElement.id") == "nv-report-open"
    stored = rows(live_db_url, "SELECT category FROM deviations WHERE description = %s", note)
    assert stored == [("brand",)]


def test_a_coarse_gps_fix_asks_for_a_tap_and_min_position_centres_at_once(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    coarse = {"latitude": 59.2786, "longitude": 18.0104, "accuracy": 250}
    with signed_in(
        browser,
        live_server,
        email,
        password,
        geolocation=coarse,
        permissions=["geolocation"],
    ) as page:
        page.click("#nv-locate")  # the first tap centres on the fix when it comes
        page.wait_for_function(
            "() => { const c = window.nattvandring.map.getCenter();"
            " return Math.abs(c.lat - 59.2786) < 1e-4 && Math.abs(c.lng - 18.0104) < 1e-4; }"
        )
        page.click("#nv-report-open")
        page.wait_for_selector("text=GPS-positionen är osäker (±250 m)")
        assert page.locator("[data-category='brand']").is_disabled()
        tap_map(page)
        assert "vald på kartan" in page.inner_text("#nv-report-position")
        assert page.locator("[data-category='brand']").is_enabled()


# Every control a thumb taps, at least 44 x 44 px: a checkbox by its label (the label is what
# takes the tap); the attribution's links are text in a sentence (exempt, WCAG 2.5.8).
SMALL_CONTROLS = """() => [...document.querySelectorAll(
    'button, select, summary, a[href], input, .leaflet-control a')]
  .filter(e => e.offsetParent !== null && !e.closest('[hidden]')
          && !e.closest('.leaflet-control-attribution'))
  .map(e => [e.id || e.className || e.tagName,
             (e.type === 'checkbox' || e.type === 'radio') && e.closest('label')
               ? e.closest('label').getBoundingClientRect() : e.getBoundingClientRect()])
  .filter(([, r]) => r.width > 0 && (r.width < 44 || r.height < 44))
  .map(([name, r]) => name + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))"""


def test_night_theme_thumb_sized_controls_and_a_legend(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password, color_scheme="dark") as page:
        # Dark from the system's choice, by CSS alone.
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.nv-panel')).backgroundColor"
        )
        assert background == "rgb(32, 37, 47)", background
        assert (
            page.evaluate(
                "getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor"
            )
            == "rgb(27, 31, 39)"
        )
        small = page.evaluate(SMALL_CONTROLS)
        assert small == [], "; ".join(small)
        legend = page.locator("#nv-legend-cats li").all_text_contents()
        assert "Brand" in legend and len(legend) >= 9
        # Switched to light: the server writes the choice on <html>, so it holds from the first
        # paint of the next page.
        page.click("#nv-theme")
        assert page.get_attribute("html", "data-theme") == "light"
        page.reload()
        page.wait_for_selector("body[data-deviations]", state="attached")
        assert page.get_attribute("html", "data-theme") == "light"
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.nv-panel')).backgroundColor"
        )
        assert background == "rgba(255, 255, 255, 0.95)", background
        assert page.inner_text("#nv-theme") == "Mörkt läge"


def test_a_walker_corrects_a_report_from_mina_rapporter(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    email, password = web_users["walker"]
    report_id = _post_report(live_server, _token(live_server, email, password))
    with signed_in(browser, live_server, email, password) as page:
        item = f"#nv-mine li[data-id='{report_id}']"
        page.wait_for_selector(item, state="attached")
        page.click("#nv-mine summary")
        opener = page.locator(f"{item} .nv-correct-open")
        box = opener.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44
        opener.click()
        # The form takes focus; Esc closes it and focus goes back to "Rätta".
        assert page.evaluate("document.activeElement.name") == "category"
        page.keyboard.press("Escape")
        assert page.locator(f"{item} form.nv-correct").count() == 0
        assert page.evaluate("document.activeElement.textContent") == "Rätta"
        page.keyboard.press("Enter")
        note = f"<b>Rättad</b> {uuid.uuid4()}"
        page.select_option(f"{item} select[name=category]", "skadegorelse")
        page.select_option(f"{item} select[name=severity]", "1")
        page.fill(f"{item} textarea[name=description]", note)
        page.focus(f"{item} button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Rapporten är rättad.")
        page.wait_for_selector(f"body[data-corrected='{report_id}']", state="attached")
        page.wait_for_function(
            "([s, t]) => (document.querySelector(s + ' .nv-description') || {}).textContent === t",
            arg=[item, note],
        )
        assert page.locator(f"{item} b").count() == 0  # the note is text, never HTML
        assert "Skadegörelse" in page.inner_text(item)
        assert (
            page.evaluate(
                """id => { let s = null; window.nattvandring.deviationLayer.eachLayer(l => {
                if (l.feature.properties.id === id) s = l.feature.properties.severity; });
                return s; }""",
                report_id,
            )
            == 1
        )
    stored = rows(
        live_db_url,
        "SELECT category, severity, description FROM deviations WHERE id = %s",
        report_id,
    )
    assert stored == [("skadegorelse", 1, note)]


def test_the_page_draws_the_reports_it_came_with_before_any_list_request(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    context = browser.new_context(viewport=PHONE, service_workers="block")
    asked: list[str] = []

    def hold(route: Route) -> None:
        asked.append(route.request.url)
        route.abort()  # no list from the network at all

    try:
        context.route(re.compile(r".*/api/v1/deviations\?.*"), hold)
        page = sign_in(context, live_server, email, password)
        shown = _shown(page)
        assert shown > 0
        assert page.locator("path.nv-deviation").count() == shown
        first = page.evaluate("JSON.parse(document.getElementById('nv-config').textContent)")
        assert first["first_list"]["etag"]
        # The one request for the list is the page's poll of its own URL, with its ETag.
        page.wait_for_function("() => document.body.hasAttribute('data-deviations-error')")
        assert asked and all(u.endswith(first["first_list"]["url"]) for u in asked), asked
        # Its popups are built when they open, from the same report.
        page.evaluate(
            "() => { let m = null;"
            " window.nattvandring.deviationLayer.eachLayer(l => { m = m || l; }); m.openPopup(); }"
        )
        assert page.locator(".leaflet-popup .nv-popup strong").count() == 1
    finally:
        context.close()


CACHED = re.compile(
    r"^senast uppdaterad \d\d:\d\d · \d+ avvikelser? senaste 14 dygn · hämtar nytt …$"
)


def test_a_warm_visit_shows_the_kept_map_at_once_then_the_fresh_list_and_an_ended_session_signs_in(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    planner, planner_password = web_users["planner"]
    token = _token(live_server, planner, planner_password)
    with DelayingProxy(live_server) as proxy:
        with signed_in(browser, proxy.url, email, password) as page:
            page.wait_for_selector("body[data-offline-ready]", state="attached")
            _wait_status(page, "uppdaterad")
            page.wait_for_timeout(500)  # the service worker keeps the page
            before = _shown(page)
            # A report made in between; every answer of the server comes 2 s late.
            report = _post_report(live_server, token)
            proxy.delay_s = 2
            started = time.monotonic()
            page.reload(wait_until="commit", timeout=10_000)
            page.wait_for_selector("body[data-deviations]", state="attached", timeout=10_000)
            took = time.monotonic() - started
            status = _status(page)
            # The kept page opened without waiting for the network, its markers labelled with
            # when they are from; the fresh list follows, with the new report.
            assert took < 2.0, took
            assert page.get_attribute("body", "data-page-from-cache") == "true"
            assert CACHED.match(status), status
            assert _shown(page) == before
            assert not page.evaluate(HAS_REPORT, report)
            page.wait_for_function(HAS_REPORT, arg=report, timeout=10_000)
            _wait_status(page, "senaste 14 dygn · uppdaterad")
            assert _shown(page) == before + 1
            proxy.delay_s = 0

            # The session ends elsewhere; the kept page opens, and its first answer (a 401)
            # leads to the sign-in page, which forgets the kept pages.
            cookies = {c["name"]: c["value"] for c in page.context.cookies()}
            r = httpx.post(
                f"{proxy.url}/logout",
                cookies=cookies,
                headers={"Origin": proxy.url},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            page.reload(wait_until="commit")
            page.wait_for_url(re.compile(r"/login\?next=/$"), timeout=10_000)
            page.wait_for_function("async () => (await caches.keys()).length === 0")
            page.goto(f"{proxy.url}/")
            assert "/login" in page.url
            assert page.locator("#email").count() == 1


def test_a_page_of_another_static_version_is_never_opened_from_the_kept_copy(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["walker"]
    with signed_in(browser, live_server, email, password) as page:
        page.wait_for_selector("body[data-offline-ready]", state="attached")
        page.wait_for_timeout(500)  # the service worker keeps the page
        page.reload()
        page.wait_for_selector("body[data-page-from-cache='true']", state="attached")

        # A release: the server's page now uses other static files than the worker keeps.
        def released(route: Route) -> None:
            response = route.fetch()
            headers = {**response.headers, "x-nv-static-version": "000000000000"}
            route.fulfill(response=response, headers=headers)

        page.context.route(re.compile(r"^[^?]*://[^/]+/$"), released)
        page.reload()  # the kept copy, for the last time: the network's page drops it
        page.wait_for_selector("body[data-page-from-cache='true']", state="attached")
        page.wait_for_timeout(1000)
        page.reload()
        page.wait_for_selector("body[data-page-from-cache='false']", state="attached")
        page.context.unroute(re.compile(r"^[^?]*://[^/]+/$"))
        kept = page.evaluate(
            """async () => { for (const k of await caches.keys()) {
                if (await (await caches.open(k)).match('/')) return true; } return false; }"""
        )
        assert kept is False
