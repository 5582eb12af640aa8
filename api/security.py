"""Who is calling (a bearer token for API clients, a session cookie for web pages) and what they
may do: endpoints depend on a `Capability` (`require`), never on a role; the table of which role
has which capability is `geo.capabilities.ROLE_CAPABILITIES`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from api.deps import ConnDep
from api.guard import SAFE_METHODS, SESSION_COOKIE, same_origin
from geo.capabilities import Capability, describe
from geo.db.accounts import Unauthorized, User, user_for_token
from geo.errors import Forbidden

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def current_user(
    request: Request, conn: ConnDep, token: Annotated[str | None, Depends(oauth2)]
) -> User | None:
    if token:
        return user_for_token(conn, token, kind="bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        # `api.guard.RequestGuard` refuses these before they get here; this is the second line.
        if request.method not in SAFE_METHODS and not same_origin(request.headers):
            raise Forbidden("a signed-in page of another site may not write here")
        return user_for_token(conn, cookie, kind="session")
    return None


# The checks below do no I/O: `async def` keeps FastAPI from sending each through the thread
# pool (a thread hop per dependency per request).
async def require_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/token gives a bearer token")
    return user


def require(*capabilities: Capability) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through only signed-in users with every one of ``capabilities``
    (401 without a sign-in, 403 without the capability)."""

    async def check(user: Annotated[User, Depends(require_user)]) -> User:
        missing = [c for c in capabilities if c not in user.capabilities]
        if missing:
            raise Forbidden(
                f"this needs the capability {describe(missing)}, which your account "
                f"({user.role}) does not have"
            )
        return user

    return check


def require_any(*capabilities: Capability) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through signed-in users with at least one of ``capabilities``
    (a walk's track: a walker of the club or a planner)."""

    async def check(user: Annotated[User, Depends(require_user)]) -> User:
        if not any(c in user.capabilities for c in capabilities):
            raise Forbidden(
                f"this needs one of the capabilities {describe(capabilities)}, which your "
                f"account ({user.role}) does not have"
            )
        return user

    return check


OptionalUserDep = Annotated[User | None, Depends(current_user)]
UserDep = Annotated[User, Depends(require_user)]
"""Any signed-in user (shared layers: areas, zones, places, walk routes)."""
ReporterDep = Annotated[User, Depends(require(Capability.REPORT))]
ReportReaderDep = Annotated[User, Depends(require(Capability.READ_REPORTS))]
"""Single reports with point and time: never partners (DESIGN.md decision 8)."""
AggregateReaderDep = Annotated[User, Depends(require(Capability.READ_AGGREGATES))]
AnalystDep = Annotated[User, Depends(require(Capability.ANALYSE))]
RoutePlanDep = Annotated[User, Depends(require(Capability.PLAN_ROUTES))]
DrawerDep = Annotated[User, Depends(require(Capability.DRAW))]
TriageDep = Annotated[User, Depends(require(Capability.TRIAGE))]
ExporterDep = Annotated[User, Depends(require(Capability.EXPORT_PARTNER))]
"""The meeting export; the detail profile also needs ``EXPORT_DETAIL`` (`api.meeting.check`)."""
AuditReaderDep = Annotated[User, Depends(require(Capability.READ_AUDIT))]
AdminDep = Annotated[User, Depends(require(Capability.ADMINISTER))]
FollowUpDep = Annotated[User, Depends(require(Capability.FOLLOW_UP))]
"""Organisations, agreements, the ledger and the follow-up (read)."""
ApproverDep = Annotated[User, Depends(require(Capability.APPROVE_WALK))]
"""Approve or reject a reported walk (four eyes: `geo.db.approvals`)."""
WalkPlannerDep = Annotated[User, Depends(require(Capability.SCHEDULE_WALKS))]
"""Create, change and cancel walks; flags and plan vs walked."""
WalkerDep = Annotated[User, Depends(require(Capability.TAKE_PART))]
"""Sign up, start, end, record and report back the walks of one's own club."""
WalkReaderDep = Annotated[User, Depends(require(Capability.READ_WALKS))]
"""Single walks: never partners."""
WalkCountsDep = Annotated[User, Depends(require(Capability.READ_WALK_COUNTS))]
"""The walk list: partners get the counts per status only."""
WalkTrackDep = Annotated[
    User, Depends(require_any(Capability.TAKE_PART, Capability.SCHEDULE_WALKS))
]
"""Upload a walk's track: a walker of the club or a planner."""
