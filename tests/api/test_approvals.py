"""Approval of reported walks and the pay-once ledger, through the API (each test rolled back):
the covering agreement by the walk's local date, four eyes, grants, rejection, withdrawal with
its reversal, the bulk approval, the ledger's total, and who may do what."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import add_user
from tests.api.conftest import PASSWORD
from tests.api.ledger_data import (
    agree,
    ledger_rows,
    local,
    make_org,
    reported_walk,
    tag,
    user_id,
)

DISTRICT = "Hägersten-Älvsjö stadsdelsförvaltning"
FIRST, LAST = date(2031, 9, 5), date(2031, 12, 20)


class World:
    """A club with a walker who reports, a planner and an admin of the district, and an
    agreement with the club for FIRST–LAST at 1 700 kr a walk."""

    def __init__(self, client: TestClient, conn: psycopg.Connection) -> None:
        self.client, self.conn, self.tag = client, conn, tag()
        self.club = make_org(conn, f"Testklubben {self.tag}")
        self.agreement = agree(
            conn, f"IOP test {self.tag}", parties=[self.club], starts_on=FIRST, ends_on=LAST
        )
        self.walker = self.user("walker", f"Testklubben {self.tag}")
        self.planner = self.user("planner", DISTRICT)
        self.admin = self.user("admin", DISTRICT)

    def user(self, role: str, organisation: str) -> dict[str, Any]:
        email = f"ap-{role}-{tag()}@example.org"
        add_user(
            self.conn,
            email,
            PASSWORD,
            role=role,
            organisation=organisation,
            display_name=f"{role.title()} {self.tag}",
        )
        r = self.client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {
            "id": user_id(self.conn, email),
            "h": {"Authorization": f"Bearer {r.json()['access_token']}"},
        }

    def walk(self, day: date, hour: int = 21, **kw: Any) -> uuid.UUID:
        kw.setdefault("reporter_id", self.walker["id"])
        return reported_walk(self.conn, kw.pop("org", self.club), local(day, hour), **kw)

    def approve(self, walk_id: uuid.UUID, who: str = "planner", **body: Any) -> Any:
        return self.client.post(
            f"/api/v1/walks/{walk_id}/approve",
            json=body or None,
            headers=getattr(self, who)["h"],
        )

    def status(self, walk_id: uuid.UUID) -> str:
        row = self.conn.execute("SELECT status FROM walks WHERE id = %s", (walk_id,)).fetchone()
        assert row is not None
        return str(row[0])


@pytest.fixture()
def world(client: TestClient, conn: psycopg.Connection) -> World:
    return World(client, conn)


def test_an_approval_pays_once_and_a_repeat_gives_the_same_answer(world: World) -> None:
    walk_id = world.walk(date(2031, 10, 3))
    r = world.approve(walk_id)
    assert r.status_code == 200, r.text
    approval = r.json()["approval"]
    assert approval["status"] == "paid" and approval["amount_sek"] == 1700
    assert approval["agreement"] == {
        "id": world.agreement,
        "name": f"IOP test {world.tag}",
        "kind": "iop",
        "compensation": "per_walk",
    }
    assert approval["flags"] == []
    assert approval["approved_by"] == {
        "id": world.planner["id"],
        "display_name": f"Planner {world.tag}",
    }
    walk = r.json()["walk"]
    assert walk["status"] == "approved" and walk["approved_at"] == approval["approved_at"]
    assert walk["agreement"] == {"id": world.agreement, "name": f"IOP test {world.tag}"}
    assert walk["reject_reason"] is None
    again = world.approve(walk_id)
    assert again.status_code == 200 and again.json()["approval"] == approval
    assert ledger_rows(world.conn, walk_id) == [(1, "payment", 1700)]
    audit = world.conn.execute(
        "SELECT user_id, details->>'amount_sek' FROM audit_log "
        "WHERE action = 'walk.approve' AND subject = %s",
        (str(walk_id),),
    ).fetchall()
    assert audit == [(world.planner["id"], "1700")]


def test_the_agreement_covers_its_first_and_last_local_day_and_not_a_gap(world: World) -> None:
    # 00:30 on the first day is 22:30 UTC the day before; 00:30 the day after the last day is
    # 22:30 UTC on the last day: the local date decides, not the UTC one.
    first = world.walk(FIRST, hour=0, hours=0.5)
    late = world.walk(LAST, hour=23, hours=2)  # 23:00–01:00: the day it starts
    after = world.walk(LAST + timedelta(days=1), hour=0, hours=0.5)
    before = world.walk(FIRST - timedelta(days=1), hour=21)
    for walk_id in (first, late):
        r = world.approve(walk_id)
        assert r.status_code == 200, r.text
        assert r.json()["approval"]["status"] == "paid", walk_id
        assert ledger_rows(world.conn, walk_id) == [(1, "payment", 1700)]
    for walk_id in (after, before):
        r = world.approve(walk_id)
        assert r.status_code == 200, r.text
        approval = r.json()["approval"]
        assert approval["status"] == "outside_agreement" and approval["agreement"] is None
        assert approval["amount_sek"] == 0 and approval["flags"] == ["outside_agreement"]
        assert world.status(walk_id) == "approved"
        assert ledger_rows(world.conn, walk_id) == []


def test_two_covering_agreements_the_one_that_starts_last_wins(world: World) -> None:
    later = agree(
        world.conn,
        f"Förlängning {world.tag}",
        parties=[world.club],
        starts_on=date(2031, 11, 1),
        ends_on=date(2032, 3, 1),
        rate_sek=2000,
    )
    walk_id = world.walk(date(2031, 11, 7))
    r = world.approve(walk_id)
    assert r.json()["approval"]["agreement"]["id"] == later
    assert ledger_rows(world.conn, walk_id) == [(1, "payment", 2000)]
    # Named explicitly, the earlier one that also covers it is used instead.
    other = world.walk(date(2031, 11, 8))
    r = world.approve(other, agreement_id=world.agreement)
    assert r.status_code == 200 and r.json()["approval"]["agreement"]["id"] == world.agreement
    assert ledger_rows(world.conn, other) == [(1, "payment", 1700)]


def test_an_explicit_agreement_that_does_not_cover_the_walk_is_refused(world: World) -> None:
    elsewhere = make_org(world.conn, f"Annan klubb {world.tag}")
    foreign = agree(
        world.conn, f"Annat avtal {world.tag}", parties=[elsewhere], starts_on=FIRST, ends_on=LAST
    )
    walk_id = world.walk(date(2031, 10, 3))
    for agreement_id in (foreign, 10**9):
        r = world.approve(walk_id, agreement_id=agreement_id)
        assert r.status_code == 422, r.text
        item = r.json()["detail"][0]
        assert item["type"] == "agreement_does_not_cover"
        assert item["loc"] == ["body", "agreement_id"]
    assert world.status(walk_id) == "reported" and ledger_rows(world.conn, walk_id) == []


def test_a_parent_organisations_agreement_covers_its_part(world: World) -> None:
    parent = make_org(world.conn, f"Folkparken {world.tag}")
    child = make_org(world.conn, f"Solan {world.tag}", part_of=parent)
    ag = agree(world.conn, f"Park-IOP {world.tag}", parties=[parent], starts_on=FIRST, ends_on=LAST)
    walk_id = world.walk(date(2031, 10, 4), org=child)
    r = world.approve(walk_id)
    assert r.json()["approval"]["agreement"]["id"] == ag


def test_a_grant_writes_no_ledger_row(world: World) -> None:
    grantee = make_org(world.conn, f"KFUM {world.tag}")
    grant = agree(
        world.conn,
        f"127-trygghet {world.tag}",
        parties=[grantee],
        starts_on=FIRST,
        ends_on=LAST,
        rate_sek=None,
        budget_sek=850_000,
    )
    walk_id = world.walk(date(2031, 10, 3), org=grantee)
    r = world.approve(walk_id)
    assert r.status_code == 200, r.text
    approval = r.json()["approval"]
    assert approval["status"] == "grant" and approval["agreement"]["id"] == grant
    assert approval["amount_sek"] == 0
    assert ledger_rows(world.conn, walk_id) == []


def test_flags_short_of_walkers_and_before_signed(world: World) -> None:
    signed = make_org(world.conn, f"Sen klubb {world.tag}")
    agree(
        world.conn,
        f"Sent signerat {world.tag}",
        parties=[signed],
        starts_on=FIRST,
        ends_on=LAST,
        signed_on=date(2031, 12, 1),
    )
    walk_id = world.walk(date(2031, 10, 3), org=signed, walkers=4)
    approval = world.approve(walk_id).json()["approval"]
    assert approval["status"] == "paid"
    assert approval["flags"] == ["short_of_walkers", "before_signed"]


def test_four_eyes(world: World) -> None:
    walk_id = world.walk(date(2031, 10, 3), reporter_id=world.planner["id"])
    r = world.approve(walk_id)
    assert r.status_code == 403 and r.json()["code"] == "own_walk"
    # A planner of the walk's own club.
    club_planner = world.user("planner", f"Testklubben {world.tag}")
    other = world.walk(date(2031, 10, 4))
    r = world.client.post(f"/api/v1/walks/{other}/approve", headers=club_planner["h"])
    assert r.status_code == 403 and r.json()["code"] == "own_club"
    # A planner of the organisation the walk's club is part of.
    parent = make_org(world.conn, f"Moderförening {world.tag}")
    child = make_org(world.conn, f"Dotterförening {world.tag}", part_of=parent)
    parent_planner = world.user("planner", f"Moderförening {world.tag}")
    childs = world.walk(date(2031, 10, 5), org=child)
    for path, body in (("approve", None), ("reject", {"reason": "fel"})):
        r = world.client.post(
            f"/api/v1/walks/{childs}/{path}", json=body, headers=parent_planner["h"]
        )
        assert r.status_code == 403 and r.json()["code"] == "own_club", path
    for w in (walk_id, other, childs):
        assert world.status(w) == "reported" and ledger_rows(world.conn, w) == []


def test_only_a_reported_walk_is_approved(world: World) -> None:
    planned = world.walk(date(2031, 10, 3), status="planned", reporter_id=None)
    r = world.approve(planned)
    assert r.status_code == 409 and r.json()["code"] == "not_reported"
    assert world.approve(uuid.uuid4()).status_code == 404


def test_a_rejected_walk_is_never_paid(world: World) -> None:
    walk_id = world.walk(date(2031, 10, 3))
    path = f"/api/v1/walks/{walk_id}/reject"
    for bad in ({}, {"reason": "   "}, {"reason": "x" * 501}):
        r = world.client.post(path, json=bad, headers=world.planner["h"])
        assert r.status_code == 422, bad
    r = world.client.post(
        path, json={"reason": "Ingen vandring enligt polisen"}, headers=world.planner["h"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"
    assert r.json()["reject_reason"] == "Ingen vandring enligt polisen"
    again = world.approve(walk_id)
    assert again.status_code == 409 and again.json()["code"] == "not_reported"
    bulk = world.client.post(
        "/api/v1/walks/approve", json={"ids": [str(walk_id)]}, headers=world.planner["h"]
    )
    assert bulk.json()["results"][0]["code"] == "not_reported"
    assert ledger_rows(world.conn, walk_id) == [] and world.status(walk_id) == "rejected"


def test_a_withdrawn_approval_is_reversed_and_a_new_approval_pays_anew(world: World) -> None:
    walk_id = world.walk(date(2031, 10, 3))
    assert world.approve(walk_id).status_code == 200
    path = f"/api/v1/walks/{walk_id}/withdraw-approval"
    refused = world.client.post(path, json={"reason": "fel"}, headers=world.planner["h"])
    assert refused.status_code == 403
    r = world.client.post(path, json={"reason": "Dubbelrapporterat"}, headers=world.admin["h"])
    assert r.status_code == 200, r.text
    assert r.json()["reversal"]["amount_sek"] == -1700
    walk = r.json()["walk"]
    assert walk["status"] == "reported" and walk["agreement"] is None
    assert walk["approved_at"] is None
    twice = world.client.post(path, json={"reason": "igen"}, headers=world.admin["h"])
    assert twice.status_code == 409 and twice.json()["code"] == "not_approved"
    ledger = world.client.get(
        "/api/v1/ledger", params={"agreement": f"IOP test {world.tag}"}, headers=world.planner["h"]
    )
    assert ledger.status_code == 200
    assert ledger.json()["total_sek"] == 0
    assert [e["kind"] for e in ledger.json()["entries"]] == ["payment", "reversal"]
    assert ledger.json()["entries"][1]["reason"] == "Dubbelrapporterat"
    again = world.approve(walk_id)
    assert again.status_code == 200 and again.json()["approval"]["amount_sek"] == 1700
    assert ledger_rows(world.conn, walk_id) == [
        (1, "payment", 1700),
        (1, "reversal", -1700),
        (2, "payment", 1700),
    ]
    total = world.client.get(
        "/api/v1/ledger", params={"agreement": str(world.agreement)}, headers=world.planner["h"]
    )
    assert total.json()["total_sek"] == 1700
    assert world.conn.execute(
        "SELECT approval_no FROM walks WHERE id = %s", (walk_id,)
    ).fetchone() == (2,)


def test_the_ledger_refuses_updates_and_deletes(world: World) -> None:
    walk_id = world.walk(date(2031, 10, 3))
    world.approve(walk_id)
    for statement in (
        "UPDATE ledger_entries SET amount_sek = 1 WHERE walk_id = %s",
        "DELETE FROM ledger_entries WHERE walk_id = %s",
    ):
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="never changed"):
            with world.conn.transaction():
                world.conn.execute(statement, (walk_id,))
    assert ledger_rows(world.conn, walk_id) == [(1, "payment", 1700)]


def test_bulk_approval_gives_a_result_per_walk(world: World) -> None:
    good = [world.walk(date(2031, 10, d)) for d in (3, 4)]
    own = world.walk(date(2031, 10, 5), reporter_id=world.planner["id"])
    planned = world.walk(date(2031, 10, 6), status="planned", reporter_id=None)
    missing = uuid.uuid4()
    ids = [str(w) for w in (*good, own, planned, missing)]
    r = world.client.post("/api/v1/walks/approve", json={"ids": ids}, headers=world.planner["h"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == ids
    assert [x["status"] for x in results] == ["paid", "paid", "refused", "refused", "refused"]
    assert [x.get("code") for x in results] == [None, None, "own_walk", "not_reported", "not_found"]
    assert all(ledger_rows(world.conn, w) == [(1, "payment", 1700)] for w in good)
    too_many = [str(uuid.uuid4()) for _ in range(501)]
    r = world.client.post(
        "/api/v1/walks/approve", json={"ids": too_many}, headers=world.planner["h"]
    )
    assert r.status_code == 422
    assert (
        world.client.post(
            "/api/v1/walks/approve", json={"ids": []}, headers=world.planner["h"]
        ).status_code
        == 422
    )


def test_the_ledger_by_period_and_organisation(world: World) -> None:
    october, november = world.walk(date(2031, 10, 3)), world.walk(date(2031, 11, 7))
    for w in (october, november):
        world.approve(w)
    get: Callable[..., Any] = lambda **p: world.client.get(  # noqa: E731
        "/api/v1/ledger", params=p, headers=world.planner["h"]
    )
    club = f"Testklubben {world.tag}"
    whole = get(organisation=club).json()
    assert whole["total_sek"] == 3400 and whole["numberMatched"] == 2
    assert [e["walk_id"] for e in whole["entries"]] == [str(october), str(november)]
    assert whole["entries"][0]["organisation"]["name"] == club
    assert whole["entries"][0]["local_date"] == "2031-10-03"
    octo = get(organisation=club, since="2031-10-01", until="2031-10-31").json()
    assert octo["total_sek"] == 1700 and len(octo["entries"]) == 1
    reversed_ = get(since="2031-10-31", until="2031-10-01")
    assert (
        reversed_.status_code == 422 and reversed_.json()["detail"][0]["type"] == "period_reversed"
    )
    unknown = get(organisation=f"Ingen {world.tag}")
    assert unknown.status_code == 422
    assert get(since="not a date").status_code == 422


def test_walkers_and_partners_may_not_approve_nor_read_the_ledger(world: World) -> None:
    walk_id = world.walk(date(2031, 10, 3), reporter_id=None)
    partner = world.user("partner", "Polisen")
    for who in (world.walker, partner):
        h = who["h"]
        assert world.client.post(f"/api/v1/walks/{walk_id}/approve", headers=h).status_code == 403
        assert (
            world.client.post(
                f"/api/v1/walks/{walk_id}/reject", json={"reason": "nej"}, headers=h
            ).status_code
            == 403
        )
        assert (
            world.client.post(
                "/api/v1/walks/approve", json={"ids": [str(walk_id)]}, headers=h
            ).status_code
            == 403
        )
        assert (
            world.client.post(
                f"/api/v1/walks/{walk_id}/withdraw-approval", json={"reason": "nej"}, headers=h
            ).status_code
            == 403
        )
        assert world.client.get("/api/v1/ledger", headers=h).status_code == 403
    assert world.client.post(f"/api/v1/walks/{walk_id}/approve").status_code == 401
    assert world.status(walk_id) == "reported"
