"""Agreements and grant reports through the API on the real PostGIS: the demo's agreements,
adding and changing (admins), each error of the contract with nothing written, and the status
of a grant's reporting dates."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]
URL = "/api/v1/agreements"


def count(conn: psycopg.Connection, sql: str, *params: Any) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def stored(conn: psycopg.Connection) -> tuple[int, int, int]:
    """Rows of agreements, their parties and their areas."""
    return (
        count(conn, "SELECT count(*) FROM agreements"),
        count(conn, "SELECT count(*) FROM agreement_parties"),
        count(conn, "SELECT count(*) FROM agreement_areas"),
    )


def audited(conn: psycopg.Connection, action: str) -> int:
    return count(conn, "SELECT count(*) FROM audit_log WHERE action = %s", action)


def body(**overrides: Any) -> dict[str, Any]:
    """A per-walk agreement of Älvsjö AIK in 2027 (no demo agreement is then)."""
    b: dict[str, Any] = {
        "name": "Nattvandring våren 2027",
        "kind": "iop",
        "compensation": "per_walk",
        "rate_sek": 1800,
        "starts_on": "2027-01-08",
        "ends_on": "2027-06-26",
        "decided_on": "2026-12-10",
        "signed_on": "2026-12-20",
        "parties": ["Älvsjö AIK"],
        "areas": ["solberga"],
        "walkers_per_walk": 6,
    }
    b.update(overrides)
    return b


def grant(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Trygghetsbidrag 2027",
        "compensation": "grant",
        "rate_sek": None,
        "budget_sek": 500_000,
        "parties": ["KFUM JKS Stockholm"],
        "areas": ["satra"],
        "starts_on": "2027-01-01",
        "ends_on": "2027-12-31",
        "reporting_dates": ["2027-06-30", "2028-02-28"],
    }
    return body(**{**fields, **overrides})


def demo(client: TestClient, signed_in: Headers, name: str) -> dict[str, Any]:
    r = client.get(URL, headers=signed_in("planner"))
    assert r.status_code == 200, r.text
    found = [a for a in r.json()["agreements"] if a["name"] == name]
    assert len(found) == 1, name
    return found[0]


def test_the_demo_agreements_in_order_with_their_dates_parties_and_areas(
    client: TestClient, signed_in: Headers
) -> None:
    r = client.get(URL, headers=signed_in("planner"))
    assert r.status_code == 200
    agreements = r.json()["agreements"]
    starts = [a["starts_on"] for a in agreements]
    assert starts == sorted(starts)
    by_name = {a["name"]: a for a in agreements}
    first = by_name["Nattvandring Älvsjö AIK hösten 2023"]
    assert (first["starts_on"], first["ends_on"], first["signed_on"]) == (
        "2023-09-29",
        "2023-12-30",
        "2023-09-28",
    )
    assert first["parties"] == ["Älvsjö AIK"] and first["areas"] == ["alvsjo", "solberga"]
    summer = by_name["Nattvandring sommaren 2024"]
    assert summer["signed_on"] == "2024-05-22"
    assert summer["parties"] == ["Södra Folkparken", "Älvsjö AIK"]
    iop = by_name["IOP nattvandring hösten 2024"]
    assert (iop["kind"], iop["compensation"], iop["rate_sek"], iop["budget_sek"]) == (
        "iop",
        "per_walk",
        1700,
        None,
    )
    assert (iop["decided_on"], iop["signed_on"]) == ("2024-08-29", "2024-12-17")
    assert iop["parties"] == ["Södra Folkparken", "Älvsjö AIK"] and iop["extends"] is None
    spring = by_name["IOP nattvandring våren 2025"]
    assert spring["extends"] == {"id": iop["id"], "name": iop["name"]}
    autumn = by_name["IOP nattvandring hösten 2025"]
    assert autumn["extends"]["name"] == "IOP nattvandring våren 2025"
    trygghet = by_name["127-trygghet"]
    assert (trygghet["compensation"], trygghet["budget_sek"], trygghet["rate_sek"]) == (
        "grant",
        850_000,
        None,
    )
    assert trygghet["parties"] == ["KFUM JKS Stockholm"]
    assert trygghet["areas"] == ["satra", "varberg"]
    assert len(trygghet["reporting_dates"]) == 4
    assert trygghet["reporting_dates"][-1] == "2019-02-28"
    assert "ANTAGNA" in trygghet["notes"]
    assert set(iop) == {
        "id", "name", "kind", "compensation", "rate_sek", "budget_sek", "parties", "areas",
        "starts_on", "ends_on", "decided_on", "signed_on", "extends", "walkers_per_walk",
        "reporting_dates", "notes", "version",
    }  # fmt: skip
    one = client.get(f"{URL}/{iop['id']}", headers=signed_in("admin"))
    assert one.status_code == 200 and one.json() == iop
    assert client.get(f"{URL}/999999", headers=signed_in("planner")).status_code == 404


def test_filters_by_area_and_by_organisation_through_part_of(
    client: TestClient, signed_in: Headers
) -> None:
    headers = signed_in("planner")
    satra = client.get(URL, params={"area": "satra"}, headers=headers).json()["agreements"]
    assert [a["name"] for a in satra] == ["127-trygghet"]
    solberga = client.get(URL, params={"area": "solberga"}, headers=headers).json()
    assert len(solberga["agreements"]) == 5
    # Solan is part of Södra Folkparken: the agreements with Södra Folkparken are Solan's.
    solan = client.get(
        URL, params={"organisation": "Kulturföreningen Solan"}, headers=headers
    ).json()["agreements"]
    assert [a["starts_on"] for a in solan] == [
        "2024-05-24",
        "2024-09-06",
        "2025-01-03",
        "2025-09-05",
    ]
    unknown = client.get(URL, params={"organisation": "Finns inte"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["type"] == "unknown_organisation"
    assert unknown.json()["detail"][0]["loc"] == ["query", "organisation"]
    assert client.get(URL, params={"area": "atlantis"}, headers=headers).status_code == 422


@pytest.mark.parametrize("role", ["walker", "partner"])
def test_walkers_and_partners_may_not_read_agreements(
    client: TestClient, signed_in: Headers, role: str
) -> None:
    headers = signed_in(role)
    assert client.get(URL, headers=headers).status_code == 403
    assert client.get(f"{URL}/1", headers=headers).status_code == 403
    assert client.get(f"{URL}/1/reports", headers=headers).status_code == 403


def test_admin_adds_an_agreement_and_it_is_audited(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    before = audited(conn, "agreement.create")
    r = client.post(
        URL,
        json=body(parties=["Älvsjö AIK", "Kulturföreningen Solan"], areas=["solberga", "alvsjo"]),
        headers=signed_in("admin"),
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["parties"] == ["Kulturföreningen Solan", "Älvsjö AIK"]
    assert made["areas"] == ["alvsjo", "solberga"]
    assert (made["rate_sek"], made["version"], made["ends_on"]) == (1800, 1, "2027-06-26")
    assert audited(conn, "agreement.create") == before + 1
    assert client.get(f"{URL}/{made['id']}", headers=signed_in("planner")).json() == made


def test_planners_may_not_write_agreements(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    before = stored(conn)
    for role in ("planner", "walker", "partner"):
        assert client.post(URL, json=body(), headers=signed_in(role)).status_code == 403
    iop = demo(client, signed_in, "IOP nattvandring hösten 2024")
    r = client.patch(
        f"{URL}/{iop['id']}", json={"version": iop["version"], "notes": "x"},
        headers=signed_in("planner"),
    )  # fmt: skip
    assert r.status_code == 403
    assert stored(conn) == before


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"ends_on": "2027-01-07"}, "period_reversed", "ends_on"),
        ({"parties": ["Älvsjö AIK", "Finns inte FK"]}, "unknown_organisation", "parties"),
        ({"rate_sek": -1}, "greater_than_equal", "rate_sek"),
        ({"rate_sek": None}, "rate_missing", "rate_sek"),
        ({"reporting_dates": ["2027-03-01"]}, "reporting_dates_not_for_per_walk", None),
        ({"areas": ["atlantis"]}, "unknown_area", "areas"),
        ({"extends": "Finns inte"}, "unknown_agreement", "extends"),
        ({"signed_on": "2026-12-01"}, "signed_before_decided", "signed_on"),
        ({"parties": []}, "too_short", "parties"),
        ({"kind": "contract"}, "literal_error", "kind"),
    ],
)
def test_bad_agreements_are_422_and_nothing_is_written(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Headers,
    overrides: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    before = stored(conn), audited(conn, "agreement.create")
    r = client.post(URL, json=body(**overrides), headers=signed_in("admin"))
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert item["type"] == code, item
    if field:
        assert item["loc"][:2] == ["body", field], item
    assert (stored(conn), audited(conn, "agreement.create")) == before


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"budget_sek": -5}, "greater_than_equal"),
        ({"budget_sek": None}, "budget_missing"),
        ({"reporting_dates": ["2026-12-31"]}, "reporting_date_outside"),
        ({"reporting_dates": ["2029-01-02"]}, "reporting_date_outside"),
        ({"rate_sek": 100}, "value_error"),
    ],
)
def test_bad_grants_are_422(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Headers,
    overrides: dict[str, Any],
    code: str,
) -> None:
    before = stored(conn)
    r = client.post(URL, json=grant(**overrides), headers=signed_in("admin"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == code
    assert stored(conn) == before


def test_a_grant_reported_up_to_a_year_after_its_period(
    client: TestClient, signed_in: Headers
) -> None:
    r = client.post(URL, json=grant(), headers=signed_in("admin"))
    assert r.status_code == 201, r.text
    assert r.json()["reporting_dates"] == ["2027-06-30", "2028-02-28"]
    assert r.json()["budget_sek"] == 500_000 and r.json()["rate_sek"] is None


@pytest.mark.parametrize(
    ("overrides", "other"),
    [
        # Älvsjö AIK, an IOP in the autumn of 2025: the demo's extension.
        (
            {"starts_on": "2025-12-20", "ends_on": "2026-03-01"},
            "IOP nattvandring hösten 2025",
        ),
        # Solan is part of Södra Folkparken, a party of the IOP: an overlap through part_of.
        (
            {"parties": ["Kulturföreningen Solan"], "starts_on": "2024-12-28",
             "ends_on": "2025-01-02"},
            "IOP nattvandring hösten 2024",
        ),
    ],
)  # fmt: skip
def test_an_overlapping_agreement_of_the_same_kind_is_409_naming_the_other(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Headers,
    overrides: dict[str, Any],
    other: str,
) -> None:
    before = stored(conn)
    r = client.post(URL, json=body(**overrides), headers=signed_in("admin"))
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "agreement_overlap"
    assert r.json()["ctx"] == {"other": other}
    assert other in r.json()["detail"]
    assert stored(conn) == before


def test_what_does_not_overlap(client: TestClient, signed_in: Headers) -> None:
    headers = signed_in("admin")
    # Another kind in the same period, another club, or the day after the period ends.
    for overrides in (
        {"name": "Avtal hösten 2025", "kind": "agreement", "starts_on": "2025-10-01",
         "ends_on": "2025-11-30"},
        {"name": "KFUM hösten 2025", "parties": ["KFUM JKS Stockholm"], "starts_on": "2025-10-01",
         "ends_on": "2025-11-30"},
        {"name": "IOP vintern 2025", "starts_on": "2025-12-21", "ends_on": "2026-01-31"},
    ):  # fmt: skip
        r = client.post(URL, json=body(**overrides), headers=headers)
        assert r.status_code == 201, (overrides, r.text)
    # Two associations part of one foundation do not share a party.
    for name in ("Syster A", "Syster B"):
        r = client.post(
            "/api/v1/organisations",
            json={"name": name, "kind": "club", "part_of": "Södra Folkparken"},
            headers=headers,
        )
        assert r.status_code == 201
    a = client.post(URL, json=body(name="A 2030", parties=["Syster A"], starts_on="2030-01-01",
                                   ends_on="2030-06-30"), headers=headers)  # fmt: skip
    b = client.post(URL, json=body(name="B 2030", parties=["Syster B"], starts_on="2030-01-01",
                                   ends_on="2030-06-30"), headers=headers)  # fmt: skip
    assert (a.status_code, b.status_code) == (201, 201), b.text
    # …but the foundation itself overlaps both.
    c = client.post(URL, json=body(name="C 2030", parties=["Södra Folkparken"],
                                   starts_on="2030-03-01", ends_on="2030-03-31"),
                    headers=headers)  # fmt: skip
    assert c.status_code == 409 and c.json()["ctx"]["other"] == "A 2030"


def test_a_taken_name_is_409(client: TestClient, signed_in: Headers) -> None:
    r = client.post(URL, json=body(name="127-trygghet"), headers=signed_in("admin"))
    assert r.status_code == 409 and r.json()["code"] == "name_taken"


def test_admin_changes_an_agreement_with_its_version(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    headers = signed_in("admin")
    made = client.post(URL, json=body(), headers=headers).json()
    url = f"{URL}/{made['id']}"
    before = audited(conn, "agreement.update")
    r = client.patch(
        url,
        json={"version": 1, "rate_sek": 1900, "parties": ["Älvsjö AIK", "Södra Folkparken"],
              "signed_on": None, "extends": "IOP nattvandring hösten 2025"},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["rate_sek"], changed["signed_on"], changed["version"]) == (1900, None, 2)
    assert changed["parties"] == ["Södra Folkparken", "Älvsjö AIK"]
    assert changed["extends"]["name"] == "IOP nattvandring hösten 2025"
    assert changed["decided_on"] == "2026-12-10" and changed["areas"] == ["solberga"]
    assert audited(conn, "agreement.update") == before + 1
    # A stale version: 409 stale_version, nothing changed.
    stale = client.patch(url, json={"version": 1, "rate_sek": 1}, headers=headers)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert client.get(url, headers=headers).json() == changed
    # The changed agreement is checked as a whole: a reversed period, an overlap.
    reversed_ = client.patch(url, json={"version": 2, "starts_on": "2027-07-01"}, headers=headers)
    assert reversed_.status_code == 422
    assert reversed_.json()["detail"][0]["type"] == "period_reversed"
    overlap = client.patch(url, json={"version": 2, "starts_on": "2025-12-01"}, headers=headers)
    assert overlap.status_code == 409 and overlap.json()["code"] == "agreement_overlap"
    negative = client.patch(url, json={"version": 2, "rate_sek": -1700}, headers=headers)
    assert negative.status_code == 422
    assert client.get(url, headers=headers).json() == changed
    # An agreement may not extend itself.
    own = client.patch(url, json={"version": 2, "extends": made["name"]}, headers=headers)
    assert own.status_code == 422
    assert client.patch(f"{URL}/999999", json={"version": 1}, headers=headers).status_code == 404


def test_an_extension_cycle_is_refused(client: TestClient, signed_in: Headers) -> None:
    iop = demo(client, signed_in, "IOP nattvandring hösten 2024")
    r = client.patch(
        f"{URL}/{iop['id']}",
        json={"version": iop["version"], "extends": "IOP nattvandring hösten 2025"},
        headers=signed_in("admin"),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "extends"]


# -- grant reports --------------------------------------------------------------------------------


def report(due_on: str, submitted_on: str, **overrides: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "due_on": due_on,
        "submitted_on": submitted_on,
        "covers_from": "2017-03-01",
        "covers_until": "2017-06-30",
        "activities": 12,
        "participants": 340,
        "summary": "Kvällsaktiviteter i Sätra och Vårberg.",
    }
    b.update(overrides)
    return b


def test_grant_reports_and_the_status_of_each_reporting_date(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    trygghet = demo(client, signed_in, "127-trygghet")
    url = f"{URL}/{trygghet['id']}/reports"
    first, second, third, final = trygghet["reporting_dates"]
    before = audited(conn, "grant_report.create")
    on_time = report(first, first)
    r = client.post(url, json=on_time, headers=signed_in("planner"))
    assert r.status_code == 201, r.text
    assert r.json()["due_on"] == first and r.json()["activities"] == 12
    # The same report again: 200 and nothing more stored; the id with another body: 409.
    again = client.post(url, json=on_time, headers=signed_in("planner"))
    assert again.status_code == 200 and again.json() == r.json()
    reused = client.post(url, json={**on_time, "participants": 1}, headers=signed_in("admin"))
    assert reused.status_code == 409 and reused.json()["code"] == "key_reused"
    # A second report (another id) for the same date.
    twice = client.post(url, json=report(first, first), headers=signed_in("admin"))
    assert twice.status_code == 409 and twice.json()["code"] == "grant_report_exists"
    late_day = (date.fromisoformat(third) + timedelta(days=5)).isoformat()
    late = client.post(url, json=report(third, late_day), headers=signed_in("admin"))
    assert late.status_code == 201
    assert audited(conn, "grant_report.create") == before + 2
    got = client.get(url, headers=signed_in("planner"))
    assert got.status_code == 200
    assert [x["due_on"] for x in got.json()["reports"]] == [first, third]
    # All dates are in the past (the last one 2019-02-28): the unreported ones are missed.
    assert got.json()["reporting_dates"] == [
        {"due_on": first, "final": False, "status": "met"},
        {"due_on": second, "final": False, "status": "missed"},
        {"due_on": third, "final": False, "status": "late"},
        {"due_on": final, "final": True, "status": "missed"},
    ]


def test_a_reporting_date_still_to_come_is_due(client: TestClient, signed_in: Headers) -> None:
    headers = signed_in("admin")
    made = client.post(URL, json=grant(), headers=headers).json()
    got = client.get(f"{URL}/{made['id']}/reports", headers=signed_in("planner")).json()
    assert got == {
        "reports": [],
        "reporting_dates": [
            {"due_on": "2027-06-30", "final": False, "status": "due"},
            {"due_on": "2028-02-28", "final": True, "status": "due"},
        ],
    }
    # A reporting date with a report cannot be removed from the agreement.
    sent = client.post(
        f"{URL}/{made['id']}/reports", json=report("2027-06-30", "2027-06-29"), headers=headers
    )
    assert sent.status_code == 201, sent.text
    r = client.patch(
        f"{URL}/{made['id']}",
        json={"version": 1, "reporting_dates": ["2028-02-28"]},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "reporting_date_has_report"


def test_bad_grant_reports_are_refused(
    client: TestClient, conn: psycopg.Connection, signed_in: Headers
) -> None:
    trygghet = demo(client, signed_in, "127-trygghet")
    iop = demo(client, signed_in, "IOP nattvandring hösten 2024")
    url = f"{URL}/{trygghet['id']}/reports"
    headers = signed_in("admin")
    before = count(conn, "SELECT count(*) FROM grant_reports")
    cases = [
        (url, report("2019-03-01", "2019-03-01"), 422, "not_a_reporting_date"),
        (url, report("2019-02-28", "2019-02-20", covers_until="2016-01-01"), 422,
         "period_reversed"),
        (url, report("2019-02-28", "2019-02-20", activities=-1), 422, "greater_than_equal"),
        (f"{URL}/{iop['id']}/reports", report("2024-12-28", "2024-12-28"), 422, "not_a_grant"),
    ]  # fmt: skip
    for target, sent, status, code in cases:
        r = client.post(target, json=sent, headers=headers)
        assert r.status_code == status, r.text
        assert r.json()["detail"][0]["type"] == code
    missing = client.post(f"{URL}/999999/reports", json=report("2019-02-28", "2019-02-28"),
                          headers=headers)  # fmt: skip
    assert missing.status_code == 404
    for role in ("walker", "partner"):
        r = client.post(url, json=report("2019-02-28", "2019-02-28"), headers=signed_in(role))
        assert r.status_code == 403
    assert count(conn, "SELECT count(*) FROM grant_reports") == before
