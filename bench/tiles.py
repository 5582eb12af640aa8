"""Benchmark of the vector tiles and the feature service, over real HTTP against PostGIS.

    .venv/bin/python bench/tiles.py [--deviations 100000]

With 100,000 SYNTHETIC deviations over a year (60 % in Solberga):
- a year of deviations as one vector tile (``datetime`` a year back) at zoom 8 and 10 (the low
  zooms: all of Stockholm's districts in one tile), 12 (all of Solberga and more), 14 and 16:
  median ≤ 300 ms each, both made (five periods a second apart, so that none is cached) and
  sent again from the tile cache (a map shows a year of reports without downloading them; a
  tile is made once, then sent from the cache by its ETag until a report changes, and
  ``If-None-Match`` with its ETag answers 304);
- a page of 1,000 deviations from ``/ogc/collections/deviations/items`` (what QGIS fetches per
  request): ≤ 300 ms; the same page in EPSG:3006: ≤ 500 ms.
Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    bench_database,
    ensure_user,
    live_server,
    median_ms,
    report,
    timed,
    token,
)

STATION = (18.0104, 59.2786)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deviations", type=int, default=100_000)
    args = parser.parse_args()
    url = bench_database(args.deviations)
    email = ensure_user(url, "planner")
    ok = True
    with live_server(url) as base, httpx.Client(base_url=base, timeout=60) as client:
        h = token(base, email)
        print(f"vector tiles and OGC API Features, {args.deviations:,} deviations")
        year_ago = datetime.now(UTC) - timedelta(days=366)
        for z in (8, 10, 12, 14, 16):
            zz, x, y = tile_of(*STATION, z)
            path = f"/tiles/deviations/{zz}/{x}/{y}.mvt"
            # Made: each request a period of its own (a second apart), so none is in the cache.
            made: list[float] = []
            for i in range(5):
                period = f"{(year_ago - timedelta(seconds=i)).isoformat()}/.."
                started = time.perf_counter()
                r = client.get(path, params={"datetime": period}, headers=h)
                r.raise_for_status()
                made.append(time.perf_counter() - started)
            ok &= report(
                f"tile z{z} of a year made ({len(r.content) / 1024:.0f} KiB)",
                median_ms(made),
                300,
                "ms",
                higher_is_better=False,
            )
            etag = r.headers.get("etag", "")
            again = client.get(
                path, params={"datetime": period}, headers={**h, "If-None-Match": etag}
            )
            assert again.status_code == 304, again.status_code

            def fetch_tile(p: str = path, d: str = period) -> object:
                return client.get(p, params={"datetime": d}, headers=h)

            times = timed(fetch_tile, repeat=10)
            ok &= report(
                f"tile z{z} of a year from the cache (304 with its ETag)",
                median_ms(times),
                300,
                "ms",
                higher_is_better=False,
            )
        items = "/ogc/collections/deviations/items"
        for crs, target in ((None, 300), ("http://www.opengis.net/def/crs/EPSG/0/3006", 500)):
            params = {"limit": "1000", **({"crs": crs} if crs else {})}
            page = client.get(items, params=params, headers=h)
            page.raise_for_status()
            assert page.json()["numberReturned"] == 1000

            def fetch_page(p: dict[str, str] = params) -> object:
                return client.get(items, params=p, headers=h)

            times = timed(fetch_page, repeat=10)
            ok &= report(
                f"OGC items page of 1,000 ({'EPSG:3006' if crs else 'CRS84'})",
                median_ms(times),
                target,
                "ms",
                higher_is_better=False,
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
