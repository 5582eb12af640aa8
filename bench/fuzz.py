"""Geometry input, property-based (issue 18, item 8): generated reports, routes and zones against
the rules README documents and DESIGN.md decision 4 states.

Hypothesis generates GeoJSON geometries, most of them near Solberga and many of them broken on
purpose (positions out of range, swapped, too few or too many, not numbers; rings that cross
themselves, are not closed, have holes outside; lines without length or longer than 60 km;
points far from every area) and sends each as a deviation report, a walk route or a zone. For
every answer:

- never a 5xx; a 4xx says what is wrong (``detail``) and stores nothing;
- a stored geometry is valid (``ST_IsValid``), within -180..180 / -90..90, and keeps the
  documented rules: a report or route within 2 km of a known area, a route of 2–10,000
  positions and at most 60 km, a zone of at most 10,000 vertices and 50 km² that lies in an area.

``fuzz_geometry`` is the one runner: the CI test (`tests/api/test_geometry_properties.py`) runs a
few hundred examples; this command runs 10,000 (in a database of its own, rolled back).

    .venv/bin/python bench/fuzz.py [--examples 10000]
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

# Solberga and Långbro: where valid input lies (the demo's areas reach a few km around).
LON, LAT = (17.96, 18.06), (59.26, 59.30)
NEAR_AREA_M = 2000
MAX_LENGTH_M = 60_000
MAX_VERTICES = 10_000
MAX_ZONE_KM2 = 50.0
KINDS = ("report", "route", "zone")


# -- strategies -----------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
near_lon = st.floats(*LON)
near_lat = st.floats(*LAT)
# JSON can carry none of NaN/Infinity: the decoding layer refuses those as bodies; here only
# what a JSON client can send.
hostile_number = st.one_of(
    finite,
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -0.0, 90.0, -90.0, 180.0, -180.0, 180.0000001, 90.0000001, 1e308]),
)
not_a_number: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.text(max_size=3), st.just([])
)


@st.composite
def position(draw: st.DrawFn, lon: float | None = None, lat: float | None = None) -> Any:
    """A position: mostly near (lon, lat) or in Solberga, sometimes swapped, out of range,
    3-D, too short or too long, or not numbers."""
    kind = draw(st.integers(0, 19))
    x = lon if lon is not None else draw(near_lon)
    y = lat if lat is not None else draw(near_lat)
    if kind <= 11:
        return [x, y]
    if kind == 12:
        return [y, x]  # swapped
    if kind == 13:
        return [x, y, draw(finite)]  # a height: allowed, ignored
    if kind == 14:
        return [draw(hostile_number), draw(hostile_number)]
    if kind == 15:
        return [x]
    if kind == 16:
        return [x, y, 1.0, 2.0]
    if kind == 17:
        return [draw(not_a_number), y]
    if kind == 18:
        return [x + draw(st.floats(-3, 3)), y + draw(st.floats(-2, 2))]  # anywhere around
    return draw(not_a_number)


@st.composite
def nearby(draw: st.DrawFn, n_min: int, n_max: int, spread: float) -> list[Any]:
    """Positions around one point in Solberga, ``spread`` degrees apart at most."""
    cx, cy = draw(near_lon), draw(near_lat)
    n = draw(st.integers(n_min, n_max))
    offsets = st.floats(-spread, spread)
    points: list[Any] = [[cx + draw(offsets), cy + draw(offsets)] for _ in range(n)]
    if points and draw(st.integers(0, 3)) == 0:
        points[draw(st.integers(0, n - 1))] = draw(position())  # one perhaps broken
    return points


@st.composite
def ring(draw: st.DrawFn, cx: float, cy: float, r: float) -> list[Any]:
    """A ring: a star-shaped polygon around (cx, cy) (valid), or its points shuffled (crossing
    edges), not closed, degenerate, or with a broken position."""
    n = draw(st.integers(3, 12))
    # Strictly increasing angles: a star-shaped ring, simple by construction.
    jitter = draw(st.lists(st.floats(0, 0.9), min_size=n, max_size=n))
    angles = [2 * math.pi * (i + u) / n for i, u in enumerate(jitter)]
    radii = draw(st.lists(st.floats(r / 10, r), min_size=n, max_size=n))
    points: list[Any] = [
        [cx + a * math.cos(t), cy + a * math.sin(t) / 2] for t, a in zip(angles, radii, strict=True)
    ]
    kind = draw(st.integers(0, 19))
    if kind == 15:
        # A number as text, or true/false: shapely would read both as coordinates.
        i = draw(st.integers(0, n - 1))
        points[i] = [draw(st.sampled_from([str(points[i][0]), True, False])), points[i][1]]
    if kind == 16:
        points = draw(st.permutations(points))
    elif kind == 17:
        points = [points[0]] * n  # no area
    elif kind == 18:
        points[draw(st.integers(0, n - 1))] = draw(position())
    closed = points + [points[0]]
    return closed if kind != 19 else points  # 19: not closed


@st.composite
def polygon(draw: st.DrawFn) -> dict[str, Any]:
    cx, cy = draw(near_lon), draw(near_lat)
    r = draw(st.sampled_from([0.0005, 0.002, 0.01, 0.05, 0.5]))
    shells = draw(st.integers(1, 3))
    polys = []
    for _ in range(shells):
        rings = [draw(ring(cx, cy, r))]
        if draw(st.booleans()):
            # A hole: inside the shell (valid) or anywhere near it.
            rings.append(draw(ring(cx, cy, r / draw(st.sampled_from([5.0, 5.0, 0.5])))))
        polys.append(rings)
        cx += draw(
            st.sampled_from([3 * r, 3 * r, 3 * r, 0.0, r / 2])
        )  # apart, the same, overlapping
    if shells == 1 and draw(st.booleans()):
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


def point() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda p: {"type": "Point", "coordinates": p}, position())


@st.composite
def line(draw: st.DrawFn) -> dict[str, Any]:
    spread = draw(st.sampled_from([0.0, 0.0001, 0.002, 0.02, 0.5]))
    coords = draw(nearby(0, 40, spread))
    return {"type": "LineString", "coordinates": coords}


@st.composite
def wrong_type(draw: st.DrawFn, geometry: st.SearchStrategy[dict[str, Any]]) -> Any:
    """The geometry (mostly), or it with another type or a ``crs``, another kind of geometry,
    or not an object at all."""
    kind = draw(st.integers(0, 15))
    if kind <= 11:
        return draw(geometry)
    if kind == 12:
        return {**draw(geometry), "type": draw(st.sampled_from(["GeometryCollection", "point"]))}
    if kind == 13:
        return {**draw(geometry), "crs": {"type": "name", "properties": {"name": "EPSG:3006"}}}
    if kind == 14:
        return draw(st.one_of(point(), line(), polygon()))
    return draw(not_a_number)


# -- the runner -----------------------------------------------------------------------------


@dataclass
class Report:
    """Answers by kind and status, and the rule each failure broke."""

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        stored = sum(n for (_, code), n in self.answers.items() if code < 300)
        lines = [
            f"{sum(self.answers.values()):,} geometries in {self.seconds:.1f} s: {stored:,} "
            f"stored, {len(self.failures)} failures",
            "  " + ", ".join(f"{k} {c}: {n}" for (k, c), n in sorted(self.answers.items())),
        ]
        lines.append(
            "  refused: " + ", ".join(f"{k} {t}: {n}" for (k, t), n in self.refusals.most_common())
        )
        lines += [f"  {f[:600]}" for f in self.failures[:20]]
        return "\n".join(lines)


def _body(kind: str, geometry: Any) -> dict[str, Any]:
    if kind == "report":
        properties: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "category": "brand",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "severity": 2,
        }
    else:
        properties = {"name": f"Fuzz {secrets.token_hex(3)}"}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


_PATHS = {"report": "/api/v1/deviations", "route": "/api/v1/routes", "zone": "/api/v1/zones"}
_TABLES = {"report": "deviations", "route": "walk_routes", "zone": "zones"}


def _count(conn: psycopg.Connection, kind: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {_TABLES[kind]}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric_positions(coordinates: Any) -> bool:
    """Whether every position of GeoJSON ``coordinates`` is 2 or 3 numbers (RFC 7946)."""
    if isinstance(coordinates, list) and coordinates and not isinstance(coordinates[0], list):
        return len(coordinates) in (2, 3) and all(_is_number(v) for v in coordinates)
    return isinstance(coordinates, list) and all(_numeric_positions(c) for c in coordinates)


def _broken_rules(conn: psycopg.Connection, kind: str, answer: dict[str, Any]) -> list[str]:
    """The documented rules the stored row breaks (none, when all is well)."""
    key = answer["properties"]["id"] if kind == "report" else answer["id"]
    table, column = {
        "report": ("deviations", "id"),
        "route": ("walk_routes", "id"),
        "zone": ("zones", "slug"),
    }[kind]
    row = conn.execute(
        f"""
        SELECT ST_IsValid(t.geom), ST_XMin(t.geom) >= -180 AND ST_XMax(t.geom) <= 180
                 AND ST_YMin(t.geom) >= -90 AND ST_YMax(t.geom) <= 90,
               ST_NPoints(t.geom), ST_Length(t.geom::geography),
               ST_Area(t.geom::geography) / 1e6,
               EXISTS (SELECT 1 FROM areas a
                       WHERE ST_DWithin(a.geom::geography, t.geom::geography, %s)),
               EXISTS (SELECT 1 FROM areas a WHERE ST_Intersects(a.geom, t.geom))
        FROM {table} t WHERE t.{column}::text = %s
        """,  # noqa: S608 (table and column from the fixed table above)
        (NEAR_AREA_M + 1, str(key)),
    ).fetchone()
    if row is None:
        return ["answered 2xx but nothing was stored"]
    valid, in_range, n_points, length_m, area_km2, near, inside = row
    broken = []
    if not valid:
        broken.append("stored geometry is not valid (ST_IsValid)")
    if not in_range:
        broken.append("stored geometry is out of range")
    if kind in ("report", "route") and not near:
        broken.append(f"stored farther than {NEAR_AREA_M} m from every area")
    if kind == "route" and not (2 <= n_points <= MAX_VERTICES and 0 < length_m <= MAX_LENGTH_M):
        broken.append(f"route of {n_points} positions and {length_m:.0f} m stored")
    if kind == "zone" and not (n_points <= MAX_VERTICES and area_km2 <= MAX_ZONE_KM2 and inside):
        broken.append(f"zone of {n_points} vertices, {area_km2:.1f} km², in an area: {inside}")
    return broken


_RING = [[17.98, 59.282], [17.985, 59.282], [17.985, 59.285], [17.98, 59.282]]
_LINE = [[17.9837465, 59.2838017], [17.9840781, 59.2833519]]
# What the issue and the strategies found, kept as explicit examples: positions as text or
# true/false (shapely reads both), 3-D positions (the height ignored), swapped order.
EXPLICIT: dict[str, list[Any]] = {
    "report": [
        {"type": "Point", "coordinates": ["18.0104", 59.2786]},
        {"type": "Point", "coordinates": [True, 59.2786]},
        {"type": "Point", "coordinates": [18.0104, 59.2786, 12.5]},
        {"type": "Point", "coordinates": [59.2786, 18.0104]},
    ],
    "route": [
        {"type": "LineString", "coordinates": [["17.9837465", "59.2838017"], _LINE[1]]},
        {"type": "LineString", "coordinates": [[p[1], p[0]] for p in _LINE]},
        {"type": "LineString", "coordinates": [[*p, 3.0] for p in _LINE]},
    ],
    "zone": [
        {
            "type": "Polygon",
            "coordinates": [[["17.98", "59.282"], *_RING[1:3], ["17.98", "59.282"]]],
        },
        {"type": "Polygon", "coordinates": [[[17.98, True], *_RING[1:]]]},
        {"type": "MultiPolygon", "coordinates": [[[[*p, 1.0] for p in _RING]]]},
        {"type": "Polygon", "coordinates": [[[p[1], p[0]] for p in _RING]]},
    ],
}


def _explicit(kind: str) -> Callable[[Any], Any]:
    def add(test: Any) -> Any:
        for geometry in EXPLICIT[kind]:
            test = example(geometry=geometry)(test)
        return test

    return add


def _fuzz_kind(
    kind: str,
    strategy: st.SearchStrategy[Any],
    post: Callable[[str, dict[str, Any]], Any],
    conn: psycopg.Connection,
    report: Report,
    *,
    examples: int,
    seed: int | None,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is not None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(geometry=strategy)
    @_explicit(kind)
    def run(geometry: Any) -> None:
        before = _count(conn, kind)
        body = _body(kind, geometry)
        r = post(_PATHS[kind], body)
        report.answers[(kind, r.status_code)] += 1
        what = f"{kind} {r.status_code} {str(geometry)[:300]}"
        if r.status_code >= 500:
            report.failures.append(f"{what}: a server error")
        elif r.status_code >= 400:
            detail = r.json().get("detail")
            if not detail:
                report.failures.append(f"{what}: a 4xx without detail")
            kind_of = detail[0].get("type") if isinstance(detail, list) else r.json().get("code")
            report.refusals[(kind, f"{r.status_code} {kind_of}")] += 1
            if os.environ.get("NATTVANDRING_FUZZ_SHOW"):
                print(what[:200], "→", str(detail)[:300])
            if _count(conn, kind) != before:
                report.failures.append(f"{what}: refused, yet a row was stored")
        else:
            report.failures += [f"{what}: {b}" for b in _broken_rules(conn, kind, r.json())]
            if not _numeric_positions(geometry["coordinates"]):
                report.failures.append(f"{what}: stored a position that is not [lon, lat]")

    run()


def fuzz_geometry(
    post: Callable[[str, dict[str, Any]], Any],
    conn: psycopg.Connection,
    *,
    examples: int,
    seed: int | None = 8,
) -> Report:
    """Send ``examples`` generated geometries of each kind with ``post(path, body)`` (a
    response with ``status_code`` and ``json()``) and check each answer; ``conn`` sees what the
    requests stored."""
    report = Report()
    started = time.perf_counter()
    strategies = {
        "report": wrong_type(point()),
        "route": wrong_type(line()),
        "zone": wrong_type(polygon()),
    }
    for kind in KINDS:
        _fuzz_kind(kind, strategies[kind], post, conn, report, examples=examples, seed=seed)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Answer:
    status_code: int
    body: Any

    def json(self) -> Any:
        return self.body


def _client(url: str) -> Iterator[tuple[Callable[[str, dict[str, Any]], Any], Any]]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.deps import get_conn
    from api.settings import AppSettings
    from geo.db import connection
    from geo.db.accounts import add_user
    from geo.settings import DatabaseSettings

    with connection.connect(url, autocommit=True) as conn:
        with conn.transaction(force_rollback=True):
            app = create_app(AppSettings(db=DatabaseSettings(database_url=url)))

            def same_conn() -> Iterator[psycopg.Connection]:
                with conn.transaction():
                    yield conn

            app.dependency_overrides[get_conn] = same_conn
            client = TestClient(app)
            add_user(
                conn,
                "fuzz-planner@example.org",
                "fuzz-password",
                role="planner",
                organisation="Hägersten-Älvsjö stadsdelsförvaltning",
            )
            token = client.post(
                "/api/v1/auth/token",
                data={"username": "fuzz-planner@example.org", "password": "fuzz-password"},
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            def post(path: str, body: dict[str, Any]) -> Any:
                return client.post(path, json=body, headers=headers)

            yield post, conn


def main(argv: list[str] | None = None) -> int:
    from bench.common import scratch_demo_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000, help="geometries in all")
    args = parser.parse_args(argv)
    with scratch_demo_database("nv_fuzz") as url:
        for post, conn in _client(url):
            report = fuzz_geometry(post, conn, examples=math.ceil(args.examples / len(KINDS)))
    print(report.summary())
    total = sum(report.answers.values())
    print(
        f"[fuzz] {total:,} generated geometries, {len(report.failures)} failures (goal: 0 5xx, "
        f"every stored geometry valid and in range); "
        f"{total / max(report.seconds, 1e-9):.0f} geometries/s"
    )
    return 0 if not report.failures else 1


if __name__ == "__main__":
    # Run as a script, sys.path[0] is bench/, whose routes.py would shadow the routes package.
    if Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
        sys.path[0] = str(Path(__file__).resolve().parent.parent)
    sys.exit(main())
