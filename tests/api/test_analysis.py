"""Heat maps and hot spots through the API and the CLI, on PostGIS, with planted clusters."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest
import rasterio
from fastapi.testclient import TestClient
from pyproj import Transformer

from geo.db.accounts import add_user

PASSWORD = "correct horse battery"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
TO_3006 = Transformer.from_crs(4326, 3006, always_xy=True)
# A quiet year: the synthetic demo history covers the two years before now.
SINCE = "2021-01-04T00:00:00+01:00"
UNTIL = "2021-03-01T00:00:00+01:00"
HOTSPOT = (18.0010, 59.2830)  # inside Solberga
ELSEWHERE = (18.0150, 59.2900)  # in Västberga, outside Solberga
OLD_HOTSPOT = (18.0100, 59.2790)  # inside Solberga, 600 m from HOTSPOT


def plant(
    conn: psycopg.Connection,
    lonlat: tuple[float, float],
    n: int,
    at: datetime,
    *,
    spread_m: float = 20.0,
    severity: int = 1,
    seed: int = 0,
) -> None:
    """``n`` reports scattered ``spread_m`` around a point, all observed at ``at``."""
    rng = np.random.default_rng(seed)
    x, y = TO_3006.transform(*lonlat)
    xs = x + rng.normal(0, spread_m, n)
    ys = y + rng.normal(0, spread_m, n)
    lon, lat = TO_3006.transform(xs, ys, direction="INVERSE")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO deviations (id, category, observed_at, severity, geom, area_id) "
            "VALUES (%s, 'brand', %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
            "(SELECT id FROM areas WHERE slug = 'solberga'))",
            [
                (uuid.uuid4(), at, severity, float(a), float(b))
                for a, b in zip(lon, lat, strict=True)
            ],
        )


@pytest.fixture()
def users(conn: psycopg.Connection) -> dict[str, str]:
    made = {}
    for role in ("walker", "planner", "partner", "admin"):
        add_user(conn, f"a-{role}@example.org", PASSWORD, role=role, organisation="Älvsjö AIK")
        made[role] = f"a-{role}@example.org"
    return made


@pytest.fixture()
def planner(client: TestClient, users: dict[str, str]) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": users["planner"], "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def get(client: TestClient, headers: dict[str, str], path: str, **params: object):  # type: ignore[no-untyped-def]
    base = {"area": "solberga", "since": SINCE, "until": UNTIL}
    return client.get(path, params={**base, **params}, headers=headers)


@pytest.mark.parametrize("path", ["/api/v1/heatmap", "/api/v1/hotspots"])
def test_walkers_and_planners_may_read_partners_and_anonymous_may_not(
    client: TestClient, users: dict[str, str], path: str
) -> None:
    assert client.get(path).status_code == 401
    for role, expected in (("walker", 200), ("planner", 200), ("admin", 200), ("partner", 403)):
        form = {"username": users[role], "password": PASSWORD}
        token = client.post("/api/v1/auth/token", data=form).json()
        r = client.get(path, headers={"Authorization": f"Bearer {token['access_token']}"})
        assert r.status_code == expected, (role, r.text)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"bandwidth_m": 5}, "bandwidth_m"),
        ({"bandwidth_m": 2500}, "bandwidth_m"),
        ({"cell_m": 4}, "cell_m"),
        ({"cell_m": 600}, "cell_m"),
        ({"since": UNTIL, "until": SINCE}, "since"),
        ({"since": "2021-01-01T00:00:00"}, "since"),
        ({"days": "friday-ish"}, "days"),
        ({"hours": "25-02"}, "hours"),
        ({"category": "nonsense"}, "category"),
        ({"format": "tiff"}, "format"),
    ],
)
def test_heatmap_parameters_are_validated(
    client: TestClient, planner: dict[str, str], params: dict[str, object], field: str
) -> None:
    r = get(client, planner, "/api/v1/heatmap", **params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", field]


def test_too_many_cells_is_a_422_that_suggests_a_cell_size(
    client: TestClient, planner: dict[str, str], conn: psycopg.Connection
) -> None:
    conn.execute(
        "INSERT INTO areas (slug, name, geom) VALUES ('stor', 'Stort område', "
        "ST_Multi(ST_MakeEnvelope(17.8, 59.2, 18.2, 59.4, 4326)))"
    )
    r = get(client, planner, "/api/v1/heatmap", area="stor", cell_m=5)
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["query", "cell_m"] and "4,000,000" in detail["msg"]


def test_unknown_area_or_zone_is_404(client: TestClient, planner: dict[str, str]) -> None:
    assert get(client, planner, "/api/v1/heatmap", area="atlantis").status_code == 404
    assert get(client, planner, "/api/v1/hotspots", zone="atlantis").status_code == 404


def test_an_empty_selection_is_an_empty_layer(client: TestClient, planner: dict[str, str]) -> None:
    r = get(client, planner, "/api/v1/heatmap")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.json()["features"] == []
    grid = get(client, planner, "/api/v1/heatmap", format="json").json()
    values = np.array(grid["values"], dtype=float)
    assert np.nanmax(values) == 0
    assert get(client, planner, "/api/v1/hotspots").json()["features"] == []


def test_heat_grid_finds_the_planted_cluster_and_conserves_mass(
    client: TestClient, planner: dict[str, str], conn: psycopg.Connection
) -> None:
    at = datetime(2021, 2, 5, 22, 0, tzinfo=STOCKHOLM)
    plant(conn, HOTSPOT, 200, at, severity=2)
    plant(conn, ELSEWHERE, 10, at, seed=1)  # outside Solberga: not in its heat map's mass
    r = get(client, planner, "/api/v1/heatmap", format="json", bandwidth_m=100, cell_m=20)
    assert r.status_code == 200
    grid = r.json()
    assert grid["crs"] == "EPSG:3006" and grid["unit"] == "reports per km² per week"
    a, b, c, d, e, f = grid["transform"]
    assert (a, b, d, e) == (20, 0, 0, -20)
    values = np.array(grid["values"], dtype=float)
    assert values.shape == (grid["height"], grid["width"])
    row, col = np.unravel_index(np.nanargmax(values), values.shape)
    peak_x, peak_y = a * (col + 0.5) + c, e * (row + 0.5) + f
    x, y = TO_3006.transform(*HOTSPOT)
    assert abs(peak_x - x) < 60 and abs(peak_y - y) < 60
    # Integral over the area ≈ weighted reports (severity 2 × weight of 'brand') per week.
    weeks = (datetime.fromisoformat(UNTIL) - datetime.fromisoformat(SINCE)).days / 7
    weight = conn.execute("SELECT weight FROM deviation_categories WHERE code = 'brand'").fetchone()
    assert weight is not None
    mass = np.nansum(values) * (20 * 20) / 1e6
    assert mass == pytest.approx(200 * 2 * weight[0] / weeks, rel=0.03)
    assert grid["parameters"]["bandwidth_m"] == 100 and grid["parameters"]["area"] == "solberga"


def test_heat_png_overlay_and_isopleths(
    client: TestClient, planner: dict[str, str], conn: psycopg.Connection
) -> None:
    plant(conn, HOTSPOT, 100, datetime(2021, 2, 5, 22, 0, tzinfo=STOCKHOLM))
    png = get(client, planner, "/api/v1/heatmap", format="png")
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    (south, west), (north, east) = json.loads(png.headers["x-bounds"])
    assert south < HOTSPOT[1] < north and west < HOTSPOT[0] < east
    overlay = get(client, planner, "/api/v1/heatmap", format="overlay").json()
    assert overlay["image"].startswith("data:image/png;base64,")
    assert overlay["legend"]["unit"] == "reports per km² per week"
    fc = get(client, planner, "/api/v1/heatmap").json()
    assert [f["properties"]["percent"] for f in fc["features"]] == [90, 75, 50]
    from shapely.geometry import Point, shape

    inner = shape(fc["features"][-1]["geometry"])
    assert inner.contains(Point(HOTSPOT)) or inner.distance(Point(HOTSPOT)) < 0.0005


def test_time_of_week_keeps_friday_nights_only(
    client: TestClient, planner: dict[str, str], conn: psycopg.Connection
) -> None:
    # Friday 23:00 and the small hours of Saturday count; Tuesday night and Friday 01:00 (which
    # belongs to Thursday's night) do not.
    plant(conn, HOTSPOT, 40, datetime(2021, 2, 5, 23, 0, tzinfo=STOCKHOLM))
    plant(conn, HOTSPOT, 40, datetime(2021, 2, 6, 1, 30, tzinfo=STOCKHOLM), seed=1)
    plant(conn, ELSEWHERE, 40, datetime(2021, 2, 9, 23, 0, tzinfo=STOCKHOLM), seed=2)
    plant(conn, ELSEWHERE, 40, datetime(2021, 2, 5, 1, 0, tzinfo=STOCKHOLM), seed=3)
    params = {
        "format": "json",
        "cell_m": 50,
        "bandwidth_m": 100,
        "days": "fri-sat",
        "hours": "20-02",
    }
    values = np.array(
        get(client, planner, "/api/v1/heatmap", **params).json()["values"], dtype=float
    )
    weeks = 8 / 1  # 2021-01-04 … 2021-03-01 is 8 weeks
    weight = conn.execute("SELECT weight FROM deviation_categories WHERE code = 'brand'").fetchone()
    assert weight is not None
    mass = np.nansum(values) * 50 * 50 / 1e6
    assert mass == pytest.approx(80 * weight[0] / weeks, rel=0.03)


def test_hotspots_find_the_cluster_and_compare_with_the_previous_period(
    client: TestClient, planner: dict[str, str], conn: psycopg.Connection
) -> None:
    rng = np.random.default_rng(7)
    region = conn.execute(
        "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM areas "
        "WHERE slug = 'solberga'"
    ).fetchone()
    assert region is not None
    # Background: reports spread over the area in both periods.
    for k, at in enumerate(
        (datetime(2021, 2, 1, 21, tzinfo=UTC), datetime(2020, 12, 1, 21, tzinfo=UTC))
    ):
        for _ in range(60):
            lon = rng.uniform(region[0], region[2])
            lat = rng.uniform(region[1], region[3])
            plant(conn, (lon, lat), 1, at, spread_m=1, seed=k)
    plant(conn, HOTSPOT, 60, datetime(2021, 2, 5, 22, tzinfo=UTC), spread_m=30)
    plant(conn, OLD_HOTSPOT, 60, datetime(2020, 12, 5, 22, tzinfo=UTC), spread_m=30, seed=3)
    r = get(client, planner, "/api/v1/hotspots", compare="previous")
    assert r.status_code == 200
    fc = r.json()
    assert fc["parameters"]["statistic"] == "Getis-Ord Gi*"
    from shapely.geometry import Point, shape

    def cells_at(point: tuple[float, float]) -> list[dict[str, object]]:
        return [
            f["properties"]
            for f in fc["features"]
            if shape(f["geometry"]).buffer(0.001).contains(Point(point))
        ]

    at_hotspot = cells_at(HOTSPOT)
    assert at_hotspot and all(p["class"] > 0 for p in at_hotspot)
    assert {p["change"] for p in at_hotspot} == {"new"}
    assert any(p["change"] == "gone" for p in cells_at(OLD_HOTSPOT))
    assert all(
        f["properties"]["class"] != 0 or f["properties"]["change"] == "gone" for f in fc["features"]
    )
    assert {e["label"] for e in fc["legend"]} >= {"Het punkt 99 %", "Ej signifikant"}


def test_cli_heatmap_and_hotspots(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    # The CLI reads committed data: the session's demo history (the last two years).
    env = {"NATTVANDRING_DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"}
    cli = str(Path(sys.executable).parent / "nattvandring")
    until = datetime.now(UTC).isoformat()
    since = (datetime.now(UTC) - timedelta(days=180)).isoformat()
    for suffix in ("tif", "geojson", "png"):
        out = tmp_path / f"heat.{suffix}"
        done = subprocess.run(
            [
                cli,
                "heatmap",
                "--area",
                "solberga",
                "--since",
                since,
                "--until",
                until,
                "--days",
                "fri-sat",
                "--hours",
                "20-02",
                "--out",
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0
    with rasterio.open(tmp_path / "heat.tif") as tif:
        assert tif.crs.to_epsg() == 3006 and tif.res == (25.0, 25.0)
        band = tif.read(1)
        assert np.nanmax(band) > 0 and tif.tags()["unit"] == "reports per km² per week"
        # Issue 16: no "None" in the metadata, and a colour map for QGIS beside the file.
        assert "None" not in tif.tags().values() and tif.tags()["colour_ramp"] == "YlOrRd"
        assert tif.tags()["days"] and tif.colorinterp[0].name == "gray"
    qml_doc = ET.fromstring((tmp_path / "heat.qml").read_text().split("\n", 1)[1])
    items = qml_doc.findall(".//colorrampshader/item")
    assert len(items) == 9 and items[0].get("value") == "0"
    assert float(items[-1].get("value")) == pytest.approx(float(np.nanmax(band)), rel=1e-5)
    isopleths = json.loads((tmp_path / "heat.geojson").read_text())
    assert [f["properties"]["percent"] for f in isopleths["features"]] == [90, 75, 50]
    out = tmp_path / "hot.geojson"
    done = subprocess.run(
        [
            cli,
            "hotspots",
            "--area",
            "solberga",
            "--since",
            since,
            "--until",
            until,
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert any(f["properties"]["class"] > 0 for f in json.loads(out.read_text())["features"])
    bad = subprocess.run(
        [cli, "heatmap", "--out", str(tmp_path / "x.jpg")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and ".png, .geojson or .tif" in bad.stderr
