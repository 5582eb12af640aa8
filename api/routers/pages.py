"""Web pages (Swedish): sign-in, sign-out, the situation map and the planners' map.

Each page is a Jinja2 template (``api/templates``, autoescaped) with a small config in a
``<script type="application/json">`` block; the app's ES modules (``api/static``) draw the map
and fetch every layer from the API, so no page carries places or districts, and no page has an
inline script.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from api.app_paths import STATIC_DIR, TEMPLATES_DIR, static_prefix, static_url, static_version
from api.bodies import BodyRoute
from api.deps import ConnDep, SettingsDep
from api.guard import SESSION_COOKIE, client_address
from api.headers import page_response
from api.routers.deviations import FirstList, first_list
from api.security import OptionalUserDep
from api.settings import AppSettings
from geo.capabilities import Capability
from geo.db import areas, categories, streets, walk_routes
from geo.db.accounts import (
    SESSION_TTL,
    TooManyAttempts,
    Unauthorized,
    User,
    authenticate,
    issue_token,
    revoke_token,
)
from geo.errors import NotFound
from geo.geometry import BBox
from geo.privacy import MIN_PARTNER_COUNT
from maps.leaflet import bounds_latlon
from maps.places import PLACE_COLOURS, PLACE_KINDS_SV

# BodyRoute: the sign-in form's fields are checked for text PostgreSQL cannot hold (api.bodies).
router = APIRouter(tags=["pages"], include_in_schema=False, route_class=BodyRoute)

DEFAULT_DAYS = 14
# The kinds of place a route plan may start from (filled in by plan.js from /api/v1/places).
START_PLACE_KINDS = ("station", "stop", "school", "meeting_point")

ROLES_SV = {
    "walker": "nattvandrare",
    "planner": "planerare",
    "partner": "partner",
    "admin": "administratör",
}
# The map's layers with their Swedish titles, in the layer control's order. A page shows those
# its config lists under "layers" (a partner's map will list aggregated layers only).
LAYER_TITLES_SV = {
    "streets": "Gator",
    "areas": "Stadsdelar",
    "zones": "Platssamverkanszoner",
    "places": "Platser",
    "deviations": "Avvikelser",
    "routes": "Kvällens rutt",
    "aggregates": "Avvikelser per zon och ruta",
}
DAY_BUTTONS = ((1, "24 h"), (7, "7 d"), (14, "14 d"), (30, "30 d"))
SEVERITIES_SV = ((1, "Låg"), (2, "Medel"), (3, "Hög"))
TIME_OF_WEEK_SV = (
    ("", "Alla tider"),
    ("fri-sat|20-02", "Fre–lör 20–02"),
    ("|20-02", "Alla kvällar 20–02"),
    ("mon-thu|18-24", "Mån–tor 18–24"),
    ("sat-sun|", "Helger, hela dygnet"),
)
ANALYSIS_PERIODS_SV = (
    ("30", "Senaste 30 dagarna"),
    ("90", "Senaste 90 dagarna"),
    ("180", "Senaste halvåret"),
    ("365", "Senaste året"),
)
PLAN_PERIODS_SV = (("30", "30 dagar"), ("90", "90 dagar"), ("180", "halvår"), ("365", "år"))
# The planners' triage list (issue 15): the period of the reports, and their status.
TRIAGE_PERIODS_SV = (("7", "7 dagar"), ("30", "30 dagar"), ("90", "90 dagar"), ("365", "år"))
TRIAGE_STATUSES_SV = (
    ("new", "Nya"),
    ("confirmed", "Bekräftade"),
    ("dismissed", "Avfärdade"),
    ("", "Alla"),
)
EXPORT_FORMATS_SV = (
    ("gpkg", "GeoPackage (QGIS, ArcGIS)"),
    ("pdf", "Mötesrapport (PDF)"),
    ("html", "Karta (HTML, fungerar utan nät)"),
    ("kml", "KML (Google Earth)"),
    ("geojson", "GeoJSON (zip)"),
    ("shp", "Shapefile (zip)"),
    ("csv", "CSV (avvikelser)"),
)
EXPORT_PROFILES_SV = (
    ("partner", "Partner (polis, fastighetsägare): sammanställt, utan personuppgifter"),
    ("detail", "Detalj (planerare): enskilda rapporter utan rapportör"),
)

# The report back's choices (geo.walks.ReportIn) in the form's order.
MOODS_SV = (("calm", "lugnt"), ("mixed", "blandat"), ("unsettled", "oroligt"))
REPORT_CONTACTS_SV = (
    ("field_workers", "fältassistenter"),
    ("police", "polis"),
    ("ambulance", "ambulans"),
    ("parents", "föräldrar"),
    ("school", "skola"),
)
WALK_STATUSES_SV = (
    ("planned", "planerad"),
    ("ongoing", "pågår"),
    ("reported", "återrapporterad"),
    ("approved", "godkänd"),
    ("rejected", "avslagen"),
    ("cancelled", "inställd"),
)

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


# Versioned URLs of the static files (`api.app_paths.static_url`): {{ static("map.css") }}.
_templates.globals["static"] = static_url


@functools.cache
def inline_css(path: str) -> Markup:
    """A static stylesheet's text for a ``<style>`` element, its relative ``url(…)``s made
    absolute (versioned) as they were relative to the file. For the situation page, whose
    first paint then waits for no stylesheet request (and whose few connections go to the
    scripts)."""
    text = (STATIC_DIR / path).read_text(encoding="utf-8")
    folder = path.rpartition("/")[0]

    def absolute(m: re.Match[str]) -> str:
        target = m.group(1).strip("'\"")
        if target.startswith(("#", "data:", "/", "http:", "https:")):
            return m.group(0)
        return f"url({static_url(f'{folder}/{target}' if folder else target)})"

    css = re.sub(r"url\(([^)]*)\)", absolute, text)
    if "</style" in css.lower():
        raise ValueError(f"{path} cannot be inlined: it holds </style")
    return Markup(css)  # noqa: S704 (our own static file, checked not to end the element)


_templates.globals["inline_css"] = inline_css


def render(name: str, **context: Any) -> str:
    """One page from ``api/templates`` (autoescaped: every value reaches the page as text)."""
    return _templates.get_template(name).render(**context)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host`` or ``scheme:``), so the sign-in page cannot be
    used to send someone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(*, error: str = "", email: str = "", next_url: str = "/") -> str:
    return render(
        "login.html", title="Logga in – Nattvandring", error=error, email=email, next_url=next_url
    )


def _message_page(title: str, text: str) -> str:
    return render("message.html", title=title, text=text)


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
        user = authenticate(conn, username, password, address=client_address(request))
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
def service_worker(settings: SettingsDep) -> Response:
    """The service worker, served from the root so that it may control the map page."""
    # The worker keeps the files of this version of the pages (their versioned URLs), in a
    # cache named after it: a release makes a new worker, which drops the old cache. The tile
    # server's URL template goes in as a JSON string (the worker keeps the tiles seen).
    text = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    text = text.replace('"__TILE_URL__"', json.dumps(settings.tile_url or ""))
    return Response(
        text.replace("__STATIC__", static_prefix()),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


def _user_config(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "organisation": user.organisation,
    }


def _map_config(conn: ConnDep, settings: AppSettings, user: User) -> dict[str, Any]:
    """What every map page's script needs besides the layers (which it fetches): who is
    signed in, the area to show first, the base map, the categories and the place kinds."""
    try:
        focus = json.loads(areas.area_geojson(conn, settings.default_area))
    except NotFound:
        focus = None  # no demo data loaded: the script fits the map to whatever areas there are
    return {
        "user": _user_config(user),
        "can_plan": user.can(Capability.DRAW),
        "area": settings.default_area,
        "area_name": focus["properties"]["name"] if focus else None,
        "bounds": bounds_latlon(focus) if focus else None,
        "tile_url": settings.tile_url or None,
        "tile_attribution": settings.tile_attribution,
        "categories": [
            {"code": c["code"], "name_sv": c["name_sv"], "colour": c["colour"]}
            for c in categories.categories_json(conn)
        ],
        "place_kinds": {
            kind: {"name_sv": PLACE_KINDS_SV[kind], "colour": colour}
            for kind, colour in PLACE_COLOURS.items()
        },
    }


def _layers(names: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"id": name, "title": LAYER_TITLES_SV[name]} for name in names]


THEME_COOKIE = "nv_theme"


def theme_of(request: Request) -> str:
    """The walker's chosen theme (``dark``/``light``, the cookie the page's switch sets), or ""
    to follow the system's (``prefers-color-scheme``)."""
    theme = request.cookies.get(THEME_COOKIE, "")
    return theme if theme in ("dark", "light") else ""


