"""User text reaches a page as text (issue 18, item 6): no script of the app writes HTML.

Leaflet puts a *string* tooltip or popup in as HTML, so one built from data (a route's or a
zone's name) must be an element made with ``textContent`` (`el`, `infoBox`); a fixed label or
a formatted time may stay a string.
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
HTML_SINKS = re.compile(r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write")
STRING_CONTENT = re.compile(r"\.(?:bindTooltip|bindPopup|setContent)\(\s*(\"[^\"]*\"[^,)]*)")
SAFE_STRING = re.compile(r'^"[^"]*"(\s*\+\s*(clockFormat|timeFormat)\.format\(.*)?$')


def scripts() -> list[Path]:
    return [p for p in STATIC.rglob("*.js") if "vendor" not in p.parts]


def test_no_script_of_the_app_writes_html() -> None:
    assert len(scripts()) > 5
    found = [
        f"{p.name}: {m.group(0)}" for p in scripts() for m in HTML_SINKS.finditer(p.read_text())
    ]
    assert found == []


def test_tooltips_and_popups_from_data_are_elements() -> None:
    strings = [
        (p.name, m.group(1).strip())
        for p in scripts()
        for m in STRING_CONTENT.finditer(p.read_text())
    ]
    assert strings, "the check finds the fixed labels"
    assert [s for s in strings if not SAFE_STRING.match(s[1])] == []


def test_the_check_finds_a_name_put_in_as_html() -> None:
    bad = '.bindTooltip("Planerad rutt: " + walk.route.name)'
    m = STRING_CONTENT.search(bad)
    assert m is not None and not SAFE_STRING.match(m.group(1).strip())
