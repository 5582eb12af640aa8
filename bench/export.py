"""Benchmark of the meeting exports (issue: exports for collaboration meetings).

    .venv/bin/python bench/export.py [--deviations 100000]

In process, without a database (the reports are SYNTHETIC, made here with a fixed seed):
- a partner GeoPackage for one year with 100,000 deviations (aggregation to zones and 250 m
  cells by week, suppression, layers, write with styles): ≤ 5 s;
- the PDF meeting report with realistic layer sizes (a 5,000-segment street network, a
  200 × 200 heat raster, 2,500 hot-spot cells, three zones and routes), including the first
  import of matplotlib and reportlab: ≤ 10 s.
Exits with status 1 when a target is missed. `main` is where the database end-to-end part
(``GET /api/v1/exports…``) joins.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from geo.geometry import SWEREF99TM, WGS84, to_metric, to_wgs84, transformer  # noqa: E402
from geo.privacy import Deviations, Zone, partner_aggregates  # noqa: E402
from maps import export  # noqa: E402
from maps import layers as ml  # noqa: E402
from maps.styles import CATEGORIES as STYLED_CATEGORIES  # noqa: E402

TARGET_GPKG_S = 5.0
TARGET_PDF_S = 10.0
CATEGORIES = np.array(list(STYLED_CATEGORIES), dtype=object)  # the seeded codes
# Real places in Solberga/Älvsjö where the synthetic reports cluster: (lon, lat, spread in m).
HOT_PLACES = [
    (18.0104, 59.2786, 120.0),
    (18.0062, 59.2903, 150.0),
    (17.9866, 59.2842, 200.0),
    (18.0065, 59.2770, 90.0),
]
ZONES = [
    ("alvsjo-station-centrum", "Älvsjö station och centrum", 18.0092, 59.2785, 260.0),
    ("solbergaskolan", "Solbergaskolan", 18.0062, 59.2903, 200.0),
    ("langbro-vastra-solberga", "Långbro/västra Solberga", 17.9866, 59.2842, 260.0),
]
CENTRE = (18.0030, 59.2840)


SINCE, UNTIL = date(2025, 11, 24), date(2026, 11, 23)
"""The year of `synthetic_deviations` (its default 365 days)."""


def synthetic_deviations(n: int, *, seed: int = 2026, days: int = 365) -> Deviations:
    """SYNTHETIC reports: 70 % around `HOT_PLACES`, the rest over 5 × 5 km, over ``days``."""
    rng = np.random.default_rng(seed)
    cx, cy = transformer(WGS84, SWEREF99TM).transform(*CENTRE)
    x = cx + rng.uniform(-2500, 2500, n)
    y = cy + rng.uniform(-2500, 2500, n)
    clustered = rng.random(n) < 0.7
    which = rng.integers(0, len(HOT_PLACES), n)
    for k, (lon, lat, spread) in enumerate(HOT_PLACES):
        at = clustered & (which == k)
        px, py = transformer(WGS84, SWEREF99TM).transform(lon, lat)
        x[at] = px + rng.normal(0, spread, at.sum())
        y[at] = py + rng.normal(0, spread, at.sum())
    lon, lat = transformer(SWEREF99TM, WGS84).transform(x, y)
    start = np.datetime64("2025-11-24T00:00", "us")
    offsets = rng.integers(0, days * 86_400_000_000, n).astype("timedelta64[us]")
    texts = np.array(["SYNTETISK benchmark", None], dtype=object)[rng.integers(0, 2, n)]
    return Deviations(
        lon=np.asarray(lon),
        lat=np.asarray(lat),
        category=CATEGORIES[rng.integers(0, 9, n)],
        observed_at=start + offsets,
        severity=rng.integers(1, 4, n),
        description=texts,
        reporter=np.full(n, "bench@example.org", dtype=object),
    )


def zones() -> list[Zone]:
    return [
        (slug, name, to_wgs84(to_metric(shapely.Point(lon, lat)).buffer(r, 32)))
        for slug, name, lon, lat, r in ZONES
    ]


def _fc(geoms: list[shapely.Geometry], props: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": p}
            for g, p in zip(geoms, props, strict=True)
        ],
    }


def context_layers(dev: Deviations) -> tuple[list[ml.Layer], dict[str, Any]]:
    """The other layers of an export, of realistic size, and the map inputs of the report."""
    cx, cy = transformer(WGS84, SWEREF99TM).transform(*CENTRE)
    area = to_wgs84(shapely.box(cx - 2400, cy - 2400, cx + 2400, cy + 2400))
    zs = zones()
    # Hot spots: 100 m squares over 5 × 5 km; classes from the counts (a stand-in for Gi*).
    x, y = transformer(WGS84, SWEREF99TM).transform(dev.lon, dev.lat)
    col, row = np.floor(np.asarray(x) / 100), np.floor(np.asarray(y) / 100)
    cells, counts = np.unique(np.column_stack([col, row]), axis=0, return_counts=True)
    ranks = np.argsort(np.argsort(-counts))
    classes = np.where(ranks < 20, 3, np.where(ranks < 60, 2, np.where(ranks < 150, 1, 0)))
    boxes = to_wgs84(
        shapely.box(
            cells[:, 0] * 100, cells[:, 1] * 100, cells[:, 0] * 100 + 100, cells[:, 1] * 100 + 100
        )
    )
    hot_fc = _fc(
        list(boxes),
        [
            {"class": int(c), "count": int(n), "z": 0.0}
            for c, n in zip(classes, counts, strict=True)
        ],
    )
    # Heat: a 25 m Gaussian density (bandwidth 150 m) on a 200 × 200 grid.
    edges_x = np.arange(cx - 2500, cx + 2501, 25.0)
    edges_y = np.arange(cy - 2500, cy + 2501, 25.0)
    hist, _, _ = np.histogram2d(np.asarray(y), np.asarray(x), bins=[edges_y, edges_x])
    k = np.exp(-0.5 * (np.arange(-24, 25) / 6.0) ** 2)
    k /= k.sum()
    smooth = np.apply_along_axis(np.convolve, 0, hist, k, mode="same")
    smooth = np.apply_along_axis(np.convolve, 1, smooth, k, mode="same")
    # (values, bounds): bench_pdf makes the HeatRaster, so that it times the first import.
    heat = (smooth[::-1] / 0.000625 / 52, (edges_x[0], edges_y[0], edges_x[-1], edges_y[-1]))
    # Streets: 5,000 segments of a jittered grid.
    rng = np.random.default_rng(7)
    streets = []
    for t in np.linspace(-2400, 2400, 50):
        xs = np.linspace(cx - 2400, cx + 2400, 51)
        ys = cy + t + rng.normal(0, 8, 51)
        streets += [
            to_wgs84(shapely.LineString([(xs[i], ys[i]), (xs[i + 1], ys[i + 1])]))
            for i in range(50)
        ]
        streets += [
            to_wgs84(
                shapely.LineString(
                    [(ys[i] - cy + cx, xs[i] - cx + cy), (ys[i + 1] - cy + cx, xs[i + 1] - cx + cy)]
                )
            )
            for i in range(50)
        ]
    routes = [
        to_wgs84(to_metric(shapely.Point(lon, lat)).buffer(300, 8).exterior)
        for lon, lat, _ in HOT_PLACES[:3]
    ]
    isopleths = [
        (p, to_wgs84(to_metric(shapely.Point(*HOT_PLACES[0][:2])).buffer(r, 32)))
        for p, r in ((90, 900.0), (75, 500.0), (50, 250.0))
    ]
    layers = [
        ml.areas_layer(_fc([area], [{"slug": "solberga", "name": "Solberga"}])),
        ml.zones_layer(_fc([g for _, _, g in zs], [{"slug": s, "name": n} for s, n, _ in zs])),
        ml.routes_layer(_fc(routes, [{"name": f"Rutt {i + 1}"} for i in range(3)])),
        ml.isopleths_layer(
            _fc([g for _, g in isopleths], [{"percent": p, "threshold": 1.0} for p, _ in isopleths])
        ),
        ml.hotspots_layer(hot_fc),
    ]
    inputs = {
        "area_outline": area,
        "base_lines": streets,
        "zones": [(n, g) for _, n, g in zs],
        "heat": heat,
        "routes": [(f"Rutt {i + 1}", g) for i, g in enumerate(routes)],
        "hotspots": [(g, int(c)) for g, c in zip(boxes, classes, strict=True)],
    }
    return layers, inputs


def bench_gpkg(dev: Deviations, layers: list[ml.Layer], *, runs: int = 3) -> bool:
    zs = zones()
    times = []
    with tempfile.TemporaryDirectory(prefix="nv-bench-") as tmp:
        for i in range(runs):
            start = time.perf_counter()
            agg = partner_aggregates(dev, zones=zs, bucket="week")
            all_layers = ml.partner_layers(agg, since=SINCE, until=UNTIL) + layers
            export.write_gpkg(
                all_layers,
                Path(tmp) / f"export{i}.gpkg",
                metadata={
                    "area": "Solberga",
                    "profile": "partner",
                    "bucket": "week",
                    "suppressed_cell_reports": agg.suppressed_cell_reports,
                    "generated_at": datetime.now(UTC),
                },
            )
            times.append(time.perf_counter() - start)
        rows = len(agg.zone_counts) + len(agg.cell_counts)
        start = time.perf_counter()
        night = partner_aggregates(dev, zones=zs, bucket="night")
        export.write_gpkg(
            ml.partner_layers(night, since=SINCE, until=UNTIL) + layers, Path(tmp) / "night.gpkg"
        )
        night_s = time.perf_counter() - start
    print(
        f"  {len(dev):,} reports → {rows:,} partner rows by week "
        f"({agg.suppressed_cell_reports:,} reports in suppressed cell rows)"
    )
    ok = report(
        "partner GeoPackage, one year, by week (median of 3)",
        statistics.median(times),
        TARGET_GPKG_S,
        "s",
        higher_is_better=False,
    )
    ok &= report(
        "partner GeoPackage, one year, by night",
        night_s,
        TARGET_GPKG_S,
        "s",
        higher_is_better=False,
    )
    return ok


def bench_pdf(inputs: dict[str, Any], *, runs: int = 3) -> bool:
    start = time.perf_counter()
    from maps.report import (
        CategoryZoneRow,
        HotspotChange,
        MethodNote,
        meeting_report_pdf,
    )
    from maps.report_map import HeatRaster

    imported = time.perf_counter() - start
    inputs = {**inputs, "heat": HeatRaster(*inputs["heat"])}
    table = [
        CategoryZoneRow(c, z, 40 + i, 35 + i)
        for i, (c, z) in enumerate(
            (c, z)
            for c in (
                "Skadegörelse",
                "Narkotika",
                "Ungdomar samlas",
                "Hot/våld",
                "Trasig belysning",
                "Nedskräpning",
                "Brand",
                "Otrygg plats",
                "Övrigt",
            )
            for z in ("Älvsjö station och centrum", "Solbergaskolan", "Långbro/västra Solberga")
        )
    ]
    changes = [
        HotspotChange(f"Ruta {i} vid Älvsjö station", ("new", "persistent", "gone")[i % 3])
        for i in range(30)
    ]

    def make() -> bytes:
        return meeting_report_pdf(
            area_name="Solberga",
            period=(date(2026, 11, 2), date(2026, 11, 29)),
            issued=date(2026, 11, 30),
            category_table=table,
            hotspot_changes=changes,
            method=MethodNote(bandwidth_m=150, cell_m=25, hotspot_cell_m=100),
            **inputs,
        )

    start = time.perf_counter()
    pdf = make()
    cold = imported + time.perf_counter() - start
    warm = []
    for _ in range(runs):
        start = time.perf_counter()
        make()
        warm.append(time.perf_counter() - start)
    print(
        f"  report: {len(pdf) / 1e6:.1f} MB, imports {imported:.2f} s, "
        f"{len(inputs['base_lines']):,} street segments, {len(inputs['hotspots']):,} cells"
    )
    ok = report(
        "PDF meeting report, first (imports matplotlib/reportlab)",
        cold,
        TARGET_PDF_S,
        "s",
        higher_is_better=False,
    )
    ok &= report(
        "PDF meeting report, warm (median of 3)",
        statistics.median(warm),
        TARGET_PDF_S,
        "s",
        higher_is_better=False,
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deviations", type=int, default=100_000)
    args = parser.parse_args()
    dev = synthetic_deviations(args.deviations)
    layers, inputs = context_layers(dev)
    print(f"[bench] exports, in process (SYNTHETIC reports: {args.deviations:,})")
    ok = bench_gpkg(dev, layers)
    ok &= bench_pdf(inputs)
    ok &= bench_api()
    return 0 if ok else 1


def bench_api() -> bool:
    """The same through the API end to end: one year of Solberga from PostGIS with 100,000
    deviations in the database (about 60,000 of them in Solberga)."""
    import time
    from datetime import date, timedelta

    import httpx

    from bench.common import bench_database, ensure_user, live_server
    from bench.common import report as show

    url = bench_database(100_000)
    planner = ensure_user(url, "planner")
    print("[bench] exports through GET /api/v1/exports/meeting (PostGIS, 100,000 deviations)")
    ok = True
    with live_server(url) as base, httpx.Client(base_url=base, timeout=120) as client:
        r = client.post(
            "/api/v1/auth/token",
            data={"username": planner, "password": "benchmark-password-not-secret"},
        )
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        until = date.today()
        params = {
            "area": "solberga",
            "since": (until - timedelta(days=365)).isoformat(),
            "until": until.isoformat(),
        }
        for fmt, target in (("gpkg", 5.0), ("pdf", 10.0)):
            t0 = time.perf_counter()
            got = client.get(
                "/api/v1/exports/meeting", params={**params, "format": fmt}, headers=headers
            )
            got.raise_for_status()
            seconds = time.perf_counter() - t0
            ok &= show(
                f"API partner {fmt}, Solberga, one year ({len(got.content):,} bytes)",
                seconds,
                target,
                "s",
                higher_is_better=False,
            )
    return ok


if __name__ == "__main__":
    sys.exit(main())