def _map_page(
    template: str,
    config: dict[str, Any],
    *,
    title: str,
    banner: str,
    theme: str = "",
    first_list: Markup | None = None,
) -> str:
    user = config["user"]
    return render(
        template,
        first_list=first_list,
        theme=theme,
        title=title,
        banner=banner,
        focus_name=config["area_name"],
        who=f"{user['email']} ({ROLES_SV.get(user['role'], user['role'])})",
        config=config,
        day_buttons=DAY_BUTTONS,
        severities=SEVERITIES_SV,
        time_of_week=TIME_OF_WEEK_SV,
        analysis_periods=ANALYSIS_PERIODS_SV,
        plan_periods=PLAN_PERIODS_SV,
        triage_periods=TRIAGE_PERIODS_SV,
        triage_statuses=TRIAGE_STATUSES_SV,
        export_formats=EXPORT_FORMATS_SV,
        export_profiles=EXPORT_PROFILES_SV,
        can_plan=config["can_plan"],
        can_administer=config.get("can_administer", False),
        moods=MOODS_SV,
        report_contacts=REPORT_CONTACTS_SV,
        area_options=[
            (a["slug"], a["name"] + f" (gatunät: {coverage_text(a['coverage'])})")
            if "coverage" in a
            else (a["slug"], a["name"])
            for a in config.get("areas", ())
        ],
    )


