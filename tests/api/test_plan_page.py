"""The planners' map in headless Chromium: draw and save a walk route and a zone, upload GPX."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import sync_playwright

from geo.db import connection
from routes.gpx import route_to_gpx
from routes.network_io import import_osm
from tests.browser import launch, open_plan, refused_plan, sign_in
from tests.conftest import DATA_DIR


def test_planner_draws_and_saves_a_route_and_a_zone(
    live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str, tmp_path: Path
) -> None:
    email, password = web_users["planner"]
    name = f"Handritad {uuid.uuid4().hex[:6]}"
    zone_name = f"Zon {uuid.uuid4().hex[:6]}"
    gpx_name = f"kvallsrunda-{uuid.uuid4().hex[:6]}"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_plan(browser, live_server, email, password, errors)
            assert page.title() == "Nattvandring – planering"
            before = int(page.get_attribute("body", "data-routes") or 0)
            # Around Älvsjö station; no street network there, so without snapping.
            page.evaluate("window.nattvandringPlan.map.setView([59.2786, 18.0104], 16)")
            page.uncheck("#nv-snap")
            box = page.locator("#map").bounding_box()
            assert box is not None

            def at(fx: float, fy: float) -> tuple[float, float]:
                return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

            page.click("#nv-draw-route")
            for fx, fy in ((0.55, 0.40), (0.65, 0.45), (0.75, 0.40)):
                page.mouse.click(*at(fx, fy))
                page.wait_for_timeout(250)
            page.mouse.click(*at(0.75, 0.40))  # a click on the last point finishes the line
            page.wait_for_selector("#nv-save-drawn:not([hidden])")
            page.fill("#nv-drawn-name", name)
            page.click("#nv-drawn-save")
            page.wait_for_selector(f"body[data-routes='{before + 1}']", state="attached")
            assert name in page.inner_text("#nv-route-list")

            page.click("#nv-draw-zone")
            for fx, fy in ((0.55, 0.6), (0.7, 0.6), (0.7, 0.75), (0.55, 0.6)):
                page.mouse.click(*at(fx, fy))
                page.wait_for_timeout(250)
            page.wait_for_selector("#nv-save-drawn:not([hidden])")
            page.fill("#nv-drawn-name", zone_name)
            page.click("#nv-drawn-save")
            page.wait_for_selector("path.nv-new-zone", state="attached")

            # A GPX track from a phone, uploaded as a route.
            track = tmp_path / f"{gpx_name}.gpx"
            track.write_text(route_to_gpx("Telefon", [(18.0104, 59.2786), (18.0125, 59.2795)]))
            page.set_input_files("#nv-gpx-file", str(track))
            page.wait_for_selector(f"body[data-routes='{before + 2}']", state="attached")
            assert gpx_name in page.inner_text("#nv-route-list")
            assert errors == []
        finally:
            browser.close()
    with connection.connect(live_db_url) as conn:
        route = conn.execute(
            "SELECT ST_NPoints(geom), source, ST_Length(geom::geography) FROM walk_routes "
            "WHERE name = %s",
            (name,),
        ).fetchall()
        zone = conn.execute(
            "SELECT a.slug FROM zones z JOIN areas a ON a.id = z.area_id WHERE z.name = %s",
            (zone_name,),
        ).fetchall()
    assert len(route) == 1 and route[0][0] == 3 and route[0][1] == "drawn"
    assert 100 < float(route[0][2]) < 1000
    assert len(zone) == 1 and zone[0][0] in ("solberga", "alvsjo")  # by the station


def test_a_refused_route_plan_says_why_in_swedish(
    live_server: str, web_users: dict[str, tuple[str, str]], live_db_url: str
) -> None:
    """Älvsjö station lies over 500 m from the imported streets: the page names the distance."""
    with connection.connect(live_db_url, autocommit=True) as conn:
        import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")  # as `demo load` does
    email, password = web_users["planner"]
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 850})
            sign_in(page, live_server, email, password, path="/plan", loaded="body[data-routes]")
            status = refused_plan(page, "Älvsjö station")
            assert "Startpunkten ligger" in status and " m från närmaste gata" in status
            assert "nearest street" not in status
        finally:
            browser.close()
