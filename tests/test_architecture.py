"""The layering of STYLE.md, for every module of the four packages (deny by default).

- Only the database package (``geo/db/``) and ``api/`` (the web app and the CLI) may import
  database drivers, processes or network code.
- ``geo/`` imports nothing from ``routes/``, ``maps/`` or ``api/``; ``routes/`` and ``maps/``
  nothing from ``api/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "routes", "maps", "api")
# Imports that do I/O with a database, another process or the network.
IO_MODULES = (
    "psycopg",
    "psycopg_pool",
    "subprocess",
    "socket",
    "http",
    "urllib.request",
    "httpx",
    "requests",
    "aiohttp",
    "fastapi",
    "starlette",
    "uvicorn",
)
MAY_DO_IO = ("geo/db/", "api/")
# Beyond that, one module may run one thing: the OSM reader runs libosmium's pass over the file
# in a process of its own (`routes.osm_pass`: the pass holds the GIL, the tags are read meanwhile).
MAY_RUN_A_PROCESS = {"routes/osm.py": {"subprocess"}}
FORBIDDEN_PACKAGES = {
    "geo": {"routes", "maps", "api"},
    "routes": {"api"},
    "maps": {"api"},
    "api": set(),
}


def imported_modules(source: str) -> set[str]:
    """Dotted names of every absolute import in ``source`` (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(relative_path: str, source: str) -> list[str]:
    """What a module at ``relative_path`` (e.g. ``geo/heat.py``) with ``source`` breaks."""
    imported = imported_modules(source)
    found = []
    if not relative_path.startswith(MAY_DO_IO):
        found += [
            f"imports {name} (only geo/db/ and api/ do I/O)"
            for name in sorted(imported)
            if any(_matches(name, io) for io in IO_MODULES)
            and name not in MAY_RUN_A_PROCESS.get(relative_path, set())
        ]
    package = relative_path.split("/", 1)[0]
    found += [
        f"imports {name} ({package}/ may not depend on {name.split('.')[0]}/)"
        for name in sorted(imported)
        if name.split(".")[0] in FORBIDDEN_PACKAGES[package]
    ]
    return found


MODULES = sorted(
    str(p.relative_to(REPO)) for package in PACKAGES for p in (REPO / package).rglob("*.py")
)


def test_every_module_of_the_four_packages_is_checked() -> None:
    assert len(MODULES) > 60
    for sub in ("geo/db/areas.py", "geo/heat.py", "routes/planner.py", "maps/report.py"):
        assert sub in MODULES


@pytest.mark.parametrize("path", MODULES)
def test_module_keeps_to_its_layer(path: str) -> None:
    assert violations(path, (REPO / path).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("geo/heat.py", "import psycopg\n"),
        ("geo/heat.py", "def f():\n    from psycopg import sql\n"),
        ("routes/planner.py", "import subprocess\n"),
        ("maps/report.py", "from urllib.request import urlopen\n"),
        ("maps/report.py", "from fastapi import Response\n"),
        ("geo/grid.py", "from routes.network import StreetNetwork\n"),
        ("geo/db/areas.py", "from maps import styles\n"),
        ("routes/snap.py", "from api.deps import ConnDep\n"),
        ("maps/export.py", "import api.meeting\n"),
    ],
)
def test_the_check_finds_a_forbidden_import(path: str, source: str) -> None:
    """The rule itself: each of these would pass unnoticed if the check were broken."""
    assert violations(path, source)


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("geo/db/areas.py", "import psycopg\nfrom psycopg import sql\n"),
        ("api/cli.py", "import subprocess\nfrom routes import network_io\n"),
        ("routes/network_io.py", "from geo.db import Connection, streets\n"),
        ("maps/export.py", "from urllib.parse import quote\nimport sqlite3\n"),
    ],
)
def test_the_check_allows_what_the_layers_allow(path: str, source: str) -> None:
    assert violations(path, source) == []


# The GeoPackage writer fills its ``layer_styles`` table through sqlite3: a file, not PostGIS.
SQL_OUTSIDE_DB_ALLOWED = {"maps/export.py"}


def test_every_sql_statement_lives_in_the_database_package() -> None:
    runs_sql = [
        path
        for path in MODULES
        if not path.startswith("geo/db/")
        and path not in SQL_OUTSIDE_DB_ALLOWED
        and any(
            call in (REPO / path).read_text(encoding="utf-8")
            for call in (".execute(", ".executemany(", ".cursor(", "cur.copy(")
        )
    ]
    assert runs_sql == []
