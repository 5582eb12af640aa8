"""Plan a night walk: which candidate stops to visit, in which order, along which streets.

The orienteering problem of DESIGN.md ("Route plans"): maximise the summed priority of the
visited stops while walking plus dwelling fits the time budget. Travel times come from the
street graph (one multi-source Dijkstra call for start, end and all candidates), never from
straight lines. A fast heuristic gives a plan first; OR-Tools' routing library then tries to
improve it from that plan within the time limit; the better of the two is kept.

`plan_route` runs four steps, each a function of the request (`_Context`, checked and frozen)
and of what the steps before it found:

1. `_snap`: the start, the end and every candidate onto their nearest street nodes; candidates
   too far from a street, or on the node of a better one, are left out.
2. `_instance`: the street distances between those nodes and the orienteering instance on
   them; candidates that cannot be reached and back within the budget are left out.
3. `_solve`: the must-visit tour (or `BudgetTooShort`), the heuristic, then OR-Tools.
4. `_assemble`: the route's line along the streets, arrival times and the `Plan`.

`plan_groups` is the same for several groups from one meeting point (the team orienteering
problem of DESIGN.md): one route a group, no stop in two, the most priority in total, each
within the budget. Stops with opening hours (`Candidate.window_s`) are visited within them.

Units: distances in metres, times in seconds, speeds in km/h; positions in WGS 84 lon/lat.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo.geometry import LonLat
from routes import orienteering as orient
from routes.errors import BudgetTooShort, ClosedDuringWalk, NotNearNetwork
from routes.network import ShortestPaths, StreetNetwork, nearest_nodes, shortest_paths
from routes.plan_types import (
    Candidate,
    LeftOut,
    Plan,
    PlannedStop,
    SolverInfo,
    validate_request,
)

# Several groups: the share of ``time_limit_s`` for the heuristic, then for OR-Tools from its
# routes; OR-Tools from its own first solution has the rest.
TEAM_HEURISTIC_SHARE = 0.6
TEAM_FROM_HEURISTIC_SHARE = 0.2


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
        The street graph (`routes.network_io.network_for`).
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
    max_snap_m
        How far, in metres, the start, the end and a candidate may lie from the nearest street
        node.
    seed
        Seed of the heuristic's random moves: the same request gives the same plan, up to the
        time limit.

    Returns
    -------
    Plan
        The walk along the streets, its stops with arrival times, and the candidates left out
        with the reason for each.

    Raises
    ------
    InvalidInput
        Out-of-range numbers or positions.
    NotNearNetwork
        The start, the end or a must-visit stop is too far from the street network.
    BudgetTooShort
        The must-visit stops (or the walk from start to end) do not fit the budget; the
        message says by how many minutes.
    """
    return plan_groups(
        network,
        start=start,
        end=end,
        budget_s=budget_s,
        candidates=candidates,
        speed_kmh=speed_kmh,
        dwell_s=dwell_s,
        time_limit_s=time_limit_s,
        max_snap_m=max_snap_m,
        seed=seed,
        groups=1,
    )[0]


def plan_groups(
    network: StreetNetwork,
    *,
    start: LonLat,
    end: LonLat | None = None,
    budget_s: float,
    candidates: Sequence[Candidate],
    groups: int,
    speed_kmh: float = 4.0,
    dwell_s: float = 600.0,
    time_limit_s: float = 1.0,
    max_snap_m: float = 300.0,
    seed: int = 0,
) -> list[Plan]:
    """Plan walks for ``groups`` groups from one meeting point: one `Plan` a group (numbered
    from 1 in `Plan.group`), no stop in two of them, the most priority in total, each within
    ``budget_s``. The parameters are those of `plan_route`; every plan carries all the
    candidates left out, and the `SolverInfo` of the whole search (priority in total).
    """
    validate_request(
        candidates,
        start=start,
        end=end,
        budget_s=budget_s,
        speed_kmh=speed_kmh,
        dwell_s=dwell_s,
        time_limit_s=time_limit_s,
        groups=groups,
    )
    ctx = _Context(
        network,
        start=start,
        end=end,
        budget_s=budget_s,
        candidates=tuple(candidates),
        speed_kmh=speed_kmh,
        dwell_s=dwell_s,
        time_limit_s=time_limit_s,
        max_snap_m=max_snap_m,
        seed=seed,
        groups=groups,
    )
    t0 = time.perf_counter()
    snapped = _snap(ctx)
    problem = _instance(ctx, snapped)
    solution = _solve(ctx, problem, matrix_s=time.perf_counter() - t0)
    return _assemble(ctx, snapped, problem, solution)


