"""The admins' API through real HTTP on the real PostGIS: accounts (the one-time password,
disabling, no admin locking themselves out), area settings and categories, who may call them,
and the audit row each change writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import add_user
from geo.db.user_admin import change_area_settings
from geo.errors import InvalidInput

Headers = Callable[[str], dict[str, str]]
DISTRICT = "Hägersten-Älvsjö stadsdelsförvaltning"


def audit_rows(conn: psycopg.Connection, action: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT l.subject, l.details, u.email FROM audit_log l JOIN users u ON u.id = l.user_id "
        "WHERE l.action = %s ORDER BY l.id",
        (action,),
    ).fetchall()


def new_user(client: TestClient, auth: Headers, **body: Any) -> dict[str, Any]:
    r = client.post(
        "/api/v1/users",
        json={"email": "ny@example.org", "role": "walker", "organisation": "Älvsjö AIK", **body},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def token(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": email, "password": password})


@pytest.mark.parametrize("role", ["planner", "walker", "partner"])
def test_only_admins_administer(client: TestClient, auth: Headers, role: str) -> None:
    h = auth(role)
    calls = [
        client.get("/api/v1/users", headers=h),
        client.post(
            "/api/v1/users",
            json={"email": "x@example.org", "role": "admin", "organisation": "Polisen"},
            headers=h,
        ),
        client.patch("/api/v1/users/1", json={"role": "admin"}, headers=h),
        client.post("/api/v1/users/1/password", headers=h),
        client.get("/api/v1/area-settings", headers=h),
        client.patch("/api/v1/areas/solberga/settings", json={"police_phone": "1"}, headers=h),
        client.post(
            "/api/v1/categories",
            json={"code": "ny_kategori", "name_sv": "Ny", "colour": "#123456"},
            headers=h,
        ),
    ]
    assert [c.status_code for c in calls] == [403] * len(calls)
    assert client.get("/api/v1/users").status_code == 401


def test_a_new_account_gets_a_one_time_password_that_signs_in_and_is_never_shown_again(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    made = new_user(client, auth, display_name="  Nora  ")
    password = made["password"]
    assert len(password) >= 16
    assert made["user"]["email"] == "ny@example.org" and made["user"]["display_name"] == "Nora"
    assert made["user"]["organisation"]["name"] == "Älvsjö AIK"
    assert made["user"]["disabled"] is False and "password_hash" not in made["user"]
    stored = conn.execute(
        "SELECT password_hash FROM users WHERE email = 'ny@example.org'"
    ).fetchone()
    assert stored is not None and stored[0].startswith("$argon2id$") and password not in stored[0]
    signed = token(client, "ny@example.org", password)
    assert signed.status_code == 200
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {signed.json()['access_token']}"}
    )
    assert me.json()["role"] == "walker"
    # Never again: not in the list, not in a change, not in the audit trail.
    listed = client.get("/api/v1/users", headers=auth("admin"))
    changed = client.patch(
        f"/api/v1/users/{made['user']['id']}", json={"role": "planner"}, headers=auth("admin")
    )
    trail = conn.execute("SELECT details::text FROM audit_log").fetchall()
    for text in (listed.text, changed.text, *(t[0] for t in trail)):
        assert password not in text and "argon2" not in text and "password_hash" not in text
    assert "ny@example.org" in listed.text
    (subject, details, by), *_ = audit_rows(conn, "user.create")
    assert subject == f"user:{made['user']['id']}" and by == "e-admin@example.org"
    assert details == {"email": "ny@example.org", "role": "walker", "organisation": "Älvsjö AIK"}
    assert audit_rows(conn, "user.list")[0][1] == {"count": len(listed.json()["users"])}


@pytest.mark.parametrize(
    ("body", "status", "code", "loc"),
    [
        ({"organisation": "Ingen förening"}, 422, "unknown_organisation", "organisation"),
        ({"role": "king"}, 422, "literal_error", "role"),
        ({"email": "inte-en-adress"}, 422, "string_pattern_mismatch", "email"),
        ({"password": "mitt eget"}, 422, "extra_forbidden", "password"),
    ],
)
def test_a_new_account_with_bad_input_is_refused_and_nothing_is_stored(
    client: TestClient,
    conn: psycopg.Connection,
    auth: Headers,
    body: dict[str, Any],
    status: int,
    code: str,
    loc: str,
) -> None:
    r = client.post(
        "/api/v1/users",
        json={"email": "fel@example.org", "role": "walker", "organisation": "Polisen", **body},
        headers=auth("admin"),
    )
    assert r.status_code == status, r.text
    item = r.json()["detail"][0]
    assert item["type"] == code and item["loc"] == ["body", loc]
    assert conn.execute("SELECT count(*) FROM users WHERE email LIKE 'fel@%'").fetchone() == (0,)
    assert audit_rows(conn, "user.create") == []


def test_an_e_mail_is_taken_once(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    new_user(client, auth)
    again = client.post(
        "/api/v1/users",
        json={"email": "NY@example.org", "role": "admin", "organisation": "Polisen"},
        headers=auth("admin"),
    )
    assert again.status_code == 409 and again.json()["code"] == "email_taken"
    assert len(audit_rows(conn, "user.create")) == 1


def test_an_admin_changes_role_organisation_and_name_and_each_change_is_audited(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    made = new_user(client, auth)["user"]
    r = client.patch(
        f"/api/v1/users/{made['id']}",
        json={"role": "planner", "organisation": DISTRICT, "display_name": "Nora P"},
        headers=auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "planner" and r.json()["organisation"]["name"] == DISTRICT
    ((subject, details, _),) = audit_rows(conn, "user.update")
    assert subject == f"user:{made['id']}"
    assert details == {
        "changes": {
            "role": ["walker", "planner"],
            "organisation": ["Älvsjö AIK", DISTRICT],
            "display_name": [None, "Nora P"],
        }
    }
    cleared = client.patch(
        f"/api/v1/users/{made['id']}", json={"display_name": None}, headers=auth("admin")
    )
    assert cleared.json()["display_name"] is None
    same = client.patch(
        f"/api/v1/users/{made['id']}", json={"role": "planner"}, headers=auth("admin")
    )
    assert same.status_code == 200 and len(audit_rows(conn, "user.update")) == 2  # no-op: no row
    for body, code in (
        ({"organisation": "Ingen förening"}, "unknown_organisation"),
        ({"role": None}, "value_error"),
        ({"email": "ny2@example.org"}, "extra_forbidden"),
    ):
        refused = client.patch(f"/api/v1/users/{made['id']}", json=body, headers=auth("admin"))
        assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == code
    assert (
        client.patch(
            "/api/v1/users/999999", json={"role": "walker"}, headers=auth("admin")
        ).status_code
        == 404
    )


def test_disabling_an_account_ends_its_sign_ins_at_once(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    made = new_user(client, auth)
    bearer = token(client, "ny@example.org", made["password"]).json()["access_token"]
    h = {"Authorization": f"Bearer {bearer}"}
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    r = client.patch(
        f"/api/v1/users/{made['user']['id']}", json={"disabled": True}, headers=auth("admin")
    )
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    left = conn.execute(
        "SELECT count(*) FROM auth_tokens WHERE user_id = %s", (made["user"]["id"],)
    ).fetchone()
    assert left == (0,)
    assert token(client, "ny@example.org", made["password"]).status_code == 401
    assert audit_rows(conn, "user.update")[-1][1] == {"changes": {"disabled": [False, True]}}
    enabled = client.patch(
        f"/api/v1/users/{made['user']['id']}", json={"disabled": False}, headers=auth("admin")
    )
    assert enabled.json()["disabled"] is False
    assert token(client, "ny@example.org", made["password"]).status_code == 200


def test_an_admin_cannot_disable_or_demote_themselves(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    h = auth("admin")
    me = next(
        u
        for u in client.get("/api/v1/users", headers=h).json()["users"]
        if u["email"] == "e-admin@example.org"
    )
    for body in ({"disabled": True}, {"role": "planner"}, {"role": "walker", "disabled": False}):
        r = client.patch(f"/api/v1/users/{me['id']}", json=body, headers=h)
        assert r.status_code == 409 and r.json()["code"] == "own_account", body
    still = conn.execute("SELECT role, disabled FROM users WHERE id = %s", (me["id"],)).fetchone()
    assert still == ("admin", False)
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    renamed = client.patch(f"/api/v1/users/{me['id']}", json={"display_name": "Admin"}, headers=h)
    assert renamed.status_code == 200  # what is not a lock-out is allowed


def test_an_admin_sets_an_areas_numbers_and_bad_ones_are_refused(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    h = auth("admin")
    before = client.get("/api/v1/areas/solberga/settings", headers=h).json()
    r = client.patch(
        "/api/v1/areas/solberga/settings",
        json={"field_worker_phone": " 08-508 250 00 ", "police_phone": "+46 114 14"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["field_worker_phone"] == "08-508 250 00"
    assert r.json()["police_phone"] == "+46 114 14"
    assert r.json()["emergency_phone"] == before["emergency_phone"]
    ((subject, details, _),) = audit_rows(conn, "area.settings")
    assert subject == "area:solberga"
    assert details == {
        "changes": {
            "field_worker_phone": [before["field_worker_phone"], "08-508 250 00"],
            "police_phone": [before["police_phone"], "+46 114 14"],
        }
    }
    listed = client.get("/api/v1/area-settings", headers=h).json()["areas"]
    assert r.json() in listed and r.json()["name"]
    for body, code, field in (
        ({"police_phone": "ring polisen"}, "invalid_phone", "police_phone"),
        ({"field_worker_phone": "1"}, "invalid_phone", "field_worker_phone"),
        ({"emergency_phone": None}, "phone_required", "emergency_phone"),
        ({"fax": "08-1"}, "extra_forbidden", "fax"),
    ):
        refused = client.patch("/api/v1/areas/solberga/settings", json=body, headers=h)
        assert refused.status_code == 422, body
        item = refused.json()["detail"][0]
        assert item["type"] == code and item["loc"] == ["body", field]
    cleared = client.patch(
        "/api/v1/areas/solberga/settings", json={"field_worker_phone": None}, headers=h
    )
    assert cleared.json()["field_worker_phone"] is None
    assert len(audit_rows(conn, "area.settings")) == 2
    missing = client.patch("/api/v1/areas/ingenstans/settings", json={}, headers=h)
    assert missing.status_code == 404


def test_the_database_refuses_a_bad_number_that_bypasses_the_api(
    conn: psycopg.Connection,
) -> None:
    admin = add_user(
        conn, "db-admin@example.org", "correct horse 9", role="admin", organisation=DISTRICT
    )
    with pytest.raises(InvalidInput) as caught:
        change_area_settings(
            conn, actor_id=admin.id, slug="solberga", changes={"police_phone": "ring"}
        )
    assert caught.value.code == "invalid_phone" and caught.value.field == "police_phone"
    assert audit_rows(conn, "area.settings") == []
    row = conn.execute("SELECT police_phone FROM areas WHERE slug = 'solberga'").fetchone()
    assert row is not None and row[0] != "ring"


def test_category_changes_are_audited_and_admins_list_inactive_ones(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    h = auth("admin")
    made = client.post(
        "/api/v1/categories",
        json={"code": "klotter_tag", "name_sv": "Tagg", "colour": "#aa00aa", "weight": 0.5},
        headers=h,
    )
    assert made.status_code == 201, made.text
    off = client.patch("/api/v1/categories/klotter_tag", json={"active": False}, headers=h)
    assert off.status_code == 200 and off.json()["active"] is False
    assert [r[:2] for r in audit_rows(conn, "category.create")] == [
        ("category:klotter_tag", {"name_sv": "Tagg", "colour": "#aa00aa", "weight": 0.5})
    ]
    assert [r[:2] for r in audit_rows(conn, "category.update")] == [
        ("category:klotter_tag", {"active": False})
    ]
    active = [c["code"] for c in client.get("/api/v1/categories").json()]
    every = client.get("/api/v1/categories", params={"include_inactive": "true"}).json()
    assert "klotter_tag" not in active
    assert {"code": "klotter_tag", "active": False}.items() <= next(
        c for c in every if c["code"] == "klotter_tag"
    ).items()


def test_a_new_password_is_shown_once_and_ends_the_accounts_sign_ins(
    client: TestClient, conn: psycopg.Connection, auth: Headers
) -> None:
    made = new_user(client, auth)
    first = made["password"]
    bearer = {
        "Authorization": f"Bearer {token(client, 'ny@example.org', first).json()['access_token']}"
    }
    r = client.post(f"/api/v1/users/{made['user']['id']}/password", headers=auth("admin"))
    assert r.status_code == 200, r.text
    second = r.json()["password"]
    assert len(second) >= 16 and second != first and "password_hash" not in r.json()["user"]
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401
    assert token(client, "ny@example.org", first).status_code == 401
    assert token(client, "ny@example.org", second).status_code == 200
    ((subject, details, by),) = audit_rows(conn, "user.password")
    assert subject == f"user:{made['user']['id']}" and details == {"email": "ny@example.org"}
    assert by == "e-admin@example.org" and second not in str(details)
    assert client.post("/api/v1/users/999999/password", headers=auth("admin")).status_code == 404
