"""The follow-up of walks and costs (uppföljning): per agreement, organisation, month or area,
and the summary of a programme that answers the councillors' questions.

Everything is computed from the view ``walk_money`` (a walk's local date, walkers present,
youths met and flags) and the ledger (``ledger_entries``), never stored: the cost of a group is
the sum of the ledger amounts of its walks in the window, so a withdrawn approval (a payment and
its reversal) nets to 0. Walks are placed by their local date (the day they start in their
area's time zone: a walk from 23:00 to 01:00 belongs to the day it starts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from geo.db import areas
from geo.errors import InvalidParameter
from geo.geometry import DEFAULT_TIME_ZONE

BY = ("agreement", "organisation", "month", "area")
WALK_FLAGS = ("short_of_walkers", "before_signed", "outside_agreement")
SYNTHETIC_NOTE = "SYNTETISKA DEMODATA"

# The group's key: of the walk for every grouping, of the ledger row for agreements (the
# agreement a payment was made under, even if the walk was later approved under another).
_WALK_KEY = {
    "agreement": sql.SQL("wm.agreement_id::text"),
    "organisation": sql.SQL("wm.organisation_id::text"),
    "month": sql.SQL("to_char(wm.local_date, 'YYYY-MM')"),
    "area": sql.SQL("wm.area_id::text"),
}
_LEDGER_KEY = {**_WALK_KEY, "agreement": sql.SQL("l.agreement_id::text")}


@dataclass(frozen=True)
class Query:
    """What to follow up: the window (local dates, both inclusive), the grouping and filters."""

    by: str = "agreement"
    since: date | None = None
    until: date | None = None
    organisation: str | None = None
    area: str | None = None


def local_day(
    value: date | datetime | None, name: str = "since", *, time_zone: str = DEFAULT_TIME_ZONE
) -> date | None:
    """A ``since``/``until`` as the walks API takes it (a date, or a datetime with its zone) as
    the local date the follow-up filters on.

    >>> local_day(datetime.fromisoformat("2024-09-30T23:30+00:00"))  # 01:30 in Stockholm
    datetime.date(2024, 10, 1)
    """
    if value is None or not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise InvalidParameter(
            f"{name}: a time needs its zone (e.g. 2026-09-04T21:00+02:00), or give a date "
            "(YYYY-MM-DD)",
            field=name,
        )
    return value.astimezone(ZoneInfo(time_zone)).date()


def _check(q: Query) -> None:
    if q.by not in BY:
        raise InvalidParameter(f"by must be one of {', '.join(BY)}; got {q.by!r}", field="by")
    if q.since is not None and q.until is not None and q.until < q.since:
        raise InvalidParameter("until is before since", field="until")


def _organisation_ids(conn: psycopg.Connection, name: str) -> tuple[int, list[int]]:
    """The organisation named ``name`` and those part of it (Södra Folkparken: also
    Kulturföreningen Solan, the association that walks)."""
    row = conn.execute("SELECT id FROM organisations WHERE name = %s", (name.strip(),)).fetchone()
    if row is None:
        raise InvalidParameter(
            f"no organisation {name!r}; organisations are named by name",
            field="organisation",
            code="unknown_organisation",
        )
    ids = [int(row[0])]
    ids += [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM organisations WHERE part_of_id = %s ORDER BY id", (ids[0],)
        )
    ]
    return ids[0], ids


def _where(
    conn: psycopg.Connection, q: Query
) -> tuple[sql.Composable, list[Any], list[int] | None, int | None]:
    """The filter on ``walk_money wm`` and its parameters, the organisations and the area id."""
    cond: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    if q.since is not None:
        cond.append(sql.SQL("wm.local_date >= %s"))
        params.append(q.since)
    if q.until is not None:
        cond.append(sql.SQL("wm.local_date <= %s"))
        params.append(q.until)
    org_ids = None
    if q.organisation is not None:
        _, org_ids = _organisation_ids(conn, q.organisation)
        cond.append(sql.SQL("wm.organisation_id = ANY(%s)"))
        params.append(org_ids)
    area_id = None
    if q.area is not None:
        area_id = areas.area_id(conn, q.area)
        cond.append(sql.SQL("wm.area_id = %s"))
        params.append(area_id)
    return sql.SQL(" AND ").join(cond), params, org_ids, area_id


_GROUPS = sql.SQL(
    """
    SELECT x.k,
           sum(x.approved)::int AS walks_approved,
           sum(x.reported)::int AS walks_reported,
           sum(x.cost)::bigint AS cost_sek,
           sum(x.walkers)::int AS walker_nights,
           sum(x.youths)::int AS youths_met,
           sum(x.short)::int AS short_of_walkers,
           sum(x.before)::int AS before_signed,
           sum(x.outside)::int AS outside_agreement,
           bool_or(x.synthetic) AS synthetic
    FROM (
        SELECT {wkey} AS k,
               (wm.status = 'approved')::int AS approved,
               (wm.status = 'reported')::int AS reported,
               0 AS cost,
               CASE WHEN wm.status = 'approved' THEN coalesce(wm.walkers_present, 0) ELSE 0 END
                   AS walkers,
               CASE WHEN wm.status = 'approved' THEN wm.youths_met ELSE 0 END AS youths,
               wm.short_of_walkers::int AS short,
               wm.before_signed::int AS before,
               wm.outside_agreement::int AS outside,
               wm.synthetic
        FROM walk_money wm
        WHERE wm.status IN ('approved', 'reported') AND {cond}
        UNION ALL
        SELECT {lkey}, 0, 0, l.amount_sek, 0, 0, 0, 0, 0, l.synthetic OR wm.synthetic
        FROM ledger_entries l JOIN walk_money wm ON wm.walk_id = l.walk_id
        WHERE {cond}
    ) x
    GROUP BY x.k
    """
)


def follow_up(conn: psycopg.Connection, q: Query, *, today: date) -> dict[str, Any]:
    """The follow-up: one row per group with ``walks_approved``, ``walks_reported`` (awaiting
    approval), ``cost_sek``, ``walker_nights`` (Σ walkers present on approved walks),
    ``youths_met`` and ``flags`` (``[{"code", "walks"}]``; for grants ``report_missed`` with
    the reporting dates passed before ``today`` without a report), and the totals.

    ``by=agreement`` also lists the agreements of the window (their period overlaps it, a party
    or area matches the filters) that have no walks yet; the row with a null ``agreement`` holds
    the walks outside every agreement.
    """
    _check(q)
    cond, params, org_ids, area_id = _where(conn, q)
    query = _GROUPS.format(wkey=_WALK_KEY[q.by], lkey=_LEDGER_KEY[q.by], cond=cond)
    groups = {
        r["k"]: r
        for r in conn.cursor(row_factory=dict_row).execute(query, [*params, *params]).fetchall()
    }
    if q.by == "agreement":
        for aid in _agreements_in_window(conn, q, org_ids, area_id):
            groups.setdefault(str(aid), _empty(str(aid)))
    keys = _keys(conn, q.by, [k for k in groups if k is not None])
    missed = _reports_missed(conn, q, groups, today=today) if q.by == "agreement" else {}
    rows = []
    for k, g in groups.items():
        flags = [{"code": c, "walks": int(g[c])} for c in WALK_FLAGS if g[c]]
        if missed.get(k):
            flags.append({"code": "report_missed", "walks": 0, "due_on": missed[k]})
        rows.append(
            {
                q.by: keys.get(k) if k is not None else None,
                "walks_approved": int(g["walks_approved"]),
                "walks_reported": int(g["walks_reported"]),
                "cost_sek": int(g["cost_sek"]),
                "walker_nights": int(g["walker_nights"]),
                "youths_met": int(g["youths_met"]),
                "flags": flags,
            }
        )
    rows.sort(key=lambda r: _order(q.by, r[q.by]))
    synthetic = any(g["synthetic"] for g in groups.values())
    out: dict[str, Any] = {
        "by": q.by,
        "since": q.since.isoformat() if q.since else None,
        "until": q.until.isoformat() if q.until else None,
        "organisation": q.organisation,
        "area": q.area,
        "rows": rows,
        "totals": {
            f: sum(r[f] for r in rows)
            for f in ("walks_approved", "walks_reported", "cost_sek", "walker_nights", "youths_met")
        },
        "total_sek": sum(r["cost_sek"] for r in rows),
        "synthetic": synthetic,
    }
    if synthetic:
        out["note"] = SYNTHETIC_NOTE
    return out


def _empty(k: str) -> dict[str, Any]:
    return {
        "k": k,
        "walks_approved": 0,
        "walks_reported": 0,
        "cost_sek": 0,
        "walker_nights": 0,
        "youths_met": 0,
        **dict.fromkeys(WALK_FLAGS, 0),
        "synthetic": False,
    }


def _agreements_in_window(
    conn: psycopg.Connection, q: Query, org_ids: list[int] | None, area_id: int | None
) -> list[int]:
    cond: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    if q.since is not None:
        cond.append(sql.SQL("a.ends_on >= %s"))
        params.append(q.since)
    if q.until is not None:
        cond.append(sql.SQL("a.starts_on <= %s"))
        params.append(q.until)
    if org_ids is not None:
        # a party is the organisation, one part of it, or the one it is part of
        cond.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM agreement_parties p JOIN organisations o "
                "ON o.id = p.organisation_id WHERE p.agreement_id = a.id AND (o.id = ANY(%s) "
                "OR o.id = (SELECT part_of_id FROM organisations WHERE id = %s)))"
            )
        )
        params += [org_ids, org_ids[0]]
    if area_id is not None:
        cond.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM agreement_areas x WHERE x.agreement_id = a.id "
                "AND x.area_id = %s)"
            )
        )
        params.append(area_id)
    query = sql.SQL("SELECT a.id FROM agreements a WHERE {}").format(sql.SQL(" AND ").join(cond))
    return [int(r[0]) for r in conn.execute(query, params)]


def _keys(conn: psycopg.Connection, by: str, keys: list[str]) -> dict[str, Any]:
    """Each group's key as the JSON shows it."""
    if by == "month":
        return {k: k for k in keys}
    ids = [int(k) for k in keys]
    cur = conn.cursor(row_factory=dict_row)
    if by == "agreement":
        found = cur.execute(
            "SELECT id, name, kind, compensation, starts_on FROM agreements WHERE id = ANY(%s)",
            (ids,),
        )
        return {
            str(r["id"]): {
                "id": r["id"],
                "name": r["name"],
                "kind": r["kind"],
                "compensation": r["compensation"],
                "starts_on": r["starts_on"].isoformat(),
            }
            for r in found
        }
    if by == "organisation":
        found = cur.execute("SELECT id, name FROM organisations WHERE id = ANY(%s)", (ids,))
        return {str(r["id"]): {"id": r["id"], "name": r["name"]} for r in found}
    found = cur.execute("SELECT id, slug, name FROM areas WHERE id = ANY(%s)", (ids,))
    return {str(r["id"]): {"slug": r["slug"], "name": r["name"]} for r in found}


