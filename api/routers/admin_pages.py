"""The admins' pages (Swedish): an index, accounts, organisations, agreements, categories and
each area's numbers to call.

Each page is a Jinja2 template with a small config; its ES module (``api/static/admin/``)
fetches what it lists from the API and sends the changes there, so that the API alone checks
and audits them. Someone signed in without ``ADMINISTER`` gets the 403 page, as on /plan.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from api.deps import SettingsDep
from api.headers import page_response
from api.routers.pages import ROLES_SV, render
from api.security import OptionalUserDep
from geo.capabilities import Capability
from geo.db.accounts import User

router = APIRouter(tags=["pages"], include_in_schema=False)

# path → (title, what the index says of it); in the index's and the menu's order.
PAGES_SV = {
    "users": ("Konton", "Lägg till konton, ändra roll och förening, stäng av konton."),
    "organisations": ("Organisationer", "Föreningar, förvaltningar och deras samband."),
    "agreements": ("Avtal", "Överenskommelser och IOP: parter, period, ersättning."),
    "categories": ("Kategorier", "Avvikelsekategorier: namn, färg, vikt, aktiv."),
    "areas": ("Områden", "Telefonnummer som nattvandrarna ringer under passet."),
}
ORG_KINDS_SV = {
    "district": "förvaltning",
    "club": "förening",
    "police": "polis",
    "property_owner": "fastighetsägare",
    "foundation": "stiftelse",
    "other": "annan",
}
AGREEMENT_KINDS_SV = {"agreement": "överenskommelse", "iop": "IOP"}
COMPENSATION_SV = {"per_walk": "per genomfört pass", "grant": "fast bidrag"}


def _page(user: User | None, page: str) -> Response | None:
    """The sign-in redirect or the 403 page, or None when ``user`` is an admin."""
    path = "/admin" + (f"/{page}" if page else "")
    if user is None:
        return RedirectResponse(f"/login?next={path}", status_code=303)
    if not user.can(Capability.ADMINISTER):
        refused = render(
            "message.html",
            title="Administrationen är till för administratörer",
            text=(
                "Ditt konto har inte behörighet att administrera. Lägesbilden finns på startsidan."
            ),
        )
        return page_response(refused, tile_url=None, status_code=403)
    return None


def _render(user: User, page: str, **config: Any) -> Response:
    title = PAGES_SV[page][0] if page else "Administration"
    html = render(
        f"admin_{page or 'index'}.html",
        title=f"Nattvandring – {title.lower()}",
        heading=title,
        page=page,
        pages=PAGES_SV,
        who=f"{user.email} ({ROLES_SV.get(user.role, user.role)})",
        config={
            "page": page,
            "user": {"id": user.id, "email": user.email},
            "roles": ROLES_SV,
            **config,
        },
        roles=ROLES_SV,
        org_kinds=ORG_KINDS_SV,
        agreement_kinds=AGREEMENT_KINDS_SV,
        compensation=COMPENSATION_SV,
    )
    return page_response(html, tile_url=None)


@router.get("/admin")
def admin_index(settings: SettingsDep, user: OptionalUserDep) -> Response:
    """The admins' start page: what each admin page is for."""
    refused = _page(user, "")
    if refused is not None:
        return refused
    assert user is not None
    return _render(user, "")


@router.get("/admin/{page}")
def admin_page(settings: SettingsDep, user: OptionalUserDep, page: str) -> Response:
    """One admin page (users, organisations, agreements, categories, areas)."""
    if page not in PAGES_SV:
        missing = render("message.html", title="Sidan finns inte", text="Den sidan finns inte.")
        return page_response(missing, tile_url=None, status_code=404)
    refused = _page(user, page)
    if refused is not None:
        return refused
    assert user is not None
    return _render(
        user,
        page,
        org_kinds=ORG_KINDS_SV,
        agreement_kinds=AGREEMENT_KINDS_SV,
        compensation=COMPENSATION_SV,
    )
