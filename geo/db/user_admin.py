"""The admins' changes to accounts and area settings, each with its audit row.

An account made here gets a password made by the server (`secrets`), handed back once and
stored only as its Argon2id hash (`geo.db.accounts.add_user`); no answer ever carries a hash.
Disabling an account ends its sign-ins (tokens and sessions) in the same transaction. An admin
may not disable or demote their own account: the admin who acts is always one admin who stays,
so the service never loses its last one.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from geo.db import areas, organisations
from geo.db.accounts import add_user, set_password
from geo.db.audit import write_audit
from geo.errors import Conflict, InvalidInput, NotFound

PASSWORD_BYTES = 12  # 16 URL-safe characters, over accounts.MIN_PASSWORD_LENGTH


class EmailTaken(Conflict):
    """An account with this e-mail exists already (e-mails are compared without case)."""

    code = "email_taken"


class OwnAccount(Conflict):
    """An admin tried to disable or demote their own account."""

    code = "own_account"


# The columns an answer about an account has: never the password hash.
_USER_JSON = """
    SELECT u.id, u.email, u.display_name, u.role,
           json_build_object('id', o.id, 'name', o.name) AS organisation,
           u.disabled, u.created_at
    FROM users u JOIN organisations o ON o.id = u.organisation_id
"""


def _user_rows(
    conn: psycopg.Connection, tail: str, params: tuple[object, ...] = ()
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_USER_JSON + tail, params).fetchall()
    return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]


def users_json(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every account (id, e-mail, display name, role, organisation, disabled), by e-mail."""
    return _user_rows(conn, " ORDER BY lower(u.email)")


def user_json(conn: psycopg.Connection, user_id: int) -> dict[str, Any]:
    found = _user_rows(conn, " WHERE u.id = %s", (user_id,))
    if not found:
        raise NotFound(f"no user {user_id}; GET /api/v1/users lists them")
    return found[0]


