"""Agreements in PostGIS: who is paid for what, in which period and areas (DESIGN.md decision 6).

An agreement pays ``per_walk`` (``rate_sek`` for each completed walk) or is a ``grant``
(``budget_sek`` for the period, reported on ``reporting_dates``: `geo.db.grant_reports`). Bodies
name the parties and the agreement an extension prolongs by name, the areas by slug.

Two agreements of the same kind may not share a party, directly or through ``part_of`` (an
agreement with Södra Folkparken covers the walks of Kulturföreningen Solan, which is part of
it), and overlap in time: which agreement pays a walk must never be ambiguous. The check runs
under one transaction-level advisory lock that every agreement write takes, so two concurrent
writes cannot both pass it: the second waits for the first one's commit and then sees its row.
Every write is audited (``agreement.create``, ``agreement.update``); a refused one writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from geo.db.audit import write_audit
from geo.db.organisations import organisation_id
from geo.db.queries import stale_version
from geo.errors import AgreementOverlap, InvalidInput, InvalidParameter, NameTaken, NotFound
from geo.inputs.agreements import AgreementIn, AgreementPatch
from geo.inputs.walks import parse

# Every agreement write holds this lock until its transaction ends (`_lock`).
LOCK_KEY = "nattvandring:agreements"

AGREEMENT_JSON = sql.SQL(
    """
    json_build_object(
        'id', a.id,
        'name', a.name,
        'kind', a.kind,
        'compensation', a.compensation,
        'rate_sek', a.rate_sek,
        'budget_sek', a.budget_sek,
        'parties', coalesce(
            (SELECT json_agg(o.name ORDER BY o.name) FROM agreement_parties p
             JOIN organisations o ON o.id = p.organisation_id WHERE p.agreement_id = a.id),
            '[]'),
        'areas', coalesce(
            (SELECT json_agg(ar.slug ORDER BY ar.slug) FROM agreement_areas x
             JOIN areas ar ON ar.id = x.area_id WHERE x.agreement_id = a.id),
            '[]'),
        'starts_on', a.starts_on,
        'ends_on', a.ends_on,
        'decided_on', a.decided_on,
        'signed_on', a.signed_on,
        'extends', CASE WHEN e.id IS NOT NULL
                        THEN json_build_object('id', e.id, 'name', e.name) END,
        'walkers_per_walk', a.walkers_per_walk,
        'reporting_dates', to_json(a.reporting_dates),
        'notes', a.notes,
        'version', a.version)
    """
)
AGREEMENT_FROM = sql.SQL("FROM agreements a LEFT JOIN agreements e ON e.id = a.extends_id")

# The organisations related to a set of organisations ``%(orgs)s`` for agreements: each one, the
# one it is part of, and those part of it (an agreement with Södra Folkparken covers Solan's
# walks). Two sister associations of one foundation are not related to each other.
RELATED_PARTY = """
    EXISTS (SELECT 1 FROM organisations mine, organisations theirs
            WHERE mine.id = ANY(%(orgs)s) AND theirs.id = {party}
              AND (mine.id = theirs.id OR mine.part_of_id = theirs.id
                   OR theirs.part_of_id = mine.id))
"""


def get_agreement(conn: psycopg.Connection, agreement_id: int) -> dict[str, Any]:
    """One agreement as JSON; `NotFound` when there is none with that id."""
    row = conn.execute(
        sql.SQL("SELECT {}::text {} WHERE a.id = %s").format(AGREEMENT_JSON, AGREEMENT_FROM),
        (agreement_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no agreement {agreement_id}; GET /api/v1/agreements lists them")
    found: dict[str, Any] = json.loads(row[0])
    return found


def _area_ids(conn: psycopg.Connection, slugs: list[str], *, field: str) -> list[int]:
    found: dict[str, int] = dict(
        conn.execute("SELECT slug, id FROM areas WHERE slug = ANY(%s)", (slugs,)).fetchall()
    )
    missing = [s for s in slugs if s not in found]
    if missing:
        raise InvalidInput(
            f"no area with slug {missing[0]!r}; GET /api/v1/areas lists the areas",
            field=field,
            code="unknown_area",
        )
    return [int(found[s]) for s in slugs]


def list_agreements(
    conn: psycopg.Connection, *, area: str | None = None, organisation: str | None = None
) -> list[dict[str, Any]]:
    """Agreements ordered by the start of their period, filtered by an area's slug and by an
    organisation (its own agreements and those of the organisation it is part of, or of those
    part of it)."""
    where: list[sql.Composable] = [sql.SQL("true")]
    params: dict[str, Any] = {}
    if area is not None:
        try:
            params["area"] = _area_ids(conn, [area], field="area")[0]
        except InvalidInput as exc:
            raise InvalidParameter(str(exc), field="area", code="unknown_area") from None
        where.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM agreement_areas x "
                "WHERE x.agreement_id = a.id AND x.area_id = %(area)s)"
            )
        )
    if organisation is not None:
        params["orgs"] = [organisation_id(conn, organisation, field="organisation")]
        where.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM agreement_parties p WHERE p.agreement_id = a.id AND {})"
            ).format(sql.SQL(RELATED_PARTY.format(party="p.organisation_id")))
        )
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(json_agg({} ORDER BY a.starts_on, a.id), '[]')::text {} WHERE {}"
        ).format(AGREEMENT_JSON, AGREEMENT_FROM, sql.SQL(" AND ").join(where)),
        params,
    ).fetchone()
    assert row is not None
    found: list[dict[str, Any]] = json.loads(row[0])
    return found


@dataclass(frozen=True)
class _Resolved:
    """An agreement body's names as ids: its parties, areas and the agreement it extends."""

    parties: list[int]
    areas: list[int]
    extends: int | None


