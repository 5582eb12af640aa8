"""The types of a route plan: what a request holds (`Candidate`) and must satisfy
(`validate_request`), and what a plan is (`Plan`, its `PlannedStop`s, what was `LeftOut` and
the `SolverInfo`). Data only: the algorithm that makes a plan is `routes.planner`.

Units: distances in metres, times in seconds, speeds in km/h; positions in WGS 84 lon/lat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from geo.errors import InvalidInput
from geo.geometry import LonLat

MAX_BUDGET_S = 12 * 3600.0
MAX_CANDIDATES = 500
MAX_PRIORITY = 1000.0


MAX_GROUPS = 3


@dataclass(frozen=True)
class Candidate:
    """A place the walk may visit, with its priority (> 0); must-visit places are always in.

    ``window_s``: when the visit may start, in seconds after the walk's start (from the place's
    opening hours less the dwell, `routes.plan_clock.visit_window`); None when always open, an
    empty window (start after end) when closed during the whole walk. ``hours`` is the opening
    hours as people read them ("08:00–22:00"), for the reasons given.
    """

    name: str
    lon: float
    lat: float
    priority: float = 1.0
    must_visit: bool = False
    window_s: tuple[float, float] | None = None
    hours: str | None = None


@dataclass(frozen=True)
class PlannedStop:
    """A stop of the plan: the candidate's own position, the street node it was snapped to (and
    how far away that is), the arrival time in seconds after the start and the dwell there."""

    name: str
    lon: float
    lat: float
    node: int
    snap_m: float
    arrive_s: float
    dwell_s: float
    priority: float
    must_visit: bool
    wait_s: float = 0.0
    hours: str | None = None


@dataclass(frozen=True)
class LeftOut:
    """A candidate the plan does not visit: why, as a ``code``, in English and in Swedish."""

    name: str
    reason: str
    code: str = "no_time"
    reason_sv: str = ""


@dataclass(frozen=True)
class SolverInfo:
    """Which solver produced the plan and what each reached (priority, duration in seconds).

    ``matrix_s`` is the time of snapping and of the street distances, ``search_s`` that of the
    search (seconds, wall clock).
    """

    method: str
    heuristic_priority: float
    heuristic_duration_s: float
    ortools_priority: float | None
    ortools_duration_s: float | None
    ortools_status: str
    matrix_s: float
    search_s: float


@dataclass(frozen=True)
class Plan:
    """A planned walk.

    ``coords`` is the walk along street edges (lon/lat) from the start node to the end node; it
    has a single position when the walk has no stops and ends where it starts. ``legs_m`` are
    the walking distances between successive stops (start → first stop … last stop → end).
    ``duration_s`` = walking (``length_m`` at ``speed_kmh``) + waiting for stops to open + dwell
    at every stop ≤ budget. ``group`` numbers the groups of a plan for several (from 1).
    """

    coords: list[LonLat] = field(repr=False)
    stops: list[PlannedStop]
    length_m: float
    duration_s: float
    walking_s: float
    priority_collected: float
    left_out: list[LeftOut]
    start_node: int
    end_node: int
    start_snap_m: float
    end_snap_m: float
    legs_m: list[float]
    budget_s: float
    speed_kmh: float
    solver: SolverInfo
    group: int = 1


def validate_request(
    candidates: Sequence[Candidate],
    *,
    start: LonLat,
    end: LonLat | None,
    budget_s: float,
    speed_kmh: float,
    dwell_s: float,
    time_limit_s: float,
    groups: int = 1,
) -> None:
    """Check a route-plan request before any work is done on it.

    Parameters
    ----------
    candidates
        The possible stops: at most `MAX_CANDIDATES`, each with a name, a position in range
        and a priority above 0 and at most `MAX_PRIORITY`.
    start, end
        Lon/lat of the meeting point and of the end (None: back to the start).
    budget_s
        Time for the whole walk in seconds: above 0, at most `MAX_BUDGET_S` (12 hours).
    speed_kmh
        Walking speed in km/h, 0.5–10.
    dwell_s
        Time at each stop in seconds, 0–7200.
    time_limit_s
        Wall-clock time for the search in seconds: above 0, at most 60.
    groups
        How many groups walk from the meeting point: 1 to `MAX_GROUPS`.

    Raises
    ------
    InvalidInput
        Naming (``field``) the first parameter or candidate that is out of range.
    """

    def number(
        value: float, name: str, low: float, high: float, unit: str, *, zero: bool = False
    ) -> None:
        ok = isinstance(value, int | float) and math.isfinite(value) and value <= high
        if not (ok and (low <= value if zero else low < value)):
            bound = "at least" if zero else "above"
            raise InvalidInput(
                f"{name} must be {bound} {low:g} and at most {high:g} {unit}; got {value!r}",
                field=name,
            )

    number(budget_s, "budget_s", 0, MAX_BUDGET_S, "seconds (12 hours)")
    number(speed_kmh, "speed_kmh", 0.5, 10.0, "km/h", zero=True)
    number(dwell_s, "dwell_s", 0, 7200, "seconds (two hours)", zero=True)
    number(time_limit_s, "time_limit_s", 0, 60, "seconds")
    if not (isinstance(groups, int) and 1 <= groups <= MAX_GROUPS):
        raise InvalidInput(f"groups must be 1 to {MAX_GROUPS}; got {groups!r}", field="groups")
    for label, point in (("start", start), ("end", end)):
        if point is not None:
            check_lonlat(point, field=label)
    if len(candidates) > MAX_CANDIDATES:
        raise InvalidInput(
            f"at most {MAX_CANDIDATES} candidate stops; got {len(candidates)}", field="candidates"
        )
    for i, c in enumerate(candidates):
        where = f"candidates[{i}]"
        if not c.name.strip():
            raise InvalidInput(f"{where} needs a name", field=where)
        check_lonlat((c.lon, c.lat), field=where)
        if not (math.isfinite(c.priority) and 0 < c.priority <= MAX_PRIORITY):
            raise InvalidInput(
                f"{where} ({c.name}): priority must be above 0 and at most "
                f"{MAX_PRIORITY:g}; got {c.priority!r}",
                field=where,
            )
        w = c.window_s
        if w is not None and not (math.isfinite(w[0]) and math.isfinite(w[1])):
            raise InvalidInput(f"{where} ({c.name}): window_s must be finite", field=where)


def check_lonlat(point: LonLat, *, field: str) -> None:
    """Check that ``point`` is a finite [longitude, latitude] in range.

    Parameters
    ----------
    point
        The position, lon/lat in degrees (WGS 84).
    field
        The request field it came from, named in the error.

    Raises
    ------
    InvalidInput
        When the longitude is outside ±180 or the latitude outside ±90, or either is not finite.

    Examples
    --------
    >>> check_lonlat((18.02, 59.28), field="start")
    >>> check_lonlat((18.02, 91.0), field="end")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    geo.errors.InvalidInput: end must be [longitude, latitude] in degrees (WGS 84); got ...
    """
    lon, lat = point
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(
            f"{field} must be [longitude, latitude] in degrees (WGS 84); got {list(point)}",
            field=field,
        )