def coverage_text(share: float) -> str:
    """A share of an area covered by the street network as the area list shows it: "48 %"
    (a share above 0 but under 1 % is "under 1 %", so that it does not read as none)."""
    if 0 < share < 0.005:
        return "under 1 %"
    return f"{round(share * 100)} %"


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
    area_rows = streets.area_coverage(conn)
    config = {
        **_map_config(conn, settings, user),
        "mode": "plan",
        "layers": _layers(("areas", "zones", "places")),
        "areas": [
            {"slug": r.slug, "name": r.name, "network": r.share > 0, "coverage": r.share}
            for r in area_rows
        ],
        "start_place_kinds": list(START_PLACE_KINDS),
        "can_administer": user.can(Capability.ADMINISTER),
    }
    page = _map_page("plan.html", config, title="Nattvandring – planering", banner="planering")
    return page_response(page, tile_url=settings.tile_url or None)


@router.get("/plan/walks")
def walks_page(conn: ConnDep, settings: SettingsDep, user: OptionalUserDep) -> Response:
    """The planners' walks page: the week and the season as a list and a calendar, filtered by
    club, area and status; each walk with its sign-ups, report and track against its planned
    route; walks short of walkers and walks not reported flagged."""
    if user is None:
        return RedirectResponse("/login?next=/plan/walks", status_code=303)
    if not user.can(Capability.SCHEDULE_WALKS):
        page = _message_page(
            "Passen är till för planerare",
            "Ditt konto har inte behörighet att planera pass. Dina egna pass finns på startsidan.",
        )
        return page_response(page, tile_url=None, status_code=403)
    config = {
        **_map_config(conn, settings, user),
        "mode": "walks",
        "layers": _layers(("areas",)),
        "statuses": dict(WALK_STATUSES_SV),
        "moods": dict(MOODS_SV),
        "contacts": dict(REPORT_CONTACTS_SV),
    }
    page = render(
        "walks.html",
        title="Nattvandring – pass",
        who=f"{user.email} ({ROLES_SV.get(user.role, user.role)})",
        config=config,
        statuses=WALK_STATUSES_SV,
        area_options=[(r[0], r[1]) for r in areas.areas_with_network(conn)],
    )
    return page_response(page, tile_url=settings.tile_url or None)


