"""Accounts and area settings (admins): list, add and change accounts; each area's numbers to
call during a walk.

Only ``ADMINISTER`` gets here (`AdminDep`). A new account's password is made by the server and
is in the answer to the POST only; no answer carries a password hash. Every change writes an
audit row (`geo.db.user_admin`), and so does reading the list of accounts (e-mails and names
are personal data: DESIGN.md decision 9).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.bodies import BodyRoute, limit
from api.deps import ConnDep
from api.security import AdminDep
from geo.db import user_admin
from geo.db.audit import write_audit
from geo.inputs.admin import MAX_ADMIN_BODY, AreaSettings, NewUser, UserChange

router = APIRouter(
    prefix="/api/v1", tags=["admin"], route_class=BodyRoute, strict_content_type=False
)


@router.get("/users")
def list_users(conn: ConnDep, user: AdminDep) -> dict[str, list[dict[str, Any]]]:
    """Every account: id, email, display_name, role, organisation {id, name}, disabled,
    created_at. The read is audited (``user.list``)."""
    found = user_admin.users_json(conn)
    write_audit(
        conn, user_id=user.id, action="user.list", subject="users", details={"count": len(found)}
    )
    return {"users": found}


@router.post("/users", status_code=201, openapi_extra=limit(MAX_ADMIN_BODY))
def create_user(conn: ConnDep, user: AdminDep, new: NewUser) -> dict[str, Any]:
    """Add an account; the answer has ``password``, made by the server and shown this once
    (only its hash is stored). 409 ``email_taken``; 422 ``unknown_organisation``."""
    made, password = user_admin.create_user(
        conn,
        actor_id=user.id,
        email=new.email,
        role=new.role,
        organisation=new.organisation,
        display_name=new.display_name,
    )
    return {"user": made, "password": password}


@router.patch("/users/{user_id}", openapi_extra=limit(MAX_ADMIN_BODY))
def change_user(conn: ConnDep, user: AdminDep, user_id: int, change: UserChange) -> dict[str, Any]:
    """Change an account's role, organisation (by name), display_name or disabled. Disabling
    ends its sign-ins at once; an admin cannot disable or demote themselves (409
    ``own_account``)."""
    return user_admin.update_user(
        conn,
        actor_id=user.id,
        user_id=user_id,
        changes=change.model_dump(include=change.model_fields_set),
    )


@router.post("/users/{user_id}/password")
def new_password(conn: ConnDep, user: AdminDep, user_id: int) -> dict[str, Any]:
    """A new password for an account, made by the server and in this answer only; the
    account's sign-ins end (``user.password`` in the audit trail)."""
    account, password = user_admin.reset_password(conn, actor_id=user.id, user_id=user_id)
    return {"user": account, "password": password}


@router.get("/area-settings")
def list_area_settings(conn: ConnDep, user: AdminDep) -> dict[str, list[dict[str, Any]]]:
    """Each area's slug, name, field_worker_phone, police_phone and emergency_phone."""
    return {"areas": user_admin.area_settings_json(conn)}


@router.get("/areas/{slug}/settings")
def area_settings(conn: ConnDep, user: AdminDep, slug: str) -> dict[str, Any]:
    """One area's numbers to call during a walk."""
    return user_admin.area_settings_json(conn, slug)[0]


@router.patch("/areas/{slug}/settings", openapi_extra=limit(MAX_ADMIN_BODY))
def change_area_settings(
    conn: ConnDep, user: AdminDep, slug: str, change: AreaSettings
) -> dict[str, Any]:
    """Set an area's field_worker_phone (null clears it), police_phone or emergency_phone:
    digits, spaces, dashes and a leading plus (422 ``invalid_phone``; the police and emergency
    numbers cannot be cleared: 422 ``phone_required``). Audited (``area.settings``)."""
    return user_admin.change_area_settings(
        conn,
        actor_id=user.id,
        slug=slug,
        changes=change.model_dump(include=change.model_fields_set),
    )
