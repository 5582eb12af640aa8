"""Deviation categories in PostGIS: the active list, checks of codes, and admins' changes.

A category is never deleted (reports keep theirs); one that is no longer wanted is made inactive.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from geo.db.audit import write_audit
from geo.errors import Conflict, InvalidInput, InvalidParameter, NotFound


class CategoryExists(Conflict):
    """A new category with the code of one that exists (active or not)."""

    code = "category_exists"


def category_codes(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT code FROM deviation_categories WHERE active ORDER BY sort_order, code"
    )
    return [str(r[0]) for r in rows]


def check_categories(conn: psycopg.Connection, categories: list[str]) -> None:
    """`InvalidParameter` naming the first unknown category code and the known ones."""
    codes = category_codes(conn)
    unknown = [c for c in categories if c not in codes]
    if unknown:
        raise InvalidParameter(
            f"unknown category {unknown[0]!r}: use one of {', '.join(codes)}", field="category"
        )


def save_category(
    conn: psycopg.Connection,
    code: str,
    *,
    name_sv: str | None = None,
    colour: str | None = None,
    weight: float | None = None,
    active: bool | None = None,
    create: bool = False,
    actor_id: int | None = None,
) -> dict[str, Any]:
    """Create a category (``create``) or change one; returns it. Reports keep their category:
    one that is no longer wanted is made inactive, never deleted.

    With ``actor_id`` (an admin through the API) the change is audited as ``category.create``
    or ``category.update`` with the values sent, in the same transaction.
    """
    with conn.transaction():
        exists = conn.execute(
            "SELECT 1 FROM deviation_categories WHERE code = %s", (code,)
        ).fetchone()
        if create:
            if exists:
                raise CategoryExists(f"the category {code!r} exists already; change it with PATCH")
            if name_sv is None or colour is None:
                raise InvalidInput("a new category needs name_sv and colour", field="name_sv")
            conn.execute(
                "INSERT INTO deviation_categories (code, name_sv, colour, weight, active, "
                "sort_order) VALUES (%s, %s, %s, %s, %s, (SELECT coalesce(max(sort_order), 0) "
                "+ 10 FROM deviation_categories))",
                (
                    code,
                    name_sv,
                    colour,
                    1.0 if weight is None else weight,
                    True if active is None else active,
                ),
            )
        else:
            if not exists:
                raise NotFound(f"no category {code!r}; GET /api/v1/categories lists them")
            conn.execute(
                "UPDATE deviation_categories SET name_sv = coalesce(%s, name_sv), "
                "colour = coalesce(%s, colour), weight = coalesce(%s, weight), "
                "active = coalesce(%s, active) WHERE code = %s",
                (name_sv, colour, weight, active, code),
            )
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                "SELECT code, name_sv, colour, weight, active FROM deviation_categories "
                "WHERE code = %s",
                (code,),
            ).fetchone()
        assert row is not None
        if actor_id is not None:
            sent = {"name_sv": name_sv, "colour": colour, "weight": weight, "active": active}
            write_audit(
                conn,
                user_id=actor_id,
                action="category.create" if create else "category.update",
                subject=f"category:{code}",
                details={k: v for k, v in sent.items() if v is not None},
            )
    return row


def all_categories_json(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every category, inactive ones too (code, name_sv, colour, weight, active), in their
    order: what an admin changes."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT code, name_sv, colour, weight, active FROM deviation_categories "
            "ORDER BY sort_order, code"
        ).fetchall()


def categories_json(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The active categories (code, name_sv, colour, weight) in their order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT code, name_sv, colour, weight FROM deviation_categories WHERE active "
            "ORDER BY sort_order, code"
        ).fetchall()
