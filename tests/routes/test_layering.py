"""The routes package's layering (STYLE.md): it uses geo, never api or maps, and only its
store and OSM reader touch the database or files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from geo.geometry import LonLat

REPO = Path(__file__).resolve().parents[2]
PURE = [
    "network.py",
    "onetoone.py",
    "planner.py",
    "plan_types.py",
    "orienteering.py",
    "snap.py",
    "gpx.py",
    "errors.py",
]
IO_MODULES = {"psycopg", "psycopg_pool", "fastapi", "httpx", "requests", "subprocess", "osmium"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "routes").glob("*.py")))
def test_routes_uses_no_api_or_maps(name: str) -> None:
    assert not _imports(REPO / "routes" / name) & {"api", "maps"}


@pytest.mark.parametrize("name", PURE)
def test_pure_route_modules_do_no_io(name: str) -> None:
    path = REPO / "routes" / name
    assert not _imports(path) & IO_MODULES
    assert "open(" not in path.read_text(encoding="utf-8")


def _defines(node: ast.AST, name: str) -> bool:
    """Whether ``node`` binds ``name`` at its own level (a class, an assignment, an alias)."""
    if isinstance(node, ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return False
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)


def test_lonlat_is_defined_once() -> None:
    """``LonLat`` means one thing, a WGS 84 (lon, lat) pair, defined in `geo.geometry` alone."""
    defined = [
        path.relative_to(REPO).as_posix()
        for package in ("geo", "routes", "maps", "api", "bench")
        for path in sorted((REPO / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _defines(node, "LonLat")
    ]
    assert defined == ["geo/geometry.py"]
    assert LonLat == tuple[float, float]
