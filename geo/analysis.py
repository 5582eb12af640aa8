"""The situation picture's analyses of one area: heat map and hot spots with their filters.

Pure composition of `geo.heat`, `geo.hotspots` and `geo.timeofweek` on the arrays of a
`PointSelection` (read by `geo.db.deviations.select_points`): a period, categories (applied
by the selection), a time-of-week window, and a comparison with the previous period of the same
length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import ndimage

from geo import heat, hotspots
from geo.errors import InvalidParameter
from geo.geometry import DEFAULT_TIME_ZONE, SWEREF99TM, WGS84, transformer
from geo.grid import Grid, assign, grid_cells
from geo.privacy import MIN_PARTNER_COUNT
from geo.timeofweek import bucket_days, in_time_of_week

WEEK_S = 7 * 24 * 3600.0
MAX_PERIOD = timedelta(days=3 * 366)
# The partner export's grid (`geo.privacy.partner_aggregates`' default cell).
PARTNER_CELL_M = 250.0


@dataclass(frozen=True, eq=False)
class PointSelection:
    """Deviations of one area (or zone) as arrays, for the heat-map and hot-spot computations.

    ``x_m``, ``y_m`` are in the area's metric CRS (``epsg``, SWEREF 99 TM for Swedish areas);
    ``observed_at`` is UTC (``datetime64[us]``); ``weight`` is the category's default weight.
    ``region`` is the area's (or zone's) polygon in the same metric CRS.
    """

    area: str
    area_name: str
    epsg: int
    region: Any
    region_name: str
    x_m: np.ndarray
    y_m: np.ndarray
    observed_at: np.ndarray
    severity: np.ndarray
    weight: np.ndarray
    category: np.ndarray

    def __len__(self) -> int:
        return int(self.x_m.size)

    def subset(self, keep: np.ndarray) -> PointSelection:
        return PointSelection(
            area=self.area,
            area_name=self.area_name,
            epsg=self.epsg,
            region=self.region,
            region_name=self.region_name,
            x_m=self.x_m[keep],
            y_m=self.y_m[keep],
            observed_at=self.observed_at[keep],
            severity=self.severity[keep],
            weight=self.weight[keep],
            category=self.category[keep],
        )


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """The period and time of week that an analysis counts."""

    since: datetime
    until: datetime
    days: frozenset[int] | None = None
    hours: tuple[int, int] | None = None
    days_text: str | None = None
    hours_text: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            if getattr(self, name).tzinfo is None:
                raise InvalidParameter(f"{name} needs a time zone (e.g. Z or +01:00)", field=name)
        for name in ("since", "until"):
            if not EARLIEST <= getattr(self, name) <= LATEST:
                # Periods are shifted (the previous period, a time of week): far from today
                # that leaves what datetime can hold, so such dates are refused up front.
                raise InvalidParameter(
                    f"{name} must lie between {EARLIEST:%Y} and {LATEST:%Y}", field=name
                )
        if self.since >= self.until:
            raise InvalidParameter("since must be before until", field="since")
        if self.until - self.since > MAX_PERIOD:
            raise InvalidParameter("the period may be at most three years", field="since")

    @property
    def weeks(self) -> float:
        return (self.until - self.since).total_seconds() / WEEK_S

    def previous(self) -> Window:
        """The period of the same length just before this one (same time of week)."""
        length = self.until - self.since
        return Window(
            self.since - length, self.since, self.days, self.hours, self.days_text, self.hours_text
        )

    def describe(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "days": self.days_text,
            "hours": self.hours_text,
        }


def in_window(selection: PointSelection, window: Window) -> PointSelection:
    """The reports of ``selection`` inside the window's period and time of week."""
    return selection.subset(window_mask(selection, window))


def window_mask(selection: PointSelection, window: Window) -> np.ndarray:
    """Which reports of ``selection`` lie inside the window's period and time of week."""
    since = np.datetime64(window.since.replace(tzinfo=None) - _offset(window.since), "us")
    until = np.datetime64(window.until.replace(tzinfo=None) - _offset(window.until), "us")
    t = selection.observed_at
    keep = (t >= since) & (t < until)
    if window.days is not None or window.hours is not None:
        keep &= in_time_of_week(t, days=window.days, hours=window.hours)
    return np.asarray(keep, dtype=bool)


