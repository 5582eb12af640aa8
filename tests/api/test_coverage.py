"""Coverage against a case computed by hand.

Reports: 20 in one 100 m cell A and 20 in one cell B, in Solberga, February 2024 (a month
with no other report or walked track). Gi* makes the 3 × 3 block of cells around each of them
hot (each of those cells has the same neighbourhood sum, 20), and no other cell: 18 significant
cells. Cells are squares snapped to multiples of 100 m in SWEREF 99 TM.

Tracks (1 m/s, a point every 10 m):
- Älvsjö AIK, February: a line 20 m north of A's centre from 400 m west to 400 m east, with a
  60 s stop on A's centre line. It passes through the block's middle row (distance 0) and
  30 m from its top row, 70 m from its bottom row: 6 cells reached. Within 50 m of the block:
  from 200 m west to 200 m east of the centre (150 m half-block + 50 m) = 400 m = 400 s, plus
  the 60 s stop: 460 s.
- Kulturföreningen Solan, February: a line 400 m south of A: 250 m from the nearest cell, 0.
- Älvsjö AIK, March: 10 m north of B's centre, 300 m each way: 6 cells of B (middle row, the top
  row at 40 m; the bottom row at 60 m is not reached); 400 s within 50 m.
In all 12 of 18 cells reached (2/3); the bottom rows of both blocks (6 cells) are not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.geometry import transformer

Headers = Callable[[str], dict[str, str]]
A = (670550.0, 6575850.0)  # cell centres in SWEREF 99 TM (x, y), inside Solberga
B = (671550.0, 6575850.0)
to_lonlat = transformer(3006, 4326)


def _report(conn: psycopg.Connection, xy: tuple[float, float], at: datetime) -> None:
    lon, lat = to_lonlat.transform(*xy)
    conn.execute(
        "INSERT INTO deviations (id, category, observed_at, severity, geom, area_id) "
        "VALUES (%s, (SELECT code FROM deviation_categories ORDER BY sort_order LIMIT 1), %s, 2, "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326), (SELECT id FROM areas WHERE slug = 'solberga'))",
        (uuid.uuid4(), at, lon, lat),
    )


def _walk(
    conn: psycopg.Connection, club: str, start: datetime, xy: list[tuple[float, float, float]]
) -> None:
    """A reported walk whose kept points are ``(seconds after start, x, y)``."""
    walk_id = uuid.uuid4()
    lonlat = [to_lonlat.transform(x, y) for _, x, y in xy]
    wkt = "MULTILINESTRING((" + ", ".join(f"{lo} {la}" for lo, la in lonlat) + "))"
    conn.execute(
        """
        INSERT INTO walks (id, organisation_id, area_id, planned_start, planned_end, started_at,
                           ended_at, walkers, status, track)
        VALUES (%s, (SELECT id FROM organisations WHERE name = %s),
                (SELECT id FROM areas WHERE slug = 'solberga'), %s, %s, %s, %s, 6, 'reported',
                ST_GeomFromText(%s, 4326))
        """,
        (walk_id, club, start, start + timedelta(hours=3), start, start + timedelta(hours=3), wkt),
    )
    conn.execute(
        "INSERT INTO walk_track_points (walk_id, recorded_at, accuracy_m, geom) "
        "SELECT %s, %s::timestamptz + make_interval(secs => u.t), 5, "
        "ST_SetSRID(ST_MakePoint(u.x, u.y), 4326) "
        "FROM unnest(%s::float8[], %s::float8[], %s::float8[]) AS u(t, x, y)",
        (walk_id, start, [t for t, _, _ in xy], [p[0] for p in lonlat], [p[1] for p in lonlat]),
    )


def _line(x0: float, x1: float, y: float, *, stop_at: float | None = None) -> list[tuple]:
    xs = np.arange(x0, x1 + 1, 10.0)
    out, t = [], 0.0
    for x in xs:
        out.append((t, float(x), y))
        if stop_at is not None and x == stop_at:
            t += 60.0
            out.append((t, float(x), y))
        t += 10.0
    return out


@pytest.fixture()
def hand_case(conn: psycopg.Connection) -> None:
    feb = datetime(2024, 2, 9, 21, tzinfo=UTC)
    (before,) = conn.execute(
        "SELECT count(*) FROM deviations d JOIN areas a ON a.id = d.area_id "
        "WHERE a.slug = 'solberga' AND observed_at >= '2024-02-01' AND observed_at < '2024-04-01'"
    ).fetchone()
    (tracks,) = conn.execute(
        "SELECT count(*) FROM walks WHERE track IS NOT NULL "
        "AND planned_start >= '2024-01-31' AND planned_start < '2024-04-01'"
    ).fetchone()
    assert (before, tracks) == (0, 0)
    for i in range(20):
        _report(conn, A, feb + timedelta(minutes=i))
        _report(conn, B, feb + timedelta(minutes=i))
    (ax, ay), (bx, by) = A, B
    _walk(conn, "Älvsjö AIK", feb, _line(ax - 400, ax + 400, ay + 20, stop_at=ax))
    _walk(
        conn, "Kulturföreningen Solan", feb + timedelta(days=1), _line(ax - 400, ax + 400, ay - 400)
    )
    march = datetime(2024, 3, 8, 21, tzinfo=UTC)
    _walk(conn, "Älvsjö AIK", march, _line(bx - 300, bx + 300, by + 10))


def test_coverage_of_the_hand_computed_case(
    client: TestClient, auth: Headers, hand_case: None
) -> None:
    r = client.get(
        "/api/v1/coverage",
        params={"area": "solberga", "since": "2024-02-01", "until": "2024-03-31"},
        headers=auth("planner"),
    )
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["hotspot_cells"], c["cells_reached"]) == (18, 12)
    assert c["share"] == pytest.approx(12 / 18, abs=1e-4)
    assert c["time_near_s"] == pytest.approx(860.0, abs=0.5)
    rows = {(x["club"], x["month"]): x for x in c["per_club_month"]}
    assert set(rows) == {
        ("Älvsjö AIK", "2024-02"),
        ("Kulturföreningen Solan", "2024-02"),
        ("Älvsjö AIK", "2024-03"),
    }
    feb = rows[("Älvsjö AIK", "2024-02")]
    assert (feb["walks"], feb["cells_reached"]) == (1, 6)
    assert feb["share"] == pytest.approx(6 / 18, abs=1e-4)
    assert feb["time_near_s"] == pytest.approx(460.0, abs=0.5)
    solan = rows[("Kulturföreningen Solan", "2024-02")]
    assert (solan["cells_reached"], solan["time_near_s"]) == (0, 0.0)
    mar = rows[("Älvsjö AIK", "2024-03")]
    assert (mar["cells_reached"], mar["time_near_s"]) == (6, pytest.approx(400.0, abs=0.5))
    # The six cells not reached are the bottom rows of both blocks, listed by name.
    missing = [h for h in c["hotspots"] if not h["reached"]]
    assert len(missing) == 6
    a_lat = to_lonlat.transform(*A)[1]
    assert all(h["lat"] < a_lat for h in missing)  # A and B lie on one parallel of the grid
    # Two hot spots (the two blocks), each named once, each with 3 cells not reached.
    assert sorted(x["cells"] for x in c["not_reached"]) == [3, 3]
    names = {h["name"] for h in c["hotspots"]}
    assert len(names) == 2 and names == {x["name"] for x in c["not_reached"]}
    assert all(x["name"].startswith("vid ") for x in c["not_reached"])


def test_coverage_needs_analysis_and_walks(client: TestClient, auth: Headers) -> None:
    assert client.get("/api/v1/coverage").status_code == 401
    assert client.get("/api/v1/coverage", headers=auth("partner")).status_code == 403
