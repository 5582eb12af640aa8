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
Several groups from one meeting point (the team orienteering problem) are `solve_team` (the
heuristic one group after another, then ruin and recreate across the groups) and
`solve_ortools` with ``initial`` routes for several vehicles (`routes.team`).

Opening hours: a stop may have a window ``[open_lo, open_hi]`` in which its visit must *start*
(its closing time less the dwell, so the whole visit lies within the opening hours); a group
that arrives early waits. A route fits when this schedule exists and ends within the budget
(`Instance.duration`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    # Earliest and latest start of the visit at each stop (time units after the start); None
    # when no stop has opening hours.
    open_lo: NDArray[np.int64] | None = None
    open_hi: NDArray[np.int64] | None = None

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
        windows_s: Sequence[tuple[float, float] | None] | None = None,
    ) -> Instance:
        """An instance from walking distances in metres (index 0 is the start; ``end`` is 0 or
        1; inf where the search stopped). Walking times are rounded up to whole units; both
        directions get the longer one (the same streets; float sums may differ in the last
        bit), so the matrix is symmetric. ``windows_s`` gives each index its window for the
        start of the visit in seconds after the start (None: always open); the earliest is
        rounded up and the latest down, so a schedule in units keeps the windows in seconds."""
        budget = int(math.floor(budget_s / TIME_UNIT_S + 1e-9))
        with np.errstate(invalid="ignore"):
            travel = np.where(
                np.isfinite(dist_m), np.ceil(dist_m / speed_mps / TIME_UNIT_S - 1e-9), budget + 1
            ).astype(np.int64)
        travel = np.maximum(travel, travel.T)
        service = np.full(len(travel), int(math.ceil(dwell_s / TIME_UNIT_S - 1e-9)), np.int64)
        service[[0, end]] = 0
        lo = hi = None
        if windows_s is not None and any(w is not None for w in windows_s):
            lo = np.zeros(len(travel), np.int64)
            hi = np.full(len(travel), budget, np.int64)
            for i, w in enumerate(windows_s):
                if w is not None:
                    lo[i] = int(math.ceil(w[0] / TIME_UNIT_S - 1e-9))
                    hi[i] = int(math.floor(w[1] / TIME_UNIT_S + 1e-9))
        return cls(
            travel,
            service,
            np.asarray(priority, float),
            np.asarray(must, bool),
            0,
            end,
            budget,
            lo,
            hi,
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
            None if self.open_lo is None else self.open_lo[keep],
            None if self.open_hi is None else self.open_hi[keep],
        )

    @property
    def windowed(self) -> bool:
        """Whether some stop has opening hours (then every move is checked by `fits`)."""
        return self.open_lo is not None

    def schedule(self, route: list[int]) -> list[int] | None:
        """When the visit at each position of ``route`` starts (time units; waiting for a stop
        to open included), or None when a stop's window is missed."""
        if self.open_lo is None or self.open_hi is None:
            r = np.asarray(route)
            steps = self.travel[r[:-1], r[1:]] + self.service[r[:-1]]
            return [0, *np.cumsum(steps).tolist()]
        lo, hi = self.open_lo, self.open_hi
        t, out = 0, [0]
        for a, b in zip(route[:-1], route[1:], strict=True):
            t += int(self.service[a] + self.travel[a, b])
            if t > hi[b]:
                return None
            t = max(t, int(lo[b]))
            out.append(t)
        return out

    def duration(self, route: list[int]) -> int:
        """Walking, waiting and dwelling from start to end (`cost` plus the waits); budget + 1
        when a window is missed."""
        if not self.windowed:
            return self.cost(route)
        times = self.schedule(route)
        return self.budget + 1 if times is None else times[-1]

    def fits(self, route: list[int]) -> bool:
        return self.duration(route) <= self.budget

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
    return inst.duration(a) < inst.duration(b)


def better_team(inst: Instance, a: list[list[int]], b: list[list[int]] | None) -> bool:
    """Whether the routes ``a`` of several groups beat ``b``: more priority in total, or as much
    in less time in total."""
    if b is None:
        return True
    va, vb = sum(inst.value(r) for r in a), sum(inst.value(r) for r in b)
    if abs(va - vb) > 1e-9:
        return va > vb
    return sum(inst.duration(r) for r in a) < sum(inst.duration(r) for r in b)


# -- the must-visit tour -------------------------------------------------------------------------


