"""The partners' page (issue 14): a partner lands at ``/`` on aggregates, hot spots and the
meeting export; no single report and no exact time anywhere on it. Headless Chromium over real
HTTP."""

from __future__ import annotations

import re

from playwright.sync_api import Browser

from tests.api.test_situation_page import sign_in
from tests.browser import PHONE

FORMATS = {"gpkg", "pdf", "html", "kml", "geojson", "shp", "csv"}
CLOCK_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b")


def test_a_partner_lands_on_aggregates_hot_spots_and_exports_without_single_reports(
    browser: Browser, live_server: str, web_users: dict[str, tuple[str, str]]
) -> None:
    email, password = web_users["partner"]
    context = browser.new_context(viewport={"width": 1000, "height": 900}, accept_downloads=True)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    try:
        page = sign_in(context, live_server, email, password, loaded="body[data-aggregates]")
        assert page.url.rstrip("/") == live_server
        assert "Lägesbild för samverkanspartner" in page.inner_text("h1")
        page.wait_for_selector("body[data-hotspots]", state="attached", timeout=30_000)
        assert int(page.get_attribute("body", "data-aggregates") or 0) > 0

        # The same numbers as the aggregates API (the partner export's), counts of at least 3.
        since = page.input_value("[name=since]")
        until = page.input_value("[name=until]")
        api = page.evaluate(
            """async ([since, until]) => { const r = await fetch(
                '/api/v1/deviation-aggregates?area=solberga&bucket=week&since=' + since +
                '&until=' + until, {credentials: 'same-origin'}); return (await r.json()).features
                .map(f => f.properties); }""",
            [since, until],
        )
        zone_counts = [
            int(t)
            for t in page.locator("#nv-zone-table tbody td:last-child").all_inner_texts()
            if t
        ]
        cell_counts = [
            int(t)
            for t in page.locator("#nv-cell-table tbody td:last-child").all_inner_texts()
            if t
        ]
        assert sum(zone_counts) == sum(p["count"] for p in api if p["layer"] == "zone")
        assert sum(cell_counts) == sum(p["count"] for p in api if p["layer"] == "cell") > 0
        assert min(zone_counts + cell_counts) >= 3
        hot = page.evaluate(
            """async ([since, until]) => (await (await fetch(
                '/api/v1/deviation-aggregates/hotspots?area=solberga&since=' + since +
                '&until=' + until, {credentials: 'same-origin'})).json()).features""",
            [since, until],
        )
        assert all(set(f["properties"]) == {"class", "class_sv", "count"} for f in hot)
        assert all(f["properties"]["count"] is None or f["properties"]["count"] >= 3 for f in hot)
        assert page.locator("#nv-hot-list li").count() == len(hot)

        # The meeting export: a button per format, a preview of rows per layer, a POST download.
        buttons = page.locator("#nv-export-form button[name=format]")
        assert {buttons.nth(i).get_attribute("value") for i in range(buttons.count())} == FORMATS
        page.click("#nv-export-preview")
        page.wait_for_selector("body[data-export-preview]", state="attached", timeout=30_000)
        assert "Avvikelser per ruta (250 m):" in page.inner_text("#nv-export-result")
        with page.expect_download(timeout=60_000) as download:
            page.click("#nv-export-form button[value=csv]")
        assert download.value.suggested_filename.endswith(".csv")

        # No single report and no exact time anywhere on the page, and none asked for.
        text = page.inner_text("body")
        assert not CLOCK_TIME.search(text), CLOCK_TIME.search(text)
        assert page.locator("#nv-report-open, .nv-deviation").count() == 0
        assert not [u for u in requests if re.search(r"/api/v1/(deviations|me/)", u)]
        refused = page.evaluate(
            "() => fetch('/api/v1/deviations?limit=5', {credentials: 'same-origin'})"
            ".then(r => r.status)"
        )
        assert refused == 403
        # On a phone too, nothing of the page is cut off sideways.
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
