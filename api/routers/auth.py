"""Sign-in: OAuth2 password flow for API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.bodies import BodyRoute
from api.deps import ConnDep
from api.security import UserDep
from geo.db.accounts import BEARER_TTL, authenticate, issue_token

# BodyRoute: the form's fields are checked for text PostgreSQL cannot hold (api.bodies).
router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=BodyRoute)


@router.post("/token")
def token(
    conn: ConnDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, str | int]:
    """A short-lived bearer token for ``username`` (the e-mail) and ``password``.

    Wrong credentials: 401. Too many failed attempts for the account: 429 with Retry-After.
    """
    user = authenticate(conn, form.username, form.password)
    return {
        "access_token": issue_token(conn, user, kind="bearer"),
        "token_type": "bearer",
        "expires_in": int(BEARER_TTL.total_seconds()),
    }


@router.get("/me")
def me(user: UserDep) -> dict[str, str | list[str]]:
    """The signed-in user, with what the account may do (``capabilities``)."""
    return {
        "email": user.email,
        "role": user.role,
        "organisation": user.organisation,
        "capabilities": sorted(user.capabilities),
    }
