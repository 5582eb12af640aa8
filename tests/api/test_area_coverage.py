"""How much of each area the imported street network covers (the /plan area list), and the
Swedish 404 with the import command where a plan is asked without a network. Real PostGIS, the
real Långbro extract."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from api.routers.pages import coverage_text
from geo.db import connection, streets
from geo.db.accounts import add_user
from routes.network_io import clear_network_cache, import_osm
from tests.api.conftest import PASSWORD
from tests.browser import refused_plan, sign_in
from tests.routes.conftest import LANGBRO


def _shares(conn: psycopg.Connection) -> dict[str, float]:
    return {r.slug: r.share for r in streets.area_coverage(conn)}


def test_only_langbro_is_mostly_covered_by_the_langbro_extract(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM street_edges")
    conn.execute("DELETE FROM street_nodes")
    before = _shares(conn)
    assert before and all(v == 0 for v in before.values())
    import_osm(conn, LANGBRO)
    after = _shares(conn)
    # The extract was cut around Långbro: the other districts, whose boxes the extract's box
    # meets (the old test called them "with a street network"), are hardly covered at all.
    # (Measured: Långbro 47 %, Fruängen 1 %, Älvsjö 0.5 %, the others 0 %.)
    assert after["langbro"] > 0.4, after
    for slug in ("solberga", "alvsjo", "fruangen", "herrangen", "langsjo", "orby-slott"):
        assert after[slug] < 0.1, (slug, after)
    assert all(0 <= v <= 1 for v in after.values())


def test_a_coarser_reach_covers_more(conn: psycopg.Connection) -> None:
    import_osm(conn, LANGBRO)
    near = {r.slug: r.share for r in streets.area_coverage(conn, reach_m=20)}
    far = {r.slug: r.share for r in streets.area_coverage(conn, reach_m=200)}
    assert all(far[k] >= near[k] for k in near)
    assert far["langbro"] > near["langbro"]


@pytest.mark.parametrize(
    ("share", "text"), [(0.0, "0 %"), (0.004, "under 1 %"), (0.4849, "48 %"), (1.0, "100 %")]
)
def test_the_share_as_the_area_list_shows_it(share: float, text: str) -> None:
    assert coverage_text(share) == text


def test_the_plan_page_lists_each_areas_coverage(
    client: TestClient, conn: psycopg.Connection
) -> None:
    import_osm(conn, LANGBRO)
    add_user(conn, "cov-planner@example.org", PASSWORD, role="planner", organisation="Polisen")
    client.post("/login", data={"username": "cov-planner@example.org", "password": PASSWORD})
    html = client.get("/plan").text
    rows = streets.area_coverage(conn)
    assert rows
    for row in rows:
        assert f"{row.name} (gatunät: {coverage_text(row.share)})" in html
    assert "(inget gatunät)" not in html


def test_a_plan_without_a_network_names_the_import_command(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    clear_network_cache()
    answer = client.post(
        "/api/v1/route-plans",
        json={
            "area": "orby-slott",
            "start": {"type": "Point", "coordinates": [18.035, 59.268]},
            "duration_min": 60,
        },
        headers=signed_in("planner"),
    )
    assert answer.status_code == 404, answer.text
    body = answer.json()
    assert body["code"] == "network_not_imported"
    assert body["detail"].startswith("Inget gatunät är importerat för området orby-slott.")
    assert "nattvandring import osm FILE.osm.pbf --area orby-slott" in body["detail"]


def test_the_page_says_in_swedish_how_to_import_a_network(
    live_server: str,
    web_users: dict[str, tuple[str, str]],
    live_db_url: str,
    browser: Browser,
) -> None:
    """A plan asked for Örby slott (no streets imported) shows the API's Swedish message with
    the import command; the area list gives each area's coverage."""
    with connection.connect(live_db_url, autocommit=True) as c:
        import_osm(c, LANGBRO)  # as `demo load` does
        shares = {r.slug: r.share for r in streets.area_coverage(c)}
    email, password = web_users["planner"]
    page = browser.new_page(viewport={"width": 1200, "height": 850})
    try:
        sign_in(page, live_server, email, password, path="/plan", loaded="body[data-routes]")
        area = page.locator("#nv-plan-form select[name=area]")
        langbro = area.locator("option[value=langbro]").inner_text()
        assert langbro == f"Långbro (gatunät: {coverage_text(shares['langbro'])})"
        assert "gatunät: 0 %" in area.locator("option[value=orby-slott]").inner_text()
        page.select_option("#nv-plan-form select[name=area]", "orby-slott")
        status = refused_plan(page, "Älvsjö station")
        assert status.startswith("Inget ruttförslag: Inget gatunät är importerat för området")
        assert "nattvandring import osm FILE.osm.pbf --area orby-slott" in status
    finally:
        page.close()
