"""The situation map (lägesbild) as a folium/Leaflet page, composed from GeoJSON layers.

Pure composition: layers in, HTML out. Every script and stylesheet is served by the app itself
under ``static_url`` (walkers' phones talk to no third party and a closed network works); only the
base-map tiles come from the configurable ``tile_url``.
"""

from __future__ import annotations

import html
from typing import Any

import folium
from branca.element import Element

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
) -> str:
    """Render the situation map as a complete HTML page.

    Parameters
    ----------
    areas, zones, places
        GeoJSON FeatureCollections in WGS 84 (as the API returns them).
    focus
        The area Feature to fit the view to; all areas when None.
    tile_url
        A ``{z}/{x}/{y}`` tile URL template, or None for no base map (closed networks).
    """
    m = folium.Map(location=None, tiles=None, control_scale=True, prefer_canvas=False)
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
        },  # fmt: skip
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
            marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.9, weight=1),
            style_function=lambda f: {
                "color": "#ffffff",
                "fillColor": PLACE_COLOURS.get(f["properties"]["kind"], "#666666"),
            },
            tooltip=folium.GeoJsonTooltip(fields=["name", "kind_sv"], aliases=["Plats", "Typ"]),
        ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)

    fit = focus if focus is not None else areas
    bounds = bounds_latlon(fit)
    if bounds is not None:
        m.fit_bounds(bounds)
    m.get_root().html.add_child(  # type: ignore[attr-defined]
        Element(
            '<div class="nv-banner"><strong>Nattvandring</strong> · lägesbild'
            + (f" · {html.escape(focus['properties']['name'])}" if focus else "")
            + "</div>"
        )
    )
    page: str = root.render()
    return page.replace("<html>", '<html lang="sv">', 1)
