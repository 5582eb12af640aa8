"""A programme written straight into the tables by SQL (not through the agreements or approval
APIs, which other modules test): Solberga's five periods in a test area of their own.

39 walks in the two periods of kind ``agreement`` (20 + 19) and 66 in the three IOP periods
(26 + 25 + 15), each approved under its agreement with a ledger payment of 1,700 SEK: 66,300,
112,200 and 178,500 SEK. Besides them: a walk whose approval was withdrawn (a payment and its
reversal, back to ``reported``), an approved walk in the gap between two periods (outside every
agreement), and a grant with four reporting dates in an area of its own.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ZONE = ZoneInfo("Europe/Stockholm")
RATE = 1700
AREA_SQL = (
    "INSERT INTO areas (slug, name, geom) "
    "VALUES (%s, %s, ST_Multi(ST_MakeEnvelope(%s, 59.280, %s, 59.285, 4326))) RETURNING id"
)  # a small box in Solberga


def _days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


def _id(conn: psycopg.Connection, query: str, *params: Any) -> int:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def _walk(
    conn: psycopg.Connection,
    *,
    start: datetime,
    org: int,
    area: int,
    agreement: int | None,
    status: str = "approved",
    walkers: int = 6,
    youths: int = 3,
    synthetic: bool = False,
) -> uuid.UUID:
    wid = uuid.uuid4()
    end = start + timedelta(hours=2)
    conn.execute(
        "INSERT INTO walks (id, organisation_id, area_id, agreement_id, planned_start, "
        "planned_end, started_at, ended_at, walkers, status, approved_at, approval_no, "
        "synthetic, source) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, 'api')",
        (
            wid,
            org,
            area,
            agreement,
            start,
            end,
            start,
            end,
            walkers,
            status,
            start + timedelta(days=1) if status == "approved" else None,
            synthetic,
        ),
    )
    conn.execute(
        "INSERT INTO walk_reports (id, walk_id, started_at, ended_at, walkers_present, "
        "youths_met, mood, synthetic) VALUES (%s, %s, %s, %s, %s, %s, 'calm', %s)",
        (uuid.uuid4(), wid, start, end, walkers, youths, synthetic),
    )
    return wid


def _pay(
    conn: psycopg.Connection, walk: uuid.UUID, agreement: int, *, reverse: bool = False
) -> None:
    conn.execute(
        "INSERT INTO ledger_entries (walk_id, approval_no, kind, agreement_id, amount_sek) "
        "VALUES (%s, 1, 'payment', %s, %s)",
        (walk, agreement, RATE),
    )
    if reverse:
        conn.execute(
            "INSERT INTO ledger_entries (walk_id, approval_no, kind, agreement_id, amount_sek, "
            "reason) VALUES (%s, 1, 'reversal', %s, %s, 'fel förening')",
            (walk, agreement, -RATE),
        )


def load_programme(conn: psycopg.Connection, *, synthetic: bool = False) -> dict[str, Any]:
    """Write the programme; returns the slugs, names and ids the tests ask for."""
    tag = secrets.token_hex(3)
    slug, grant_slug = f"prov-{tag}", f"bidrag-{tag}"
    area = _id(conn, AREA_SQL, slug, f"Provby {tag}", 18.00, 18.01)
    grant_area = _id(conn, AREA_SQL, grant_slug, f"Bidragsby {tag}", 18.02, 18.03)

    def org(name: str, part_of: int | None = None) -> int:
        return _id(
            conn,
            "INSERT INTO organisations (name, kind, part_of_id) VALUES (%s, 'club', %s) "
            "RETURNING id",
            name,
            part_of,
        )

    club = org(f"Provklubben {tag}")
    park = org(f"Provparken {tag}")
    assoc = org(f"Provföreningen {tag}", park)
    fund = org(f"Provfonden {tag}")

    def agreement(
        name: str,
        kind: str,
        first: str,
        last: str,
        parties: list[int],
        extends: int | None = None,
        **extra: Any,
    ) -> int:
        aid = _id(
            conn,
            "INSERT INTO agreements (name, kind, compensation, rate_sek, budget_sek, starts_on, "
            "ends_on, decided_on, signed_on, extends_id, reporting_dates) VALUES (%s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            f"{name} {tag}",
            kind,
            extra.get("compensation", "per_walk"),
            None if extra.get("budget_sek") else RATE,
            extra.get("budget_sek"),
            first,
            last,
            extra.get("decided_on"),
            extra.get("signed_on"),
            extends,
            extra.get("reporting_dates", []),
        )
        for p in parties:
            conn.execute(
                "INSERT INTO agreement_parties (agreement_id, organisation_id) VALUES (%s, %s)",
                (aid, p),
            )
        conn.execute(
            "INSERT INTO agreement_areas (agreement_id, area_id) VALUES (%s, %s)",
            (aid, extra.get("area", area)),
        )
        return aid

    a1 = agreement(
        "Prov hösten 2023", "agreement", "2023-09-29", "2023-12-30", [club], signed_on="2023-09-28"
    )
    a2 = agreement(
        "Prov sommaren 2024",
        "agreement",
        "2024-05-24",
        "2024-08-31",
        [club, park],
        signed_on="2024-05-22",
    )
    i1 = agreement(
        "Prov IOP hösten 2024",
        "iop",
        "2024-09-06",
        "2024-12-28",
        [club, park],
        decided_on="2024-08-29",
        signed_on="2024-12-17",
    )
    i2 = agreement("Prov IOP våren 2025", "iop", "2025-01-03", "2025-06-28", [club, park], i1)
    i3 = agreement("Prov IOP hösten 2025", "iop", "2025-09-05", "2025-12-20", [club, park], i2)
    grant = agreement(
        "Prov 127",
        "iop",
        "2018-01-01",
        "2018-12-31",
        [fund],
        compensation="grant",
        budget_sek=850_000,
        area=grant_area,
        reporting_dates=["2018-06-30", "2018-10-31", "2019-01-31", "2019-02-28"],
    )

    def walks(agreement_id: int, starts: list[datetime], orgs: list[int], **kw: Any) -> None:
        for n, start in enumerate(starts):
            w = _walk(
                conn,
                start=start,
                org=orgs[n % len(orgs)],
                area=area,
                agreement=agreement_id,
                synthetic=synthetic,
                **kw,
            )
            _pay(conn, w, agreement_id)

    def evenings(first: date, n: int, at: time = time(21)) -> list[datetime]:
        return [datetime.combine(d, at, ZONE) for d in _days(first, n)]

    # A1: 20 walks, two of them with five walkers (the agreement asks for six).
    walks(a1, evenings(date(2023, 10, 1), 18), [club])
    walks(a1, evenings(date(2023, 10, 19), 2), [club], walkers=5)
    walks(a2, evenings(date(2024, 6, 1), 19), [club, assoc])
    # I1: 24 walks in October, one from 23:00 on its last day (to 01:00), one from 00:30 on
    # 1 November (23:30 UTC on 31 October: the local date decides).
    i1_starts = evenings(date(2024, 10, 6), 24) + [
        datetime(2024, 10, 31, 23, 0, tzinfo=ZONE),
        datetime(2024, 11, 1, 0, 30, tzinfo=ZONE),
    ]
    walks(i1, i1_starts, [club, assoc], youths=4)
    walks(i2, evenings(date(2025, 2, 1), 25), [club, assoc])
    walks(i3, evenings(date(2025, 10, 1), 15), [assoc])
    # Withdrawn: paid under I2, reversed, back to reported (approval_no stays 1).
    withdrawn = _walk(
        conn,
        start=datetime(2025, 3, 1, 21, tzinfo=ZONE),
        org=club,
        area=area,
        agreement=None,
        status="reported",
        synthetic=synthetic,
    )
    _pay(conn, withdrawn, i2, reverse=True)
    # Approved in the gap between A2 and I1: outside every agreement, not paid.
    _walk(
        conn,
        start=datetime(2024, 9, 2, 21, tzinfo=ZONE),
        org=club,
        area=area,
        agreement=None,
        synthetic=synthetic,
    )

    # The grant's reports: on time, late, (missed), final on time.
    for due, submitted, covers in (
        ("2018-06-30", "2018-06-28", ("2018-01-01", "2018-06-30")),
        ("2018-10-31", "2018-11-05", ("2018-07-01", "2018-10-31")),
        ("2019-02-28", "2019-02-20", ("2018-01-01", "2018-12-31")),
    ):
        conn.execute(
            "INSERT INTO grant_reports (id, agreement_id, due_on, submitted_on, covers_from, "
            "covers_until, activities, participants, summary) VALUES (%s, %s, %s, %s, %s, %s, "
            "12, 340, 'Trygghetsvandringar och läxhjälp')",
            (uuid.uuid4(), grant, due, submitted, *covers),
        )
    return {
        "tag": tag,
        "area": slug,
        "grant_area": grant_slug,
        "club": f"Provklubben {tag}",
        "park": f"Provparken {tag}",
        "assoc": f"Provföreningen {tag}",
        "agreements": {"a1": a1, "a2": a2, "i1": i1, "i2": i2, "i3": i3, "grant": grant},
        "orgs": {"club": club, "park": park, "assoc": assoc, "fund": fund},
    }
