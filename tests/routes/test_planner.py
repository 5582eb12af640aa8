"""Route plans on real street graphs: feasibility, consistency, and closeness to the exact
optimum (exhaustive search over subsets and orders) on small random cases."""

from __future__ import annotations

import itertools
import math
import re

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo.errors import InvalidInput
from geo.geometry import transformer
from routes.errors import BudgetTooShort, NotNearNetwork
from routes.gpx import parse_gpx, route_to_gpx
from routes.network import StreetNetwork, distance_matrix, shortest_paths
from routes.plan_types import MAX_CANDIDATES, Candidate, Plan, validate_request
from routes.planner import plan_route

GEOD = Geod(ellps="WGS84")


def check_plan(net: StreetNetwork, plan: Plan, *, speed_kmh: float, dwell_s: float) -> None:
    """Everything a plan promises, checked from the outside."""
    # Every vertex and every segment's midpoint lies on a network edge (metric CRS, 1 m).
    to_m = transformer(4326, net.metric_epsg).transform
    edges = shapely.STRtree(
        [
            shapely.transform(shapely.LineString(e.coords), to_m, interleaved=False)
            for e in net.edges
        ]
    )
    pts = np.asarray(plan.coords)
    x, y = to_m(pts[:, 0], pts[:, 1])
    xy = np.column_stack([x, y])
    probes = shapely.points(np.vstack([xy, (xy[1:] + xy[:-1]) / 2]))
    _, dist = edges.query_nearest(probes, return_distance=True, all_matches=False)
    assert dist.max() <= 1.0
    assert plan.coords[0] == tuple(net.lonlat[net.index_of(plan.start_node)])
    assert plan.coords[-1] == tuple(net.lonlat[net.index_of(plan.end_node)])
    # Lengths: the legs add up, and so does the line's own geodesic length.
    assert plan.length_m == pytest.approx(sum(plan.legs_m), rel=1e-12)
    if len(pts) > 1:
        assert GEOD.line_length(pts[:, 0], pts[:, 1]) == pytest.approx(plan.length_m, rel=1e-3)
    nodes = [plan.start_node, *(s.node for s in plan.stops), plan.end_node]
    d = distance_matrix(net, nodes)
    assert plan.legs_m == pytest.approx([d[i, i + 1] for i in range(len(nodes) - 1)], abs=1e-6)
    # Times: arrivals are walking at the speed plus the dwell at each earlier stop.
    v = speed_kmh / 3.6
    clock = 0.0
    for leg, stop in zip(plan.legs_m, plan.stops, strict=False):
        clock += leg / v
        assert stop.arrive_s == pytest.approx(clock, abs=1e-6)
        assert stop.dwell_s == dwell_s
        clock += dwell_s
    clock += plan.legs_m[-1] / v
    assert plan.duration_s == pytest.approx(clock, abs=1e-6)
    assert plan.duration_s <= plan.budget_s
    assert plan.priority_collected == pytest.approx(sum(s.priority for s in plan.stops))


def exact_optimum(
    dist_m: np.ndarray,
    priority: list[float],
    must: list[bool],
    *,
    end_index: int,
    budget_s: float,
    speed_kmh: float,
    dwell_s: float,
) -> float:
    """The best priority by dynamic programming over subsets (index 0 = start; candidates from
    index 1 (round trip) or 2 (``end_index`` = 1))."""
    first = 1 if end_index == 0 else 2
    t = dist_m / (speed_kmh / 3.6)
    k = len(priority)
    best_time: dict[tuple[int, int], float] = {}
    for j in range(k):
        best_time[(1 << j, j)] = t[0, first + j] + dwell_s
    for mask in range(1, 1 << k):
        for j in range(k):
            base = best_time.get((mask, j))
            if base is None:
                continue
            for m in range(k):
                if mask >> m & 1:
                    continue
                key = (mask | 1 << m, m)
                value = base + t[first + j, first + m] + dwell_s
                if value < best_time.get(key, math.inf):
                    best_time[key] = value
    need = sum(1 << j for j in range(k) if must[j])
    best = 0.0 if not need and t[0, end_index] <= budget_s else -math.inf
    for mask in range(1, 1 << k):
        if mask & need != need:
            continue
        walk = min(
            (
                best_time[(mask, j)] + t[first + j, end_index]
                for j in range(k)
                if (mask, j) in best_time
            ),
            default=math.inf,
        )
        if walk <= budget_s + 1e-9:
            best = max(best, sum(priority[j] for j in range(k) if mask >> j & 1))
    return best


