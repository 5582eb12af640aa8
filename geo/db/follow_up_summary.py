"""The summary of a programme (an area's agreements) for the councillors: each agreement in
order with when it was decided, signed and valid and what it extends, its walks and cost, the
totals before the IOP (kind ``agreement``), during it (kind ``iop``) and in all; for a grant
its budget and the reporting dates met, late or missed with what each report covered.

The figures are `geo.db.follow_up.follow_up` by agreement for the area, so the summary and the
follow-up table never disagree.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

from geo.db import areas
from geo.db.follow_up import SYNTHETIC_NOTE, Query, follow_up

KINDS = ("agreement", "iop")


def reporting_status(due_on: date, submitted_on: date | None, *, today: date) -> str:
    """``met`` (reported by the due date), ``late`` (after it), ``missed`` (the date passed and
    no report) or ``due`` (still to come).

    >>> reporting_status(date(2019, 2, 28), None, today=date(2019, 3, 1))
    'missed'
    >>> reporting_status(date(2019, 2, 28), date(2019, 3, 2), today=date(2019, 3, 5))
    'late'
    """
    if submitted_on is not None:
        return "met" if submitted_on <= due_on else "late"
    return "missed" if due_on < today else "due"


def programme_summary(conn: psycopg.Connection, *, area: str, today: date) -> dict[str, Any]:
    """The summary of the programme of ``area`` (a slug): ``agreements`` (in order, with
    ``walks_approved``, ``cost_sek``… and for grants ``reporting``), ``outside`` (approved walks
    no agreement covers: flagged, never paid, and not in the totals), ``totals`` per kind
    (``agreement``: before the IOP, ``iop``: during it) and in ``all`` agreements."""
    name = areas.area_outline(conn, area)[0]
    table = follow_up(conn, Query(by="agreement", area=area), today=today)
    figures = {r["agreement"]["id"]: r for r in table["rows"] if r["agreement"] is not None}
    outside = next((r for r in table["rows"] if r["agreement"] is None), None)
    details = _agreements(conn, list(figures))
    agreements = []
    for d in details:
        f = figures[d["id"]]
        entry = {
            **d,
            "walks_approved": f["walks_approved"],
            "walks_reported": f["walks_reported"],
            "cost_sek": f["cost_sek"],
            "walker_nights": f["walker_nights"],
            "youths_met": f["youths_met"],
            "flags": f["flags"],
        }
        if d["compensation"] == "grant":
            entry["reporting"] = _reporting(conn, d, today=today)
        agreements.append(entry)

    def total(rows: list[dict[str, Any]]) -> dict[str, int]:
        return {
            "agreements": len([r for r in rows if "id" in r]),
            "walks_approved": sum(r["walks_approved"] for r in rows),
            "cost_sek": sum(r["cost_sek"] for r in rows),
            "walker_nights": sum(r["walker_nights"] for r in rows),
            "youths_met": sum(r["youths_met"] for r in rows),
        }

    out: dict[str, Any] = {
        "area": {"slug": area, "name": name},
        "agreements": agreements,
        "outside": None
        if outside is None
        else {k: outside[k] for k in ("walks_approved", "walks_reported", "flags")},
        "totals": {
            "agreement": total([a for a in agreements if a["kind"] == "agreement"]),
            "iop": total([a for a in agreements if a["kind"] == "iop"]),
            "all": total(agreements),
        },
        "budget_sek": sum(a["budget_sek"] or 0 for a in agreements) or None,
        "synthetic": table["synthetic"],
        "issued": today.isoformat(),
    }
    if table["synthetic"]:
        out["note"] = SYNTHETIC_NOTE
    return out


def _agreements(conn: psycopg.Connection, ids: list[int]) -> list[dict[str, Any]]:
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            """
            SELECT a.id, a.name, a.kind, a.compensation, a.rate_sek, a.budget_sek,
                   a.starts_on, a.ends_on, a.decided_on, a.signed_on, a.walkers_per_walk,
                   ARRAY(SELECT d FROM unnest(a.reporting_dates) d ORDER BY d) AS reporting_dates,
                   a.notes, e.id AS extends_id, e.name AS extends_name,
                   ARRAY(SELECT o.name FROM agreement_parties p
                         JOIN organisations o ON o.id = p.organisation_id
                         WHERE p.agreement_id = a.id ORDER BY o.name) AS parties,
                   ARRAY(SELECT x.name FROM agreements x WHERE x.extends_id = a.id
                         ORDER BY x.starts_on) AS extended_by
            FROM agreements a LEFT JOIN agreements e ON e.id = a.extends_id
            WHERE a.id = ANY(%s)
            ORDER BY a.starts_on, a.name
            """,
            (ids,),
        )
        .fetchall()
    )

    def iso(d: date | None) -> str | None:
        return d.isoformat() if d else None

    return [
        {
            "id": r["id"],
            "name": r["name"],
            "kind": r["kind"],
            "compensation": r["compensation"],
            "rate_sek": r["rate_sek"],
            "budget_sek": r["budget_sek"],
            "parties": list(r["parties"]),
            "starts_on": iso(r["starts_on"]),
            "ends_on": iso(r["ends_on"]),
            "decided_on": iso(r["decided_on"]),
            "signed_on": iso(r["signed_on"]),
            "extends": {"id": r["extends_id"], "name": r["extends_name"]}
            if r["extends_id"]
            else None,
            "extended_by": list(r["extended_by"]),
            "walkers_per_walk": r["walkers_per_walk"],
            "reporting_dates": [d.isoformat() for d in r["reporting_dates"]],
            "notes": r["notes"],
        }
        for r in rows
    ]


def _reporting(conn: psycopg.Connection, agreement: dict[str, Any], *, today: date) -> list[Any]:
    """Each reporting date of a grant with its status and what its report covered (the report's
    period, activities and participants, and the approved walks of the agreement in it)."""
    reports = {
        r["due_on"].isoformat(): r
        for r in conn.cursor(row_factory=dict_row).execute(
            """
            SELECT g.due_on, g.submitted_on, g.covers_from, g.covers_until, g.activities,
                   g.participants, g.summary,
                   (SELECT count(*) FROM walk_money wm
                    WHERE wm.agreement_id = g.agreement_id AND wm.status = 'approved'
                      AND wm.local_date BETWEEN g.covers_from AND g.covers_until)::int AS walks
            FROM grant_reports g WHERE g.agreement_id = %s
            """,
            (agreement["id"],),
        )
    }
    dates = agreement["reporting_dates"]
    out = []
    for i, due in enumerate(dates):
        r = reports.get(due)
        out.append(
            {
                "due_on": due,
                "final": i == len(dates) - 1,
                "status": reporting_status(
                    date.fromisoformat(due), r["submitted_on"] if r else None, today=today
                ),
                "report": None
                if r is None
                else {
                    "submitted_on": r["submitted_on"].isoformat(),
                    "covers_from": r["covers_from"].isoformat(),
                    "covers_until": r["covers_until"].isoformat(),
                    "activities": r["activities"],
                    "participants": r["participants"],
                    "walks": r["walks"],
                    "summary": r["summary"],
                },
            }
        )
    return out
