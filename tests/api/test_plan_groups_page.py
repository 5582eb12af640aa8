"""The planners' map in headless Chromium: a plan for two groups drawn in two colours, with
clock times in the timetable, the start time from the form, and stale results cleared."""

from __future__ import annotations

import re

from playwright.sync_api import sync_playwright

from geo.db import connection
from routes.network_io import import_osm
from tests.browser import launch, open_plan
from tests.conftest import DATA_DIR


def test_a_two_group_plan_is_drawn_in_two_colours_with_clock_times(
    live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    with connection.connect(live_db_url, autocommit=True) as conn:
        import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")  # as `demo load` does
    email, password = web_users["planner"]
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_plan(browser, live_server, email, password, errors)
            form = "#nv-plan-form"
            page.select_option(f"{form} select[name=area]", "langbro")
            # The default start: 21:00 this evening (no walk is scheduled in Långbro).
            page.wait_for_selector(f"{form} [name=start_at][data-area=langbro]", state="attached")
            assert page.input_value(f"{form} [name=start_at]").endswith("T21:00")
            school = (
                page.locator(f"{form} select[name=start] option")
                .filter(has_text="Johan Skytteskolan")
                .first.get_attribute("value")
            )
            assert school
            page.select_option(f"{form} select[name=start]", school)
            page.fill(f"{form} [name=start_at]", "2026-12-04T21:30")
            page.fill(f"{form} [name=duration]", "90")
            page.select_option(f"{form} select[name=period]", "365")
            page.select_option(f"{form} select[name=tow]", index=0)
            page.select_option(f"{form} select[name=groups]", "2")
            page.click(f"{form} button[type=submit]")
            page.wait_for_selector("body[data-plan-groups='2']", state="attached", timeout=60000)
            status = page.inner_text("#nv-plan-status")
            assert status.startswith("2 grupper, ") and "start 21:30" in status, status

            # Two lines, one colour each, and numbered stops in the group's colour.
            colours = [page.get_attribute(f"path.nv-plan-group-{g}", "stroke") for g in (1, 2)]
            assert colours == ["#e31a1c", "#1f78b4"]
            assert page.locator(".nv-stop-group-2").count() >= 1
            # The timetable: a section a group, clock times from 21:30 on.
            sections = page.locator("#nv-plan-result .nv-plan-group")
            assert sections.count() == 2
            for g in range(2):
                title = sections.nth(g).locator(".nv-group-title").inner_text()
                assert title.startswith(f"Grupp {g + 1}: "), title
                times = sections.nth(g).locator(".nv-arrive").all_inner_texts()
                assert times, "every group has stops"
                clock = [re.match(r"^(\d\d):(\d\d)", t) for t in times]
                assert all(clock), times
                minutes = [int(m[1]) * 60 + int(m[2]) for m in clock if m]
                minutes = [m if m >= 12 * 60 else m + 24 * 60 for m in minutes]
                assert minutes == sorted(minutes) and minutes[0] >= 21 * 60 + 30, times
                assert sections.nth(g).locator("a.nv-group-gpx").count() == 1
            # The plan lies clear of the panel on the left.
            panel = page.locator("#nv-plan-panel").bounding_box()
            assert panel is not None
            for g in (1, 2):
                box = page.locator(f"path.nv-plan-group-{g}").bounding_box()
                assert box is not None and box["x"] >= panel["x"] + panel["width"] - 5

            # A new request clears the last plan at once; one group gives one line again.
            page.select_option(f"{form} select[name=groups]", "1")
            page.click(f"{form} button[type=submit]")
            page.wait_for_selector("body[data-plan-groups='1']", state="attached", timeout=60000)
            assert page.locator("path.nv-plan-group-2").count() == 0
            assert page.locator("#nv-plan-result .nv-plan-group").count() == 1
            assert errors == []
        finally:
            browser.close()
