"""Agreements in PostGIS: concurrent overlapping writes (one stored), the demo's agreements with
their parties and areas, and the walkers a walk needs through a club's part_of."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest

from geo.db import agreements, connection, migrate, walk_schedule
from geo.db.demo import load_demo
from geo.db.organisations import organisation_id
from geo.errors import AgreementOverlap, NattvandringError, UnknownOrganisation
from geo.inputs.agreements import AgreementIn
from geo.inputs.walks import WalkIn, parse
from tests.conftest import DATA_DIR

THREADS = 10


def agreement(**overrides: Any) -> AgreementIn:
    body: dict[str, Any] = {
        "name": "Nattvandring 2031",
        "kind": "iop",
        "rate_sek": 1700,
        "starts_on": "2031-01-01",
        "ends_on": "2031-06-30",
        "parties": ["Parallella IF"],
    }
    body.update(overrides)
    return parse(AgreementIn, body)


def test_concurrent_overlapping_agreements_store_exactly_one(make_database) -> None:  # type: ignore[no-untyped-def]
    """Ten connections post overlapping agreements of one party at once (each its own name and
    a slightly other period): the advisory lock lets exactly one through, the others see it."""
    url = make_database("nv_agree")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        conn.execute("INSERT INTO organisations (name, kind) VALUES ('Parallella IF', 'club')")
    barrier = threading.Barrier(THREADS)
    results: list[str] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        with connection.connect(url, autocommit=True) as conn:
            body = agreement(name=f"Nattvandring 2031 nr {i}", starts_on=f"2031-01-{i + 1:02d}")
            barrier.wait()
            try:
                agreements.create_agreement(conn, body, user_id=None)
                outcome = "stored"
            except AgreementOverlap:
                outcome = "overlap"
            except NattvandringError as exc:  # pragma: no cover - shown in the failure
                outcome = f"other: {exc!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["overlap"] * (THREADS - 1) + ["stored"], results
    with connection.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM agreements").fetchone()
        parties = conn.execute("SELECT count(*) FROM agreement_parties").fetchone()
    assert row == (1,) and parties == (1,)


def test_an_unknown_party_writes_nothing(conn: psycopg.Connection) -> None:
    before = conn.execute("SELECT count(*) FROM agreements").fetchone()
    with pytest.raises(UnknownOrganisation, match="Parallella IF") as info:
        agreements.create_agreement(conn, agreement(), user_id=None)
    assert info.value.field == "parties" and info.value.ctx == {"name": "Parallella IF"}
    assert conn.execute("SELECT count(*) FROM agreements").fetchone() == before


def test_the_demo_agreements_have_their_parties_and_areas(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """
        SELECT a.name, a.compensation, a.signed_on::text,
               (SELECT array_agg(o.name ORDER BY o.name) FROM agreement_parties p
                JOIN organisations o ON o.id = p.organisation_id WHERE p.agreement_id = a.id),
               (SELECT array_agg(ar.slug ORDER BY ar.slug) FROM agreement_areas x
                JOIN areas ar ON ar.id = x.area_id WHERE x.agreement_id = a.id)
        FROM agreements a ORDER BY a.starts_on
        """
    ).fetchall()
    assert [r[0] for r in rows] == [
        "127-trygghet",
        "Nattvandring Älvsjö AIK hösten 2023",
        "Nattvandring sommaren 2024",
        "IOP nattvandring hösten 2024",
        "IOP nattvandring våren 2025",
        "IOP nattvandring hösten 2025",
    ]
    assert rows[0][1:] == ("grant", None, ["KFUM JKS Stockholm"], ["satra", "varberg"])
    assert rows[1][2:] == ("2023-09-28", ["Älvsjö AIK"], ["alvsjo", "solberga"])
    assert rows[3][2:] == ("2024-12-17", ["Södra Folkparken", "Älvsjö AIK"], ["alvsjo", "solberga"])
    assert all(r[1] == "per_walk" for r in rows[1:])
    # No two demo agreements overlap (the rule the API enforces).
    for a in agreements.list_agreements(conn):
        body = parse(AgreementIn, agreements._as_body(a))
        parties = [organisation_id(conn, name, field="parties") for name in a["parties"]]
        agreements._check_overlap(conn, body, parties, own_id=a["id"])
    areas = dict(conn.execute("SELECT slug, name FROM areas WHERE slug IN ('satra', 'varberg')"))
    assert areas == {"satra": "Sätra", "varberg": "Vårberg"}


def test_a_reload_puts_back_the_parties_of_the_file(conn: psycopg.Connection) -> None:
    """A database loaded with the old demo (the IOP with Solan as a party) gets the parties of
    the file: Södra Folkparken, not Solan."""
    conn.execute(
        "INSERT INTO agreement_parties (agreement_id, organisation_id) "
        "SELECT a.id, o.id FROM agreements a, organisations o "
        "WHERE a.name = 'IOP nattvandring hösten 2024' AND o.name = 'Kulturföreningen Solan'"
    )
    conn.execute("UPDATE organisations SET part_of_id = NULL WHERE name = 'Kulturföreningen Solan'")
    report = load_demo(conn, DATA_DIR)
    assert report.changed["agreement_parties_removed"] == 1
    assert report.changed["organisations"] == 1
    again = load_demo(conn, DATA_DIR)
    assert not any(again.changed.values()), again.changed


def test_walkers_needed_through_part_of(conn: psycopg.Connection) -> None:
    """Solan's walks take the walkers per walk of the IOP with Södra Folkparken."""
    conn.execute(
        "UPDATE agreements SET walkers_per_walk = 9 WHERE name = 'IOP nattvandring hösten 2025'"
    )
    body = {
        "id": str(uuid.uuid4()),
        "organisation": "Kulturföreningen Solan",
        "meeting_point": {"type": "Point", "coordinates": [18.010451, 59.278549]},
        "planned_start": "2025-10-04T21:00+02:00",
        "planned_end": "2025-10-05T01:00+02:00",
    }
    walk, _ = walk_schedule.create_walk(conn, parse(WalkIn, body), user_id=None)
    assert walk["walkers_needed"] == 9
    # Outside every agreement: six.
    outside = {**body, "id": str(uuid.uuid4()), "planned_start": "2025-07-05T21:00+02:00",
               "planned_end": "2025-07-06T01:00+02:00"}  # fmt: skip
    walk, _ = walk_schedule.create_walk(conn, parse(WalkIn, outside), user_id=None)
    assert walk["walkers_needed"] == 6