def create_user(
    conn: psycopg.Connection,
    *,
    actor_id: int,
    email: str,
    role: str,
    organisation: str,
    display_name: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Create an account with a password made here; returns the account and that password,
    which nothing stores in clear (show it once). Audited as ``user.create``."""
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    with conn.transaction():
        organisations.organisation_id(conn, organisation, field="organisation")
        if conn.execute("SELECT 1 FROM users WHERE lower(email) = lower(%s)", (email,)).fetchone():
            raise EmailTaken(f"an account {email} exists already")
        user = add_user(
            conn,
            email,
            password,
            role=role,
            organisation=organisation,
            display_name=display_name,
        )
        write_audit(
            conn,
            user_id=actor_id,
            action="user.create",
            subject=f"user:{user.id}",
            details={"email": user.email, "role": role, "organisation": organisation},
        )
    return user_json(conn, user.id), password


def update_user(
    conn: psycopg.Connection, *, actor_id: int, user_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change an account's ``role``, ``organisation`` (by name), ``display_name`` or
    ``disabled`` (the keys given). Disabling ends its sign-ins. Audited as ``user.update``
    with each changed value before and after; a change that changes nothing writes nothing."""
    with conn.transaction():
        with conn.cursor(row_factory=dict_row) as cur:
            old = cur.execute(
                "SELECT u.role, o.name AS organisation, u.display_name, u.disabled "
                "FROM users u JOIN organisations o ON o.id = u.organisation_id "
                "WHERE u.id = %s FOR UPDATE OF u",
                (user_id,),
            ).fetchone()
        if old is None:
            raise NotFound(f"no user {user_id}; GET /api/v1/users lists them")
        if user_id == actor_id and (
            changes.get("disabled") is True or changes.get("role", "admin") != "admin"
        ):
            raise OwnAccount(
                "you cannot disable or demote your own account: another admin must do that"
            )
        changed = {k: [old[k], v] for k, v in changes.items() if old[k] != v}
        if "organisation" in changed:
            org_id = organisations.organisation_id(
                conn, changes["organisation"], field="organisation"
            )
            conn.execute("UPDATE users SET organisation_id = %s WHERE id = %s", (org_id, user_id))
        for column in ("role", "display_name", "disabled"):
            if column in changed:
                conn.execute(
                    sql.SQL("UPDATE users SET {} = %s WHERE id = %s").format(
                        sql.Identifier(column)
                    ),
                    (changes[column], user_id),
                )
        if changes.get("disabled") is True:
            # Also when it was disabled already: no sign-in of a disabled account survives.
            conn.execute("DELETE FROM auth_tokens WHERE user_id = %s", (user_id,))
        if changed:
            write_audit(
                conn,
                user_id=actor_id,
                action="user.update",
                subject=f"user:{user_id}",
                details={"changes": changed},
            )
    return user_json(conn, user_id)


def reset_password(
    conn: psycopg.Connection, *, actor_id: int, user_id: int
) -> tuple[dict[str, Any], str]:
    """Give an account a new password made here (returned once, stored hashed); its sign-ins
    end and a sign-in lock is lifted. Audited as ``user.password`` (without the password)."""
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    with conn.transaction():
        user = user_json(conn, user_id)
        set_password(conn, user["email"], password)
        write_audit(
            conn,
            user_id=actor_id,
            action="user.password",
            subject=f"user:{user_id}",
            details={"email": user["email"]},
        )
    return user, password


# -- area settings ---------------------------------------------------------------------------------

_AREA_SETTINGS = "SELECT slug, name, field_worker_phone, police_phone, emergency_phone FROM areas"
PHONE_COLUMNS = ("field_worker_phone", "police_phone", "emergency_phone")


def area_settings_json(conn: psycopg.Connection, slug: str | None = None) -> list[dict[str, Any]]:
    """Each area's numbers to call during a walk (or one area's), by name."""
    with conn.cursor(row_factory=dict_row) as cur:
        if slug is None:
            return cur.execute(_AREA_SETTINGS + " ORDER BY name").fetchall()
        rows = cur.execute(_AREA_SETTINGS + " WHERE slug = %s", (slug,)).fetchall()
    if not rows:
        areas.area_id(conn, slug)  # raises NotFound with the hint
    return rows


def change_area_settings(
    conn: psycopg.Connection, *, actor_id: int, slug: str, changes: dict[str, str | None]
) -> dict[str, Any]:
    """Set an area's numbers (the keys of ``changes``, checked by `geo.inputs.admin`); audited
    as ``area.settings`` with each changed number before and after."""
    aid = areas.area_id(conn, slug)
    with conn.transaction():
        with conn.cursor(row_factory=dict_row) as cur:
            old = cur.execute(
                "SELECT field_worker_phone, police_phone, emergency_phone FROM areas "
                "WHERE id = %s FOR UPDATE",
                (aid,),
            ).fetchone()
        assert old is not None
        changed = {k: [old[k], v] for k, v in changes.items() if k in PHONE_COLUMNS and old[k] != v}
        if changed:
            try:
                with conn.transaction():
                    conn.execute(
                        sql.SQL("UPDATE areas SET {}, updated_at = now() WHERE id = %s").format(
                            sql.SQL(", ").join(
                                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in changed
                            )
                        ),
                        (*(changes[c] for c in changed), aid),
                    )
            except psycopg.errors.CheckViolation as exc:
                # The inputs module checks the same rule; this is the bypass-proof second line.
                raise InvalidInput(
                    "not a phone number: digits, spaces and dashes, e.g. 08-508 000 00",
                    field=(exc.diag.constraint_name or "phone")
                    .removeprefix("areas_")
                    .removesuffix("_check"),
                    code="invalid_phone",
                ) from None
            write_audit(
                conn,
                user_id=actor_id,
                action="area.settings",
                subject=f"area:{slug}",
                details={"changes": changed},
            )
    return area_settings_json(conn, slug)[0]
