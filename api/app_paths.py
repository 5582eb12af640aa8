"""Where the app's own files are, and the vendored Leaflet for self-contained HTML maps."""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path

from maps.html_map import LeafletAssets

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
LEAFLET_DIR = STATIC_DIR / "vendor" / "leaflet"
_CSS_IMAGE = re.compile(r"url\((images/[\w.-]+\.png)\)")


@cache
def leaflet_assets() -> LeafletAssets:
    """Leaflet's JS and CSS from the app's vendored copy, the stylesheet's images (the layer
    control's icon, the default marker) inlined as ``data:`` URIs, so that an HTML map made with
    them fetches nothing."""

    def inline(m: re.Match[str]) -> str:
        data = base64.b64encode((LEAFLET_DIR / m.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = _CSS_IMAGE.sub(inline, (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8"))
    return LeafletAssets(js=(LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8"), css=css)
