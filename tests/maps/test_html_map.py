"""The self-contained HTML map (pure): what it inlines, what it refers to, how text is kept."""

from __future__ import annotations

import re

import pytest

from api.app_paths import leaflet_assets
from maps.html_map import LeafletAssets, meeting_map_html
from maps.layers import places_layer, zones_layer

XSS = "<img src=x onerror=alert(1)>"
ZONES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[18.0, 59.28], [18.01, 59.28], [18.01, 59.29], [18.0, 59.28]]],
            },
            "properties": {"slug": "x", "name": XSS, "area": "solberga"},
        }
    ],
}
PLACES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
            "properties": {"name": "Älvsjö station", "kind": "station"},
        }
    ],
}


def test_the_map_inlines_leaflet_and_refers_to_nothing_outside() -> None:
    assets = leaflet_assets()
    assert "images/" not in assets.css and "data:image/png;base64," in assets.css
    page = meeting_map_html(
        [zones_layer(ZONES), places_layer(PLACES)],
        assets=assets,
        title="Samverkan Solberga",
        metadata={"omrade": "Solberga", "profil": "partner"},
    )
    assert assets.js[:200] in page and '<html lang="sv">' in page
    # No file or address to fetch: no src or href attribute and no url() but data: URIs
    # (Leaflet's own code has a link to leafletjs.com in its attribution: a link, no fetch).
    outside = page.replace(assets.js, "")
    assert re.findall(r"""\s(?:src|href)=["']""", outside) == []
    assert set(re.findall(r"url\((\w+):", page)) <= {"data"}
    assert re.findall(r'<meta name="viewport" content="([^"]*)"', page) == [
        "width=device-width, initial-scale=1"
    ]
    assert "Område: Solberga" in page and "Profil: partner" in page
    assert XSS not in page  # folium's tooltips use innerHTML: the name is escaped first
    assert "Platser" in page and "Platssamverkanszoner" in page  # the layer control


def test_no_script_in_the_data_can_end_leaflet_s_script() -> None:
    page = meeting_map_html(
        [], assets=LeafletAssets(js='var s = "</script><b>";', css=""), title="<Tom>"
    )
    assert "</script><b>" not in page and '"<\\/script><b>"' in page
    assert "<title>&lt;Tom&gt;</title>" in page


def test_metadata_with_an_e_mail_address_is_refused() -> None:
    with pytest.raises(ValueError, match="e-mail"):
        meeting_map_html(
            [zones_layer(ZONES)],
            assets=LeafletAssets(js="", css=""),
            title="t",
            metadata={"skapad_av": "anna@example.org"},
        )