def _candidates_near(
    net: StreetNetwork, centre: int, rng: np.random.Generator, n: int, radius_m: float
) -> list[Candidate]:
    """``n`` random street nodes within ``radius_m`` of node ``centre``, as candidates."""
    xy = net.xy
    c = xy[net.index_of(centre)]
    near = np.flatnonzero((np.hypot(*(xy - c).T) < radius_m) & (net.component == net.largest))
    chosen = rng.choice(near, size=n, replace=False)
    return [
        Candidate(
            f"stop {i}",
            float(net.lonlat[k, 0]),
            float(net.lonlat[k, 1]),
            priority=float(rng.integers(1, 6)),
        )
        for i, k in enumerate(chosen)
    ]


def _central_node(net: StreetNetwork) -> int:
    main = np.flatnonzero(net.component == net.largest)
    centre = net.xy[main].mean(axis=0)
    return int(net.node_ids[main[np.argmin(np.hypot(*(net.xy[main] - centre).T))]])


def test_plans_are_near_the_exact_optimum(helsinki: StreetNetwork) -> None:
    rng = np.random.default_rng(42)
    ratios = []
    for case in range(6):
        start = (
            _central_node(helsinki)
            if case % 2
            else int(rng.choice(helsinki.node_ids[helsinki.component == helsinki.largest]))
        )
        cands = _candidates_near(helsinki, start, rng, 8, 900.0)
        budget_s = float(rng.uniform(35, 70) * 60)
        dwell_s, speed = 300.0, 4.0
        lonlat = tuple(helsinki.lonlat[helsinki.index_of(start)])
        end = None if case % 3 else cands.pop()  # some cases end elsewhere
        end_lonlat = None if end is None else (end.lon, end.lat)
        plan = plan_route(
            helsinki,
            start=lonlat,
            end=end_lonlat,
            budget_s=budget_s,
            candidates=cands,
            speed_kmh=speed,
            dwell_s=dwell_s,
            time_limit_s=0.25,
        )
        check_plan(helsinki, plan, speed_kmh=speed, dwell_s=dwell_s)
        nodes = [plan.start_node] + ([] if end is None else [plan.end_node])
        nodes += [int(helsinki.node_ids[helsinki.index_of(_node_at(helsinki, c))]) for c in cands]
        d = distance_matrix(helsinki, nodes)
        best = exact_optimum(
            d,
            [c.priority for c in cands],
            [False] * len(cands),
            end_index=0 if end is None else 1,
            budget_s=budget_s,
            speed_kmh=speed,
            dwell_s=dwell_s,
        )
        assert 0 < len(plan.stops) < len(cands), "the budget must force a choice"
        assert plan.priority_collected <= best + 1e-9
        ratios.append(plan.priority_collected / best)
    assert min(ratios) >= 0.95, ratios


def _node_at(net: StreetNetwork, c: Candidate) -> int:
    i = int(np.flatnonzero((net.lonlat[:, 0] == c.lon) & (net.lonlat[:, 1] == c.lat))[0])
    return int(net.node_ids[i])


def test_must_visits_are_honoured_even_when_worth_little(helsinki: StreetNetwork) -> None:
    rng = np.random.default_rng(3)
    start = _central_node(helsinki)
    cands = _candidates_near(helsinki, start, rng, 12, 1200.0)
    cands[0] = Candidate(cands[0].name, cands[0].lon, cands[0].lat, 0.1, must_visit=True)
    cands[1] = Candidate(cands[1].name, cands[1].lon, cands[1].lat, 0.1, must_visit=True)
    lonlat = tuple(helsinki.lonlat[helsinki.index_of(start)])
    plan = plan_route(
        helsinki, start=lonlat, budget_s=3600, candidates=cands, dwell_s=300, time_limit_s=0.3
    )
    check_plan(helsinki, plan, speed_kmh=4.0, dwell_s=300)
    names = {s.name for s in plan.stops}
    assert {cands[0].name, cands[1].name} <= names
    assert plan.solver.method in ("heuristic", "ortools")
    assert plan.solver.heuristic_priority <= plan.priority_collected + 1e-9
    left = {lo.name: lo.reason for lo in plan.left_out}
    assert set(left) == {c.name for c in cands} - names


