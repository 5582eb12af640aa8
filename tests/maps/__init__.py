"""Shared inputs of the map tests: SYNTHETIC deviation reports around Älvsjö with privacy canaries.

The reports are made up (seeded RNG) around real places; some descriptions carry canary strings
(a name, a phone number, a personnummer-like string) and every reporter has a canary e-mail, so
a test can prove that none of them reaches a partner file.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from geo.geometry import to_metric, to_wgs84
from geo.privacy import DeviationRecord, Zone
from maps.report_map import HeatRaster
from maps.styles import CATEGORIES as STYLED_CATEGORIES

REPO = Path(__file__).resolve().parents[2]
ALVSJO_STATION = (18.0104, 59.2786)
CATEGORIES = tuple(STYLED_CATEGORIES)  # the seeded codes (migration 0002)
CANARY_NAME = "Anna Andersson"
CANARY_PHONE = "070-123 45 67"
CANARY_PNR = "19800101-1234"
CANARY_EMAIL = "kanarie@example.org"
CANARY_ORG = "Kanariefågelns IF"
CANARIES = (CANARY_NAME, CANARY_PHONE, CANARY_PNR, CANARY_EMAIL, CANARY_ORG)
PERIOD = (date(2026, 10, 5), date(2026, 11, 29))  # eight whole ISO weeks, W41–W48
# (place, lon, lat, share, spread in metres)
HOT_PLACES = [
    ("Älvsjö station", 18.0104, 59.2786, 0.45, 90.0),
    ("Solbergaskolan", 18.0062, 59.2903, 0.25, 120.0),
    ("Älvsjö centrum", 18.0065, 59.2770, 0.15, 70.0),
]


def records(
    n: int = 2000, *, seed: int = 20261124, period: tuple[date, date] = PERIOD
) -> list[DeviationRecord]:
    """SYNTHETIC reports: clusters at `HOT_PLACES` over uniform noise, canaries in the text."""
    rng = np.random.default_rng(seed)
    shares = np.array([p[3] for p in HOT_PLACES] + [1.0 - sum(p[3] for p in HOT_PLACES)])
    which = rng.choice(len(shares), size=n, p=shares)
    centre = to_metric(shapely.Point(*ALVSJO_STATION))
    x = centre.x + rng.uniform(-1500, 1500, n)
    y = centre.y + rng.uniform(-1500, 1500, n)
    for k, (_, lon, lat, _, spread) in enumerate(HOT_PLACES):
        at = which == k
        c = to_metric(shapely.Point(lon, lat))
        x[at] = c.x + rng.normal(0, spread, at.sum())
        y[at] = c.y + rng.normal(0, spread, at.sum())
    points = to_wgs84(shapely.multipoints(np.column_stack([x, y])))
    coords = shapely.get_coordinates(points)
    start = datetime(period[0].year, period[0].month, period[0].day, 12, tzinfo=UTC)
    seconds = rng.uniform(0, ((period[1] - period[0]).days + 0.4) * 86400, n)
    texts = [
        f"SYNTETISK: {CANARY_NAME} sågs, ring {CANARY_PHONE}",
        f"pnr {CANARY_PNR}",
        "SYNTETISK: krossad ruta",
        None,
    ]
    cats = rng.choice(len(CATEGORIES), size=n, p=[0.2, 0.1, 0.15, 0.05, 0.1, 0.15, 0.05, 0.1, 0.1])
    return [
        DeviationRecord(
            lon=float(coords[i, 0]),
            lat=float(coords[i, 1]),
            category=CATEGORIES[cats[i]],
            observed_at=start + timedelta(seconds=float(seconds[i])),
            severity=int(rng.integers(1, 4)),
            description=texts[i % len(texts)],
            reporter=CANARY_EMAIL,
            organisation=CANARY_ORG,
            id=f"00000000-0000-4000-8000-{i:012d}",
        )
        for i in range(n)
    ]


def zones() -> list[Zone]:
    """Illustrative collaboration zones (as in the demo) around real places."""
    spec = [
        ("alvsjo-station-centrum", "Älvsjö station och centrum", 18.0092, 59.2785, 260.0),
        ("solbergaskolan", "Solbergaskolan", 18.0062, 59.2903, 200.0),
    ]
    return [
        (slug, name, to_wgs84(to_metric(shapely.Point(lon, lat)).buffer(r, 32)))
        for slug, name, lon, lat, r in spec
    ]


def area_feature() -> dict[str, Any]:
    """SOLBERGA (with Älvsjö station and Solbergaskolan) from the real district polygons."""
    fc = json.loads((REPO / "data" / "stadsdelar_solberga_alvsjo.geojson").read_text("utf-8"))
    feature = next(f for f in fc["features"] if f["properties"]["name"] == "SOLBERGA")
    return {
        "type": "Feature",
        "geometry": feature["geometry"],
        "properties": {"slug": "solberga", "name": "Solberga", "area_km2": 3.4},
    }


def street_lines(spacing_m: float = 120.0, half_m: float = 2400.0) -> list[shapely.Geometry]:
    """A SYNTHETIC street grid around Älvsjö (the real network is imported by the users)."""
    c = to_metric(shapely.Point(*ALVSJO_STATION))
    ticks = np.arange(-half_m, half_m + 1, spacing_m)
    lines = [
        shapely.LineString([(c.x + t, c.y - half_m), (c.x + t + 40, c.y + half_m)]) for t in ticks
    ]
    lines += [
        shapely.LineString([(c.x - half_m, c.y + t), (c.x + half_m, c.y + t - 30)]) for t in ticks
    ]
    return [to_wgs84(line) for line in lines]


def route_feature_collection() -> dict[str, Any]:
    c = to_metric(shapely.Point(*ALVSJO_STATION))
    ring = shapely.LineString(
        [
            (c.x, c.y),
            (c.x + 400, c.y + 50),
            (c.x + 450, c.y + 600),
            (c.x - 100, c.y + 650),
            (c.x, c.y),
        ]
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(to_wgs84(ring)),
                "properties": {
                    "name": "Runda Älvsjö station",
                    "organisation": CANARY_ORG,
                    "walk_id": "x",
                    "planned_start": "2026-11-20T21:00:00+01:00",
                },
            }
        ],
    }


def heat_raster(
    recs: list[DeviationRecord], *, cell_m: float = 25.0, bandwidth_m: float = 150.0
) -> HeatRaster:
    """A Gaussian density of the reports on a grid in EPSG:3006 (reports per km² per week)."""
    pts = to_metric(shapely.multipoints([(r.lon, r.lat) for r in recs]))
    xy = shapely.get_coordinates(pts)
    c = to_metric(shapely.Point(*ALVSJO_STATION))
    edges_x = np.arange(c.x - 2500, c.x + 2500 + cell_m, cell_m)
    edges_y = np.arange(c.y - 2500, c.y + 2500 + cell_m, cell_m)
    hist, _, _ = np.histogram2d(xy[:, 1], xy[:, 0], bins=[edges_y, edges_x])
    d = np.arange(-4 * bandwidth_m, 4 * bandwidth_m + cell_m, cell_m)
    k = np.exp(-0.5 * (d / bandwidth_m) ** 2)
    k /= k.sum()
    smooth = np.apply_along_axis(np.convolve, 0, hist, k, mode="same")
    smooth = np.apply_along_axis(np.convolve, 1, smooth, k, mode="same")
    weeks = ((PERIOD[1] - PERIOD[0]).days + 1) / 7
    values = smooth / (cell_m / 1000) ** 2 / weeks
    return HeatRaster(
        values=values[::-1], bounds=(edges_x[0], edges_y[0], edges_x[-1], edges_y[-1])
    )


def hotspot_feature_collection(
    recs: list[DeviationRecord], *, cell_m: float = 100.0
) -> tuple[dict[str, Any], list[str]]:
    """SYNTHETIC Gi*-like classes on 100 m squares (by count), and a compare status each."""
    pts = shapely.get_coordinates(to_metric(shapely.multipoints([(r.lon, r.lat) for r in recs])))
    col, row = np.floor(pts[:, 0] / cell_m), np.floor(pts[:, 1] / cell_m)
    cells, counts = np.unique(np.column_stack([col, row]), axis=0, return_counts=True)
    order = np.argsort(-counts)
    features, changes = [], []
    for rank, i in enumerate(order[:40].tolist()):
        cls = 3 if rank < 5 else 2 if rank < 12 else 1 if rank < 25 else 0
        x0, y0 = cells[i] * cell_m
        square = to_wgs84(shapely.box(x0, y0, x0 + cell_m, y0 + cell_m))
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(square),
                "properties": {"count": int(counts[i]), "z": 4.0 - rank / 10, "class": cls},
            }
        )
        changes.append(
            "new" if rank % 3 == 0 and cls else "persistent" if cls else "gone" if rank % 2 else ""
        )
    return {"type": "FeatureCollection", "features": features}, changes


def isopleth_feature_collection() -> dict[str, Any]:
    feats = []
    for percent, r in ((90, 700.0), (75, 450.0), (50, 220.0)):
        poly = to_wgs84(to_metric(shapely.Point(*ALVSJO_STATION)).buffer(r, 16))
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(poly),
                "properties": {
                    "level": percent / 100,
                    "percent": percent,
                    "threshold": 100.0 / percent,
                    "unit": "reports per km² per week",
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def places_feature_collection() -> dict[str, Any]:
    places = [
        ("Älvsjö station", "station", 18.0104, 59.2786),
        ("Solbergaskolan", "school", 18.0062, 59.2903),
        ("Älvsjö bibliotek", "library", 18.0071, 59.2776),
    ]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": i,
                    "name": name,
                    "kind": kind,
                    "area": "alvsjo",
                    "source": "OSM",
                },
            }
            for i, (name, kind, lon, lat) in enumerate(places)
        ],
    }


def tracks_feature_collection() -> dict[str, Any]:
    line = route_feature_collection()["features"][0]["geometry"]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": line,
                "properties": {
                    "date": "2026-11-20",
                    "walkers": 6,
                    "route": "Runda Älvsjö station",
                    "organisation": CANARY_ORG,
                    "started_at": "2026-11-20T21:03:00+01:00",
                },
            }
        ],
    }
