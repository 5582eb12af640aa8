"""The situation map (lägesbild) as a folium/Leaflet page, composed from GeoJSON layers.

Pure composition: layers in, HTML out. Every script and stylesheet is served by the app itself
under ``static_url`` (walkers' phones talk to no third party and a closed network works); only the
base-map tiles come from the configurable ``tile_url``.
"""

from __future__ import annotations

import html
import json
from typing import Any

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from maps.leaflet import bounds_latlon

PLACE_COLOURS = {
    "station": "#b30000",
    "stop": "#005b9f",
    "school": "#7b3294",
    "playground": "#1a9850",
    "library": "#8c510a",
    "shop": "#d95f02",
    "food": "#e6ab02",
    "sport": "#66a61e",
    "health": "#e7298a",
    "meeting_point": "#000000",
    "other": "#666666",
}

PLACE_KINDS_SV = {
    "station": "Station",
    "stop": "Hållplats",
    "school": "Skola",
    "playground": "Lekplats",
    "library": "Bibliotek",
    "shop": "Butik",
    "food": "Mat och café",
    "sport": "Idrott och gym",
    "health": "Vård",
    "meeting_point": "Mötesplats",
    "other": "Övrigt",
}


def _local_assets(m: folium.Map, static_url: str) -> None:
    """Point folium at the app's own copy of Leaflet instead of public CDNs."""
    m.default_js = [("leaflet", f"{static_url}/vendor/leaflet/leaflet.js")]
    m.default_css = [
        ("leaflet_css", f"{static_url}/vendor/leaflet/leaflet.css"),
        ("nattvandring_css", f"{static_url}/map.css"),
    ]


def situation_map_html(
    *,
    areas: dict[str, Any],
    zones: dict[str, Any],
    places: dict[str, Any],
    focus: dict[str, Any] | None = None,
    tile_url: str | None,
    tile_attribution: str,
    static_url: str = "/static",
    title: str = "Nattvandring – lägesbild",
    app: dict[str, Any] | None = None,
    mode: str = "situation",
) -> str:
    """Render the situation map as a complete HTML page.

    Parameters
    ----------
    areas, zones, places
        GeoJSON FeatureCollections in WGS 84 (as the API returns them).
    focus
        The area Feature to fit the view to; all areas when None.
    app
        For a signed-in user: ``user`` (id, email, role, organisation), ``categories`` (code,
        name_sv, colour), ``routes`` (tonight's walk routes, a FeatureCollection) and
        ``default_days``. Adds the deviation layer, the filters and "Rapportera avvikelse"
        (``static/situation.js``).
    mode
        ``"situation"`` (the walkers' map) or ``"plan"`` (the planners' map: drawing tools,
        route plans and exports, ``static/plan.js``; ``app`` then also has ``areas``, the
        areas with an imported street network, and ``start_places``).
    tile_url
        A ``{z}/{x}/{y}`` tile URL template, or None for no base map (closed networks).
    """
    # The scale bar is added by the page's script, metric only (it fits above a phone's panel).
    m = folium.Map(location=None, tiles=None, control_scale=False, prefer_canvas=False)
    _local_assets(m, static_url)
    root = m.get_root()
    root.header.add_child(  # type: ignore[attr-defined]
        Element(f'<title>{html.escape(title)}</title><link rel="icon" href="data:,">')
    )
    if tile_url:
        folium.TileLayer(
            tiles=tile_url, attr=tile_attribution, name="Bakgrundskarta", max_zoom=19
        ).add_to(m)

    folium.GeoJson(
        areas,
        name="Stadsdelar",
        style_function=lambda f: {
            "color": "#333333",
            "weight": 2,
            "fillOpacity": 0.03,
            "dashArray": "4 4",
        },
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Stadsdel"]),
    ).add_to(m)
    if zones["features"]:
        folium.GeoJson(
            zones,
            name="Platssamverkanszoner",
            style_function=lambda f: {"color": "#6a3d9a", "weight": 2, "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "description"], aliases=["Zon", "Om zonen"]
            ),
        ).add_to(m)
    if places["features"]:
        for feature in places["features"]:
            kind = feature["properties"]["kind"]
            feature["properties"]["kind_sv"] = PLACE_KINDS_SV.get(kind, kind)
        folium.GeoJson(
            places,
            name="Platser",
            # Small and pale, so that the deviations (drawn larger, dark-edged) stand out.
            marker=folium.CircleMarker(radius=3, fill=True, fill_opacity=0.6, weight=1),
            style_function=lambda f: {
                "color": "#ffffff",
                "fillColor": PLACE_COLOURS.get(f["properties"]["kind"], "#666666"),
            },
            tooltip=folium.GeoJsonTooltip(fields=["name", "kind_sv"], aliases=["Plats", "Typ"]),
        ).add_to(m)
    layer_control = folium.LayerControl(collapsed=True)
    layer_control.add_to(m)
    _ExposeControl(layer_control.get_name()).add_to(m)

    fit = focus if focus is not None else areas
    bounds = bounds_latlon(fit)
    if bounds is not None:
        m.fit_bounds(bounds)
    m.get_root().html.add_child(  # type: ignore[attr-defined]
        Element(
            '<div class="nv-banner"><strong>Nattvandring</strong> · '
            + ("planering" if mode == "plan" else "lägesbild")
            + (f" · {html.escape(focus['properties']['name'])}" if focus else "")
            + "</div>"
        )
    )
    if app is not None:
        config = {**app, "map": m.get_name(), "layer_control": "nvLayerControl", "mode": mode}
        static = html.escape(static_url)
        scripts = ["common.js", "analysis.js", "situation.js"]
        extra = ""
        if mode == "plan":
            scripts = ["vendor/leaflet-draw/leaflet.draw.js", "common.js", "analysis.js", "plan.js"]
            extra = f'<link rel="stylesheet" href="{static}/vendor/leaflet-draw/leaflet.draw.css">'
        root.header.add_child(  # type: ignore[attr-defined]
            Element(
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                + extra
                + "".join(f'<script src="{static}/{name}" defer></script>' for name in scripts)
            )
        )
        chrome = _plan_chrome(config) if mode == "plan" else _chrome(config)
        root.html.add_child(Element(chrome))  # type: ignore[attr-defined]
    page: str = root.render()
    return page.replace("<html>", '<html lang="sv">', 1)