def min_tour(inst: Instance, stops: list[int]) -> tuple[list[int], bool]:
    """The quickest route from start to end through ``stops`` and whether it is proven optimal
    (Held–Karp dynamic programming over subsets for up to `EXACT_MAX` stops). With opening
    hours, a quickest route that misses a window gives way to the stops in the order they
    close (not proven then)."""
    route, proven = _min_tour(inst, stops)
    if inst.fits(route) or not inst.windowed or inst.open_hi is None:
        return route, proven
    hi = inst.open_hi
    by_close = [inst.start, *sorted(stops, key=lambda v: (int(hi[v]), v)), inst.end]
    by_close = _local_search(inst, by_close)
    return (by_close if inst.duration(by_close) < inst.duration(route) else route), False


def _min_tour(inst: Instance, stops: list[int]) -> tuple[list[int], bool]:
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

TEAM_STARTS = 2
_TRIES = 40  # moves checked against the opening hours before a local search gives up


def _best_first(values: NDArray[Any], inst: Instance) -> NDArray[np.intp]:
    """Positions of ``values`` from the least: only the least without opening hours (every
    move fits then), the `_TRIES` least with them (the first that fits is taken)."""
    if not inst.windowed:
        return np.asarray([int(values.argmin())], np.intp)
    return np.argsort(values, kind="stable")[:_TRIES]


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


def _insert_windowed(inst: Instance, route: list[int], v: int, slack: int) -> list[int] | None:
    """``v`` inserted where it adds least time and the opening hours still hold, or None."""
    r = np.asarray(route)
    tr = inst.travel
    delta = tr[r[:-1], v] + tr[r[1:], v] - tr[r[:-1], r[1:]] + inst.service[v]
    for p in np.argsort(delta, kind="stable")[:_TRIES]:
        if delta[p] > slack:
            break
        trial = [*route[: p + 1], v, *route[p + 1 :]]
        if inst.fits(trial):
            return trial
    return None


def _free(inst: Instance, route: list[int], taken: NDArray[np.intp] | None) -> NDArray[np.intp]:
    """Optional stops in neither ``route`` nor ``taken`` (the other groups' stops)."""
    # A mask, not np.setdiff1d (which sorts): this runs thousands of times a search.
    mask = ~inst.must
    mask[[inst.start, inst.end]] = False
    mask[route] = False
    if taken is not None:
        mask[taken] = False
    return np.flatnonzero(mask)


def _fill(
    inst: Instance,
    route: list[int],
    *,
    rng: np.random.Generator | None = None,
    taken: NDArray[np.intp] | None = None,
) -> list[int]:
    """Greedy insertion while the budget allows: the stop with most priority per added time
    first (a random exponent on the time diversifies the iterated search)."""
    route = list(route)
    slack = inst.budget - inst.duration(route)
    left = _free(inst, route, taken)
    alpha = 1.0 if rng is None else float(rng.uniform(0.5, 1.5))
    while len(left):
        add, pos = _insertion_costs(inst, route, left)
        fits = add <= slack
        if not fits.any():
            break
        score = np.where(fits, inst.priority[left] / (np.maximum(add, 0) + 1.0) ** alpha, -1.0)
        if not inst.windowed:
            i = int(score.argmax())
            route.insert(int(pos[i]) + 1, int(left[i]))
            slack -= int(add[i])
            left = np.delete(left, i)
            continue
        # Opening hours: the best stop that can still be met; a stop that cannot be met now
        # cannot be later either (more stops only delay the walk).
        dead: list[int] = []
        placed = False
        for i in np.argsort(-score, kind="stable"):
            if not fits[i]:
                break
            trial = _insert_windowed(inst, route, int(left[i]), slack)
            if trial is None:
                dead.append(int(i))
                continue
            route, placed = trial, True
            dead.append(int(i))
            break
        left = np.delete(left, dead)
        if not placed:
            break
        slack = inst.budget - inst.duration(route)
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
        found = None
        for k in _best_first(delta, inst):
            if delta[k] >= 0:
                break
            trial = np.concatenate([r[: i[k]], r[i[k] : j[k] + 1][::-1], r[j[k] + 1 :]])
            if not inst.windowed or inst.fits(trial.tolist()):
                found = trial
                break
        if found is None:
            break
        r = found
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
        delta = (ins - gain[:, None]).ravel()
        found = None
        for flat in _best_first(delta, inst):
            if delta[flat] >= 0:
                break
            i, k = divmod(int(flat), m - 1)
            node, src, dst = route[p[i]], int(p[i]), int(q[k]) + 1
            trial = route[:src] + route[src + 1 :]
            trial.insert(dst if dst < src else dst - 1, node)
            if not inst.windowed or inst.fits(trial):
                found = trial
                break
        if found is None:
            break
        route = found
    return route


