"""The layering in STYLE.md: geo depends on no other package of ours, and pure modules do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PURE = [
    "geo/geometry.py",
    "geo/synthetic.py",
    "geo/analysis.py",
    "geo/heat.py",
    "geo/heat_image.py",
    "geo/isopleths.py",
    "geo/hotspots.py",
    "geo/grid.py",
    "geo/timeofweek.py",
    "geo/privacy.py",
    "routes/densify.py",
    "maps/html_map.py",
    "maps/places.py",
    "maps/leaflet.py",
    "maps/kml.py",
    "maps/formatting.py",
]
IO_MODULES = {"psycopg", "psycopg_pool", "fastapi", "httpx", "requests", "subprocess"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO) for p in (REPO / "geo").rglob("*.py")))
def test_geo_depends_on_no_other_package_of_ours(path: Path) -> None:
    assert not _imports(REPO / path) & {"routes", "api", "maps"}


@pytest.mark.parametrize("path", PURE)
def test_pure_modules_do_no_database_or_network_io(path: str) -> None:
    imported = _imports(REPO / path)
    assert not imported & IO_MODULES
    assert "open(" not in (REPO / path).read_text(encoding="utf-8")