def _order(by: str, key: Any) -> tuple[Any, ...]:
    if key is None:
        return (1, "", "")
    if by == "agreement":
        return (0, key["starts_on"], key["name"])
    if by == "month":
        return (0, key, "")
    return (0, key["name"].casefold(), "")


def _reports_missed(
    conn: psycopg.Connection, q: Query, groups: dict[Any, Any], *, today: date
) -> dict[str, list[str]]:
    """Per grant agreement (key): its reporting dates in the window passed before ``today``
    with no report."""
    ids = [int(k) for k in groups if k is not None]
    found = conn.execute(
        """
        SELECT a.id, d.due_on FROM agreements a, unnest(a.reporting_dates) AS d(due_on)
        WHERE a.id = ANY(%s) AND a.compensation = 'grant' AND d.due_on < %s
          AND (%s::date IS NULL OR d.due_on >= %s) AND (%s::date IS NULL OR d.due_on <= %s)
          AND NOT EXISTS (SELECT 1 FROM grant_reports g
                          WHERE g.agreement_id = a.id AND g.due_on = d.due_on)
        ORDER BY a.id, d.due_on
        """,
        (ids, today, q.since, q.since, q.until, q.until),
    )
    missed: dict[str, list[str]] = {}
    for aid, due in found:
        missed.setdefault(str(aid), []).append(due.isoformat())
    return missed


def walks_by_club_and_month(
    conn: psycopg.Connection, *, area: str, since: date, until: date
) -> list[dict[str, Any]]:
    """Walks done (reported back or approved) in ``area`` with local dates ``since``–``until``
    (inclusive), per club and month: ``club``, ``month`` (``2024-09``), ``walks``,
    ``walker_nights``, ``youths_met`` and whether any is ``synthetic``. For the meeting report,
    whose readers (police, partners) may see how many walks there are, never who walked."""
    aid = areas.area_id(conn, area)
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            """
            SELECT o.name AS club, to_char(wm.local_date, 'YYYY-MM') AS month,
                   count(*)::int AS walks,
                   coalesce(sum(wm.walkers_present), 0)::int AS walker_nights,
                   coalesce(sum(wm.youths_met), 0)::int AS youths_met,
                   bool_or(wm.synthetic) AS synthetic
            FROM walk_money wm JOIN organisations o ON o.id = wm.organisation_id
            WHERE wm.area_id = %s AND wm.status IN ('reported', 'approved')
              AND wm.local_date BETWEEN %s AND %s
            GROUP BY o.name, month
            ORDER BY o.name, month
            """,
            (aid, since, until),
        )
        .fetchall()
    )
