"""Where the app's own files are, and the vendored Leaflet for self-contained HTML maps."""

from __future__ import annotations

import base64
import hashlib
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


@cache
def static_version() -> str:
    """A hash of every file under ``api/static`` (names and contents): the version in the URLs
    of the pages' scripts, styles and images (`static_url`). A file served under it never
    changes, so browsers keep it for a year without asking again; a release that changes any
    file changes the version, and the pages ask for the new URLs. Computed once, on first use."""
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def static_prefix() -> str:
    """The versioned root of the static files, e.g. ``/static/v/1a2b3c4d5e6f``."""
    return f"/static/v/{static_version()}"


def static_url(path: str) -> str:
    """The versioned URL of a static file: ``static_url("situation.js")``."""
    return f"{static_prefix()}/{path.lstrip('/')}"
