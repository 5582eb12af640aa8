"""Solvers of the orienteering problem on a travel-time matrix (no geography here).

Visit a subset of candidate stops between a start and an end so that the summed priority is as
large as possible while walking plus dwelling fits the time budget. Times are integers in
units of `TIME_UNIT_S` (0.1 s) and every walking time is rounded *up*, so a route that fits in
integer units also fits in real seconds. Routes are lists of matrix indices from ``start`` to
``end`` (equal for a round trip).

Three solvers: `min_tour` (the shortest route through the must-visit stops: exact dynamic
programming up to `EXACT_MAX` stops), `solve_heuristic` (greedy insertion by priority per added
minute, 2-opt, relocation and swaps, then iterated local search until a deadline), and
`solve_ortools` (OR-Tools routing with optional stops as disjunctions, guided local search).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

TIME_UNIT_S = 0.1
EXACT_MAX = 12
# Priorities are compared to 0.001; a dropped stop costs OR-Tools its priority × this × (budget
# + 1), more than any route's walking time, so priority is maximised first, time second.
PRIORITY_RESOLUTION = 1000


@dataclass(frozen=True, eq=False)
class Instance:
    """An orienteering instance: ``travel[i, j]`` and ``service[i]`` in time units."""

    travel: NDArray[np.int64]
    service: NDArray[np.int64]
    priority: NDArray[np.float64]
    must: NDArray[np.bool_]
    start: int
    end: int
    budget: int

    @classmethod
    def from_distances(
        cls,
        dist_m: NDArray[np.float64],
        *,
        priority: NDArray[np.float64],
        must: NDArray[np.bool_],
        end: int,
        budget_s: float,
        speed_mps: float,
        dwell_s: float,
    ) -> Instance:
        """An instance from walking distances in metres (index 0 is the start; ``end`` is 0 or
        1; inf where the search stopped). Walking times are rounded up to whole units; both
        directions get the longer one (the same streets; float sums may differ in the last
        bit), so the matrix is symmetric."""
        budget = int(math.floor(budget_s / TIME_UNIT_S + 1e-9))
        with np.errstate(invalid="ignore"):
            travel = np.where(
                np.isfinite(dist_m), np.ceil(dist_m / speed_mps / TIME_UNIT_S - 1e-9), budget + 1
            ).astype(np.int64)
        travel = np.maximum(travel, travel.T)
        service = np.full(len(travel), int(math.ceil(dwell_s / TIME_UNIT_S - 1e-9)), np.int64)
        service[[0, end]] = 0
        return cls(
            travel, service, np.asarray(priority, float), np.asarray(must, bool), 0, end, budget
        )

    def subset(self, keep: list[int]) -> Instance:
        """The instance on the indices ``keep`` (which must start with the start and end)."""
        ix = np.ix_(keep, keep)
        pos = {k: i for i, k in enumerate(keep)}
        return Instance(
            self.travel[ix],
            self.service[keep],
            self.priority[keep],
            self.must[keep],
            pos[self.start],
            pos[self.end],
            self.budget,
        )

    @property
    def optional(self) -> NDArray[np.intp]:
        """Indices of the stops that may be left out (neither depot nor must-visit)."""
        mask = ~self.must
        mask[[self.start, self.end]] = False
        return np.flatnonzero(mask)

    def cost(self, route: list[int]) -> int:
        r = np.asarray(route)
        return int(self.travel[r[:-1], r[1:]].sum() + self.service[r[1:-1]].sum())

    def value(self, route: list[int]) -> float:
        return float(self.priority[route[1:-1]].sum())


def better(inst: Instance, a: list[int], b: list[int] | None) -> bool:
    """Whether route ``a`` beats ``b``: more priority, or as much in less time."""
    if b is None:
        return True
    va, vb = inst.value(a), inst.value(b)
    if abs(va - vb) > 1e-9:
        return va > vb
    return inst.cost(a) < inst.cost(b)


# -- the must-visit tour -------------------------------------------------------------------------


def min_tour(inst: Instance, stops: list[int]) -> tuple[list[int], bool]:
    """The quickest route from start to end through ``stops`` and whether it is proven optimal
    (Held–Karp dynamic programming over subsets for up to `EXACT_MAX` stops)."""
    if len(stops) > EXACT_MAX:
        route = _insert_all(inst, [inst.start, inst.end], stops)
        return _local_search(inst, route), False
    if not stops:
        return [inst.start, inst.end], True
    k = len(stops)
    s = np.asarray(stops)
    t = inst.travel[np.ix_(s, s)] + inst.service[s][None, :]
    full = 1 << k
    inf = np.iinfo(np.int64).max // 4
    dp = np.full((full, k), inf, dtype=np.int64)
    parent = np.full((full, k), -1, dtype=np.int64)
    dp[1 << np.arange(k), np.arange(k)] = inst.travel[inst.start, s] + inst.service[s]
    for mask in range(1, full):
        row = dp[mask]
        if (row >= inf).all():
            continue
        # Extend the best path ending at j by a stop m not in mask.
        outside = np.flatnonzero(((mask >> np.arange(k)) & 1) == 0)
        if not len(outside):
            continue
        cand = row[:, None] + t[:, outside]
        best_j = cand.argmin(axis=0)
        best = cand[best_j, np.arange(len(outside))]
        nxt = mask | (1 << outside)
        improve = best < dp[nxt, outside]
        dp[nxt[improve], outside[improve]] = best[improve]
        parent[nxt[improve], outside[improve]] = best_j[improve]
    last_row = dp[full - 1] + inst.travel[s, inst.end]
    j = int(last_row.argmin())
    order, mask = [], full - 1
    while j >= 0:
        order.append(stops[j])
        j, mask = int(parent[mask, j]), mask & ~(1 << j)
    return [inst.start, *order[::-1], inst.end], True


# -- heuristic -----------------------------------------------------------------------------------


def _insertion_costs(
    inst: Instance, route: list[int], cands: NDArray[np.intp]
) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """For each candidate, the least added time of inserting it and after which position."""
    r = np.asarray(route)
    a, b = r[:-1, None], r[1:, None]
    tr = inst.travel
    delta = tr[a, cands] + tr[b, cands] - tr[a, b]  # the matrix is symmetric
    pos = delta.argmin(axis=0)
    return delta[pos, np.arange(len(cands))] + inst.service[cands], pos


def _insert_all(inst: Instance, route: list[int], stops: list[int]) -> list[int]:
    """Cheapest insertion of every stop in ``stops``, whatever the budget."""
    route, left = list(route), np.asarray(stops)
    while len(left):
        add, pos = _insertion_costs(inst, route, left)
        i = int(add.argmin())
        route.insert(int(pos[i]) + 1, int(left[i]))
        left = np.delete(left, i)
    return route


def _fill(inst: Instance, route: list[int], *, rng: np.random.Generator | None = None) -> list[int]:
    """Greedy insertion while the budget allows: the stop with most priority per added time
    first (a random exponent on the time diversifies the iterated search)."""
    route = list(route)
    slack = inst.budget - inst.cost(route)
    left = np.setdiff1d(inst.optional, route)
    alpha = 1.0 if rng is None else float(rng.uniform(0.5, 1.5))
    while len(left):
        add, pos = _insertion_costs(inst, route, left)
        fits = add <= slack
        if not fits.any():
            break
        score = np.where(fits, inst.priority[left] / (np.maximum(add, 0) + 1.0) ** alpha, -1.0)
        i = int(score.argmax())
        route.insert(int(pos[i]) + 1, int(left[i]))
        slack -= int(add[i])
        left = np.delete(left, i)
    return route


def _two_opt(inst: Instance, route: list[int]) -> list[int]:
    """Reverse segments while that shortens the walk (the matrix is symmetric)."""
    r = np.asarray(route)
    tr = inst.travel
    while len(r) > 3:
        # delta[i, j]: reverse r[i..j], 1 <= i < j <= len - 2.
        i, j = np.triu_indices(len(r) - 2, k=1)
        i, j = i + 1, j + 1
        delta = tr[r[i - 1], r[j]] + tr[r[i], r[j + 1]] - tr[r[i - 1], r[i]] - tr[r[j], r[j + 1]]
        k = int(delta.argmin())
        if delta[k] >= 0:
            break
        r = np.concatenate([r[: i[k]], r[i[k] : j[k] + 1][::-1], r[j[k] + 1 :]])
    return [int(x) for x in r]


def _relocate(inst: Instance, route: list[int]) -> list[int]:
    """Move single stops to a better position while that shortens the walk."""
    tr = inst.travel
    while len(route) > 3:
        r = np.asarray(route)
        m = len(r)
        p = np.arange(1, m - 1)  # positions that may move
        gain = tr[r[p - 1], r[p]] + tr[r[p], r[p + 1]] - tr[r[p - 1], r[p + 1]]
        # ins[i, q]: put r[p[i]] between r[q] and r[q + 1] of the route as it is.
        q = np.arange(m - 1)
        v = r[p][:, None]
        ins = tr[r[q][None, :], v] + tr[v, r[q + 1][None, :]] - tr[r[q], r[q + 1]][None, :]
        # Next to its own position a move changes nothing.
        ins[(q[None, :] == p[:, None] - 1) | (q[None, :] == p[:, None])] = (
            np.iinfo(np.int64).max // 4
        )
        delta = ins - gain[:, None]
        i, k = np.unravel_index(int(delta.argmin()), delta.shape)
        if delta[i, k] >= 0:
            break
        node, src, dst = route[p[i]], int(p[i]), int(q[k]) + 1
        route = route[:src] + route[src + 1 :]
        route.insert(dst if dst < src else dst - 1, node)
    return route


def _swap(inst: Instance, route: list[int]) -> list[int]:
    """Replace visited optional stops by unvisited ones of more priority where they fit, the
    largest gain in priority first."""
    tr, sv, pr = inst.travel, inst.service, inst.priority
    while len(route) > 2:
        left = np.setdiff1d(inst.optional, route)
        if not len(left):
            break
        r = np.asarray(route)
        p = np.arange(1, len(r) - 1)
        p = p[~inst.must[r[p]]]
        if not len(p):
            break
        a, v, b = r[p - 1][:, None], r[p][:, None], r[p + 1][:, None]
        delta = tr[a, left] + tr[b, left] + sv[left] - tr[a, v] - tr[v, b] - sv[v]
        gain = pr[left][None, :] - pr[v]
        ok = (inst.cost(route) + delta <= inst.budget) & (gain > 1e-12)
        if not ok.any():
            break
        # The largest priority gain, then the least added time.
        score = np.where(ok, gain * (inst.budget + 1.0) - delta, -np.inf)
        i, k = np.unravel_index(int(score.argmax()), score.shape)
        route = route[: p[i]] + [int(left[k])] + route[p[i] + 1 :]
    return route


def _local_search(inst: Instance, route: list[int]) -> list[int]:
    return _relocate(inst, _two_opt(inst, route))


def _improve(inst: Instance, route: list[int], rng: np.random.Generator | None) -> list[int]:
    route = _fill(inst, _local_search(inst, route), rng=rng)
    route = _fill(inst, _local_search(inst, _swap(inst, route)))
    return route


def solve_heuristic(
    inst: Instance, initial: list[int], *, deadline: float, seed: int = 0
) -> list[int]:
    """Greedy insertion and local search from ``initial`` (a feasible route holding the
    must-visit stops), then iterated local search (drop a few stops, refill, improve) until
    ``deadline`` (a `time.perf_counter` value). Deterministic for a seed, up to the deadline."""
    rng = np.random.default_rng(seed)
    best = current = _improve(inst, initial, None)
    stale = 0
    while time.perf_counter() < deadline:
        inner = [i for i, v in enumerate(current[1:-1], 1) if not inst.must[v]]
        if not inner and not len(np.setdiff1d(inst.optional, current)):
            break
        trial = list(current)
        if inner:
            k = int(rng.integers(1, max(1, len(inner) // 3) + 1))
            if rng.random() < 0.5:  # a few stops anywhere
                drop = set(rng.choice(inner, size=min(k, len(inner)), replace=False).tolist())
            else:  # a stretch of the walk, to let another part of town in
                j = int(rng.integers(0, len(inner)))
                drop = set(inner[j : j + k])
            trial = [v for i, v in enumerate(trial) if i not in drop]
        trial = _improve(inst, trial, rng)
        if better(inst, trial, current) or rng.random() < 0.1:
            current = trial
        if better(inst, trial, best):
            best, stale = trial, 0
        else:
            stale += 1
            if stale % 20 == 0:
                current = best
    return best


# -- OR-Tools ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrToolsResult:
    route: list[int] | None
    status: str


def solve_ortools(
    inst: Instance, *, time_limit_s: float, initial: list[int] | None = None
) -> OrToolsResult:
    """OR-Tools routing: one walker, a time dimension capped at the budget (transit = walking
    time + dwell at the stop left), optional stops as disjunctions penalised by their scaled
    priority, must-visit stops without one; guided local search from ``initial`` if given,
    otherwise from OR-Tools' own first solution."""
    n = len(inst.service)
    if inst.start == inst.end:
        manager = pywrapcp.RoutingIndexManager(n, 1, inst.start)
    else:
        manager = pywrapcp.RoutingIndexManager(n, 1, [inst.start], [inst.end])
    routing = pywrapcp.RoutingModel(manager)
    transit = inst.travel + inst.service[:, None]
    callback = routing.RegisterTransitMatrix(transit.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    routing.AddDimension(callback, 0, inst.budget, True, "time")
    scale = inst.budget + 1
    for i in inst.optional:
        penalty = max(1, round(float(inst.priority[i]) * PRIORITY_RESOLUTION)) * scale
        routing.AddDisjunction([manager.NodeToIndex(int(i))], int(penalty))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if initial is not None:
        start = routing.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(v) for v in initial[1:-1]]], True
        )
        solution = (
            routing.SolveFromAssignmentWithParameters(start, params)
            if start is not None
            else routing.SolveWithParameters(params)
        )
    else:
        solution = routing.SolveWithParameters(params)
    code = routing.status()
    status = _STATUS_NAMES[code] if 0 <= code < len(_STATUS_NAMES) else str(code)
    if solution is None:
        return OrToolsResult(None, status)
    index, route = routing.Start(0), []
    while not routing.IsEnd(index):
        route.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    route.append(manager.IndexToNode(index))
    return OrToolsResult(route, status)


# RoutingSearchStatus, numbered as in ortools.constraint_solver.routing_enums_pb2.
_STATUS_NAMES = (
    "not solved",
    "success",
    "success (time limit before a local optimum)",
    "failed",
    "failed: time limit",
    "invalid model",
    "infeasible",
    "optimal",
)
