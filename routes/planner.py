"""Plan a night walk: which candidate stops to visit, in which order, along which streets.

The orienteering problem of DESIGN.md ("Route plans"): maximise the summed priority of the
visited stops while walking plus dwelling fits the time budget. Travel times come from the
street graph (one multi-source Dijkstra call for start, end and all candidates), never from
straight lines. A fast heuristic gives a plan first; OR-Tools' routing library then tries to
improve it from that plan within the time limit; the better of the two is kept.

Units: distances in metres, times in seconds, speeds in km/h; positions in WGS 84 lon/lat.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from routes import orienteering as orient
from routes.errors import BudgetTooShort, NotNearNetwork
from routes.network import LonLat, ShortestPaths, StreetNetwork, nearest_nodes, shortest_paths
from routes.plan import (
    Candidate,
    LeftOut,
    Plan,
    PlannedStop,
    SolverInfo,
    validate_request,
)


def _minutes(seconds: float) -> str:
    """Whole minutes, rounded up."""
    return f"{math.ceil(seconds / 60 - 1e-9):d} min"


def _snap_depot(
    network: StreetNetwork, point: LonLat, label: str, max_snap_m: float
) -> tuple[int, float]:
    nodes, dist = nearest_nodes(network, [point])
    if not dist[0] <= max_snap_m:
        raise NotNearNetwork(
            f"the {label} is {dist[0]:.0f} m from the nearest street of the network; move it "
            f"within {max_snap_m:.0f} m of a street (or import a street network that covers it)",
            distance_m=float(dist[0]),
            field=label,
        )
    return int(nodes[0]), float(dist[0])


def plan_route(
    network: StreetNetwork,
    *,
    start: LonLat,
    end: LonLat | None = None,
    budget_s: float,
    candidates: Sequence[Candidate],
    speed_kmh: float = 4.0,
    dwell_s: float = 600.0,
    time_limit_s: float = 1.0,
    max_snap_m: float = 300.0,
    seed: int = 0,
) -> Plan:
    """Plan a walk from ``start`` to ``end`` (back to ``start`` if None) within ``budget_s``.

    Parameters
    ----------
    network
        The street graph (`routes.store.network_for`).
    start, end
        Lon/lat of the meeting point and of the end; each must be within ``max_snap_m`` of the
        network (else `NotNearNetwork`).
    budget_s
        Time for the whole walk, walking and dwelling, in seconds (at most 12 hours).
    candidates
        Possible stops; a candidate farther than ``max_snap_m`` from the network, on the same
        street node as a better one, or out of reach within the budget is left out with a reason.
    speed_kmh, dwell_s
        Walking speed, and time spent at each stop.
    time_limit_s
        Wall-clock time for the search (heuristic, then OR-Tools); the distance matrix is extra.

    Raises
    ------
    InvalidInput
        Out-of-range numbers or positions.
    NotNearNetwork
        The start or end is too far from the street network.
    BudgetTooShort
        The must-visit stops (or the walk from start to end) do not fit the budget; the
        message says by how many minutes.
    """
    validate_request(start, end, budget_s, speed_kmh, dwell_s, candidates, time_limit_s)
    t0 = time.perf_counter()
    start_node, start_snap = _snap_depot(network, start, "start", max_snap_m)
    end_node, end_snap = (
        (start_node, start_snap) if end is None else _snap_depot(network, end, "end", max_snap_m)
    )
    left_out: list[LeftOut] = []
    kept: list[int] = []  # indices into candidates
    by_node: dict[int, int] = {}
    nodes = np.zeros(0, np.int64)
    snaps = np.zeros(0)
    if candidates:
        nodes, snaps = nearest_nodes(network, [(c.lon, c.lat) for c in candidates])
    # Must-visit first, then by priority, so a duplicate keeps the stop that matters most.
    for i in sorted(
        range(len(candidates)),
        key=lambda i: (not candidates[i].must_visit, -candidates[i].priority, i),
    ):
        c = candidates[i]
        if not snaps[i] <= max_snap_m:
            if c.must_visit:
                raise NotNearNetwork(
                    f"must-visit stop {c.name!r} is {snaps[i]:.0f} m from the nearest street; "
                    f"move it within {max_snap_m:.0f} m of a street",
                    distance_m=float(snaps[i]),
                    field="candidates",
                )
            left_out.append(
                LeftOut(
                    c.name,
                    f"farther than {max_snap_m:.0f} m from the street network ({snaps[i]:.0f} m)",
                )
            )
        elif int(nodes[i]) in by_node:
            other = candidates[by_node[int(nodes[i])]].name
            left_out.append(LeftOut(c.name, f"duplicate of stop {other} (same street node)"))
        else:
            by_node[int(nodes[i])] = i
            kept.append(i)

    speed_mps = speed_kmh / 3.6
    depots = [start_node] if end is None else [start_node, end_node]
    end_idx = 0 if end is None else 1
    matrix_nodes = depots + [int(nodes[i]) for i in kept]
    # Beyond budget × speed no stop can be reached, so the search may stop there, unless a
    # must-visit stop lies farther (to say by how much the budget is short).
    sources = sorted(set(matrix_nodes))
    trees = shortest_paths(network, sources, limit_m=budget_s * speed_mps)
    dist_m = trees.matrix(matrix_nodes)
    needed = [0, end_idx] + [
        len(depots) + k for k, i in enumerate(kept) if candidates[i].must_visit
    ]
    if not np.isfinite(dist_m[np.ix_(needed, needed)]).all():
        trees = shortest_paths(network, sources)
        dist_m = trees.matrix(matrix_nodes)
    t_matrix = time.perf_counter() - t0

    first = len(depots)
    full = orient.Instance.from_distances(
        dist_m,
        priority=np.array([0.0] * first + [candidates[i].priority for i in kept]),
        must=np.array([False] * first + [candidates[i].must_visit for i in kept]),
        end=end_idx,
        budget_s=budget_s,
        speed_mps=speed_mps,
        dwell_s=dwell_s,
    )
    # An optional stop whose round trip alone does not fit can never be visited.
    alone = full.travel[0] + full.service + full.travel[:, end_idx]
    use = list(range(first))
    for k, i in enumerate(kept, first):
        if alone[k] <= full.budget or candidates[i].must_visit:
            use.append(k)
        else:
            left_out.append(LeftOut(candidates[i].name, "not reachable within the time budget"))
    kept = [kept[k - first] for k in use[first:]]
    matrix_nodes = [matrix_nodes[k] for k in use]
    inst = full.subset(use)
    unit, budget_u = orient.TIME_UNIT_S, inst.budget
    n = len(use)

    route0, proven = orient.min_tour(inst, [k for k in range(first, n) if inst.must[k]])
    if inst.cost(route0) > budget_u:
        need_s = inst.cost(route0) * unit
        what = "the must-visit stops need" if len(route0) > 2 else "walking from start to end needs"
        raise BudgetTooShort(
            f"{what} {'' if proven else 'about '}{need_s / 60:.1f} min (walking at "
            f"{speed_kmh:g} km/h and {dwell_s / 60:g} min at each stop), "
            f"{(need_s - budget_s) / 60:.1f} min more than the budget of {budget_s / 60:.1f} "
            f"min: raise the budget by at least {_minutes(need_s - budget_s)} or drop "
            "must-visit stops",
            shortfall_s=need_s - budget_s,
        )

    t_search = time.perf_counter()
    deadline = t_search + 0.5 * time_limit_s
    heuristic = orient.solve_heuristic(inst, route0, deadline=deadline, seed=seed)
    best, method = heuristic, "heuristic"
    remaining = time_limit_s - (time.perf_counter() - t_search)
    ort = orient.OrToolsResult(None, "not run: no optional stops")
    if len(inst.optional) and remaining > 0.02:
        ort = orient.solve_ortools(inst, time_limit_s=remaining, initial=heuristic)
        if (
            ort.route is not None
            and inst.cost(ort.route) <= budget_u
            and orient.better(inst, ort.route, heuristic)
        ):
            best, method = ort.route, "ortools"
    search_s = time.perf_counter() - t_search
    return _assemble(
        network,
        inst,
        best,
        candidates,
        kept,
        matrix_nodes,
        trees,
        snaps,
        left_out,
        start_node=start_node,
        end_node=end_node,
        start_snap=start_snap,
        end_snap=end_snap,
        speed_mps=speed_mps,
        dwell_s=dwell_s,
        budget_s=budget_s,
        speed_kmh=speed_kmh,
        solver=SolverInfo(
            method=method,
            heuristic_priority=inst.value(heuristic),
            heuristic_duration_s=inst.cost(heuristic) * unit,
            ortools_priority=None if ort.route is None else inst.value(ort.route),
            ortools_duration_s=None if ort.route is None else inst.cost(ort.route) * unit,
            ortools_status=ort.status,
            matrix_s=t_matrix,
            search_s=search_s,
        ),
    )


def _assemble(
    network: StreetNetwork,
    inst: orient.Instance,
    route: list[int],
    candidates: Sequence[Candidate],
    kept: list[int],
    matrix_nodes: list[int],
    trees: ShortestPaths,
    snaps: np.ndarray,
    left_out: list[LeftOut],
    *,
    start_node: int,
    end_node: int,
    start_snap: float,
    end_snap: float,
    speed_mps: float,
    dwell_s: float,
    budget_s: float,
    speed_kmh: float,
    solver: SolverInfo,
) -> Plan:
    """The plan of ``route`` (matrix indices): legs along the streets and arrival times."""
    first = 1 if inst.start == inst.end else 2
    coords: list[LonLat] = []
    legs_m: list[float] = []
    stops: list[PlannedStop] = []
    clock = 0.0
    for a, b in zip(route[:-1], route[1:], strict=True):
        path = trees.path(matrix_nodes[a], matrix_nodes[b])
        coords.extend(path.coords if not coords else path.coords[1:])
        legs_m.append(path.length_m)
        clock += path.length_m / speed_mps
        if b >= first and b != inst.end:
            c = candidates[kept[b - first]]
            stops.append(
                PlannedStop(
                    c.name,
                    c.lon,
                    c.lat,
                    matrix_nodes[b],
                    float(snaps[kept[b - first]]),
                    clock,
                    dwell_s,
                    c.priority,
                    c.must_visit,
                )
            )
            clock += dwell_s
    if not coords:
        lon, lat = network.lonlat[network.index_of(start_node)]
        coords = [(float(lon), float(lat))]
    visited = {kept[b - first] for b in route if b >= first and b != inst.end}
    for i in kept:
        if i not in visited:
            left_out.append(
                LeftOut(
                    candidates[i].name,
                    "did not fit in the time budget beside stops of more priority per minute",
                )
            )
    length_m = float(sum(legs_m))
    walking_s = length_m / speed_mps
    return Plan(
        coords=coords,
        stops=stops,
        length_m=length_m,
        duration_s=walking_s + dwell_s * len(stops),
        walking_s=walking_s,
        priority_collected=float(sum(s.priority for s in stops)),
        left_out=left_out,
        start_node=start_node,
        end_node=end_node,
        start_snap_m=start_snap,
        end_snap_m=end_snap,
        legs_m=legs_m,
        budget_s=budget_s,
        speed_kmh=speed_kmh,
        solver=solver,
    )