@dataclass(frozen=True)
class _Context:
    """The checked request and its street network: what every step reads.

    Matrix indices (of the distance matrix and of the orienteering instance): 0 is the start,
    1 the end when it is not the start, then the candidates from `first` on.
    """

    network: StreetNetwork
    start: LonLat
    end: LonLat | None
    budget_s: float
    candidates: tuple[Candidate, ...]
    speed_kmh: float
    dwell_s: float
    time_limit_s: float
    max_snap_m: float
    seed: int
    groups: int = 1

    @property
    def speed_mps(self) -> float:
        return self.speed_kmh / 3.6

    @property
    def end_index(self) -> int:
        """Matrix index of the end: 0 on a round trip, else 1."""
        return 0 if self.end is None else 1

    @property
    def first(self) -> int:
        """Matrix index of the first candidate (after the start and the end)."""
        return self.end_index + 1


@dataclass(frozen=True, eq=False)
class _Snapped:
    """Step 1: the start and end nodes, and the candidates that go on to the matrix.

    ``kept`` holds candidate indices, must-visit first and then by priority, at most one per
    street node; ``node`` and ``snap_m`` give every candidate's nearest street node and its
    distance in metres.
    """

    start_node: int
    start_snap_m: float
    end_node: int
    end_snap_m: float
    kept: tuple[int, ...]
    node: NDArray[np.int64]
    snap_m: NDArray[np.float64]
    left_out: tuple[LeftOut, ...]


@dataclass(frozen=True, eq=False)
class _Problem:
    """Step 2: the orienteering instance and the street nodes behind its indices.

    ``nodes[k]`` is the street node of matrix index ``k``; ``kept[k - first]`` the candidate of
    matrix index ``k`` ≥ `_Context.first`. ``trees`` are the shortest-path trees from every
    node, for the route's line.
    """

    inst: orient.Instance
    nodes: tuple[int, ...]
    kept: tuple[int, ...]
    trees: ShortestPaths
    left_out: tuple[LeftOut, ...]


@dataclass(frozen=True)
class _Solution:
    """Step 3: the routes, one a group (matrix indices from start to end), and how they were
    found."""

    routes: list[list[int]]
    solver: SolverInfo


def _snap(ctx: _Context) -> _Snapped:
    """The start, end and candidates on their nearest street nodes (`NotNearNetwork` for a
    start, end or must-visit stop farther than ``max_snap_m``)."""
    start_node, start_snap_m = _snap_depot(ctx, ctx.start, field="start")
    end_node, end_snap_m = (
        (start_node, start_snap_m) if ctx.end is None else _snap_depot(ctx, ctx.end, field="end")
    )
    cands = ctx.candidates
    left_out: list[LeftOut] = []
    kept: list[int] = []
    by_node: dict[int, int] = {}
    nodes = np.zeros(0, np.int64)
    snaps = np.zeros(0)
    if cands:
        nodes, snaps = nearest_nodes(ctx.network, [(c.lon, c.lat) for c in cands])
    # Must-visit first, then by priority, so a duplicate keeps the stop that matters most.
    for i in sorted(
        range(len(cands)), key=lambda i: (not cands[i].must_visit, -cands[i].priority, i)
    ):
        c = cands[i]
        if not snaps[i] <= ctx.max_snap_m:
            if c.must_visit:
                raise NotNearNetwork(
                    f"must-visit stop {c.name!r} is {snaps[i]:.0f} m from the nearest street; "
                    f"move it within {ctx.max_snap_m:.0f} m of a street",
                    distance_m=float(snaps[i]),
                    field="candidates",
                )
            left_out.append(
                LeftOut(
                    c.name,
                    f"farther than {ctx.max_snap_m:.0f} m from the street network "
                    f"({snaps[i]:.0f} m)",
                    "far_from_network",
                    f"ligger {snaps[i]:.0f} m från gatunätet (högst {ctx.max_snap_m:.0f} m)",
                )
            )
        elif c.window_s is not None and c.window_s[0] > c.window_s[1]:
            hours = f" ({c.hours})" if c.hours else ""
            if c.must_visit:
                raise ClosedDuringWalk(
                    f"must-visit stop {c.name!r} is closed during the whole walk{hours}; "
                    "choose another start time or drop the stop",
                    field="candidates",
                )
            left_out.append(
                LeftOut(
                    c.name,
                    f"closed during the whole walk{hours}",
                    "closed",
                    "stängt under hela vandringen" + _open_sv(c),
                )
            )
        elif int(nodes[i]) in by_node:
            other = cands[by_node[int(nodes[i])]].name
            left_out.append(
                LeftOut(
                    c.name,
                    f"duplicate of stop {other} (same street node)",
                    "duplicate",
                    f"samma gatukorsning som stoppet {other}",
                )
            )
        else:
            by_node[int(nodes[i])] = i
            kept.append(i)
    return _Snapped(
        start_node,
        start_snap_m,
        end_node,
        end_snap_m,
        kept=tuple(kept),
        node=nodes,
        snap_m=snaps,
        left_out=tuple(left_out),
    )