def _partner_page(conn: ConnDep, settings: AppSettings, user: User, *, theme: str) -> Response:
    """The partners' page at ``/``: aggregates, hot spots and the meeting export only (DESIGN.md
    decision 8); its data comes from the aggregate APIs, which give no single report."""
    config = {
        **_map_config(conn, settings, user),
        "mode": "partner",
        "layers": _layers(("areas", "zones")),
        "default_days": 90,
    }
    page = render(
        "partner.html",
        theme=theme,
        title="Nattvandring – lägesbild för samverkanspartner",
        focus_name=config["area_name"],
        who=f"{user.email} ({ROLES_SV.get(user.role, user.role)})",
        config=config,
        export_formats=EXPORT_FORMATS_SV,
        min_count=MIN_PARTNER_COUNT,
    )
    return page_response(page, tile_url=settings.tile_url or None)


@router.get("/")
def situation_map(
    request: Request, conn: ConnDep, settings: SettingsDep, user: OptionalUserDep
) -> Response:
    """The situation map (lägesbild): areas, zones, places, recent deviations, tonight's routes
    and "Rapportera avvikelse". Anonymous visitors are sent to the sign-in page."""
    if user is None:
        return RedirectResponse("/login?next=/", status_code=303)
    reads_reports = user.can(Capability.READ_REPORTS)
    if not reads_reports:
        return _partner_page(conn, settings, user, theme=theme_of(request))
    config = {
        **_map_config(conn, settings, user),
        "mode": "situation",
        "layers": _layers(("streets", "areas", "zones", "places", "deviations", "routes")),
        "can_report": user.can(Capability.REPORT),
        "can_analyse": user.can(Capability.ANALYSE),
        # "Min vandring ikväll" and the sign-up list: those who walk (staff schedule walks on
        # /plan/walks instead).
        "walks": user.can(Capability.TAKE_PART),
        # Tonight's routes (a few lines) travel with the page, so that the map the service
        # worker keeps for a night without network still shows them.
        "routes": (json.loads(walk_routes.tonight_routes_geojson(conn, now=datetime.now(UTC)))),
        "default_days": DEFAULT_DAYS,
    }
    first = _first_deviations(conn, user, config)
    if first is not None:
        config["first_list"] = {
            "url": first.url,
            "etag": first.etag,
            "fetched_at": datetime.now(UTC).isoformat(),
        }
    page = _map_page(
        "situation.html",
        config,
        title="Nattvandring – lägesbild",
        banner="lägesbild",
        theme=theme_of(request),
        first_list=_json_data(first.geojson) if first is not None else None,
    )
    # The page carries reports (and the walker's club's notes): kept by no HTTP cache (the
    # service worker keeps its own copy for a night without network, and opens it at once on
    # the next visit: only a copy of its own version of the static files, which says this).
    response = page_response(page, tile_url=settings.tile_url or None)
    response.headers["Cache-Control"] = "no-store"
    response.headers[PAGE_VERSION_HEADER] = static_version()
    return response


PAGE_VERSION_HEADER = "X-Nv-Static-Version"
"""The header that names the static files' version a situation page uses (`sw.js` keeps only a
page of its own version)."""


FIRST_LIST_MARGIN = (0.12, 0.1)
"""Degrees of longitude and latitude around the first area's box that the page's first list
covers: more than the view a phone (portrait: tall) or a desktop up to about 1,300 px wide opens
on it, padded as the page pads it (half the view on each side), so that the page's first query
lies inside it (`tests/api/test_night_map.py`); a wider view queries its own box."""


def _first_deviations(conn: ConnDep, user: User, config: dict[str, Any]) -> FirstList | None:
    """The reports the page shows first, carried in it (`api.routers.deviations.first_list`):
    the default period from the start of its hour, around the first area; None without one."""
    bounds = config.get("bounds")
    if not bounds:
        return None
    (south, west), (north, east) = bounds
    dlon, dlat = FIRST_LIST_MARGIN
    box = BBox(west - dlon, south - dlat, east + dlon, north + dlat)
    now = datetime.now(UTC)
    start = (now - timedelta(days=DEFAULT_DAYS)).replace(minute=0, second=0, microsecond=0)
    return first_list(conn, user, bbox=box, since=start)


def _json_data(text: str) -> Markup:
    """JSON text for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` as
    escapes (only inside strings can JSON have them), so that no text closes the block."""
    safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(safe)  # noqa: S704 (escaped above: the block's text cannot end it)
