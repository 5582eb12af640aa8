"""Plans for several groups from one meeting point on the real Helsinki streets: one route a
group, no stop in two, each within the budget, at least as much in total as the groups planned
one after another."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import InvalidInput
from routes.errors import BudgetTooShort
from routes.network import StreetNetwork
from routes.plan_types import Candidate
from routes.planner import plan_groups, plan_route
from tests.routes.test_planner import _candidates_near, _central_node, check_plan


def _sequential(
    net: StreetNetwork, start: tuple[float, float], cands: list[Candidate], k: int, **kw: float
) -> float:
    """The priority of k single plans chosen one after another, each from what is left."""
    left, total = list(cands), 0.0
    for _ in range(k):
        plan = plan_route(net, start=start, candidates=left, **kw)  # type: ignore[arg-type]
        taken = {s.name for s in plan.stops}
        total += plan.priority_collected
        left = [c for c in left if c.name not in taken]
    return total


@pytest.mark.parametrize("k", [2, 3])
def test_groups_share_no_stop_and_beat_planning_one_after_another(
    helsinki: StreetNetwork, k: int
) -> None:
    rng = np.random.default_rng(k)
    start = _central_node(helsinki)
    cands = _candidates_near(helsinki, start, rng, 40, 2500.0)
    lonlat = (
        float(helsinki.lonlat[helsinki.index_of(start), 0]),
        float(helsinki.lonlat[helsinki.index_of(start), 1]),
    )
    kw = {"budget_s": 5400.0, "dwell_s": 600.0, "time_limit_s": 0.8}
    plans = plan_groups(helsinki, start=lonlat, candidates=cands, groups=k, **kw)
    assert [p.group for p in plans] == list(range(1, k + 1))
    names = [s.name for p in plans for s in p.stops]
    assert len(names) == len(set(names)), "a stop in two groups"
    for p in plans:
        check_plan(helsinki, p, speed_kmh=4.0, dwell_s=600.0)
        assert p.stops, "every group walks somewhere"
    total = sum(p.priority_collected for p in plans)
    assert total >= _sequential(helsinki, lonlat, cands, k, **kw) - 1e-9
    assert plans[0].solver.heuristic_priority <= total + 1e-9
    left = {lo.name for lo in plans[0].left_out}
    assert left == {c.name for c in cands} - set(names)


def test_must_visit_stops_are_shared_out_when_one_group_cannot_take_them_all(
    helsinki: StreetNetwork,
) -> None:
    rng = np.random.default_rng(21)
    start = _central_node(helsinki)
    cands = _candidates_near(helsinki, start, rng, 12, 2500.0)
    must = [Candidate(c.name, c.lon, c.lat, 1.0, must_visit=True) for c in cands[:6]]
    lonlat = tuple(float(v) for v in helsinki.lonlat[helsinki.index_of(start)])
    plans = plan_groups(
        helsinki,
        start=lonlat,  # type: ignore[arg-type]
        candidates=must + cands[6:],
        groups=2,
        budget_s=6000.0,
        dwell_s=600.0,
        time_limit_s=0.5,
    )
    visited = [s.name for p in plans for s in p.stops]
    assert {c.name for c in must} <= set(visited)
    with pytest.raises(BudgetTooShort):  # one group alone cannot
        plan_route(helsinki, start=lonlat, candidates=must, budget_s=6000.0, dwell_s=600.0)  # type: ignore[arg-type]
    assert len(visited) == len(set(visited))
    assert all(p.duration_s <= p.budget_s for p in plans)


@pytest.mark.parametrize("groups", [0, 4])
def test_groups_out_of_range_are_refused(helsinki: StreetNetwork, groups: int) -> None:
    start = _central_node(helsinki)
    lonlat = tuple(float(v) for v in helsinki.lonlat[helsinki.index_of(start)])
    with pytest.raises(InvalidInput) as err:
        plan_groups(helsinki, start=lonlat, candidates=[], groups=groups, budget_s=600)  # type: ignore[arg-type]
    assert err.value.field == "groups"


def test_groups_keep_the_opening_hours(helsinki: StreetNetwork) -> None:
    rng = np.random.default_rng(33)
    start = _central_node(helsinki)
    cands = _candidates_near(helsinki, start, rng, 30, 2000.0)
    windows = {c.name: (1800.0, 3000.0) for c in cands[:8]}
    cands = [
        Candidate(c.name, c.lon, c.lat, 5.0, window_s=windows[c.name]) if c.name in windows else c
        for c in cands
    ]
    lonlat = tuple(float(v) for v in helsinki.lonlat[helsinki.index_of(start)])
    plans = plan_groups(
        helsinki,
        start=lonlat,  # type: ignore[arg-type]
        candidates=cands,
        groups=2,
        budget_s=3600.0,
        dwell_s=300.0,
        time_limit_s=0.6,
    )
    names = [s.name for p in plans for s in p.stops]
    assert len(names) == len(set(names))
    assert any(n in windows for n in names)
    for p in plans:
        assert p.duration_s <= p.budget_s
        for s in p.stops:
            begin = s.arrive_s + s.wait_s
            if s.name in windows:
                assert windows[s.name][0] - 1e-6 <= begin <= windows[s.name][1] + 1e-6
            else:
                assert s.wait_s == 0