def _snap_depot(ctx: _Context, point: LonLat, *, field: str) -> tuple[int, float]:
    """The nearest street node of the start or end and its distance in metres."""
    nodes, dist = nearest_nodes(ctx.network, [point])
    if not dist[0] <= ctx.max_snap_m:
        raise NotNearNetwork(
            f"the {field} is {dist[0]:.0f} m from the nearest street of the network; move it "
            f"within {ctx.max_snap_m:.0f} m of a street (or import a street network that covers "
            "it)",
            distance_m=float(dist[0]),
            field=field,
        )
    return int(nodes[0]), float(dist[0])


def _instance(ctx: _Context, snapped: _Snapped) -> _Problem:
    """The street distances between the snapped nodes, as an orienteering instance without the
    candidates that no walk within the budget can reach."""
    cands, first, end_index = ctx.candidates, ctx.first, ctx.end_index
    depots = [snapped.start_node] if ctx.end is None else [snapped.start_node, snapped.end_node]
    nodes = depots + [int(snapped.node[i]) for i in snapped.kept]
    # Beyond budget × speed no stop can be reached, so the search may stop there, unless a
    # must-visit stop lies farther (to say by how much the budget is short).
    sources = sorted(set(nodes))
    trees = shortest_paths(ctx.network, sources, limit_m=ctx.budget_s * ctx.speed_mps)
    dist_m = trees.matrix(nodes)
    needed = [0, end_index] + [first + k for k, i in enumerate(snapped.kept) if cands[i].must_visit]
    if not np.isfinite(dist_m[np.ix_(needed, needed)]).all():
        trees = shortest_paths(ctx.network, sources)
        dist_m = trees.matrix(nodes)

    full = orient.Instance.from_distances(
        dist_m,
        priority=np.array([0.0] * first + [cands[i].priority for i in snapped.kept]),
        must=np.array([False] * first + [cands[i].must_visit for i in snapped.kept]),
        end=end_index,
        budget_s=ctx.budget_s,
        speed_mps=ctx.speed_mps,
        dwell_s=ctx.dwell_s,
        windows_s=[None] * first + [cands[i].window_s for i in snapped.kept],
    )
    # An optional stop whose round trip alone does not fit can never be visited; nor one that
    # closes before the quickest walk there arrives.
    arrive = full.travel[0].copy()
    late = np.zeros(len(arrive), bool)
    if full.open_lo is not None and full.open_hi is not None:
        late = arrive > full.open_hi
        arrive = np.maximum(arrive, full.open_lo)
    alone = arrive + full.service + full.travel[:, end_index]
    use = list(range(first))
    left_out: list[LeftOut] = []
    for k, i in enumerate(snapped.kept, first):
        c = cands[i]
        if c.must_visit or (alone[k] <= full.budget and not late[k]):
            use.append(k)
        elif late[k]:
            hours = f" ({c.hours})" if c.hours else ""
            left_out.append(
                LeftOut(
                    c.name,
                    f"closes before the walk can get there{hours}",
                    "closed_before_arrival",
                    "stänger innan gruppen hinner dit" + _open_sv(c),
                )
            )
        else:
            left_out.append(
                LeftOut(
                    c.name,
                    "not reachable within the time budget",
                    "out_of_reach",
                    "går inte att hinna dit och tillbaka inom tiden",
                )
            )
    return _Problem(
        full.subset(use),
        nodes=tuple(nodes[k] for k in use),
        kept=tuple(snapped.kept[k - first] for k in use[first:]),
        trees=trees,
        left_out=tuple(left_out),
    )


