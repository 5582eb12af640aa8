"""Web pages (Swedish): sign-in, sign-out and the situation map."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.app_paths import STATIC_DIR
from api.deps import ConnDep, SettingsDep
from api.headers import page_response
from api.security import SESSION_COOKIE, OptionalUserDep
from geo.capabilities import Capability
from geo.db import areas, categories, walk_routes
from geo.db.accounts import SESSION_TTL, User, authenticate, issue_token, revoke_token
from geo.errors import NotFound, TooManyAttempts, Unauthorized
from maps.situation import PLACE_KINDS_SV, situation_map_html

router = APIRouter(tags=["pages"], include_in_schema=False)

DEFAULT_DAYS = 14


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host`` or ``scheme:``), so the sign-in page cannot be
    used to send someone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(*, error: str = "", email: str = "", next_url: str = "/") -> str:
    message = f'<p class="nv-error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Logga in – Nattvandring</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/map.css"><script src="/static/login.js" defer></script>
</head><body class="nv-login-body">
<main class="nv-login">
<h1>Nattvandring</h1>
<p>Logga in för att se lägesbilden och rapportera avvikelser.</p>
{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{html.escape(next_url)}">
<label for="email">E-post</label>
<input id="email" name="username" type="email" autocomplete="username" required
       value="{html.escape(email)}">
<label for="password">Lösenord</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="nv-primary">Logga in</button>
</form>
</main></body></html>"""


@router.get("/login")
def login_form(settings: SettingsDep, next: str | None = None) -> Response:  # noqa: A002
    return page_response(_login_page(next_url=_safe_next(next)), tile_url=None)


@router.post("/login")
def login(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",  # noqa: A002
) -> Response:
    """Check the password and set the session cookie (HttpOnly, SameSite=Lax)."""
    target = _safe_next(next)
    try:
        user = authenticate(conn, username, password)
    except TooManyAttempts as exc:
        page = _login_page(
            error=f"För många misslyckade försök. Försök igen om {exc.retry_after_s} sekunder.",
            email=username,
            next_url=target,
        )
        refused = page_response(page, tile_url=None, status_code=429)
        refused.headers["Retry-After"] = str(exc.retry_after_s)
        return refused
    except Unauthorized:
        page = _login_page(error="Fel e-post eller lösenord.", email=username, next_url=target)
        return page_response(page, tile_url=None, status_code=401)
    token = issue_token(conn, user, kind="session")
    response: Response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, conn: ConnDep) -> Response:
    """End the session: the token is deleted on the server and the cookie cleared."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        revoke_token(conn, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker, served from the root so that it may control the map page."""
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


def _base_layers(conn: ConnDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        focus = json.loads(areas.area_geojson(conn, settings.default_area))
    except NotFound:
        focus = None  # no demo data loaded: show whatever areas there are
    return {
        "areas": json.loads(areas.areas_geojson(conn)),
        "zones": json.loads(areas.zones_geojson(conn)),
        "places": json.loads(areas.places_geojson(conn)),
        "focus": focus,
        "tile_url": settings.tile_url or None,
        "tile_attribution": settings.tile_attribution,
    }


def _user_config(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "organisation": user.organisation,
    }


@router.get("/plan")
def planners_map(conn: ConnDep, settings: SettingsDep, user: OptionalUserDep) -> Response:
    """The planners' map: draw and save routes and zones, route plans, heat map and hot spots,
    and the export for collaboration meetings."""
    if user is None:
        return RedirectResponse("/login?next=/plan", status_code=303)
    if not user.can(Capability.DRAW):
        page = _message_page(
            "Planeringskartan är till för planerare",
            "Ditt konto har inte behörighet att planera rutter. Lägesbilden finns på startsidan.",
        )
        return page_response(page, tile_url=None, status_code=403)
    area_rows = areas.areas_with_network(conn)
    places = areas.places_of_kinds(conn, ["station", "stop", "school", "meeting_point"])
    app = {
        "user": _user_config(user),
        "area": settings.default_area,
        "areas": [{"slug": r[0], "name": r[1], "network": r[2]} for r in area_rows],
        "start_places": [
            {"id": r[0], "name": r[1], "kind": r[2], "kind_sv": PLACE_KINDS_SV.get(r[2], r[2])}
            for r in places
        ],
        "categories": [
            {"code": c["code"], "name_sv": c["name_sv"], "colour": c["colour"]}
            for c in categories.categories_json(conn)
        ],
    }
    page = situation_map_html(
        **_base_layers(conn, settings), app=app, mode="plan", title="Nattvandring – planering"
    )
    return page_response(page, tile_url=settings.tile_url or None)


def _message_page(title: str, text: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/map.css"></head><body class="nv-login-body">
<main class="nv-login"><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>
<p><a href="/">Till lägesbilden</a></p></main></body></html>"""


@router.get("/")
def situation_map(conn: ConnDep, settings: SettingsDep, user: OptionalUserDep) -> Response:
    """The situation map (lägesbild): areas, zones, places, recent deviations, tonight's routes
    and "Rapportera avvikelse". Anonymous visitors are sent to the sign-in page."""
    if user is None:
        return RedirectResponse("/login?next=/", status_code=303)
    app = {
        "user": _user_config(user),
        "can_report": user.can(Capability.REPORT),
        "can_analyse": user.can(Capability.ANALYSE),
        "area": settings.default_area,
        "categories": [
            {"code": c["code"], "name_sv": c["name_sv"], "colour": c["colour"]}
            for c in categories.categories_json(conn)
        ],
        "routes": json.loads(walk_routes.tonight_routes_geojson(conn, now=datetime.now(UTC))),
        "default_days": DEFAULT_DAYS,
    }
    page = situation_map_html(**_base_layers(conn, settings), app=app)
    return page_response(page, tile_url=settings.tile_url or None)
