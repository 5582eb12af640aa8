"""What a route plan is (`Plan`, its stops and what was left out), and what a request for one
must satisfy: the data of `routes.planner`, without its algorithms.

Units: distances in metres, times in seconds, speeds in km/h; positions in WGS 84 lon/lat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from geo.errors import InvalidInput
from routes.network import LonLat

MAX_BUDGET_S = 12 * 3600.0
MAX_CANDIDATES = 500
MAX_PRIORITY = 1000.0


@dataclass(frozen=True)
class Candidate:
    """A place the walk may visit, with its priority (> 0); must-visit places are always in."""

    name: str
    lon: float
    lat: float
    priority: float = 1.0
    must_visit: bool = False


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


@dataclass(frozen=True)
class LeftOut:
    name: str
    reason: str


@dataclass(frozen=True)
class SolverInfo:
    """Which solver produced the plan and what each reached (priority, duration in seconds)."""

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
    ``duration_s`` = walking (``length_m`` at ``speed_kmh``) + dwell at every stop ≤ budget.
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


def validate_request(
    start: LonLat,
    end: LonLat | None,
    budget_s: float,
    speed_kmh: float,
    dwell_s: float,
    candidates: Sequence[Candidate],
    time_limit_s: float,
) -> None:
    """`InvalidInput` naming the first parameter or candidate that is out of range."""

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
    for label, point in (("start", start), ("end", end)):
        if point is not None:
            check_lonlat(point, label)
    if len(candidates) > MAX_CANDIDATES:
        raise InvalidInput(
            f"at most {MAX_CANDIDATES} candidate stops; got {len(candidates)}", field="candidates"
        )
    for i, c in enumerate(candidates):
        where = f"candidates[{i}]"
        if not c.name.strip():
            raise InvalidInput(f"{where} needs a name", field=where)
        check_lonlat((c.lon, c.lat), where)
        if not (math.isfinite(c.priority) and 0 < c.priority <= MAX_PRIORITY):
            raise InvalidInput(
                f"{where} ({c.name}): priority must be above 0 and at most "
                f"{MAX_PRIORITY:g}; got {c.priority!r}",
                field=where,
            )


def check_lonlat(point: LonLat, label: str) -> None:
    """`InvalidInput` unless ``point`` is a finite [longitude, latitude] in range."""
    lon, lat = point
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(
            f"{label} must be [longitude, latitude] in degrees (WGS 84); got {list(point)}",
            field=label,
        )
