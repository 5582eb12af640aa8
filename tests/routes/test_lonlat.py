"""One meaning for ``LonLat`` across the code base (the packages' layering as a whole is
`tests/test_architecture.py`'s)."""

from __future__ import annotations

import ast
from pathlib import Path

from geo.geometry import LonLat

REPO = Path(__file__).resolve().parents[2]


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