def _swap(inst: Instance, route: list[int], taken: NDArray[np.intp] | None = None) -> list[int]:
    """Replace visited optional stops by unvisited ones of more priority where they fit, the
    largest gain in priority first."""
    tr, sv, pr = inst.travel, inst.service, inst.priority
    while len(route) > 2:
        left = _free(inst, route, taken)
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
        ok = (inst.duration(route) + delta <= inst.budget) & (gain > 1e-12)
        if not ok.any():
            break
        # The largest priority gain, then the least added time.
        score = np.where(ok, gain * (inst.budget + 1.0) - delta, -np.inf).ravel()
        found = None
        for flat in _best_first(-score, inst):
            if not np.isfinite(score[flat]):
                break
            i, k = divmod(int(flat), len(left))
            trial = route[: p[i]] + [int(left[k])] + route[p[i] + 1 :]
            if not inst.windowed or inst.fits(trial):
                found = trial
                break
        if found is None:
            break
        route = found
    return route


def _local_search(inst: Instance, route: list[int]) -> list[int]:
    return _relocate(inst, _two_opt(inst, route))


def _improve(
    inst: Instance,
    route: list[int],
    rng: np.random.Generator | None,
    taken: NDArray[np.intp] | None = None,
) -> list[int]:
    route = _fill(inst, _local_search(inst, route), rng=rng, taken=taken)
    route = _fill(inst, _local_search(inst, _swap(inst, route, taken)), taken=taken)
    return route


