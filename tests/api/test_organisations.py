"""Organisations through the API on the real PostGIS: reading (planners, admins), adding and
changing (admins), part_of by name, and what is refused with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]
URL = "/api/v1/organisations"


def count(conn: psycopg.Connection, sql: str, *params: Any) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def audited(conn: psycopg.Connection, action: str) -> int:
    return count(conn, "SELECT count(*) FROM audit_log WHERE action = %s", action)


def by_name(client: TestClient, signed_in: Headers, name: str) -> dict[str, Any]:
    r = client.get(URL, headers=signed_in("planner"))
    assert r.status_code == 200, r.text
    found = [o for o in r.json()["organisations"] if o["name"] == name]
    assert len(found) == 1, name
    return found[0]


def test_planners_read_the_demo_organisations_by_name(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    r = client.get(URL, headers=signed_in("planner"))
    assert r.status_code == 200
    names = [o["name"] for o in r.json()["organisations"]]
    assert names == [row[0] for row in conn.execute("SELECT name FROM organisations ORDER BY name")]
    solan = by_name(client, signed_in, "Kulturföreningen Solan")
    folkparken = by_name(client, signed_in, "Södra Folkparken")
    assert solan["kind"] == "club"
    assert solan["part_of"] == {"id": folkparken["id"], "name": "Södra Folkparken"}
    assert folkparken["part_of"] is None
    assert by_name(client, signed_in, "KFUM JKS Stockholm")["kind"] == "club"
    assert by_name(client, signed_in, "Skärholmens stadsdelsförvaltning")["kind"] == "district"
    one = client.get(f"{URL}/{solan['id']}", headers=signed_in("admin"))
    assert one.status_code == 200 and one.json() == solan
    assert set(solan) == {"id", "name", "kind", "part_of", "notes", "version"}
    assert client.get(f"{URL}/999999", headers=signed_in("planner")).status_code == 404


@pytest.mark.parametrize("role", ["walker", "partner"])
def test_walkers_and_partners_may_not_read_organisations(
    client: TestClient, signed_in: Headers, role: str
) -> None:
    assert client.get(URL, headers=signed_in(role)).status_code == 403
    assert client.get(f"{URL}/1", headers=signed_in(role)).status_code == 403


def test_only_admins_add_organisations(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    before = count(conn, "SELECT count(*) FROM organisations")
    body = {"name": "Bandhagens IF", "kind": "club"}
    for role in ("planner", "walker", "partner"):
        assert client.post(URL, json=body, headers=signed_in(role)).status_code == 403
    assert client.post(URL, json=body).status_code == 401
    assert count(conn, "SELECT count(*) FROM organisations") == before


def test_admin_adds_an_organisation_part_of_another_and_it_is_audited(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    before = audited(conn, "organisation.create")
    r = client.post(
        URL,
        json={
            "name": "  Solans ungdomsgrupp ",
            "kind": "other",
            "part_of": "Kulturföreningen Solan",
            "notes": "Testar",
        },
        headers=signed_in("admin"),
    )
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["name"] == "Solans ungdomsgrupp" and org["kind"] == "other"
    assert org["part_of"]["name"] == "Kulturföreningen Solan"
    assert org["notes"] == "Testar" and org["version"] == 1
    assert audited(conn, "organisation.create") == before + 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "Älvsjö AIK", "kind": "club"}, 409, "name_taken"),
        ({"name": "Ny förening", "kind": "club", "part_of": "Finns inte"}, 422, None),
        ({"name": "Ny förening", "kind": "church"}, 422, None),
        ({"name": "", "kind": "club"}, 422, None),
        ({"name": "Ny förening", "kind": "club", "part_of": "Ny förening"}, 422, None),
        ({"name": "Ny förening", "kind": "club", "colour": "red"}, 422, None),
    ],
)
def test_bad_organisations_are_refused_and_nothing_is_written(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Headers,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    headers = signed_in("admin")
    before = count(conn, "SELECT count(*) FROM organisations")
    r = client.post(URL, json=body, headers=headers)
    assert r.status_code == status, r.text
    if code:
        assert r.json()["code"] == code
    assert count(conn, "SELECT count(*) FROM organisations") == before


def test_an_unknown_part_of_is_unknown_organisation_naming_it(
    client: TestClient, signed_in: Headers
) -> None:
    r = client.post(
        URL,
        json={"name": "Ny förening", "kind": "club", "part_of": "Finns inte"},
        headers=signed_in("admin"),
    )
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["type"] == "unknown_organisation"
    assert item["loc"] == ["body", "part_of"]
    assert item["ctx"] == {"name": "Finns inte"}


def test_admin_changes_an_organisation_with_its_version(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    headers = signed_in("admin")
    made = client.post(URL, json={"name": "Örby IF", "kind": "club"}, headers=headers).json()
    url = f"{URL}/{made['id']}"
    before = audited(conn, "organisation.update")
    r = client.patch(
        url,
        json={"version": 1, "part_of": "Södra Folkparken", "notes": "ny", "kind": "other"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["part_of"]["name"] == "Södra Folkparken"
    assert (changed["kind"], changed["notes"], changed["version"]) == ("other", "ny", 2)
    assert audited(conn, "organisation.update") == before + 1
    # A stale version: 409, nothing changed.
    stale = client.patch(url, json={"version": 1, "notes": "gammal"}, headers=headers)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert client.get(url, headers=headers).json()["notes"] == "ny"
    # part_of null: stands on its own again.
    cleared = client.patch(url, json={"version": 2, "part_of": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["part_of"] is None
    # A name that is taken.
    taken = client.patch(url, json={"version": 3, "name": "Polisen"}, headers=headers)
    assert taken.status_code == 409 and taken.json()["code"] == "name_taken"
    # name cannot be null.
    assert client.patch(url, json={"version": 3, "name": None}, headers=headers).status_code == 422
    assert client.patch(url, json={"version": 3}, headers=signed_in("planner")).status_code == 403


def test_part_of_may_not_make_a_cycle(client: TestClient, signed_in: Headers) -> None:
    headers = signed_in("admin")
    folkparken = by_name(client, signed_in, "Södra Folkparken")
    r = client.patch(
        f"{URL}/{folkparken['id']}",
        json={"version": folkparken["version"], "part_of": "Kulturföreningen Solan"},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "part_of_cycle"
    assert by_name(client, signed_in, "Södra Folkparken")["part_of"] is None
