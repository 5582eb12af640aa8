"""Who is calling: a bearer token (API clients) or a session cookie (web pages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from api.deps import ConnDep
from geo.db.accounts import Unauthorized, User, user_for_token
from geo.errors import Forbidden

SESSION_COOKIE = "nv_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _same_origin(request: Request) -> bool:
    """Whether a cookie-authenticated write comes from this site's own pages.

    The session cookie is SameSite=Lax, so browsers do not send it with cross-site POSTs; this
    is the second line: a browser's ``Origin`` (or ``Sec-Fetch-Site``) must name this site.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return site is not None or origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def current_user(
    request: Request, conn: ConnDep, token: Annotated[str | None, Depends(oauth2)]
) -> User | None:
    if token:
        return user_for_token(conn, token, kind="bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        if request.method not in SAFE_METHODS and not _same_origin(request):
            raise Forbidden("a signed-in page of another site may not write here")
        return user_for_token(conn, cookie, kind="session")
    return None


# The checks below do no I/O: `async def` keeps FastAPI from sending each through the thread
# pool (a thread hop per dependency per request).
async def require_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/token gives a bearer token")
    return user


def require_role(*roles: str) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only users with one of ``roles`` through (403 for the others)."""

    async def check(user: Annotated[User, Depends(require_user)]) -> User:
        if user.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {user.role}")
        return user

    return check


OptionalUserDep = Annotated[User | None, Depends(current_user)]
UserDep = Annotated[User, Depends(require_user)]
ReporterDep = Annotated[User, Depends(require_role("walker", "planner", "admin"))]
PlannerDep = Annotated[User, Depends(require_role("planner", "admin"))]
AdminDep = Annotated[User, Depends(require_role("admin"))]