def partner_selection(
    selection: PointSelection,
    windows: Sequence[Window],
    *,
    cell_m: float = PARTNER_CELL_M,
    min_count: int = MIN_PARTNER_COUNT,
    bucket: str = "week",
    tz: str = DEFAULT_TIME_ZONE,
) -> PointSelection:
    """What a partner's heat map and hot spots may be computed from (DESIGN.md decision 8).

    Per window (a period and the one it is compared with), the reports are counted per
    ``cell_m`` square of SWEREF 99 TM (EPSG:3006, aligned as the partner export's
    ``avvikelser_ruta``) and time bucket (ISO week or night, as the partner's counts); the
    reports of a cell and bucket with fewer than ``min_count`` are dropped and the others are
    moved to their cell's centre. So a heat map or hot spot drawn from the result shows only
    places where at least ``min_count`` reports lie together, never where one lies (the
    isopleths of a lone report would be circles centred on it, whatever the bandwidth), and the
    maps of two periods a week apart differ by 0 or by ``min_count`` reports or more in a cell,
    never by a week's single report. Reports in none of ``windows`` are dropped too.

    >>> from datetime import datetime, UTC
    >>> t = np.array(["2026-11-20T22:00"] * 4, dtype="datetime64[us]")
    >>> x = np.array([673_010.0, 673_020.0, 673_030.0, 680_000.0])
    >>> y = np.array([6_574_010.0, 6_574_020.0, 6_574_030.0, 6_580_000.0])
    >>> one = np.ones(4)
    >>> sel = PointSelection("a", "A", 3006, None, "A", x, y, t, one, one, np.array(["b"] * 4))
    >>> w = Window(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    >>> safe = partner_selection(sel, [w])
    >>> len(safe), safe.x_m.tolist(), safe.y_m.tolist()
    (3, [673125.0, 673125.0, 673125.0], [6574125.0, 6574125.0, 6574125.0])
    """
    n = len(selection)
    to_grid = transformer(selection.epsg, SWEREF99TM) if selection.epsg != 3006 else None
    gx, gy = (
        (selection.x_m, selection.y_m)
        if to_grid is None
        else to_grid.transform(selection.x_m, selection.y_m)
    )
    col = np.floor(np.asarray(gx, dtype=np.float64) / cell_m).astype(np.int64)
    row = np.floor(np.asarray(gy, dtype=np.float64) / cell_m).astype(np.int64)
    when = bucket_days(selection.observed_at, bucket=bucket, tz=tz) if n else col
    keep = np.zeros(n, dtype=bool)
    for window in windows:
        inside = window_mask(selection, window) & ~keep
        if not inside.any():
            continue
        cells = np.stack([col[inside], row[inside], when[inside]], axis=1)
        _, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
        ok = np.zeros(n, dtype=bool)
        ok[np.flatnonzero(inside)] = counts[inverse.ravel()] >= min_count
        keep |= ok
    cx = (col[keep] + 0.5) * cell_m
    cy = (row[keep] + 0.5) * cell_m
    if to_grid is not None:
        cx, cy = transformer(SWEREF99TM, selection.epsg).transform(cx, cy)
    kept = selection.subset(keep)
    return replace(kept, x_m=np.asarray(cx, dtype=np.float64), y_m=np.asarray(cy, dtype=np.float64))


def _offset(moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    assert offset is not None
    return offset


@dataclass(frozen=True)
class HeatParams:
    bandwidth_m: float = 150.0
    cell_m: float = 25.0
    kernel: str = "gaussian"
    half_life_days: float | None = None
    weights: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "bandwidth_m": self.bandwidth_m,
            "cell_m": self.cell_m,
            "kernel": self.kernel,
            "half_life_days": self.half_life_days,
            "weights": "severity × category weight"
            + (" × time decay" if self.half_life_days else ""),
        }


def report_weights(
    selection: PointSelection, *, until: datetime, half_life_days: float | None
) -> np.ndarray:
    """Severity × category weight (× ``0.5 ** (age / half-life)`` when a half-life is given)."""
    w = selection.severity * selection.weight
    if half_life_days is not None:
        end = np.datetime64(until.replace(tzinfo=None) - _offset(until), "us")
        age_us = (end - selection.observed_at).astype("timedelta64[us]").astype(np.float64)
        age_days = age_us / 86_400e6
        w = w * heat.decay_weights(age_days, half_life_days=half_life_days)
    return np.asarray(w, dtype=np.float64)


def heat_map(selection: PointSelection, window: Window, params: HeatParams) -> heat.Raster:
    """The kernel density of the window's reports over the selection's region, clipped to it,
    in reports per km² per week (weighted)."""
    chosen = in_window(selection, window)
    return heat.kde_grid(
        chosen.x_m,
        chosen.y_m,
        weights=report_weights(chosen, until=window.until, half_life_days=params.half_life_days),
        bounds=tuple(selection.region.bounds),
        cell_m=params.cell_m,
        bandwidth_m=params.bandwidth_m,
        kernel=params.kernel,
        period_weeks=window.weeks,
        mask=selection.region,
        crs=f"EPSG:{selection.epsg}",
    )


@dataclass(frozen=True)
class HotspotParams:
    cell_m: float = 100.0
    shape: str = "square"
    significant_only: bool = True

    def describe(self) -> dict[str, Any]:
        return {
            "cell_m": self.cell_m,
            "shape": self.shape,
            "statistic": "Getis-Ord Gi*",
            "neighbours": "queen (8)" if self.shape == "square" else "hexagonal (6)",
            "correction": "Benjamini-Hochberg FDR",
            "confidence": [90, 95, 99],
        }