def test_a_budget_too_short_for_the_must_visits_says_by_how_much(
    helsinki: StreetNetwork,
) -> None:
    rng = np.random.default_rng(8)
    start = _central_node(helsinki)
    cands = _candidates_near(helsinki, start, rng, 4, 1500.0)
    cands = [Candidate(c.name, c.lon, c.lat, 1.0, must_visit=True) for c in cands]
    lonlat = tuple(helsinki.lonlat[helsinki.index_of(start)])
    nodes = [start] + [_node_at(helsinki, c) for c in cands]
    t = distance_matrix(helsinki, nodes) / (4.0 / 3.6)
    shortest = (
        min(
            t[0, p[0]] + sum(t[a, b] for a, b in itertools.pairwise(p)) + t[p[-1], 0]
            for p in itertools.permutations(range(1, 5))
        )
        + 4 * 600
    )
    budget = shortest - 20 * 60
    with pytest.raises(BudgetTooShort) as info:
        plan_route(helsinki, start=lonlat, budget_s=budget, candidates=cands)
    # Walking times are rounded up to 0.1 s per leg.
    assert info.value.shortfall_s == pytest.approx(20 * 60, abs=1.0)
    assert "20.0 min more than the budget" in str(info.value)
    assert "raise the budget by at least 21 min" in str(info.value)
    assert isinstance(info.value, InvalidInput)
    plan = plan_route(helsinki, start=lonlat, budget_s=shortest + 5, candidates=cands)
    assert len(plan.stops) == 4
    # A must-visit stop beyond budget × speed (where the distance search stops): the shortfall
    # is still measured along the streets.
    reach = shortest_paths(helsinki, [start]).distances_m[0]
    far_i = int(np.argmax(np.where(np.isfinite(reach), reach, -1)))
    far_stop = Candidate("far", *(float(v) for v in helsinki.lonlat[far_i]), must_visit=True)
    need = 2 * reach[far_i] / (4.0 / 3.6) + 600
    with pytest.raises(BudgetTooShort) as info:
        plan_route(helsinki, start=lonlat, budget_s=600, candidates=[far_stop])
    assert info.value.shortfall_s == pytest.approx(need - 600, abs=0.3)
    # Even without stops, start and end must be reachable within the budget.
    far = helsinki.lonlat[helsinki.index_of(nodes[1])]
    with pytest.raises(BudgetTooShort, match="walking from start to end"):
        plan_route(
            helsinki, start=lonlat, end=(float(far[0]), float(far[1])), budget_s=60, candidates=[]
        )


def test_far_points_duplicates_and_unreachable_stops(helsinki: StreetNetwork) -> None:
    start = _central_node(helsinki)
    lon, lat = (float(v) for v in helsinki.lonlat[helsinki.index_of(start)])
    far_lon, far_lat, _ = GEOD.fwd(lon, lat, 180, 5000)  # 5 km south: the sea
    with pytest.raises(NotNearNetwork, match=r"the start is \d+ m from the nearest street"):
        plan_route(helsinki, start=(far_lon, far_lat), budget_s=3600, candidates=[])
    rng = np.random.default_rng(11)
    near = _candidates_near(helsinki, start, rng, 2, 300.0)
    # The node farthest from the start along the streets.
    reach = shortest_paths(helsinki, [start]).distances_m[0]
    far_i = int(np.argmax(np.where(np.isfinite(reach), reach, -1)))
    remote_far = Candidate("x", *(float(v) for v in helsinki.lonlat[far_i]))
    cands = [
        near[0],
        Candidate("same corner", near[0].lon, near[0].lat, priority=near[0].priority / 2),
        near[1],
        Candidate("at sea", far_lon, far_lat, priority=5),
        Candidate("too far to walk", remote_far.lon, remote_far.lat, priority=5),
    ]
    budget_s = 30 * 60
    assert reach[far_i] * 2 / (4 / 3.6) > budget_s
    plan = plan_route(
        helsinki,
        start=(lon, lat),
        budget_s=budget_s,
        candidates=cands,
        dwell_s=120,
        time_limit_s=0.2,
    )
    check_plan(helsinki, plan, speed_kmh=4.0, dwell_s=120)
    reasons = {lo.name: lo.reason for lo in plan.left_out}
    assert reasons["same corner"] == f"duplicate of stop {near[0].name} (same street node)"
    assert re.fullmatch(r"farther than 300 m from the street network \(\d+ m\)", reasons["at sea"])
    assert reasons["too far to walk"] == "not reachable within the time budget"
    assert {s.name for s in plan.stops} == {near[0].name, near[1].name}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget_s", 0),
        ("budget_s", -60),
        ("budget_s", 13 * 3600),
        ("budget_s", math.nan),
        ("speed_kmh", 0),
        ("dwell_s", -1),
    ],
)
def test_absurd_numbers_are_422(helsinki: StreetNetwork, field: str, value: float) -> None:
    args = {"budget_s": 3600.0, "speed_kmh": 4.0, "dwell_s": 600.0}
    args[field] = value
    lon, lat = (float(v) for v in helsinki.lonlat[0])
    with pytest.raises(InvalidInput, match=field):
        plan_route(helsinki, start=(lon, lat), candidates=[], **args)  # type: ignore[arg-type]


