"""Clock times and opening hours of route plans: the pure clock functions, and plans on the real
Helsinki streets whose stops are visited only while they are open."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from geo.errors import InvalidInput
from routes import orienteering as orient
from routes.errors import ClosedDuringWalk
from routes.network import StreetNetwork
from routes.plan_clock import OpeningHours, at, default_start, parse_hours, visit_window
from routes.plan_types import Candidate
from routes.planner import plan_route
from tests.routes.test_planner import _candidates_near, _central_node

STOCKHOLM = "Europe/Stockholm"
TZ = ZoneInfo(STOCKHOLM)


def test_the_default_start_is_the_next_walk_else_this_evening_at_nine() -> None:
    noon = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    start, why = default_start(noon, time_zone=STOCKHOLM)
    assert (start.isoformat(), why) == ("2026-12-04T21:00:00+01:00", "evening")
    # After midnight (local) it is the coming evening; in summer +02:00.
    late = datetime(2026, 6, 5, 23, 30, tzinfo=UTC)  # 01:30 on 6 June in Stockholm
    assert default_start(late, time_zone=STOCKHOLM)[0].isoformat() == "2026-06-06T21:00:00+02:00"
    walk = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
    start, why = default_start(noon, time_zone=STOCKHOLM, next_walk=walk)
    assert (start.isoformat(), why) == ("2026-12-05T19:30:00+01:00", "walk")


def test_a_visit_window_keeps_the_whole_dwell_inside_the_opening_hours() -> None:
    t0 = datetime(2026, 12, 4, 21, 0, tzinfo=TZ)
    youth_centre = OpeningHours(time(18, 0), time(22, 0))
    w = visit_window(youth_centre, start_at=t0, budget_s=3 * 3600, dwell_s=600, time_zone=STOCKHOLM)
    assert w == (0.0, 3000.0)  # from the start until 21:50
    # Open until after midnight (the station until the last train at 01:00).
    station = OpeningHours(time(5, 0), time(1, 0))
    w = visit_window(station, start_at=t0, budget_s=6 * 3600, dwell_s=600, time_zone=STOCKHOLM)
    assert w == (0.0, 4 * 3600 - 600.0)
    # Opening later in the walk: the visit waits for it.
    kiosk = OpeningHours(time(22, 30), time(23, 30))
    w = visit_window(kiosk, start_at=t0, budget_s=4 * 3600, dwell_s=900, time_zone=STOCKHOLM)
    assert w == (5400.0, 8100.0)
    # Closed all walk long, or open too briefly for the dwell: an empty window.
    school = OpeningHours(time(8, 0), time(16, 0))
    w = visit_window(school, start_at=t0, budget_s=3 * 3600, dwell_s=600, time_zone=STOCKHOLM)
    assert w is not None and w[0] > w[1]
    brief = OpeningHours(time(21, 0), time(21, 5))
    w = visit_window(brief, start_at=t0, budget_s=3 * 3600, dwell_s=600, time_zone=STOCKHOLM)
    assert w is not None and w[0] > w[1]
    assert visit_window(None, start_at=t0, budget_s=60, dwell_s=0, time_zone=STOCKHOLM) is None


def test_clock_times_count_elapsed_time_across_summer_time() -> None:
    # 29 March 2026: clocks go from 02:00 to 03:00 in Stockholm.
    t0 = datetime(2026, 3, 28, 23, 30, tzinfo=TZ)
    assert at(t0, 3 * 3600) == "2026-03-29T03:30:00+02:00"
    late = OpeningHours(time(3, 0), time(4, 0))
    w = visit_window(late, start_at=t0, budget_s=5 * 3600, dwell_s=0, time_zone=STOCKHOLM)
    assert w == (2.5 * 3600, 3.5 * 3600)  # 03:00 is 2 h 30 min after 23:30 that night


@pytest.mark.parametrize(("opens", "closes"), [("08:00", None), ("25:00", "26:00"), ("9", "10")])
def test_bad_opening_hours_name_their_field(opens: str, closes: str | None) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_hours(opens, closes, field="candidates[2]")
    assert err.value.field == "candidates[2]"


def _windows_met(plan_stops: list, windows: dict[str, tuple[float, float]]) -> None:  # type: ignore[type-arg]
    for s in plan_stops:
        begin = s.arrive_s + s.wait_s
        if s.name in windows:
            lo, hi = windows[s.name]
            assert lo - 1e-6 <= begin <= hi + 1e-6, (s.name, begin, lo, hi)
        else:
            assert s.wait_s == 0


def test_stops_are_visited_only_while_open(helsinki: StreetNetwork) -> None:
    rng = np.random.default_rng(15)
    start = _central_node(helsinki)
    cands = _candidates_near(helsinki, start, rng, 30, 1500.0)
    # The best stops open late or close early; one is closed all walk long.
    windows = {c.name: (3600.0, 4800.0) for c in cands[:6]} | {
        c.name: (0.0, 1200.0) for c in cands[6:10]
    }
    with_hours = [
        Candidate(c.name, c.lon, c.lat, 5.0, window_s=windows.get(c.name), hours="x")
        if c.name in windows
        else c
        for c in cands
    ]
    with_hours.append(
        Candidate("Stängd", cands[0].lon + 1e-4, cands[0].lat, 5.0, window_s=(1.0, 0.0))
    )
    lonlat = tuple(helsinki.lonlat[helsinki.index_of(start)])
    plan = plan_route(
        helsinki,
        start=lonlat,
        budget_s=2 * 3600,
        candidates=with_hours,
        dwell_s=300,
        time_limit_s=0.6,
    )
    _windows_met(plan.stops, windows)
    assert any(s.name in windows for s in plan.stops)
    assert plan.duration_s <= plan.budget_s
    waits = sum(s.wait_s for s in plan.stops)
    assert plan.duration_s == pytest.approx(plan.walking_s + waits + 300 * len(plan.stops))
    closed = {lo.name: lo for lo in plan.left_out}["Stängd"]
    assert closed.code == "closed" and closed.reason_sv.startswith("stängt under hela vandringen")
    assert all(lo.reason_sv and lo.code for lo in plan.left_out)


def test_a_must_visit_stop_closed_all_walk_is_a_clear_error(helsinki: StreetNetwork) -> None:
    start = _central_node(helsinki)
    lon, lat = (float(v) for v in helsinki.lonlat[helsinki.index_of(start)])
    shut = Candidate("Skolan", lon + 0.002, lat, must_visit=True, window_s=(1.0, 0.0))
    with pytest.raises(ClosedDuringWalk) as err:
        plan_route(helsinki, start=(lon, lat), budget_s=3600, candidates=[shut])
    assert err.value.code == "closed_during_walk"


def _random_windowed(rng: np.random.Generator, n: int) -> orient.Instance:
    xy = rng.uniform(0, 1500, size=(n, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    windows: list[tuple[float, float] | None] = [None]
    for _ in range(n - 1):
        if rng.random() < 0.5:
            lo = float(rng.uniform(0, 3000))
            windows.append((lo, lo + float(rng.uniform(300, 1500))))
        else:
            windows.append(None)
    return orient.Instance.from_distances(
        d,
        priority=np.concatenate([[0.0], rng.integers(1, 6, n - 1).astype(float)]),
        must=np.zeros(n, bool),
        end=0,
        budget_s=3600,
        speed_mps=4 / 3.6,
        dwell_s=300,
        windows_s=windows,
    )


def test_heuristic_and_ortools_keep_the_windows_and_agree() -> None:
    """On random instances with time windows both solvers give routes that fit, and the
    heuristic's priority is within 10 % of OR-Tools' (2 s). The heuristic gets a fixed number
    of rounds (about 0.2 s on an idle core), not a wall-clock deadline: on a loaded CI machine
    0.2 s of wall clock can be a tenth of that work, and the test must not depend on load."""
    rng = np.random.default_rng(4)
    for _ in range(5):
        inst = _random_windowed(rng, 25)
        ours = orient.solve_heuristic(inst, [0, 0], deadline=math.inf, seed=1, max_rounds=300)
        theirs = orient.solve_ortools(inst, time_limit_s=2.0)
        assert inst.fits(ours)
        assert theirs.route is not None and inst.fits(theirs.route)
        assert inst.value(ours) >= 0.9 * inst.value(theirs.route)
        times = inst.schedule(ours)
        assert times is not None and inst.open_lo is not None and inst.open_hi is not None
        for v, t in zip(ours[1:-1], times[1:-1], strict=True):
            assert inst.open_lo[v] <= t <= inst.open_hi[v]


def test_a_late_stop_is_waited_for(helsinki: StreetNetwork) -> None:
    start = _central_node(helsinki)
    lon, lat = (float(v) for v in helsinki.lonlat[helsinki.index_of(start)])
    late = Candidate("Fritidsgården", lon + 0.001, lat, 5.0, window_s=(1800.0, 2400.0))
    plan = plan_route(helsinki, start=(lon, lat), budget_s=3600, candidates=[late], dwell_s=600)
    (stop,) = plan.stops
    assert stop.arrive_s < 1800 and stop.arrive_s + stop.wait_s == pytest.approx(1800.0)
    assert plan.duration_s == pytest.approx(1800 + 600 + plan.legs_m[-1] / (4 / 3.6))
    assert timedelta(seconds=plan.duration_s) <= timedelta(hours=1)
