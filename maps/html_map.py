"""The meeting export as one self-contained HTML map: folium, Leaflet inlined, layers inlined.

Pure composition: layers (`maps.layers.Layer`) and Leaflet's own files in, one HTML document
out. The file opens from ``file://`` with the network off: no base map, no CDN, no image that is
not a ``data:`` URI. This is what folium is for (a map as a document); the app's pages are
templates and ES modules instead.

Folium's tooltips build their table with ``innerHTML``, so every value is HTML-escaped here
before folium sees it: a zone called ``<img src=x onerror=alert(1)>`` shows as that text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import shapely
from shapely.geometry import mapping

from maps.formatting import as_text, metadata_items, prepared_geometries
from maps.layers import Layer
from maps.leaflet import latlon

# 1 mm on paper as pixels on a screen (96 dpi): the layers' styles are given in millimetres.
PX_PER_MM = 96 / 25.4
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')
_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)
METADATA_SV = {
    "omrade": "Område",
    "period_fran": "Från",
    "period_till": "Till och med",
    "profil": "Profil",
    "tidsindelning": "Tidsindelning",
    "sekretess": "Sekretess",
    "skapad": "Skapad",
}


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet's JavaScript and stylesheet, the stylesheet's images already as ``data:`` URIs."""

    js: str
    css: str


def _escaped(value: Any) -> str:
    return html.escape(as_text(value))


def _feature_collection(layer: Layer) -> dict[str, Any]:
    """The layer's rows as GeoJSON with escaped text properties and each row's colour."""
    fields = layer.fields
    features = []
    for row, geom in zip(layer.rows, prepared_geometries(layer), strict=True):
        props: dict[str, Any] = {f.name: _escaped(row.get(f.name)) for f in fields}
        props["_colour"] = layer.style.row_colour(row)
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _add_layer(m: folium.Map, layer: Layer) -> None:
    style = layer.style
    fields = layer.fields
    is_line = "LineString" in layer.geometry_type
    weight = max(1.0, style.stroke_width_mm * PX_PER_MM)

    def style_function(feature: dict[str, Any]) -> dict[str, Any]:
        colour = feature["properties"]["_colour"]
        return {
            "color": colour if is_line else style.stroke,
            "weight": weight * (2 if is_line else 1),
            "fillColor": colour,
            "fillOpacity": style.fill_opacity,
            "className": f"nv-{layer.name}",
        }

    folium.GeoJson(
        _feature_collection(layer),
        name=html.escape(layer.title_sv),
        style_function=style_function,
        marker=folium.CircleMarker(radius=max(3.0, style.size_mm * PX_PER_MM / 2), fill=True)
        if layer.geometry_type.endswith("Point")
        else None,
        tooltip=folium.GeoJsonTooltip(
            fields=[f.name for f in fields], aliases=[html.escape(f.title_sv) for f in fields]
        )
        if fields
        else None,
    ).add_to(m)


def _legend(layers: Sequence[Layer]) -> str:
    """A legend of the categorised layers and a line for each of the others."""
    blocks = []
    for layer in layers:
        style = layer.style
        items = style.legend() or [(style.colour, layer.title_sv)]
        lines = "".join(
            f'<div><span class="nv-swatch" style="background:{html.escape(colour)}"></span>'
            f"{html.escape(label)}</div>"
            for colour, label in items
        )
        blocks.append(f"<details><summary>{html.escape(layer.title_sv)}</summary>{lines}</details>")
    return "".join(blocks)


_CSS = """
.nv-box { position: absolute; z-index: 1000; background: rgba(255,255,255,.95); padding: 6px 10px;
  border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 13px system-ui, sans-serif; }
.nv-head { top: 10px; left: 54px; max-width: 60%; }
.nv-legend-box { bottom: 60px; left: 10px; max-height: 45%; overflow-y: auto; max-width: 260px; }
.nv-swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  border: 1px solid #555; vertical-align: middle; }
.nv-meta { margin: 4px 0 0; font-size: 12px; color: #333; }
"""


def meeting_map_html(
    layers: Sequence[Layer],
    *,
    assets: LeafletAssets,
    title: str,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """One HTML document that shows ``layers`` on a Leaflet map, with nothing to fetch.

    Parameters
    ----------
    layers
        The export's layers (the same the GeoPackage or KML gets for the profile); empty layers
        are left out of the map.
    assets
        Leaflet's JS and CSS, inlined into the document.
    title
        The document's title and heading (Swedish).
    metadata
        The export's metadata (area, period, profile…), shown in the heading; like every export
        it must hold no personal data (`maps.formatting.metadata_items` refuses e-mail addresses).

    Returns
    -------
    str
        The document (UTF-8 text).
    """
    shown = [layer for layer in layers if layer.rows]
    geoms = [row["geometry"] for layer in shown for row in layer.rows]
    m = folium.Map(
        # Stockholm when there is nothing to show: an empty export still opens.
        location=None if geoms else latlon(18.0686, 59.3293),
        zoom_start=11,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
    )
    # Nothing from a CDN: Leaflet comes inline below, and folium's other defaults (jQuery,
    # Bootstrap, awesome-markers) are not used by these layers.
    m.default_js = []
    m.default_css = []
    for layer in shown:
        _add_layer(m, layer)
    folium.LayerControl(collapsed=False).add_to(m)
    if geoms:
        west, south, east, north = (float(v) for v in shapely.total_bounds(geoms))
        m.fit_bounds([latlon(west, south), latlon(east, north)])

    meta = "".join(
        f'<div class="nv-meta">{html.escape(METADATA_SV[k])}: {html.escape(v)}</div>'
        for k, v in metadata_items(metadata)
        if k in METADATA_SV
    )
    chrome = (
        f'<div class="nv-box nv-head"><strong>{html.escape(title)}</strong>{meta}</div>'
        f'<div class="nv-box nv-legend-box">{_legend(shown)}</div>'
    )
    page: str = m.get_root().render()
    # Leaflet is inlined before folium's map script; no "</script" can end its element early.
    js = _SCRIPT_END.sub(r"<\\/\1", assets.js)
    inline = (
        f"<title>{html.escape(title)}</title>\n"
        f"<style>{assets.css}</style>\n<style>{_CSS}</style>\n<script>{js}</script>\n"
    )
    page = page.replace("<head>", "<head>\n" + inline, 1)
    page = page.replace("<body>", "<body>\n" + chrome, 1)
    # Folium's viewport forbids pinch-zoom; a map on a phone needs it.
    page = _VIEWPORT.sub(VIEWPORT, page, count=1)
    return page.replace("<html>", '<html lang="sv">', 1)
