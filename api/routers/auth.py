"""Sign-in: OAuth2 password flow for API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.bodies import BodyRoute
from api.deps import ConnDep
from api.guard import client_address
from api.security import UserDep
from geo.db.accounts import BEARER_TTL, authenticate, issue_token

# BodyRoute: the form's fields are checked for text PostgreSQL cannot hold (api.bodies).
router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=BodyRoute)


@router.post("/token")
def token(
    request: Request, conn: ConnDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, str | int]:
    """A short-lived bearer token for ``username`` (the e-mail) and ``password``.

    Wrong credentials: 401. After five failed attempts for the same e-mail from the same
    address (whether or not the account exists): 429 with ``Retry-After``, a wait that doubles
    with each further failure (at most 15 minutes); other addresses are not affected.
    """
    user = authenticate(conn, form.username, form.password, address=client_address(request))
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