def window_hotspots(
    selection: PointSelection, window: Window, params: HotspotParams
) -> tuple[Grid, hotspots.Hotspots]:
    """The grid over the selection's region and Gi* of the window's report counts on it."""
    grid = grid_cells(
        selection.region.bounds,
        cell_m=params.cell_m,
        shape=params.shape,
        mask=selection.region,
        crs=f"EPSG:{selection.epsg}",
    )
    now = in_window(selection, window)
    return grid, hotspots.find_hotspots(grid, assign(grid, now.x_m, now.y_m))


def hotspot_map(
    selection: PointSelection,
    window: Window,
    params: HotspotParams,
    *,
    compare_previous: bool = False,
) -> dict[str, Any]:
    """Gi* hot and cold spots of the window's report counts, as a GeoJSON FeatureCollection.

    With ``compare_previous`` each cell also gets ``change``: ``new``, ``persistent`` or
    ``gone`` against the previous period of the same length (Swedish in ``change_sv``), and
    the cells that were hot before but are not now are included.
    """
    grid, result = window_hotspots(selection, window, params)
    fc = hotspots.hotspots_geojson(
        grid, result.counts, result.z, result.p, result.q, result.classes, significant_only=False
    )
    keep = result.classes != 0 if params.significant_only else np.ones(len(grid), dtype=bool)
    if compare_previous:
        before = in_window(selection, window.previous())
        prev = hotspots.find_hotspots(grid, assign(grid, before.x_m, before.y_m))
        change = hotspots.compare(result.classes, prev.classes)
        keep |= change == "gone"
        for feature, status, prev_class in zip(fc["features"], change, prev.classes, strict=True):
            feature["properties"]["change"] = str(status) or None
            feature["properties"]["change_sv"] = hotspots.COMPARE_LABELS.get(str(status))
            feature["properties"]["previous_class"] = int(prev_class)
    fc["features"] = [f for f, k in zip(fc["features"], keep, strict=True) if k]
    return fc


@dataclass(frozen=True)
class Hotspot:
    """A place worth a walk's time: a significant hot-spot cell or a heat-map peak."""

    lon: float
    lat: float
    priority: float
    kind: str  # "hotspot" or "peak"
    label: str


def route_candidates(
    selection: PointSelection,
    window: Window,
    *,
    hot: HotspotParams | None = None,
    heat_params: HeatParams | None = None,
    max_candidates: int = 40,
    peak_share: float = 0.25,
    min_gap_m: float = 150.0,
) -> list[Hotspot]:
    """Default stops for a route plan, strongest first, at most ``max_candidates``.

    The hot cells of Gi* (priority = the cell's z-score, plus those of the weaker hot cells
    within ``min_gap_m``), and the local maxima of the heat map above ``peak_share`` of its peak
    (priority up to 3, in proportion to the density) that are not within ``min_gap_m`` of a
    chosen stop.
    """
    hot = hot or HotspotParams()
    heat_params = heat_params or HeatParams()
    grid, result = window_hotspots(selection, window, hot)
    chosen: list[tuple[float, float, float, str, str]] = []
    # Neighbouring hot cells are one place to walk to: a weaker cell within ``min_gap_m`` of a
    # stronger one adds its z-score to that one's priority instead of becoming a stop itself.
    for i in np.argsort(-result.z):
        if result.classes[i] <= 0:
            break
        x, y, z = float(grid.x[i]), float(grid.y[i]), float(result.z[i])
        near = next(
            (
                k
                for k, (cx, cy, *_) in enumerate(chosen)
                if (x - cx) ** 2 + (y - cy) ** 2 < min_gap_m**2
            ),
            None,
        )
        if near is not None:
            cx, cy, cz, kind, label = chosen[near]
            chosen[near] = (cx, cy, cz + z, kind, label)
            continue
        chosen.append((x, y, z, "hotspot", hotspots.class_label(int(result.classes[i]))))
    raster = heat_map(selection, window, heat_params)
    values = np.nan_to_num(raster.values, nan=0.0)
    top = float(values.max()) if values.size else 0.0
    if top > 0:
        peaks = (values == ndimage.maximum_filter(values, size=7)) & (values >= peak_share * top)
        rows, cols = np.nonzero(peaks)
        a, _, c, _, e, f = raster.transform
        for k in np.argsort(-values[rows, cols]):
            x = c + a * (cols[k] + 0.5)
            y = f + e * (rows[k] + 0.5)
            if any((x - cx) ** 2 + (y - cy) ** 2 < min_gap_m**2 for cx, cy, *_ in chosen):
                continue
            chosen.append(
                (x, y, 3.0 * float(values[rows[k], cols[k]]) / top, "peak", "Topp i värmekartan")
            )
    chosen.sort(key=lambda item: -item[2])
    chosen = chosen[:max_candidates]
    if not chosen:
        return []
    xs, ys = np.array([c[0] for c in chosen]), np.array([c[1] for c in chosen])
    lon, lat = transformer(selection.epsg, WGS84).transform(xs, ys)
    return [
        Hotspot(float(lo), float(la), round(c[2], 3), c[3], c[4])
        for lo, la, c in zip(lon, lat, chosen, strict=True)
    ]
