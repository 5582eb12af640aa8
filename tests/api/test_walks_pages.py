"""The walks on the pages, in headless Chromium over real HTTP: "Min vandring ikväll" on the
walker's phone, the leader's walk with its recorded track (a fake GPS moving along the route,
the network cut in the middle) and its report back, and the planners' walks page with the
report, the track against the plan and the plan-vs-walked figures.

The walk is made for tonight through the API; what the browser sends is checked in the database.
"""

from __future__ import annotations

import math
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page

from geo.db import connection
from geo.db.accounts import add_user
from geo.db.walk_views import set_area_contacts
from tests.api.test_pages import config_of, sign_in
from tests.browser import PHONE

CLUB = "Älvsjö AIK"
FIELD_WORKER = "08-508 123 45"
STEP_M = 8.0  # between two fake GPS fixes, 1.3 s apart: 22 km/h, under the 30 km/h limit
STEP_S = 1.3


# -- the page itself (TestClient) ---------------------------------------------------------------


def test_the_walks_page_is_for_planners(client: TestClient, conn: psycopg.Connection) -> None:
    r = client.get("/plan/walks", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/plan/walks"
    add_user(conn, "wp-walker@example.org", "correct horse 1", role="walker", organisation=CLUB)
    add_user(
        conn,
        "wp-planner@example.org",
        "correct horse 2",
        role="planner",
        organisation="Hägersten-Älvsjö stadsdelsförvaltning",
    )
    sign_in(client, "wp-walker@example.org", "correct horse 1")
    refused = client.get("/plan/walks")
    assert refused.status_code == 403 and "Passen är till för planerare" in refused.text
    walker_map = config_of(client.get("/").text)
    assert walker_map["walks"] is True  # the walker's map has "Min vandring ikväll"
    sign_in(client, "wp-planner@example.org", "correct horse 2")
    page = client.get("/plan/walks")
    assert page.status_code == 200 and "<title>Nattvandring – pass</title>" in page.text
    config = config_of(page.text)
    assert config["statuses"]["cancelled"] == "inställd"  # type: ignore[index]
    assert config["moods"] == {"calm": "lugnt", "mixed": "blandat", "unsettled": "oroligt"}
    assert 'href="/plan/walks"' in client.get("/plan").text
    assert config_of(client.get("/").text)["walks"] is False  # planners plan walks instead


# -- in the browser -------------------------------------------------------------------------------


def rows(live_db_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with connection.connect(live_db_url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _user(live_db_url: str, role: str, organisation: str, name: str | None) -> dict[str, Any]:
    email = f"walks-{role}-{secrets.token_hex(3)}@example.org"
    password = secrets.token_urlsafe(12)
    with connection.connect(live_db_url, autocommit=True) as conn:
        add_user(conn, email, password, role=role, organisation=organisation, display_name=name)
        uid = conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()
    assert uid is not None
    return {"email": email, "password": password, "id": uid[0], "name": name}


def _bearer(base: str, user: dict[str, Any]) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": user["email"], "password": user["password"]}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _along(coords: list[list[float]], step_m: float, n: int) -> list[tuple[float, float]]:
    """``n`` positions (lon, lat) ``step_m`` apart along a line, from its start."""
    out = [(coords[0][0], coords[0][1])]
    want = step_m
    walked = 0.0
    for (x0, y0), (x1, y1) in zip(coords, coords[1:], strict=False):
        kx = 111_320 * math.cos(math.radians(y0))
        seg = math.hypot((x1 - x0) * kx, (y1 - y0) * 110_540)
        while seg > 0 and walked + seg >= want and len(out) < n:
            f = (want - walked) / seg
            out.append((x0 + f * (x1 - x0), y0 + f * (y1 - y0)))
            want += step_m
        walked += seg
    assert len(out) == n, "the route is too short for the walk"
    return out


def _gps(lon: float, lat: float) -> dict[str, float]:
    return {"longitude": lon, "latitude": lat, "accuracy": 8}


def _sign_in(page: Page, base: str, path: str, user: dict[str, Any], loaded: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("button[type=submit]")
    page.wait_for_selector(loaded, state="attached")


@pytest.fixture()
def tonight(live_server: str, live_db_url: str) -> dict[str, Any]:
    """A walk of Älvsjö AIK under way now (made by a planner through the API, with its route)
    from Älvsjö station, led by one new walker and signed up for by two; the area's field
    worker set."""
    planner = _user(live_db_url, "planner", "Hägersten-Älvsjö stadsdelsförvaltning", "Planerare")
    tag = secrets.token_hex(2)
    leader = _user(live_db_url, "walker", CLUB, f"Anna {tag}")
    walker = _user(live_db_url, "walker", CLUB, f"Bengt {tag}")
    as_planner = _bearer(live_server, planner)
    name = f"Kvällsrundan {tag}"
    coords = [[18.0104, 59.2786], [18.0164, 59.2786], [18.0164, 59.2806]]  # from Älvsjö station
    made = httpx.post(
        f"{live_server}/api/v1/routes",
        json={
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"name": name},
        },
        headers=as_planner,
    )
    assert made.status_code == 201, made.text
    route_id = made.json()["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "id": str(uuid.uuid4()),
        "organisation": CLUB,
        "meeting_point": {"type": "Point", "coordinates": coords[0]},
        "planned_start": (now - timedelta(minutes=10)).isoformat(),
        "planned_end": (now + timedelta(hours=3)).isoformat(),
        "walkers_needed": 6,
        "route_id": route_id,
        "leader_id": leader["id"],
    }
    r = httpx.post(f"{live_server}/api/v1/walks", json=body, headers=as_planner)
    assert r.status_code == 201, r.text
    with connection.connect(live_db_url, autocommit=True) as conn:
        set_area_contacts(conn, r.json()["area"], field_worker=FIELD_WORKER)
    for who in (leader, walker):
        s = httpx.post(
            f"{live_server}/api/v1/walks/{body['id']}/signups", headers=_bearer(live_server, who)
        )
        assert s.status_code in (200, 201), s.text
    # A later walk of the club, to sign up for on the phone.
    later = {
        **body,
        "id": str(uuid.uuid4()),
        "planned_start": (now + timedelta(days=2)).isoformat(),
        "planned_end": (now + timedelta(days=2, hours=3)).isoformat(),
        "route_id": None,
        "leader_id": None,
    }
    made_later = httpx.post(f"{live_server}/api/v1/walks", json=later, headers=as_planner)
    assert made_later.status_code == 201, made_later.text
    start_local = datetime.fromisoformat(body["planned_start"]).astimezone(
        ZoneInfo("Europe/Stockholm")
    )
    return {
        "id": body["id"],
        "later": later["id"],
        "route": name,
        "coords": coords,
        "clock": start_local.strftime("%H:%M"),
        "planner": planner,
        "leader": leader,
        "walker": walker,
    }


def test_the_walker_sees_min_vandring_ikvall_with_meeting_point_route_and_call_links(
    browser: Browser, live_server: str, live_db_url: str, tonight: dict[str, Any]
) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, live_server, "/", tonight["walker"], "body[data-walk-status='planned']")
        card = page.inner_text("#nv-walk")
        assert "Min vandring ikväll" in card
        assert f"kl. {tonight['clock']}" in card
        assert f"Rutt: {tonight['route']}" in card
        assert "Anmälda: 2 av 6 behövs" in card
        assert tonight["leader"]["name"] in card and tonight["walker"]["name"] in card
        assert f"Vandringsledare: {tonight['leader']['name']}" in card
        links = page.eval_on_selector_all(
            "#nv-walk a.nv-call", "as => as.map(a => [a.getAttribute('href'), a.textContent])"
        )
        assert links == [
            ["tel:0850812345", f"Fältassistent {FIELD_WORKER}"],
            ["tel:11414", "Polisen 114 14"],
            ["tel:112", "Nödnummer 112"],
        ]
        # The meeting point on the map with its time, and tonight's route.
        assert page.locator("path.nv-meeting").count() == 1
        assert page.inner_text(".nv-meeting-time") == tonight["clock"]
        assert page.locator("path.nv-walk-route-line").count() == 1
        page.wait_for_selector("#nv-my-walks[data-upcoming]", state="attached")
        page.click("#nv-my-walks summary")
        assert tonight["id"] in page.eval_on_selector_all(
            "#nv-my-walks [data-walk]", "xs => xs.map(x => x.getAttribute('data-walk'))"
        )
        # The club's season: sign up for a later walk, then withdraw.
        later = tonight["later"]
        signups = "SELECT count(*) FROM walk_signups WHERE walk_id = %s AND user_id = %s"
        page.reload()
        page.wait_for_selector("#nv-my-walks[data-upcoming='1']", state="attached")
        page.click("#nv-my-walks summary")
        page.click(f"#nv-my-walks [data-walk='{later}'] button:has-text('Anmäl mig')")
        page.wait_for_selector("text=Du är anmäld. Tack!")
        page.wait_for_selector("#nv-my-walks[data-upcoming='2']", state="attached")
        assert rows(live_db_url, signups, later, tonight["walker"]["id"]) == [(1,)]
        page.click(f"#nv-my-walks [data-walk='{later}'] button:has-text('Avanmäl mig')")
        page.wait_for_selector("#nv-my-walks[data-upcoming='1']", state="attached")
        assert rows(live_db_url, signups, later, tonight["walker"]["id"]) == [(0,)]
        assert errors == []
    finally:
        context.close()


def _step(page: Page, lon: float, lat: float, points: int) -> None:
    page.context.set_geolocation(_gps(lon, lat))
    word = "punkt" if points == 1 else "punkter"
    page.wait_for_selector(f"#nv-walk-track:has-text('{points} {word}')", timeout=10_000)
    page.wait_for_timeout(int(STEP_S * 1000))


def test_the_leader_walks_with_the_network_cut_reports_back_and_the_planner_sees_it(
    browser: Browser, live_server: str, live_db_url: str, tonight: dict[str, Any]
) -> None:
    walk_id = tonight["id"]
    path = _along(tonight["coords"], STEP_M, 10)
    context = browser.new_context(
        viewport=PHONE, geolocation=_gps(*path[0]), permissions=["geolocation"]
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, live_server, "/", tonight["leader"], "body[data-walk-status='planned']")
        page.click("#nv-walk-start")
        page.wait_for_selector("body[data-walk-status='ongoing']", state="attached")
        assert rows(live_db_url, "SELECT status FROM walks WHERE id = %s", walk_id) == [
            ("ongoing",)
        ]
        page.wait_for_selector("#nv-walk-track:has-text('1 punkt')", timeout=10_000)
        page.wait_for_timeout(int(STEP_S * 1000))
        for n in (1, 2):
            _step(page, *path[n], points=n + 1)
        page.wait_for_selector("body[data-track-waiting='0']", state="attached")

        # A dead zone: the points wait on the phone.
        context.set_offline(True)
        for n in (3, 4, 5, 6):
            _step(page, *path[n], points=n + 1)
        page.wait_for_selector("body[data-track-waiting='4']", state="attached")
        stored = "SELECT count(*) FROM walk_track_points WHERE walk_id = %s"
        assert rows(live_db_url, stored, walk_id) == [(3,)]
        context.set_offline(False)  # the "online" event sends them
        page.wait_for_selector("body[data-track-waiting='0']", state="attached", timeout=30_000)
        for n in (7, 8, 9):
            _step(page, *path[n], points=n + 1)
        page.wait_for_selector("body[data-track-waiting='0']", state="attached")
        assert rows(live_db_url, stored, walk_id) == [(10,)]

        # A deviation reported during the walk carries the walk's id.
        note = f"Krossad ruta {uuid.uuid4()}"
        page.click("#nv-report-open")
        page.wait_for_selector("text=din GPS-position")
        page.fill("#nv-note", note)
        page.click("[data-category='trasig_belysning']")
        page.wait_for_selector("body[data-pending='0']", state="attached")
        page.wait_for_selector("text=Avvikelsen är sparad.")
        assert rows(
            live_db_url, "SELECT walk_id::text FROM deviations WHERE description = %s", note
        ) == [(walk_id,)]

        page.click("#nv-walk-end")
        page.wait_for_selector("#nv-walk-report:not([hidden])")
        form = "#nv-wr-form"
        assert page.input_value(f"{form} [name=walkers_present]") == "2"
        assert page.input_value(f"{form} [name=started_at]") != ""
        assert "Skriv inte namn på ungdomar" in page.inner_text("#nv-walk-report")
        page.fill(f"{form} [name=youths_met]", "25")
        page.check(f"{form} [name=mood][value=mixed]")
        page.check(f"{form} [name=contacts][value=field_workers]")
        page.check(f"{form} [name=contacts][value=parents]")
        summary = f"Grupper vid stationen, lugnt vid skolan {uuid.uuid4().hex[:6]}"
        page.fill(f"{form} [name=summary]", summary)

        context.set_offline(True)  # the report waits on the phone, too
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("body[data-walk-reports-waiting='1']", state="attached")
        page.wait_for_selector("text=Återrapporten väntar på nätet")
        report = "SELECT mood, youths_met, walkers_present, contacts, summary FROM walk_reports "
        report += "WHERE walk_id = %s"
        assert rows(live_db_url, report, walk_id) == []
        context.set_offline(False)
        page.wait_for_selector(
            "body[data-walk-reports-waiting='0']", state="attached", timeout=30_000
        )
        page.wait_for_selector("body[data-walk-status='reported']", state="attached")
        assert rows(live_db_url, report, walk_id) == [
            ("mixed", 25, 2, ["field_workers", "parents"], summary)
        ]
        assert rows(live_db_url, "SELECT status FROM walks WHERE id = %s", walk_id) == [
            ("reported",)
        ]
        assert errors == []
    finally:
        context.close()

    # The planner: the report, the track against the plan and the figures.
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, live_server, "/plan/walks", tonight["planner"], "body[data-walks]")
        page.click(f"#nv-walks-list [data-walk='{walk_id}']")
        page.wait_for_selector(f"#nv-walk-detail[data-loaded='{walk_id}']", state="attached")
        detail = page.inner_text("#nv-walk-detail")
        assert "Stämning: blandat" in detail
        assert "Kontakt med: fältassistenter, föräldrar" in detail
        assert "Ungdomar mötta: 25" in detail
        assert summary in detail
        assert "Vandrare på plats: 2 av 6 (färre än behövs)" in detail
        assert tonight["leader"]["name"] in detail and tonight["walker"]["name"] in detail
        length = page.inner_text(".nv-fig-length")
        assert re.fullmatch(r"Gången sträcka: 0,\d km", length), length
        assert re.fullmatch(
            r"Andel av rutten inom 50 m från spåret: \d+\s%", page.inner_text(".nv-fig-share")
        )
        assert page.locator("path.nv-walked-track").count() == 1
        assert page.locator("path.nv-planned-route").count() == 1
        page.click("[data-view=calendar]")
        assert page.locator(f"#nv-walks-calendar [data-walk='{walk_id}']").count() == 1
        assert errors == []
    finally:
        context.close()


def test_a_walker_reports_a_walk_never_started_from_the_list(
    browser: Browser, live_server: str, live_db_url: str
) -> None:
    """A walk that nobody started in the app, its planned end passed: the signed-up walker
    (not the leader, on a phone that never saw the walk) reports it back from the list."""
    planner = _user(live_db_url, "planner", "Hägersten-Älvsjö stadsdelsförvaltning", "Planerare")
    tag = secrets.token_hex(2)
    walker = _user(live_db_url, "walker", CLUB, f"Cecilia {tag}")
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(hours=6), now - timedelta(hours=2)
    walk_id = str(uuid.uuid4())
    made = httpx.post(
        f"{live_server}/api/v1/walks",
        json={
            "id": walk_id,
            "organisation": CLUB,
            "meeting_point": {"type": "Point", "coordinates": [18.0104, 59.2786]},
            "planned_start": start.isoformat(),
            "planned_end": end.isoformat(),
            "walkers_needed": 6,
        },
        headers=_bearer(live_server, planner),
    )
    assert made.status_code == 201, made.text
    # Sign-ups close at the planned end: this one was made before it.
    with connection.connect(live_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO walk_signups (walk_id, user_id) VALUES (%s, %s)", (walk_id, walker["id"])
        )
    context = browser.new_context(viewport=PHONE)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, live_server, "/", walker, "#nv-to-report[data-to-report='1']")
        assert page.get_attribute("body", "data-walk-status") == "none"  # not "tonight" any more
        page.click(f"#nv-to-report [data-walk='{walk_id}'] button:has-text('Återrapportera')")
        page.wait_for_selector(f"#nv-walk-report[data-walk='{walk_id}']:not([hidden])")
        form = "#nv-wr-form"
        assert page.input_value(f"{form} [name=walkers_present]") == "1"
        assert walker["name"] in page.inner_text("#nv-wr-walkers-hint")
        page.fill(f"{form} [name=walkers_present]", "4")
        page.fill(f"{form} [name=youths_met]", "12")
        page.check(f"{form} [name=mood][value=unsettled]")
        page.check(f"{form} [name=contacts][value=police]")
        summary = f"Glömde starta i appen {uuid.uuid4().hex[:6]}"
        page.fill(f"{form} [name=summary]", summary)
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("text=Återrapporten är skickad. Tack!")
        page.wait_for_selector("#nv-to-report[data-to-report='0']", state="attached")
        assert page.is_hidden("#nv-to-report") and page.is_hidden("#nv-walk-report")
        stored = rows(
            live_db_url,
            "SELECT reporter_id, started_at, ended_at, walkers_present, youths_met, mood, "
            "contacts, summary FROM walk_reports WHERE walk_id = %s",
            walk_id,
        )
        # The planned times as the form was filled in, the rest as typed; stored once.
        assert stored == [(walker["id"], start, end, 4, 12, "unsettled", ["police"], summary)]
        assert rows(live_db_url, "SELECT status FROM walks WHERE id = %s", walk_id) == [
            ("reported",)
        ]
        page.reload()
        page.wait_for_selector("#nv-to-report[data-to-report='0']", state="attached")
        page.wait_for_selector("body[data-walk-reports-waiting='0']", state="attached")
        assert errors == []
    finally:
        context.close()