def _solve(ctx: _Context, problem: _Problem, *, matrix_s: float) -> _Solution:
    """The best routes found within ``time_limit_s``: the quickest tour through the must-visit
    stops (`BudgetTooShort` if even that does not fit, `ClosedDuringWalk` if their opening
    hours cannot all be met), shared out among the groups, the heuristic from it, then
    OR-Tools from the heuristic's routes; ``matrix_s`` (the time of the steps before) goes
    into the `SolverInfo`."""
    inst, unit, k = problem.inst, orient.TIME_UNIT_S, ctx.groups
    must = [i for i in range(ctx.first, len(problem.nodes)) if inst.must[i]]
    route0, proven = orient.min_tour(inst, must)
    routes0 = _share_must(inst, must, k) if k > 1 and must else None
    if routes0 is None:
        if inst.windowed and inst.schedule(route0) is None:
            raise ClosedDuringWalk(
                "the must-visit stops' opening hours cannot all be met on one walk; choose "
                "another start time, more groups, or drop must-visit stops",
                field="must_visit",
            )
        if inst.duration(route0) > inst.budget:
            need_s = inst.duration(route0) * unit
            what = "walking from start to end needs"
            if len(route0) > 2:
                what = "the must-visit stops need"
            short_s = need_s - ctx.budget_s
            raise BudgetTooShort(
                f"{what} {'' if proven else 'about '}{need_s / 60:.1f} min (walking at "
                f"{ctx.speed_kmh:g} km/h and {ctx.dwell_s / 60:g} min at each stop), "
                f"{short_s / 60:.1f} min more than the budget of {ctx.budget_s / 60:.1f} "
                f"min: raise the budget by at least {_minutes(short_s)} or drop must-visit stops",
                shortfall_s=short_s,
            )
        routes0 = [route0] + [[inst.start, inst.end] for _ in range(k - 1)]

    t_search = time.perf_counter()
    share = 0.5 if k == 1 else TEAM_HEURISTIC_SHARE
    deadline = t_search + share * ctx.time_limit_s
    if k == 1:
        heuristic = [orient.solve_heuristic(inst, routes0[0], deadline=deadline, seed=ctx.seed)]
    else:
        heuristic = orient.solve_team(inst, routes0, deadline=deadline, seed=ctx.seed)
    best, method = heuristic, "heuristic"
    ort = orient.OrToolsTeamResult(None, "not run: no optional stops")
    # OR-Tools from the heuristic's routes; for several groups also from its own first
    # solution (a portfolio: on some instances each finds what the other misses).
    starts: list[tuple[list[list[int]] | None, float]] = [(heuristic, 1.0)]
    if k > 1:
        starts = [(heuristic, TEAM_FROM_HEURISTIC_SHARE / (1 - share)), (None, 1.0)]
    for initial, part in starts:
        remaining = ctx.time_limit_s - (time.perf_counter() - t_search)
        if not len(inst.optional) or remaining <= 0.02:
            break
        run = orient.solve_ortools_team(
            inst, groups=k, time_limit_s=remaining * part, initial=initial
        )
        if run.routes is None or not all(inst.fits(r) for r in run.routes):
            ort = ort if ort.routes is not None else run
            continue
        if ort.routes is None or orient.better_team(inst, run.routes, ort.routes):
            ort = run
        if orient.better_team(inst, run.routes, best):
            best, method = run.routes, "ortools"

    def total(routes: list[list[int]] | None) -> tuple[float | None, float | None]:
        if routes is None:
            return None, None
        return (
            float(sum(inst.value(r) for r in routes)),
            float(sum(inst.duration(r) for r in routes)) * unit,
        )

    h_priority, h_duration = total(heuristic)
    o_priority, o_duration = total(ort.routes)
    assert h_priority is not None and h_duration is not None
    return _Solution(
        best,
        SolverInfo(
            method=method,
            heuristic_priority=h_priority,
            heuristic_duration_s=h_duration,
            ortools_priority=o_priority,
            ortools_duration_s=o_duration,
            ortools_status=ort.status,
            matrix_s=matrix_s,
            search_s=time.perf_counter() - t_search,
        ),
    )