def _lock(conn: psycopg.Connection) -> None:
    # Held until the whole transaction ends (also when this runs in a savepoint), so that a
    # concurrent write's overlap check waits for this one's commit.
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (LOCK_KEY,))


def _resolve(conn: psycopg.Connection, body: AgreementIn, *, own_id: int | None) -> _Resolved:
    """The ids the body names, checked: unknown parties, areas or extended agreements are a
    422 naming the field; an extension may not (through others) extend itself."""
    parties = [organisation_id(conn, name, field="parties") for name in body.parties]
    area_ids = _area_ids(conn, body.areas, field="areas")
    extends = None
    if body.extends is not None:
        row = conn.execute("SELECT id FROM agreements WHERE name = %s", (body.extends,)).fetchone()
        if row is None:
            raise InvalidInput(
                f"no agreement {body.extends!r} to extend; GET /api/v1/agreements lists them",
                field="extends",
                code="unknown_agreement",
            )
        extends = int(row[0])
        if own_id is not None:
            cycle = conn.execute(
                """
                WITH RECURSIVE chain(id, depth) AS (
                    SELECT %s::bigint, 0
                    UNION ALL
                    SELECT a.extends_id, chain.depth + 1 FROM agreements a
                    JOIN chain ON a.id = chain.id
                    WHERE a.extends_id IS NOT NULL AND chain.depth < 100
                )
                SELECT 1 FROM chain WHERE id = %s LIMIT 1
                """,
                (extends, own_id),
            ).fetchone()
            if cycle:
                raise InvalidInput(
                    "an agreement cannot extend itself, nor one that extends it",
                    field="extends",
                )
    return _Resolved(parties, area_ids, extends)


def _check_overlap(
    conn: psycopg.Connection, body: AgreementIn, parties: list[int], *, own_id: int | None
) -> None:
    """`AgreementOverlap` when another agreement of the same kind shares a party (or its
    ``part_of`` parent) and overlaps the period (both ends inclusive)."""
    row = conn.execute(
        sql.SQL(
            """
            SELECT a.name, a.starts_on, a.ends_on FROM agreements a
            WHERE a.kind = %(kind)s AND a.id IS DISTINCT FROM %(own)s
              AND a.starts_on <= %(ends)s AND a.ends_on >= %(starts)s
              AND EXISTS (SELECT 1 FROM agreement_parties p
                          WHERE p.agreement_id = a.id AND {})
            ORDER BY a.starts_on, a.id LIMIT 1
            """
        ).format(sql.SQL(RELATED_PARTY.format(party="p.organisation_id"))),
        {
            "kind": body.kind,
            "own": own_id,
            "starts": body.starts_on,
            "ends": body.ends_on,
            "orgs": parties,
        },
    ).fetchone()
    if row is not None:
        raise AgreementOverlap(
            f"the {body.kind} {row[0]!r} ({row[1]} – {row[2]}) shares a party with this one "
            "(or the organisation it is part of) and overlaps its period: change the dates or "
            "the parties, or extend that agreement instead",
            other=str(row[0]),
        )


def _check_name(conn: psycopg.Connection, name: str, *, own_id: int | None) -> None:
    row = conn.execute(
        "SELECT 1 FROM agreements WHERE name = %s AND id IS DISTINCT FROM %s", (name, own_id)
    ).fetchone()
    if row is not None:
        raise NameTaken(f"there is an agreement named {name!r} already; choose another name")


def _columns(body: AgreementIn, resolved: _Resolved) -> dict[str, Any]:
    return {
        "name": body.name,
        "kind": body.kind,
        "compensation": body.compensation,
        "rate_sek": body.rate_sek,
        "budget_sek": body.budget_sek,
        "starts_on": body.starts_on,
        "ends_on": body.ends_on,
        "decided_on": body.decided_on,
        "signed_on": body.signed_on,
        "extends_id": resolved.extends,
        "walkers_per_walk": body.walkers_per_walk,
        "reporting_dates": body.reporting_dates,
        "notes": body.notes,
    }


