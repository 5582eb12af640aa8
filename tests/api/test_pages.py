"""Sign-in and sign-out, the session cookie, security headers and what the map page carries."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import add_user
from maps.places import PLACE_KINDS_SV

PASSWORD = "correct horse battery"


@pytest.fixture()
def walker(conn: psycopg.Connection) -> str:
    add_user(conn, "page-walker@example.org", PASSWORD, role="walker", organisation="Älvsjö AIK")
    return "page-walker@example.org"


def sign_in(client: TestClient, email: str, password: str = PASSWORD, **form: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"username": email, "password": password, **form},
        follow_redirects=False,
    )


def config_of(page: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="nv-config">(.*?)</script>', page, re.S)
    assert m, "the page has no nv-config"
    data: dict[str, object] = json.loads(m.group(1))
    return data


def test_anonymous_visitors_are_sent_to_the_sign_in_page(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="sv">' in page.text and "Logga in" in page.text


def test_sign_in_sets_an_httponly_samesite_session_cookie(client: TestClient, walker: str) -> None:
    r = sign_in(client, walker)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("nv_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    page = client.get("/")
    assert page.status_code == 200
    config = config_of(page.text)
    assert config["user"] == {
        "id": config["user"]["id"],
        "email": walker,  # type: ignore[index]
        "role": "walker",
        "organisation": "Älvsjö AIK",
    }
    assert config["can_report"] is True
    codes = [c["code"] for c in config["categories"]]  # type: ignore[attr-defined]
    assert "skadegorelse" in codes and "trasig_belysning" in codes
    # The cookie also signs in API calls of the page.
    assert client.get("/api/v1/auth/me").json()["email"] == walker


def test_wrong_password_is_401_in_swedish_and_keeps_the_email(
    client: TestClient, walker: str
) -> None:
    r = sign_in(client, walker, "fel lösenord")
    assert r.status_code == 401
    assert "Fel e-post eller lösenord" in r.text
    assert f'value="{walker}"' in r.text
    assert "set-cookie" not in r.headers


def test_repeated_failures_lock_the_account_with_429(client: TestClient, walker: str) -> None:
    for _ in range(5):
        assert sign_in(client, walker, "fel lösenord").status_code == 401
    r = sign_in(client, walker)
    assert r.status_code == 429 and "För många misslyckade försök" in r.text
    assert int(r.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/", "/"),
        ("/?x=1", "/?x=1"),
        ("//evil.example/", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_sign_in_never_redirects_to_another_site(
    client: TestClient, walker: str, target: str, expected: str
) -> None:
    r = sign_in(client, walker, next=target)
    assert r.headers["location"] == expected


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, walker: str, conn: psycopg.Connection
) -> None:
    token = sign_in(client, walker).cookies["nv_session"]
    assert client.get("/api/v1/auth/me").status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # Even a copy of the old cookie no longer works.
    client.cookies.set("nv_session", token)
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_cookie_write_from_another_site_is_refused(client: TestClient, walker: str) -> None:
    sign_in(client, walker)
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
        "properties": {
            "id": str(uuid.uuid4()),
            "category": "brand",
            "severity": 1,
            "observed_at": datetime.now(UTC).isoformat(),
        },
    }
    evil = client.post(
        "/api/v1/deviations", json=feature, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    same = client.post("/api/v1/deviations", json=feature, headers={"Origin": "http://testserver"})
    assert same.status_code == 201


def test_pages_send_a_strict_content_security_policy(client: TestClient, walker: str) -> None:
    sign_in(client, walker)
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    # The page's scripts are all files of the app: no inline script, so no hash, is allowed.
    assert directives["script-src"] == "'self'"
    assert "https://tile.openstreetmap.org" in directives["img-src"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    for path in ("/login", "/api/v1/areas", "/healthz"):
        h = client.get(path).headers
        assert h["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in h["content-security-policy"], path


def test_the_service_worker_is_served_from_the_root(client: TestClient) -> None:
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "caches" in r.text


def test_tonight_s_route_is_on_the_map(
    client: TestClient, walker: str, conn: psycopg.Connection
) -> None:
    org = conn.execute("SELECT id FROM organisations WHERE name = 'Älvsjö AIK'").fetchone()
    assert org is not None
    route = conn.execute(
        "INSERT INTO walk_routes (name, geom) VALUES ('Stationsrundan', "
        "ST_GeomFromText('LINESTRING(18.0104 59.2786, 18.0050 59.2800)', 4326)) RETURNING id"
    ).fetchone()
    assert route is not None
    now = datetime.now(UTC)
    for start, name in ((now + timedelta(hours=3), "tonight"), (now - timedelta(days=3), "old")):
        conn.execute(
            "INSERT INTO walks (id, organisation_id, route_id, planned_start) "
            "VALUES (%s, %s, %s, %s)",
            (uuid.uuid4(), org[0], route[0] if name == "tonight" else None, start),
        )
    old_route = conn.execute(
        "INSERT INTO walk_routes (name, geom) VALUES ('Förra veckan', "
        "ST_GeomFromText('LINESTRING(18.0 59.28, 18.01 59.28)', 4326)) RETURNING id"
    ).fetchone()
    assert old_route is not None
    conn.execute(
        "INSERT INTO walks (id, organisation_id, route_id, planned_start) VALUES (%s, %s, %s, %s)",
        (uuid.uuid4(), org[0], old_route[0], now - timedelta(days=2)),
    )
    sign_in(client, walker)
    routes = config_of(client.get("/").text)["routes"]
    names = [f["properties"]["name"] for f in routes["features"]]  # type: ignore[index]
    assert names == ["Stationsrundan"]
    assert routes["features"][0]["geometry"]["type"] == "LineString"  # type: ignore[index]


def test_report_text_cannot_end_the_config_script(
    client: TestClient, walker: str, conn: psycopg.Connection
) -> None:
    conn.execute(
        "INSERT INTO walk_routes (name, geom) VALUES (%s, "
        "ST_GeomFromText('LINESTRING(18.0104 59.2786, 18.0050 59.2800)', 4326))",
        ("</script><script>alert(1)</script>",),
    )
    route = conn.execute("SELECT max(id) FROM walk_routes").fetchone()
    org = conn.execute("SELECT id FROM organisations WHERE name = 'Älvsjö AIK'").fetchone()
    assert route is not None and org is not None
    conn.execute(
        "INSERT INTO walks (id, organisation_id, route_id, planned_start) VALUES (%s, %s, %s, %s)",
        (uuid.uuid4(), org[0], route[0], datetime.now(UTC)),
    )
    sign_in(client, walker)
    page = client.get("/").text
    assert "</script><script>alert(1)" not in page
    routes = config_of(page)["routes"]
    names = [f["properties"]["name"] for f in routes["features"]]  # type: ignore[index]
    assert names == ["</script><script>alert(1)</script>"]


@pytest.fixture()
def planner(conn: psycopg.Connection) -> str:
    add_user(conn, "page-planner@example.org", PASSWORD, role="planner", organisation="SDF")
    return "page-planner@example.org"


def _pages(client: TestClient, walker: str, planner: str) -> dict[str, str]:
    """Every page's HTML: sign-in, a message page, the situation map and the planners' map."""
    pages = {"/login": client.get("/login").text}
    sign_in(client, walker)
    pages["/"] = client.get("/").text
    pages["/plan (walker)"] = client.get("/plan").text
    pages["/plan/walks (walker)"] = client.get("/plan/walks").text
    sign_in(client, planner)
    pages["/plan"] = client.get("/plan").text
    pages["/plan/walks"] = client.get("/plan/walks").text
    return pages


def test_every_page_lets_a_phone_pinch_zoom(client: TestClient, walker: str, planner: str) -> None:
    for path, page in _pages(client, walker, planner).items():
        viewports = re.findall(r'<meta name="viewport" content="([^"]*)"', page)
        assert viewports == ["width=device-width, initial-scale=1"], path
        assert "maximum-scale" not in page and "user-scalable" not in page, path


def test_no_page_has_an_inline_script(client: TestClient, walker: str, planner: str) -> None:
    """Scripts are files of the app (CSP script-src 'self'); the config is data, never run."""
    for path, page in _pages(client, walker, planner).items():
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S | re.I)
        assert scripts or path in ("/plan (walker)", "/plan/walks (walker)"), path
        for attrs, body in scripts:
            if 'type="application/json"' in attrs:
                json.loads(body)
                continue
            assert 'src="/static/' in attrs and body == "", (path, attrs)
        # No event-handler attribute and no javascript: link either.
        assert re.search(r"<[^>]*\son[a-z]+\s*=", page, re.I) is None, path
        assert "javascript:" not in page.lower(), path


def test_the_maps_fetch_their_layers_instead_of_carrying_them(
    client: TestClient, walker: str, planner: str
) -> None:
    places = client.get("/api/v1/places").json()["features"]
    areas = client.get("/api/v1/areas").json()["features"]
    area_names = {f["properties"]["name"] for f in areas}
    # Names long enough not to occur by chance in the page's own Swedish text.
    names = {f["properties"]["name"] for f in places} - area_names - set(PLACE_KINDS_SV.values())
    names = {n for n in names if len(n) >= 8}
    assert len(names) > 50
    pages = _pages(client, walker, planner)
    # The situation page carries its first deviation list (a JSON data block, issue 14: the
    # markers before any request) and that list's URL, and its stylesheets inline; the layers
    # around them it fetches.
    first = re.sub(r"<style>.*?</style>", "", pages["/"], flags=re.S)
    assert 'id="nv-deviations"' in first and '"first_list"' in first
    pages["/"] = re.sub(
        r'<script type="application/json" id="nv-deviations">.*?</script>', "", first, flags=re.S
    )
    pages["/"] = re.sub(r'"first_list": \{[^}]*\}, ', "", pages["/"])
    for path in ("/", "/plan"):
        page = pages[path]
        assert len(page.encode()) < 20_000, (path, len(page))
        assert [n for n in names if n in page] == [], path
        config = config_of(page)
        assert "places" not in config and "zones" not in config, path
        ids = [layer["id"] for layer in config["layers"]]  # type: ignore[index]
        assert [i for i in ids if i in ("areas", "zones", "places")] == ["areas", "zones", "places"]
    # The situation map names its own district (the banner) and no other.
    others = area_names - {str(config_of(pages["/"])["area_name"])}
    assert [n for n in others if n in pages["/"]] == []
    # No district outline either: the only coordinates are the four of the map's first view.
    assert len(re.findall(r"\d+\.\d{4,}", pages["/"])) == 4