OK_STOP = Candidate("Älvsjö station", 18.0108, 59.2786, priority=2)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"start": (59.28, 118.0)}, "start", r"start must be \[longitude, latitude\]"),
        ({"end": (18.0, math.inf)}, "end", "end must be"),
        ({"time_limit_s": 0}, "time_limit_s", "time_limit_s must be above 0"),
        ({"time_limit_s": 61}, "time_limit_s", "at most 60 seconds"),
        ({"candidates": [OK_STOP, Candidate(" ", 18.0, 59.3)]}, "candidates[1]", "needs a name"),
        (
            {"candidates": [Candidate("Solberga", 18.0, 591.0)]},
            "candidates[0]",
            r"candidates\[0\] must be \[longitude",
        ),
        (
            {"candidates": [OK_STOP, OK_STOP, Candidate("x", 18.0, 59.3, priority=1001)]},
            "candidates[2]",
            r"\(x\): priority must be above 0 and at most 1000",
        ),
        (
            {"candidates": [OK_STOP] * (MAX_CANDIDATES + 1)},
            "candidates",
            "at most 500 candidate stops; got 501",
        ),
    ],
)
def test_a_request_out_of_range_names_its_field(
    change: dict[str, object], field: str, message: str
) -> None:
    request: dict[str, object] = {
        "candidates": [OK_STOP],
        "start": (18.0, 59.28),
        "end": None,
        "budget_s": 3600.0,
        "speed_kmh": 4.0,
        "dwell_s": 600.0,
        "time_limit_s": 1.0,
    }
    validate_request(**request)  # type: ignore[arg-type]
    request.update(change)
    with pytest.raises(InvalidInput, match=message) as info:
        validate_request(**request)  # type: ignore[arg-type]
    assert info.value.field == field


def test_a_plan_on_the_langbro_streets_and_its_gpx(langbro: StreetNetwork) -> None:
    """A real Långbro/western Solberga walk: stops at named streets, back to the start."""
    named = {}
    for e in langbro.edges:
        if (
            e.name in ("Svartlösavägen", "Spadvägen", "Krattvägen", "Vivelvägen")
            and len(e.coords) >= 2
            and e.name not in named
        ):
            mid = shapely.LineString(e.coords).interpolate(0.5, normalized=True)
            named[e.name] = (mid.x, mid.y)
    assert len(named) == 4
    cands = [
        Candidate(n, lon, lat, priority=p)
        for (n, (lon, lat)), p in zip(sorted(named.items()), [3, 1, 2, 5], strict=True)
    ]
    start = (17.9815, 59.2830)
    plan = plan_route(
        langbro, start=start, budget_s=40 * 60, candidates=cands, dwell_s=300, time_limit_s=0.3
    )
    check_plan(langbro, plan, speed_kmh=4.0, dwell_s=300)
    assert langbro.metric_epsg == 3006
    assert plan.start_node == plan.end_node and plan.start_snap_m < 100
    assert len(plan.stops) >= 2
    text = route_to_gpx("Långbro kväll", plan.coords, stops=plan.stops)
    assert np.abs(np.asarray(parse_gpx(text)) - np.asarray(plan.coords)).max() <= 5.1e-7
    assert text.count("<wpt") == len(plan.stops)


def test_networkx_agrees_on_the_langbro_plan_lengths(langbro: StreetNetwork) -> None:
    g = nx.Graph()
    for e in langbro.edges:
        if not g.has_edge(e.source, e.target) or g[e.source][e.target]["w"] > e.length_m:
            g.add_edge(e.source, e.target, w=e.length_m)
    nodes = langbro.node_ids[:10].tolist()
    d = distance_matrix(langbro, nodes)
    for i, s in enumerate(nodes):
        for j, t in enumerate(nodes):
            assert d[i, j] == pytest.approx(nx.shortest_path_length(g, s, t, "w"), abs=1e-6)