def _set_members(conn: psycopg.Connection, agreement: int, resolved: _Resolved) -> None:
    conn.execute("DELETE FROM agreement_parties WHERE agreement_id = %s", (agreement,))
    conn.execute("DELETE FROM agreement_areas WHERE agreement_id = %s", (agreement,))
    conn.execute(
        "INSERT INTO agreement_parties (agreement_id, organisation_id) "
        "SELECT %s, unnest(%s::bigint[])",
        (agreement, resolved.parties),
    )
    conn.execute(
        "INSERT INTO agreement_areas (agreement_id, area_id) SELECT %s, unnest(%s::bigint[])",
        (agreement, resolved.areas),
    )


def create_agreement(
    conn: psycopg.Connection, body: AgreementIn, *, user_id: int | None
) -> dict[str, Any]:
    """Store a new agreement with its parties and areas (``agreement.create`` audited).

    Refused, with nothing written: a taken name (`NameTaken`), an unknown party, area or
    extended agreement (422), an overlap with another agreement (`AgreementOverlap`).
    """
    with conn.transaction():
        _lock(conn)
        _check_name(conn, body.name, own_id=None)
        resolved = _resolve(conn, body, own_id=None)
        _check_overlap(conn, body, resolved.parties, own_id=None)
        columns = {**_columns(body, resolved), "created_by": user_id}
        try:
            with conn.transaction():
                row = conn.execute(
                    sql.SQL("INSERT INTO agreements ({}) VALUES ({}) RETURNING id").format(
                        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                    ),
                    list(columns.values()),
                ).fetchone()
        except pg_errors.UniqueViolation:  # a name stored without the lock (the demo's load)
            raise NameTaken(f"there is an agreement named {body.name!r} already") from None
        assert row is not None
        agreement = int(row[0])
        _set_members(conn, agreement, resolved)
        stored = get_agreement(conn, agreement)
        if user_id is not None:
            write_audit(
                conn,
                user_id=user_id,
                action="agreement.create",
                subject=f"agreement:{agreement}",
                details=body.model_dump(mode="json"),
            )
    return stored


def _as_body(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored agreement (its JSON) as the body that would make it."""
    body = {k: v for k, v in stored.items() if k not in ("id", "version", "extends")}
    body["extends"] = stored["extends"]["name"] if stored["extends"] else None
    return body


def patch_agreement(
    conn: psycopg.Connection, agreement: int, patch: AgreementPatch, *, user_id: int | None
) -> dict[str, Any]:
    """Change an agreement if ``version`` is still the stored one (`StaleVersion` otherwise).

    The agreement with the changes is checked as a whole, as a new one would be (its period,
    compensation, parties and overlaps); a reporting date that has a report stays.
    ``agreement.update`` is audited with the fields sent.
    """
    changes = patch.changes()
    with conn.transaction():
        _lock(conn)
        row = conn.execute(
            "SELECT version FROM agreements WHERE id = %s FOR UPDATE", (agreement,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no agreement {agreement}; GET /api/v1/agreements lists them")
        if row[0] != patch.version:
            raise stale_version(
                conn,
                "agreements",
                "id",
                agreement,
                patch.version,
                noun="agreement",
                missing=f"no agreement {agreement}",
            )
        body = parse(AgreementIn, {**_as_body(get_agreement(conn, agreement)), **changes})
        _check_name(conn, body.name, own_id=agreement)
        resolved = _resolve(conn, body, own_id=agreement)
        _check_overlap(conn, body, resolved.parties, own_id=agreement)
        reported = conn.execute(
            "SELECT min(due_on) FROM grant_reports WHERE agreement_id = %s "
            "AND NOT (due_on = ANY(%s::date[]))",
            (agreement, body.reporting_dates),
        ).fetchone()
        if reported is not None and reported[0] is not None:
            raise InvalidInput(
                f"reporting date {reported[0]} has a report: it cannot be removed",
                field="reporting_dates",
                code="reporting_date_has_report",
            )
        columns = _columns(body, resolved)
        conn.execute(
            sql.SQL(
                "UPDATE agreements SET {}, version = version + 1, updated_at = now() WHERE id = %s"
            ).format(
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
            ),
            [*columns.values(), agreement],
        )
        _set_members(conn, agreement, resolved)
        stored = get_agreement(conn, agreement)
        if user_id is not None:
            write_audit(
                conn,
                user_id=user_id,
                action="agreement.update",
                subject=f"agreement:{agreement}",
                details={"version": patch.version, "changes": changes},
            )
    return stored