def _share_must(inst: orient.Instance, must: list[int], groups: int) -> list[list[int]] | None:
    """The must-visit stops shared out among ``groups`` routes, each within the budget: the
    farthest stop first, into the route where it ends the walk soonest; None when that does
    not fit (then the first group takes them all)."""
    routes = [[inst.start, inst.end] for _ in range(groups)]
    for v in sorted(must, key=lambda v: (-int(inst.travel[inst.start, v]), v)):
        best: list[int] | None = None
        best_g = -1
        for g, r in enumerate(routes):
            for p in range(1, len(r)):
                trial = [*r[:p], v, *r[p:]]
                if inst.fits(trial) and (
                    best is None or inst.duration(trial) < inst.duration(best)
                ):
                    best, best_g = trial, g
        if best is None:
            return None
        routes[best_g] = best
    return routes


def _assemble(
    ctx: _Context, snapped: _Snapped, problem: _Problem, solution: _Solution
) -> list[Plan]:
    """The plan of each route: legs along the streets, arrival times (waiting for a stop to
    open), and the candidates left out by every step (the kept ones that no route visits)."""
    first, end = ctx.first, problem.inst.end
    visited = {
        problem.kept[b - first] for r in solution.routes for b in r if b >= first and b != end
    }
    unvisited = [
        LeftOut(
            ctx.candidates[i].name,
            "did not fit in the time budget beside stops of more priority per minute",
            "no_time",
            "fick inte plats i tiden bredvid stopp med mer prioritet per minut",
        )
        for i in problem.kept
        if i not in visited
    ]
    left_out = [*snapped.left_out, *problem.left_out, *unvisited]
    return [
        _assemble_route(ctx, snapped, problem, route, solution.solver, left_out, group=g)
        for g, route in enumerate(solution.routes, 1)
    ]


def _assemble_route(
    ctx: _Context,
    snapped: _Snapped,
    problem: _Problem,
    route: list[int],
    solver: SolverInfo,
    left_out: list[LeftOut],
    *,
    group: int,
) -> Plan:
    first, end = ctx.first, problem.inst.end
    nodes = problem.nodes
    coords: list[LonLat] = []
    legs_m: list[float] = []
    stops: list[PlannedStop] = []
    clock = waited = 0.0
    for a, b in zip(route[:-1], route[1:], strict=True):
        path = problem.trees.path(nodes[a], nodes[b])
        coords.extend(path.coords if not coords else path.coords[1:])
        legs_m.append(path.length_m)
        clock += path.length_m / ctx.speed_mps
        if b >= first and b != end:
            i = problem.kept[b - first]
            c = ctx.candidates[i]
            wait = max(0.0, c.window_s[0] - clock) if c.window_s is not None else 0.0
            stops.append(
                PlannedStop(
                    c.name,
                    c.lon,
                    c.lat,
                    nodes[b],
                    float(snapped.snap_m[i]),
                    clock,
                    ctx.dwell_s,
                    c.priority,
                    c.must_visit,
                    wait_s=wait,
                    hours=c.hours,
                )
            )
            waited += wait
            clock += wait + ctx.dwell_s
    if not coords:
        lon, lat = ctx.network.lonlat[ctx.network.index_of(snapped.start_node)]
        coords = [(float(lon), float(lat))]
    length_m = float(sum(legs_m))
    walking_s = length_m / ctx.speed_mps
    return Plan(
        coords=coords,
        stops=stops,
        length_m=length_m,
        duration_s=walking_s + waited + ctx.dwell_s * len(stops),
        walking_s=walking_s,
        priority_collected=float(sum(s.priority for s in stops)),
        left_out=left_out,
        start_node=snapped.start_node,
        end_node=snapped.end_node,
        start_snap_m=snapped.start_snap_m,
        end_snap_m=snapped.end_snap_m,
        legs_m=legs_m,
        budget_s=ctx.budget_s,
        speed_kmh=ctx.speed_kmh,
        solver=solver,
        group=group,
    )


def _open_sv(c: Candidate) -> str:
    """ " (öppet 08:00–22:00)" for a candidate with opening hours, else nothing."""
    return f" (öppet {c.hours})" if c.hours else ""


def _minutes(seconds: float) -> str:
    """Whole minutes, rounded up."""
    return f"{math.ceil(seconds / 60 - 1e-9):d} min"