def _ruin(inst: Instance, route: list[int], rng: np.random.Generator) -> list[int]:
    """``route`` without a few optional stops: some anywhere, or a stretch of the walk (to let
    another part of town in). Leaving stops out never breaks the opening hours of the rest."""
    inner = [i for i, v in enumerate(route[1:-1], 1) if not inst.must[v]]
    if not inner:
        return list(route)
    k = int(rng.integers(1, max(1, len(inner) // 3) + 1))
    if rng.random() < 0.5:
        drop = set(rng.choice(inner, size=min(k, len(inner)), replace=False).tolist())
    else:
        j = int(rng.integers(0, len(inner)))
        drop = set(inner[j : j + k])
    return [v for i, v in enumerate(route) if i not in drop]


def solve_heuristic(
    inst: Instance,
    initial: list[int],
    *,
    deadline: float,
    seed: int = 0,
    taken: NDArray[np.intp] | None = None,
    max_rounds: int | None = None,
) -> list[int]:
    """Greedy insertion and local search from ``initial`` (a feasible route holding the
    must-visit stops), then iterated local search (drop a few stops, refill, improve) until
    ``deadline`` (a `time.perf_counter` value) or after ``max_rounds`` rounds. Deterministic
    for a seed, up to the deadline: with ``max_rounds`` and no deadline, wholly.
    Stops in ``taken`` (another group's) are not used."""
    rng = np.random.default_rng(seed)
    best = current = _improve(inst, initial, None, taken)
    stale = rounds = 0
    while time.perf_counter() < deadline and (max_rounds is None or rounds < max_rounds):
        rounds += 1
        inner = [i for i, v in enumerate(current[1:-1], 1) if not inst.must[v]]
        if not inner and not len(_free(inst, current, taken)):
            break
        trial = _improve(inst, _ruin(inst, current, rng), rng, taken)
        if better(inst, trial, current) or rng.random() < 0.1:
            current = trial
        if better(inst, trial, best):
            best, stale = trial, 0
        else:
            stale += 1
            if stale % 20 == 0:
                current = best
    return best


def _others(routes: list[list[int]], g: int) -> NDArray[np.intp]:
    """The stops of every route but ``routes[g]``."""
    rest = [v for h, r in enumerate(routes) if h != g for v in r[1:-1]]
    return np.asarray(rest, np.intp)


def _remove_saving(inst: Instance, route: list[int]) -> NDArray[np.int64]:
    """For each inner position of ``route``, the time saved by leaving its stop out."""
    r = np.asarray(route)
    tr = inst.travel
    p = np.arange(1, len(r) - 1)
    return tr[r[p - 1], r[p]] + tr[r[p], r[p + 1]] - tr[r[p - 1], r[p + 1]] + inst.service[r[p]]


def _move_between(inst: Instance, routes: list[list[int]]) -> list[list[int]]:
    """Move optional stops from one group's route to another's while that shortens the two
    walks together (the same stops, less time: room for more stops when refilled)."""
    routes = [list(r) for r in routes]
    improved = True
    while improved:
        improved = False
        for a in range(len(routes)):
            for b in range(len(routes)):
                if a == b or len(routes[a]) <= 2:
                    continue
                ra, rb = routes[a], routes[b]
                saving = _remove_saving(inst, ra)
                movable = np.flatnonzero(~inst.must[np.asarray(ra[1:-1])])
                if not len(movable):
                    continue
                stops = np.asarray(ra[1:-1])[movable]
                add, pos = _insertion_costs(inst, rb, stops)
                slack_b = inst.budget - inst.duration(rb)
                gain = saving[movable] - add
                for j in np.argsort(-gain, kind="stable")[: _TRIES if inst.windowed else 3]:
                    if gain[j] <= 0 or add[j] > slack_b:
                        continue
                    new_b = [*rb[: pos[j] + 1], int(stops[j]), *rb[pos[j] + 1 :]]
                    new_a = ra[: movable[j] + 1] + ra[movable[j] + 2 :]
                    if inst.windowed and not (inst.fits(new_a) and inst.fits(new_b)):
                        continue
                    routes[a], routes[b] = new_a, new_b
                    improved = True
                    break
        for a in range(len(routes)):
            for b in range(a + 1, len(routes)):
                swapped = _exchange(inst, routes[a], routes[b])
                if swapped is not None:
                    routes[a], routes[b] = swapped
                    improved = True
    return routes


def _exchange(inst: Instance, ra: list[int], rb: list[int]) -> tuple[list[int], list[int]] | None:
    """The two routes with one optional stop of each exchanged (each in the other's place)
    where that shortens them together and both still fit; None when no exchange does."""
    if len(ra) <= 2 or len(rb) <= 2:
        return None
    tr, sv = inst.travel, inst.service
    a, b = np.asarray(ra), np.asarray(rb)
    p = np.arange(1, len(a) - 1)
    p = p[~inst.must[a[p]]]
    q = np.arange(1, len(b) - 1)
    q = q[~inst.must[b[q]]]
    if not len(p) or not len(q):
        return None
    v, w = a[p][:, None], b[q][None, :]
    ap, an = a[p - 1][:, None], a[p + 1][:, None]
    bp, bn = b[q - 1][None, :], b[q + 1][None, :]
    # w in v's place on route a; v in w's place on route b.
    da = tr[ap, w] + tr[w, an] - tr[ap, v] - tr[v, an] + sv[w] - sv[v]
    db = tr[bp, v] + tr[v, bn] - tr[bp, w] - tr[w, bn] + sv[v] - sv[w]
    slack_a, slack_b = inst.budget - inst.duration(ra), inst.budget - inst.duration(rb)
    total = np.where((da <= slack_a) & (db <= slack_b), da + db, 0).ravel()
    for flat in _best_first(total, inst):
        if total[flat] >= 0:
            break
        i, j = divmod(int(flat), len(q))
        new_a = [*ra[: p[i]], int(b[q[j]]), *ra[p[i] + 1 :]]
        new_b = [*rb[: q[j]], int(a[p[i]]), *rb[q[j] + 1 :]]
        if not inst.windowed or (inst.fits(new_a) and inst.fits(new_b)):
            return new_a, new_b
    return None


def _recreate(
    inst: Instance, routes: list[list[int]], order: list[int], rng: np.random.Generator | None
) -> list[list[int]]:
    """Improve and refill every route in ``order`` from the free stops, then move stops
    between the routes and refill once more."""
    routes = [list(r) for r in routes]
    for g in order:
        routes[g] = _improve(inst, routes[g], rng, _others(routes, g))
    if len(routes) > 1:
        routes = _move_between(inst, routes)
        for g in order:
            routes[g] = _fill(inst, _local_search(inst, routes[g]), taken=_others(routes, g))
    return routes


def solve_team(
    inst: Instance,
    initial: list[list[int]],
    *,
    deadline: float,
    seed: int = 0,
    starts: int = TEAM_STARTS,
) -> list[list[int]]:
    """`solve_team_once` ``starts`` times (an equal share of the time each, seeds apart), the
    best kept: which groups go where is settled early in a search, and a second start often
    settles it better than more time for the first."""
    t0 = time.perf_counter()
    best: list[list[int]] | None = None
    for j in range(starts):
        end = t0 + (deadline - t0) * (j + 1) / starts
        routes = solve_team_once(inst, initial, deadline=end, seed=seed + 7919 * j)
        if better_team(inst, routes, best):
            best = routes
    assert best is not None
    return best


def solve_team_once(
    inst: Instance,
    initial: list[list[int]],
    *,
    deadline: float,
    seed: int = 0,
) -> list[list[int]]:
    """Routes for several groups that share no stop and collect the most priority in total.

    First the groups one after another (each group's heuristic on the stops the groups
    before it left, a share of the time each), then ruin and recreate across the groups: drop
    a few stops from one or two groups, refill every group from what is free (the group that
    lost stops last, so the stops move), keep what collects more, until ``deadline``.
    ``initial`` holds one feasible route per group with the must-visit stops shared out.
    """
    rng = np.random.default_rng(seed)
    k = len(initial)
    routes = [list(r) for r in initial]
    t0 = time.perf_counter()
    share = max(0.0, deadline - t0) * 0.35 / k
    for g in range(k):
        routes[g] = solve_heuristic(
            inst,
            routes[g],
            deadline=t0 + share * (g + 1),
            seed=seed + g,
            taken=_others(routes, g),
        )
    routes = _recreate(inst, routes, list(range(k)), None)
    best = current = [list(r) for r in routes]
    stale = 0
    while k > 1 and time.perf_counter() < deadline:
        trial = [list(r) for r in current]
        ruined = [int(g) for g in rng.choice(k, size=int(rng.integers(1, 3)), replace=False)]
        for g in ruined:
            trial[g] = _ruin(inst, trial[g], rng)
        order = [g for g in range(k) if g not in ruined] + ruined
        trial = _recreate(inst, trial, order, rng)
        if better_team(inst, trial, current) or rng.random() < 0.1:
            current = trial
        if better_team(inst, trial, best):
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
    """OR-Tools routing for one group (`solve_ortools_team` with one vehicle)."""
    team = solve_ortools_team(
        inst, groups=1, time_limit_s=time_limit_s, initial=None if initial is None else [initial]
    )
    return OrToolsResult(None if team.routes is None else team.routes[0], team.status)


@dataclass(frozen=True)
class OrToolsTeamResult:
    routes: list[list[int]] | None
    status: str


def solve_ortools_team(
    inst: Instance,
    *,
    groups: int,
    time_limit_s: float,
    initial: list[list[int]] | None = None,
) -> OrToolsTeamResult:
    """OR-Tools routing: one vehicle a group, all from the start to the end, a time dimension
    capped at the budget (transit = walking time + dwell at the stop left; waiting allowed as
    slack only where stops have opening hours, whose windows bound the arrival), optional
    stops as disjunctions penalised by their scaled priority, must-visit stops without one;
    guided local search from the ``initial`` routes (one a group) if given, otherwise from
    OR-Tools' own first solution."""
    n = len(inst.service)
    manager = pywrapcp.RoutingIndexManager(n, groups, [inst.start] * groups, [inst.end] * groups)
    routing = pywrapcp.RoutingModel(manager)
    transit = inst.travel + inst.service[:, None]
    callback = routing.RegisterTransitMatrix(transit.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    routing.AddDimension(callback, inst.budget if inst.windowed else 0, inst.budget, True, "time")
    if inst.open_lo is not None and inst.open_hi is not None:
        time_dim = routing.GetDimensionOrDie("time")
        for i in range(n):
            if i in (inst.start, inst.end):
                continue
            lo, hi = int(inst.open_lo[i]), int(inst.open_hi[i])
            if lo > 0 or hi < inst.budget:
                time_dim.CumulVar(manager.NodeToIndex(i)).SetRange(lo, max(lo, hi))
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
            [[manager.NodeToIndex(v) for v in r[1:-1]] for r in initial], True
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
        return OrToolsTeamResult(None, status)
    routes = []
    for g in range(groups):
        index, route = routing.Start(g), []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        route.append(manager.IndexToNode(index))
        routes.append(route)
    return OrToolsTeamResult(routes, status)


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