class _ExposeControl(MacroElement):  # type: ignore[misc]
    """Makes folium's layer control reachable from the app's script as ``window.nvLayerControl``
    (folium declares it with ``let``, which is not a property of ``window``)."""

    _template = Template(
        "{% macro script(this, kwargs) %}window.nvLayerControl = {{ this.control }};{% endmacro %}"
    )

    def __init__(self, control: str) -> None:
        super().__init__()
        self._name = "ExposeControl"
        self.control = control


def json_for_script(value: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``</script>`` can end it.

    >>> print(json_for_script({"t": "</script>"}))
    {"t": "\\u003c/script\\u003e"}
    """
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _chrome(config: dict[str, Any]) -> str:
    """The page's controls around the map (Swedish); filled in by ``static/situation.js``."""
    user = config["user"]
    days = "".join(
        f'<button type="button" data-days="{d}"'
        + (' class="nv-active"' if d == config["default_days"] else "")
        + f">{label}</button>"
        for d, label in ((1, "24 h"), (7, "7 d"), (14, "14 d"), (30, "30 d"))
    )
    severities = "".join(
        f'<button type="button" data-severity="{n}"'
        + (' class="nv-active"' if n == 2 else "")
        + f">{label}</button>"
        for n, label in ((1, "Låg"), (2, "Medel"), (3, "Hög"))
    )
    report_button = (
        '<button type="button" id="nv-report-open" class="nv-primary">Rapportera avvikelse</button>'
        if config.get("can_report")
        else ""
    )
    plan_link = '<a href="/plan">Planering</a>' if user["role"] in ("planner", "admin") else ""
    return f"""
{_user_bar(user, links=plan_link)}
<div class="nv-panel">
  <div class="nv-filters" role="group" aria-label="Tidsperiod">{days}
    <select id="nv-category" aria-label="Kategori">
      <option value="">Alla kategorier</option></select>
  </div>
  <div id="nv-status" class="nv-status" aria-live="polite"></div>
  <div id="nv-pending" class="nv-pending" hidden></div>
  {analysis_form(config) if config.get("can_analyse") else ""}
  <div class="nv-actions">
    <button type="button" id="nv-locate">Min position</button>
    {report_button}
  </div>
</div>
<div id="nv-toast" class="nv-toast" role="status" hidden></div>
<section id="nv-report" class="nv-report" hidden aria-label="Rapportera avvikelse">
  <div class="nv-report-head"><strong>Rapportera avvikelse</strong>
    <button type="button" id="nv-report-cancel" aria-label="Avbryt">Avbryt</button></div>
  <div id="nv-report-position" class="nv-report-position"></div>
  <div class="nv-severity" role="group" aria-label="Allvarlighet">Allvarlighet: {severities}</div>
  <textarea id="nv-note" maxlength="2000" rows="2"
    placeholder="Anteckning (frivillig) – skriv den före kategorin"></textarea>
  <div class="nv-hint">Tryck på en kategori för att skicka:</div>
  <div id="nv-report-categories" class="nv-report-categories"></div>
  <div id="nv-report-error" class="nv-error"></div>
</section>
<script type="application/json" id="nv-config">{json_for_script(config)}</script>
"""


TIME_OF_WEEK_SV = (
    ("", "Alla tider"),
    ("fri-sat|20-02", "Fre–lör 20–02"),
    ("|20-02", "Alla kvällar 20–02"),
    ("mon-thu|18-24", "Mån–tor 18–24"),
    ("sat-sun|", "Helger, hela dygnet"),
)


def analysis_form(config: dict[str, Any]) -> str:
    """The heat-map and hot-spot filters (Swedish), read by ``static/analysis.js``."""
    periods = "".join(
        f'<option value="{d}"' + (" selected" if d == 90 else "") + f">Senaste {label}</option>"
        for d, label in ((30, "30 dagarna"), (90, "90 dagarna"), (180, "halvåret"), (365, "året"))
    )
    tows = "".join(f'<option value="{v}">{label}</option>' for v, label in TIME_OF_WEEK_SV)
    return f"""<details class="nv-analysis"><summary>Värmekarta och hot spots</summary>
  <form id="nv-analysis-form" class="nv-analysis-form">
    <label><input type="checkbox" name="show_heat"> Värmekarta</label>
    <label><input type="checkbox" name="show_hot"> Hot spots</label>
    <select name="period" aria-label="Period">{periods}</select>
    <select name="tow" aria-label="Tid på veckan">{tows}</select>
    <label><input type="checkbox" name="compare"> Jämför med föregående period</label>
  </form></details>"""


def _options(items: list[tuple[str, str]], selected: str | None = None) -> str:
    return "".join(
        f'<option value="{html.escape(v)}"'
        + (" selected" if v == selected else "")
        + f">{html.escape(label)}</option>"
        for v, label in items
    )


EXPORT_FORMATS_SV = [
    ("gpkg", "GeoPackage (QGIS, ArcGIS)"),
    ("pdf", "Mötesrapport (PDF)"),
    ("kml", "KML (Google Earth)"),
    ("geojson", "GeoJSON (zip)"),
    ("shp", "Shapefile (zip)"),
    ("csv", "CSV (avvikelser)"),
]
EXPORT_PROFILES_SV = [
    ("partner", "Partner (polis, fastighetsägare): sammanställt, utan personuppgifter"),
    ("detail", "Detalj (planerare): enskilda rapporter utan rapportör"),
]


def _user_bar(user: dict[str, Any], *, links: str) -> str:
    """Who is signed in, links to the other pages and "Logga ut". On a phone the e-mail address
    is shortened, never the button."""
    who = html.escape(f"{user['email']} ({ROLES_SV.get(user['role'], user['role'])})")
    return (
        f'<div class="nv-user"><span class="nv-who" title="{who}">{who}</span>{links}'
        '<form method="post" action="/logout"><button type="submit">Logga ut</button></form>'
        "</div>"
    )


def _plan_chrome(config: dict[str, Any]) -> str:
    """The planners' panel (Swedish): route plans, drawing, heat map and hot spots, export."""
    user = config["user"]
    areas = _options(
        [
            (a["slug"], a["name"] + ("" if a["network"] else " (inget gatunät)"))
            for a in config["areas"]
        ],
        config["area"],
    )
    starts = _options(
        [(str(p["id"]), f"{p['name']} ({p['kind_sv']})") for p in config["start_places"]]
    )
    periods = _options(
        [("30", "30 dagar"), ("90", "90 dagar"), ("180", "halvår"), ("365", "år")], "90"
    )
    tows = _options(list(TIME_OF_WEEK_SV), "fri-sat|20-02")
    return f"""
{_user_bar(user, links='<a href="/">Lägesbild</a>')}
<aside class="nv-plan-panel" id="nv-plan-panel">
 <details open><summary>Ruttförslag</summary>
  <form id="nv-plan-form" class="nv-form">
   <label>Område <select name="area">{areas}</select></label>
   <label>Start <select name="start"><option value="map">Klicka på kartan</option>{starts}
     </select></label>
   <label>Längd (minuter) <input name="duration" type="number" min="10" max="720" value="120">
   </label>
   <label>Gånghastighet (km/h) <input name="speed" type="number" min="1" max="10" step="0.5"
     value="4"></label>
   <label>Tid vid varje stopp (min) <input name="dwell" type="number" min="0" max="60"
     value="10"></label>
   <label>Hot spots från <select name="period">{periods}</select></label>
   <label>Tid på veckan <select name="tow">{tows}</select></label>
   <button type="submit" class="nv-primary">Föreslå rutt</button>
  </form>
  <div id="nv-plan-status" class="nv-status" aria-live="polite"></div>
  <div id="nv-plan-result"></div>
 </details>
 <details open><summary>Rutter och zoner</summary>
  <div class="nv-form">
   <label><input type="checkbox" id="nv-snap" checked> Följ gatorna (fäst mot gatunätet)</label>
   <div class="nv-row"><button type="button" id="nv-draw-route">Rita rutt</button>
     <button type="button" id="nv-draw-zone">Rita zon</button></div>
   <label>Importera GPX-spår <input type="file" id="nv-gpx-file" accept=".gpx,application/gpx+xml">
   </label>
   <div id="nv-save-drawn" class="nv-save" hidden>
     <label>Namn <input id="nv-drawn-name" maxlength="200"></label>
     <div class="nv-row"><button type="button" id="nv-drawn-save" class="nv-primary">Spara</button>
       <button type="button" id="nv-drawn-cancel">Avbryt</button></div>
   </div>
   <div id="nv-edit-status" class="nv-status" aria-live="polite"></div>
   <ul id="nv-route-list" class="nv-route-list"></ul>
  </div>
 </details>
 <details><summary>Värmekarta och hot spots</summary>
  <form id="nv-analysis-form" class="nv-analysis-form">
    <label><input type="checkbox" name="show_heat"> Värmekarta</label>
    <label><input type="checkbox" name="show_hot"> Hot spots</label>
    <select name="period" aria-label="Period">{periods}</select>
    <select name="tow" aria-label="Tid på veckan">{_options(list(TIME_OF_WEEK_SV))}</select>
    <label><input type="checkbox" name="compare"> Jämför med föregående period</label>
  </form>
 </details>
 <details><summary>Exportera till samverkansmöte</summary>
  <form id="nv-export-form" class="nv-form" method="get" action="/api/v1/exports/meeting">
   <label>Område <select name="area">{areas}</select></label>
   <label>Från <input name="since" type="date" required></label>
   <label>Till och med <input name="until" type="date" required></label>
   <label>Format <select name="format">{_options(EXPORT_FORMATS_SV, "gpkg")}</select></label>
   <label>Profil <select name="profile">{_options(EXPORT_PROFILES_SV, "partner")}</select></label>
   <label><input type="checkbox" name="include_descriptions" value="true">
     Med beskrivningar (bara detaljprofil)</label>
   <div class="nv-row"><button type="button" id="nv-export-preview">Förhandsgranska</button>
     <button type="submit" class="nv-primary">Ladda ner</button></div>
  </form>
  <div id="nv-export-result" class="nv-status" aria-live="polite"></div>
 </details>
</aside>
<div id="nv-toast" class="nv-toast" role="status" hidden></div>
<script type="application/json" id="nv-config">{json_for_script(config)}</script>
"""


ROLES_SV = {
    "walker": "nattvandrare",
    "planner": "planerare",
    "partner": "partner",
    "admin": "administratör",
}
