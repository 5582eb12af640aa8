"""The admins' pages: only admins get them (others the 403 page, as on /plan), and in headless
Chromium over real HTTP an admin adds an account (its one-time password shown once, and it
signs in), changes its role and disables it, adds and changes a category and sets an area's
phone number; what the browser sends is checked in the database, and the API's refusals show
on the page in Swedish."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page

from api.app_paths import static_url
from geo.db import connection
from geo.db.accounts import add_user
from tests.api.test_pages import config_of, sign_in

DISTRICT = "Hägersten-Älvsjö stadsdelsförvaltning"
PAGES = ("users", "organisations", "agreements", "categories", "areas")


# -- the pages themselves (TestClient) ---------------------------------------------------------


def test_the_admin_pages_are_for_admins(client: TestClient, conn: psycopg.Connection) -> None:
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/users"
    for role in ("walker", "planner", "partner"):
        add_user(
            conn, f"ap-{role}@example.org", "correct horse 1", role=role, organisation=DISTRICT
        )
        sign_in(client, f"ap-{role}@example.org", "correct horse 1")
        for path in ("/admin", *(f"/admin/{p}" for p in PAGES)):
            refused = client.get(path)
            assert refused.status_code == 403, (role, path)
            assert "Administrationen är till för administratörer" in refused.text
        # The planners' map links to the admin pages for admins only.
        assert 'href="/admin"' not in client.get("/plan").text
    add_user(conn, "ap-admin@example.org", "correct horse 2", role="admin", organisation=DISTRICT)
    sign_in(client, "ap-admin@example.org", "correct horse 2")
    assert 'href="/admin"' in client.get("/plan").text
    index = client.get("/admin")
    assert index.status_code == 200 and '<html lang="sv">' in index.text
    for p in PAGES:
        assert f'href="/admin/{p}"' in index.text
        page = client.get(f"/admin/{p}")
        assert page.status_code == 200, p
        assert f'src="{static_url(f"admin/{p}.js")}"' in page.text
        assert config_of(page.text)["page"] == p
        assert client.get(f"/static/admin/{p}.js").status_code == 200
    assert client.get("/admin/nothing").status_code == 404


# -- in the browser -----------------------------------------------------------------------------


def rows(live_db_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with connection.connect(live_db_url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


@pytest.fixture()
def admin(live_server: str, live_db_url: str) -> dict[str, Any]:
    """A committed admin of the district on the live server."""
    email = f"admin-{secrets.token_hex(3)}@example.org"
    password = secrets.token_urlsafe(12)
    with connection.connect(live_db_url, autocommit=True) as conn:
        made = add_user(conn, email, password, role="admin", organisation=DISTRICT)
    return {"email": email, "password": password, "id": made.id}


@pytest.fixture()
def page(browser: Browser, live_server: str, admin: dict[str, Any]) -> Iterator[Page]:
    """A page signed in as ``admin``; script errors fail the test."""
    context = browser.new_context()
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.goto(f"{live_server}/admin")
    p.fill("#email", admin["email"])
    p.fill("#password", admin["password"])
    p.click("button[type=submit]")
    p.wait_for_url(f"{live_server}/admin")
    try:
        yield p
    finally:
        context.close()
    assert errors == []


def _status(page: Page) -> str:
    page.wait_for_selector("#nv-admin-status:not([hidden])")
    return page.inner_text("#nv-admin-status")


def test_an_admin_adds_an_account_in_the_browser_and_its_password_is_shown_once(
    page: Page, live_server: str, live_db_url: str, admin: dict[str, Any]
) -> None:
    email = f"ny-{secrets.token_hex(3)}@example.org"
    page.goto(f"{live_server}/admin/users")
    page.wait_for_selector("body[data-users]", state="attached")
    page.fill("#nv-user-new [name=email]", email)
    page.fill("#nv-user-new [name=display_name]", "Nora")
    page.select_option("#nv-user-new [name=role]", "walker")
    page.fill("#nv-user-new [name=organisation]", "Älvsjö AIK")
    page.click("#nv-user-new button[type=submit]")
    page.wait_for_selector("#nv-user-password:not([hidden])")
    password = page.inner_text("#nv-user-password-value")
    assert len(password) >= 16 and page.inner_text("#nv-user-password-email") == email
    assert f"Kontot {email} är skapat." in _status(page)
    page.wait_for_selector(f"tr[data-email='{email}']")
    stored = rows(
        live_db_url,
        "SELECT u.role, o.name, u.display_name, u.password_hash FROM users u "
        "JOIN organisations o ON o.id = u.organisation_id WHERE u.email = %s",
        email,
    )
    assert stored[0][:3] == ("walker", "Älvsjö AIK", "Nora") and password not in stored[0][3]
    signed = httpx.post(
        f"{live_server}/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert signed.status_code == 200
    # Shown once: gone from the page when dismissed, and not on the page loaded again.
    page.click("#nv-user-password-hide")
    assert password not in page.content()
    page.reload()
    page.wait_for_selector(f"tr[data-email='{email}']")
    assert password not in page.content()

    # A new one-time password: the old one no longer signs in, the new one does.
    page.click(f"tr[data-email='{email}'] button.nv-admin-reset")
    page.locator("#nv-admin-status").filter(has_text="nytt lösenord").wait_for()
    second = page.inner_text("#nv-user-password-value")
    assert second and second != password
    form = {"username": email}
    assert (
        httpx.post(
            f"{live_server}/api/v1/auth/token", data={**form, "password": password}
        ).status_code
        == 401
    )
    signed = httpx.post(f"{live_server}/api/v1/auth/token", data={**form, "password": second})
    assert signed.status_code == 200
    page.click("#nv-user-password-hide")

    # The role, then disabling: the new account's sign-in ends.
    page.select_option(f"tr[data-email='{email}'] select", "planner")
    page.locator("#nv-admin-status").filter(has_text="är nu planerare").wait_for()
    assert rows(live_db_url, "SELECT role FROM users WHERE email = %s", email) == [("planner",)]
    bearer = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert httpx.get(f"{live_server}/api/v1/auth/me", headers=bearer).status_code == 200
    page.click(f"tr[data-email='{email}'] button.nv-admin-toggle")
    page.wait_for_selector(f"tr[data-email='{email}'].nv-admin-disabled")

    assert rows(live_db_url, "SELECT disabled FROM users WHERE email = %s", email) == [(True,)]
    assert httpx.get(f"{live_server}/api/v1/auth/me", headers=bearer).status_code == 401
    assert rows(
        live_db_url,
        "SELECT count(*) FROM audit_log l JOIN users u ON u.id = l.user_id "
        "WHERE u.email = %s AND l.action IN ('user.create', 'user.update', 'user.password')",
        admin["email"],
    ) == [(4,)]

    # Their own account: the API's refusal, in Swedish, and nothing changed.
    page.click(f"tr[data-email='{admin['email']}'] button.nv-admin-toggle")
    page.wait_for_selector("#nv-admin-status.nv-error")
    assert "Du kan inte stänga av" in page.inner_text("#nv-admin-status")
    assert rows(live_db_url, "SELECT disabled FROM users WHERE id = %s", admin["id"]) == [(False,)]
    # A taken e-mail, in Swedish.
    page.fill("#nv-user-new [name=email]", email.upper())
    page.fill("#nv-user-new [name=organisation]", "Älvsjö AIK")
    page.click("#nv-user-new button[type=submit]")
    page.locator("#nv-admin-status").filter(has_text="finns redan ett konto").wait_for()


def test_an_admin_adds_and_changes_a_category_in_the_browser(
    page: Page, live_server: str, live_db_url: str
) -> None:
    code = "test_" + "".join(secrets.choice("abcdefghij") for _ in range(6))
    page.goto(f"{live_server}/admin/categories")
    page.wait_for_selector("body[data-categories]", state="attached")
    page.fill("#nv-category-new [name=code]", code)
    page.fill("#nv-category-new [name=name_sv]", "Tagg <b>fet</b>")
    page.fill("#nv-category-new [name=weight]", "0.5")
    page.click("#nv-category-new button[type=submit]")
    page.wait_for_selector(f"tr[data-code='{code}']")
    assert rows(
        live_db_url,
        "SELECT name_sv, weight, active FROM deviation_categories WHERE code = %s",
        code,
    ) == [("Tagg <b>fet</b>", 0.5, True)]
    # The name reached the page as text, not as markup.
    assert page.locator(f"tr[data-code='{code}'] b").count() == 0
    page.fill(f"tr[data-code='{code}'] input[aria-label^='Namn']", "Klotter (tagg)")
    page.uncheck(f"tr[data-code='{code}'] input[type=checkbox]")
    page.click(f"tr[data-code='{code}'] button")
    page.wait_for_selector(f"tr[data-code='{code}'].nv-admin-disabled")
    assert rows(
        live_db_url, "SELECT name_sv, active FROM deviation_categories WHERE code = %s", code
    ) == [("Klotter (tagg)", False)]
    # The same code again: refused, in Swedish.
    page.fill("#nv-category-new [name=code]", code)
    page.fill("#nv-category-new [name=name_sv]", "Igen")
    page.click("#nv-category-new button[type=submit]")
    page.wait_for_selector("#nv-admin-status.nv-error")
    assert "finns redan en kategori" in page.inner_text("#nv-admin-status")


def test_an_admin_sets_an_areas_field_worker_number_in_the_browser(
    page: Page, live_server: str, live_db_url: str
) -> None:
    ((slug, before),) = rows(
        live_db_url,
        "SELECT slug, field_worker_phone FROM areas WHERE slug <> 'solberga' ORDER BY slug LIMIT 1",
    )
    number = f"08-508 {secrets.randbelow(900) + 100} 00"
    page.goto(f"{live_server}/admin/areas")
    page.wait_for_selector(f"tr[data-slug='{slug}']")
    row = f"tr[data-slug='{slug}']"
    page.fill(f"{row} input[name=field_worker_phone]", number)
    page.click(f"{row} button")
    assert "sparade" in _status(page)
    assert rows(live_db_url, "SELECT field_worker_phone FROM areas WHERE slug = %s", slug) == [
        (number,)
    ]
    page.fill(f"{row} input[name=police_phone]", "ring polisen")
    page.click(f"{row} button")
    page.wait_for_selector("#nv-admin-status.nv-error")
    assert "inget telefonnummer" in page.inner_text("#nv-admin-status")
    assert rows(live_db_url, "SELECT police_phone FROM areas WHERE slug = %s", slug)[0][0] != (
        "ring polisen"
    )
    assert before != number


# -- organisations and agreements (the API of helper "agree", spec13.md) -----------------------


def test_an_admin_adds_and_changes_an_organisation_in_the_browser(
    page: Page, live_server: str, live_db_url: str
) -> None:
    name = f"Testklubben {secrets.token_hex(3)}"
    page.goto(f"{live_server}/admin/organisations")
    page.wait_for_selector("body[data-organisations]", state="attached")
    page.fill("#nv-org-form [name=name]", name)
    page.select_option("#nv-org-form [name=kind]", "club")
    page.fill("#nv-org-form [name=part_of]", "Älvsjö AIK")
    page.fill("#nv-org-form [name=notes]", "Föräldrar <i>i</i> P12")
    page.click("#nv-org-form button[type=submit]")
    assert "är sparad" in _status(page)
    ((org_id, kind, parent, version),) = rows(
        live_db_url,
        "SELECT o.id, o.kind, p.name, o.version FROM organisations o "
        "LEFT JOIN organisations p ON p.id = o.part_of_id WHERE o.name = %s",
        name,
    )
    assert (kind, parent, version) == ("club", "Älvsjö AIK", 1)
    row = f"#nv-orgs tr[data-id='{org_id}']"
    page.wait_for_selector(row)
    assert page.locator(f"{row} i").count() == 0  # the notes reached the page as text
    page.click(f"{row} button")
    assert page.input_value("#nv-org-form [name=name]") == name
    page.fill("#nv-org-form [name=part_of]", "")
    page.fill("#nv-org-form [name=notes]", "Ändrad")
    page.click("#nv-org-form button[type=submit]")
    page.wait_for_selector(f"{row} td:text-is('Ändrad')")  # the list loaded after the change
    assert rows(
        live_db_url, "SELECT part_of_id, notes, version FROM organisations WHERE id = %s", org_id
    ) == [(None, "Ändrad", 2)]
    # A taken name, in Swedish.
    page.fill("#nv-org-form [name=name]", "Älvsjö AIK")
    page.click("#nv-org-form button[type=submit]")
    page.locator("#nv-admin-status.nv-error").wait_for()
    assert "Namnet är redan upptaget" in page.inner_text("#nv-admin-status")


def test_an_admin_adds_an_agreement_in_the_browser_and_an_overlap_is_refused(
    page: Page, live_server: str, live_db_url: str, admin: dict[str, Any]
) -> None:
    club = f"Avtalsklubben {secrets.token_hex(3)}"
    bearer = httpx.post(
        f"{live_server}/api/v1/auth/token",
        data={"username": admin["email"], "password": admin["password"]},
    ).json()["access_token"]
    made = httpx.post(
        f"{live_server}/api/v1/organisations",
        json={"name": club, "kind": "club"},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert made.status_code == 201, made.text
    name = f"IOP {club}"
    page.goto(f"{live_server}/admin/agreements")
    page.wait_for_selector("body[data-agreements]", state="attached")
    assert page.is_hidden("#nv-agr-form [name=budget_sek]")  # per walk: a rate, no budget
    page.fill("#nv-agr-form [name=name]", name)
    page.select_option("#nv-agr-form [name=kind]", "iop")
    page.fill("#nv-agr-form [name=rate_sek]", "1700")
    page.fill("#nv-agr-form [name=parties]", club)
    page.fill("#nv-agr-form [name=areas]", "solberga")
    page.fill("#nv-agr-form [name=starts_on]", "2031-09-05")
    page.fill("#nv-agr-form [name=ends_on]", "2031-12-20")
    page.fill("#nv-agr-form [name=signed_on]", "2031-09-01")
    page.click("#nv-agr-form button[type=submit]")
    assert "är sparat" in _status(page)
    assert rows(
        live_db_url,
        "SELECT kind, compensation, rate_sek, starts_on::text, ends_on::text FROM agreements "
        "WHERE name = %s",
        name,
    ) == [("iop", "per_walk", 1700, "2031-09-05", "2031-12-20")]
    page.wait_for_selector(f"#nv-agreements td:text('{name}')")
    assert "1\xa0700 kr per pass" in page.inner_text("#nv-agreements")  # Intl: a no-break space
    # Another of the same kind with the same party, overlapping: refused, in Swedish.
    page.fill("#nv-agr-form [name=name]", name + " igen")
    page.fill("#nv-agr-form [name=rate_sek]", "1700")
    page.fill("#nv-agr-form [name=parties]", club)
    page.fill("#nv-agr-form [name=starts_on]", "2031-12-01")
    page.fill("#nv-agr-form [name=ends_on]", "2032-02-01")
    page.click("#nv-agr-form button[type=submit]")
    page.locator("#nv-admin-status.nv-error").wait_for()
    assert f"överlappar ”{name}”" in page.inner_text("#nv-admin-status")
    assert rows(live_db_url, "SELECT count(*) FROM agreements WHERE name LIKE %s", name + "%") == [
        (1,)
    ]
