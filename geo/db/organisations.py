"""Organisations in PostGIS: the district, the clubs that walk, the police, property owners and
foundations; one may be part of another (Kulturföreningen Solan is the association of Södra
Folkparken that walks).

Organisations are named by name in every body (``"part_of": "Södra Folkparken"``). Every write is
one transaction with its audit row (``organisation.create``, ``organisation.update``); what is
refused (a taken name, an unknown ``part_of``, a cycle, a stale version) writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from geo.db.audit import write_audit
from geo.db.queries import stale_version
from geo.errors import InvalidInput, NameTaken, NotFound, UnknownOrganisation
from geo.inputs.agreements import OrganisationIn, OrganisationPatch

MAX_DEPTH = 10

ORG_JSON = sql.SQL(
    """
    json_build_object(
        'id', o.id,
        'name', o.name,
        'kind', o.kind,
        'part_of', CASE WHEN po.id IS NOT NULL
                        THEN json_build_object('id', po.id, 'name', po.name) END,
        'notes', o.notes,
        'version', o.version)
    """
)
ORG_FROM = sql.SQL("FROM organisations o LEFT JOIN organisations po ON po.id = o.part_of_id")


def list_organisations(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every organisation, ordered by name."""
    row = conn.execute(
        sql.SQL("SELECT coalesce(json_agg({} ORDER BY o.name, o.id), '[]')::text {}").format(
            ORG_JSON, ORG_FROM
        )
    ).fetchone()
    assert row is not None
    found: list[dict[str, Any]] = json.loads(row[0])
    return found


def get_organisation(conn: psycopg.Connection, organisation_id: int) -> dict[str, Any]:
    """One organisation as JSON; `NotFound` when there is none with that id."""
    row = conn.execute(
        sql.SQL("SELECT {}::text {} WHERE o.id = %s").format(ORG_JSON, ORG_FROM),
        (organisation_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no organisation {organisation_id}; GET /api/v1/organisations lists them")
    found: dict[str, Any] = json.loads(row[0])
    return found


def organisation_id(conn: psycopg.Connection, name: str, *, field: str) -> int:
    """The id of the organisation named ``name``; `UnknownOrganisation` (422) naming ``field``
    when there is none."""
    row = conn.execute("SELECT id FROM organisations WHERE name = %s", (name.strip(),)).fetchone()
    if row is None:
        raise UnknownOrganisation(
            f"no organisation {name!r}; GET /api/v1/organisations lists them (add it first)",
            name=name,
            field=field,
        )
    return int(row[0])


def _check_no_cycle(conn: psycopg.Connection, organisation: int, parent: int) -> None:
    """Refuse ``parent`` when it is ``organisation`` itself or part of it (at any depth)."""
    row = conn.execute(
        """
        WITH RECURSIVE up(id, depth) AS (
            SELECT %s::bigint, 0
            UNION ALL
            SELECT o.part_of_id, up.depth + 1 FROM organisations o JOIN up ON o.id = up.id
            WHERE o.part_of_id IS NOT NULL AND up.depth < %s
        )
        SELECT 1 FROM up WHERE id = %s LIMIT 1
        """,
        (parent, MAX_DEPTH, organisation),
    ).fetchone()
    if row is not None:
        raise InvalidInput(
            "part_of would make a cycle: the organisation named is part of this one",
            field="part_of",
            code="part_of_cycle",
        )


def _taken(name: str) -> NameTaken:
    return NameTaken(f"there is an organisation named {name!r} already; choose another name")


def create_organisation(
    conn: psycopg.Connection, body: OrganisationIn, *, user_id: int | None
) -> dict[str, Any]:
    """Store a new organisation (``organisation.create`` in the audit trail)."""
    with conn.transaction():
        if conn.execute("SELECT 1 FROM organisations WHERE name = %s", (body.name,)).fetchone():
            raise _taken(body.name)
        parent = organisation_id(conn, body.part_of, field="part_of") if body.part_of else None
        try:
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO organisations (name, kind, part_of_id, notes) "
                    "VALUES (%s, %s, %s, %s) RETURNING id",
                    (body.name, body.kind, parent, body.notes),
                ).fetchone()
        except pg_errors.UniqueViolation:  # the same name stored concurrently
            raise _taken(body.name) from None
        assert row is not None
        org = get_organisation(conn, int(row[0]))
        if user_id is not None:
            write_audit(
                conn,
                user_id=user_id,
                action="organisation.create",
                subject=f"organisation:{org['id']}",
                details={"name": body.name, "kind": body.kind, "part_of": body.part_of},
            )
    return org


def patch_organisation(
    conn: psycopg.Connection,
    organisation: int,
    patch: OrganisationPatch,
    *,
    user_id: int | None,
) -> dict[str, Any]:
    """Change an organisation's name, kind, ``part_of`` (None: none) or notes, if ``version``
    is still the stored one (`StaleVersion` otherwise); ``organisation.update`` is audited with
    the fields changed."""
    changes = patch.changes()
    with conn.transaction():
        stored = conn.execute(
            "SELECT name, version FROM organisations WHERE id = %s FOR UPDATE", (organisation,)
        ).fetchone()
        if stored is None:
            raise NotFound(f"no organisation {organisation}; GET /api/v1/organisations lists them")
        if stored[1] != patch.version:
            raise stale_version(
                conn,
                "organisations",
                "id",
                organisation,
                patch.version,
                noun="organisation",
                missing=f"no organisation {organisation}",
            )
        columns: dict[str, Any] = {}
        if "name" in changes and changes["name"] != stored[0]:
            other = conn.execute(
                "SELECT 1 FROM organisations WHERE name = %s AND id <> %s",
                (changes["name"], organisation),
            ).fetchone()
            if other:
                raise _taken(changes["name"])
            columns["name"] = changes["name"]
        for name in ("kind", "notes"):
            if name in changes:
                columns[name] = changes[name]
        if "part_of" in changes:
            parent = None
            if changes["part_of"] is not None:
                parent = organisation_id(conn, changes["part_of"], field="part_of")
                _check_no_cycle(conn, organisation, parent)
            columns["part_of_id"] = parent
        if columns:
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns
            )
            try:
                with conn.transaction():
                    conn.execute(
                        sql.SQL(
                            "UPDATE organisations SET {}, version = version + 1, "
                            "updated_at = now() WHERE id = %s"
                        ).format(assignments),
                        [*columns.values(), organisation],
                    )
            except pg_errors.UniqueViolation:
                raise _taken(str(changes["name"])) from None
            if user_id is not None:
                write_audit(
                    conn,
                    user_id=user_id,
                    action="organisation.update",
                    subject=f"organisation:{organisation}",
                    details={"version": patch.version, "changes": changes},
                )
        return get_organisation(conn, organisation)
