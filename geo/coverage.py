"""Coverage: did the walks go where it mattered?

For a period, the significant hot-spot cells (Gi*, hot at 95 % confidence or more after the
false discovery rate correction, `geo.hotspots`) and the walked tracks: which cells a track
passed within `RADIUS_M`, the share of the cells reached, and the time the walkers spent within
`RADIUS_M` of any of them, per club and month; the cells no walk reached. Metric CRS throughout
(SWEREF 99 TM). Pure: cells and tracks in, figures out.

Time near the hot spots comes from the track's timed points: each step between two kept points
(at most `GAP_S` apart, as the track's line is split at longer gaps) counts with the share of
its length that lies within the radius, i.e. at a constant speed along the step; a step without
movement counts in full when its point lies within the radius.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import Geometry

from geo.analysis import HotspotParams, PointSelection, Window, window_hotspots

RADIUS_M = 50.0
MIN_CLASS = 2  # hot at 95 % or 99 %
GAP_S = 300.0  # as `routes.tracks.GAP`: a longer pause splits the track


@dataclass(frozen=True, eq=False)
class HotCell:
    """A significant hot-spot cell: its index in the grid, polygon (metric), class, name."""

    cell: int
    polygon: Geometry
    cls: int
    name: str = ""


@dataclass(frozen=True, eq=False)
class WalkTrack:
    """A walk's track: the club, the month (``2024-02``, local), the line (metric) and the
    kept points as seconds since any origin and metric coordinates."""

    walk_id: str
    club: str
    month: str
    line: Geometry | None
    t_s: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray


@dataclass(frozen=True)
class ClubMonth:
    club: str
    month: str
    walks: int
    cells_reached: int
    share: float
    time_near_s: float


@dataclass(frozen=True)
class Coverage:
    cells: int
    reached: frozenset[int]
    time_near_s: float
    per_club_month: list[ClubMonth]
    not_reached: list[HotCell]

    @property
    def share(self) -> float:
        return len(self.reached) / self.cells if self.cells else 0.0

    def describe(self) -> dict[str, Any]:
        """The figures as JSON: shares 0–1, times in seconds; cells not reached by name."""
        names: dict[str, int] = {}
        for c in self.not_reached:
            names[c.name] = names.get(c.name, 0) + 1
        # A hot spot's cells share its name: not reached are its cells that no walk reached.
        return {
            "radius_m": RADIUS_M,
            "confidence": 95,
            "hotspot_cells": self.cells,
            "cells_reached": len(self.reached),
            "share": round(self.share, 4),
            "time_near_s": round(self.time_near_s, 1),
            "per_club_month": [
                {
                    "club": r.club,
                    "month": r.month,
                    "walks": r.walks,
                    "cells_reached": r.cells_reached,
                    "share": round(r.share, 4),
                    "time_near_s": round(r.time_near_s, 1),
                }
                for r in self.per_club_month
            ],
            "not_reached": [{"name": n, "cells": k} for n, k in names.items()],
        }


def significant_cells(
    selection: PointSelection, window: Window, params: HotspotParams, *, min_class: int = MIN_CLASS
) -> list[HotCell]:
    """The grid's cells that are hot at ``min_class`` (2: 95 %) or more in the window."""
    grid, result = window_hotspots(selection, window, params)
    chosen = np.flatnonzero(result.classes >= min_class)
    return [HotCell(int(i), grid.polygons[i], int(result.classes[i])) for i in chosen]


def time_near_s(track: WalkTrack, zone: Geometry, *, gap_s: float = GAP_S) -> float:
    """Seconds of the track's steps spent within ``zone`` (see the module's doc)."""
    if track.t_s.size < 2 or zone.is_empty:
        return 0.0
    order = np.argsort(track.t_s)
    t, x, y = track.t_s[order], track.x_m[order], track.y_m[order]
    dt = np.diff(t)
    keep = (dt > 0) & (dt <= gap_s)
    if not keep.any():
        return 0.0
    a = np.stack([x[:-1], y[:-1]], axis=1)[keep]
    b = np.stack([x[1:], y[1:]], axis=1)[keep]
    steps = shapely.linestrings(np.stack([a, b], axis=1))
    length = shapely.length(steps)
    inside = shapely.length(shapely.intersection(steps, zone))
    still = length == 0
    frac = np.where(still, 0.0, inside / np.where(still, 1.0, length))
    if still.any():
        frac[still] = shapely.intersects(shapely.points(a[still]), zone).astype(float)
    return float(np.sum(frac * dt[keep]))


def coverage(
    cells: Sequence[HotCell], walks: Sequence[WalkTrack], *, radius_m: float = RADIUS_M
) -> Coverage:
    """Which cells the walks reached (a track within ``radius_m``), per club and month, and
    the time within ``radius_m`` of any cell."""
    polygons = np.array([c.polygon for c in cells], dtype=object)
    zone = shapely.union_all(shapely.buffer(polygons, radius_m)) if len(cells) else None
    groups: dict[tuple[str, str], list[WalkTrack]] = {}
    for w in walks:
        groups.setdefault((w.club, w.month), []).append(w)
    reached_all: set[int] = set()
    rows = []
    total_time = 0.0
    for (club, month), ws in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        reached: set[int] = set()
        seconds = 0.0
        for w in ws:
            if w.line is not None and not w.line.is_empty and len(cells):
                # A little slack for the rounding of a distance computed exactly at the radius.
                near = shapely.distance(polygons, w.line) <= radius_m + 1e-6
                reached |= {cells[int(i)].cell for i in np.flatnonzero(near)}
            if zone is not None:
                seconds += time_near_s(w, zone)
        reached_all |= reached
        total_time += seconds
        share = len(reached) / len(cells) if cells else 0.0
        rows.append(ClubMonth(club, month, len(ws), len(reached), share, seconds))
    missing = [c for c in cells if c.cell not in reached_all]
    return Coverage(len(cells), frozenset(reached_all), total_time, rows, missing)
