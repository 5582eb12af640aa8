"""Privacy by audience profile: what an export may say about deviation reports (DESIGN.md, 5).

Two profiles:

``partner`` (the default; police, property owners)
    Counts only: reports aggregated to collaboration zones and to square cells of a grid in SWEREF
    99 TM (EPSG:3006), by category and time bucket (a week or a night). A count under
    `MIN_PARTNER_COUNT` is suppressed: its row is left out. No free text, no reporter, no
    organisation, no report id, no exact time.
``detail`` (planners only, and logged by the caller)
    One row per report with its position, category, time and severity; never the reporter or the
    organisation; the description only when asked for.

Pure computation: columns in, rows out; no files, database or network. Local dates come from the
wall clock of ``tz`` (the area's time zone), so a report at 01:30 on a Saturday belongs to Friday's
night.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import shapely
from shapely import Geometry

from geo.errors import InvalidParameter
from geo.geometry import DEFAULT_TIME_ZONE, SWEREF99TM, WGS84, transformer
from geo.timeofweek import bucket_days, bucket_label, check_bucket, local_wall_clock

PROFILES = ("partner", "detail")
MIN_PARTNER_COUNT = 3

_US_PER_DAY = 86_400_000_000

# A zone: (slug, Swedish name, polygon or multipolygon in WGS 84 lon/lat).
Zone = tuple[str, str, Geometry]


@dataclass(frozen=True)
class DeviationRecord:
    """One deviation report as the store gives it (the reporter is here only to be dropped)."""

    lon: float
    lat: float
    category: str
    observed_at: datetime  # timezone-aware
    severity: int = 1
    description: str | None = None
    reporter: str | None = None
    organisation: str | None = None
    id: str | None = None


@dataclass(frozen=True, eq=False)
class Deviations:
    """Deviation reports as columns, the form every function here works on.

    ``observed_at`` is ``datetime64[us]`` in UTC; ``description``, ``reporter``, ``organisation``
    and ``id`` are object arrays (None = absent) or None for the whole column.
    """

    lon: np.ndarray
    lat: np.ndarray
    category: np.ndarray
    observed_at: np.ndarray
    severity: np.ndarray
    description: np.ndarray | None = None
    reporter: np.ndarray | None = None
    organisation: np.ndarray | None = None
    id: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.lon)
        columns = [
            self.lat,
            self.category,
            self.observed_at,
            self.severity,
            self.description,
            self.reporter,
            self.organisation,
            self.id,
        ]
        if any(c is not None and len(c) != n for c in columns):
            raise ValueError("every column of Deviations must have the same length")
        if not np.issubdtype(self.observed_at.dtype, np.datetime64):
            raise ValueError("Deviations.observed_at must be datetime64 (UTC)")
        if n and not (np.isfinite(self.lon).all() and np.isfinite(self.lat).all()):
            raise ValueError("Deviations.lon and .lat must be finite degrees")

    def __len__(self) -> int:
        return len(self.lon)

    @classmethod
    def from_records(cls, records: Iterable[DeviationRecord]) -> Deviations:
        """Columns from records; every ``observed_at`` must be timezone-aware.

        >>> d = Deviations.from_records([DeviationRecord(18.01, 59.28, "brand",
        ...     datetime(2026, 11, 20, 23, 0, tzinfo=UTC), reporter="x@example.org")])
        >>> len(d), str(d.observed_at[0])
        (1, '2026-11-20T23:00:00.000000')
        """
        rows = list(records)
        if any(r.observed_at.tzinfo is None or r.observed_at.utcoffset() is None for r in rows):
            raise ValueError("DeviationRecord.observed_at must be timezone-aware")
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        micros = [(r.observed_at - epoch) // timedelta(microseconds=1) for r in rows]
        return cls(
            lon=np.array([r.lon for r in rows], dtype=np.float64),
            lat=np.array([r.lat for r in rows], dtype=np.float64),
            category=np.array([r.category for r in rows], dtype=object),
            observed_at=np.array(micros, dtype=np.int64).astype("datetime64[us]"),
            severity=np.array([r.severity for r in rows], dtype=np.int64),
            description=np.array([r.description for r in rows], dtype=object),
            reporter=np.array([r.reporter for r in rows], dtype=object),
            organisation=np.array([r.organisation for r in rows], dtype=object),
            id=np.array([r.id for r in rows], dtype=object),
        )


@dataclass(frozen=True)
class ZoneCount:
    """Reports of one category in one zone and time bucket (partner profile)."""

    zone: str  # slug
    zone_name: str
    category: str
    bucket: str  # "week" | "night"
    period: str  # "2026-W47" | "2026-11-19"
    period_start: date  # the Monday, or the night's first date
    count: int
    geometry: Geometry  # the zone, WGS 84


@dataclass(frozen=True)
class CellCount:
    """Reports of one category in one grid cell and time bucket (partner profile)."""

    cell: str  # "E2686_N26299": lower-left corner in EPSG:3006 in units of cell_m
    category: str
    bucket: str
    period: str
    period_start: date
    count: int
    geometry: Geometry  # the cell's square, WGS 84


@dataclass(frozen=True)
class PartnerAggregates:
    """The partner profile's two tables and what was held back, for the export's metadata."""

    zone_counts: list[ZoneCount]
    cell_counts: list[CellCount]
    bucket: str
    cell_m: float
    min_count: int
    reports: int
    suppressed_zone_reports: int  # reports in zone rows left out for a count under min_count
    suppressed_cell_reports: int  # the same for cell rows
    outside_zones: int  # reports in no zone (they still count in the cells)


@dataclass(frozen=True)
class DetailRow:
    """One report for the detail profile: never the reporter or the organisation."""

    id: str | None
    lon: float
    lat: float
    category: str
    observed_at: datetime  # UTC
    local_date: date
    severity: int
    description: str | None  # None unless asked for


def as_deviations(records: Deviations | Iterable[DeviationRecord]) -> Deviations:
    """``records`` as columns (already-columnar input is returned as is)."""
    return records if isinstance(records, Deviations) else Deviations.from_records(records)


def cell_id(col: int, row: int) -> str:
    """The id of grid cell (col, row): its lower-left corner in EPSG:3006 in cell units.

    >>> cell_id(2686, 26299)
    'E2686_N26299'
    """
    return f"E{col}_N{row}"


def partner_aggregates(
    records: Deviations | Iterable[DeviationRecord],
    *,
    zones: Sequence[Zone],
    cell_m: float = 250.0,
    bucket: str = "week",
    min_count: int = MIN_PARTNER_COUNT,
    tz: str = DEFAULT_TIME_ZONE,
) -> PartnerAggregates:
    """Counts per zone and per grid cell, by category and time bucket, small counts suppressed.

    Parameters
    ----------
    records
        The reports (`Deviations` columns, or `DeviationRecord` objects). Only position,
        category and time are read: description, reporter, organisation and id never reach the
        output.
    zones
        ``(slug, name, geometry)`` with geometry in WGS 84; a report on a zone's boundary counts
        in it, and a report in two overlapping zones counts in both.
    cell_m
        Side of the square grid cells in metres in SWEREF 99 TM (EPSG:3006). Cells are aligned
        to multiples of ``cell_m``, so the same place has the same cell id in every export.
    bucket
        ``"week"`` (ISO week) or ``"night"`` (12:00–12:00 local time).
    min_count
        Rows with fewer reports are left out entirely; at least `MIN_PARTNER_COUNT`.
    tz
        Time zone of the local dates.

    Returns
    -------
    PartnerAggregates
        Rows sorted by zone/cell, category and bucket start.

    Examples
    --------
    >>> t = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    >>> recs = [DeviationRecord(18.0104, 59.2786, "brand", t, description="Anna")] * 3
    >>> zone = ("alvsjo", "Älvsjö", shapely.Point(18.0104, 59.2786).buffer(0.01))
    >>> agg = partner_aggregates(recs, zones=[zone])
    >>> [(r.zone, r.category, r.period, r.count) for r in agg.zone_counts]
    [('alvsjo', 'brand', '2026-W47', 3)]
    >>> [(r.cell, r.count) for r in agg.cell_counts]
    [('E2686_N26299', 3)]
    >>> partner_aggregates(recs[:2], zones=[zone]).suppressed_cell_reports
    2
    """
    check_bucket(bucket)
    if not (isinstance(cell_m, int | float) and math.isfinite(cell_m) and 10 <= cell_m <= 5000):
        raise InvalidParameter(f"cell_m must be 10–5000 metres; got {cell_m!r}", field="cell_m")
    if int(min_count) != min_count or min_count < MIN_PARTNER_COUNT:
        raise InvalidParameter(
            f"min_count must be a whole number of at least {MIN_PARTNER_COUNT}: the partner "
            "profile never shows smaller counts",
            field="min_count",
        )
    dev = as_deviations(records)
    n = len(dev)
    categories, cat_index = np.unique(dev.category.astype(str), return_inverse=True)
    cat_index = cat_index.ravel().astype(np.int64)
    days = bucket_days(dev.observed_at, bucket=bucket, tz=tz) if n else np.zeros(0, np.int64)
    labels: dict[int, tuple[str, date]] = {}

    def label_of(day: int) -> tuple[str, date]:
        if day not in labels:
            start = date(1970, 1, 1) + timedelta(days=day)
            labels[day] = (bucket_label(start, bucket=bucket), start)
        return labels[day]

    # Zones: one boolean mask per zone (prepared geometry, vectorised point tests).
    zone_rows: list[ZoneCount] = []
    suppressed_zone = 0
    in_any = np.zeros(n, dtype=bool)
    for slug, name, geom in zones:
        shapely.prepare(geom)
        inside = shapely.intersects_xy(geom, dev.lon, dev.lat) if n else in_any
        in_any |= inside
        (cats, bdays), counts = _group_counts([cat_index[inside], days[inside]])
        keep = counts >= min_count
        suppressed_zone += int(counts[~keep].sum())
        for c, d, k in zip(
            cats[keep].tolist(), bdays[keep].tolist(), counts[keep].tolist(), strict=True
        ):
            period, start = label_of(d)
            zone_rows.append(
                ZoneCount(
                    zone=slug,
                    zone_name=name,
                    category=str(categories[c]),
                    bucket=bucket,
                    period=period,
                    period_start=start,
                    count=int(k),
                    geometry=geom,
                )
            )

    # Grid cells: floor of the SWEREF 99 TM coordinates in cell units.
    x, y = transformer(WGS84, SWEREF99TM).transform(dev.lon, dev.lat)
    col = np.floor(np.asarray(x) / cell_m).astype(np.int64)
    row = np.floor(np.asarray(y) / cell_m).astype(np.int64)
    (cols, rows, cats, bdays), counts = _group_counts([col, row, cat_index, days])
    keep = counts >= min_count
    suppressed_cell = int(counts[~keep].sum())
    cols, rows, cats, bdays, counts = cols[keep], rows[keep], cats[keep], bdays[keep], counts[keep]
    polygons = _cell_polygons(cols, rows, cell_m)
    cell_rows = [
        CellCount(
            cell=cell_id(c, r),
            category=str(categories[k]),
            bucket=bucket,
            period=label_of(d)[0],
            period_start=label_of(d)[1],
            count=int(m),
            geometry=polygons[(c, r)],
        )
        for c, r, k, d, m in zip(
            cols.tolist(),
            rows.tolist(),
            cats.tolist(),
            bdays.tolist(),
            counts.tolist(),
            strict=True,
        )
    ]
    return PartnerAggregates(
        zone_counts=zone_rows,
        cell_counts=cell_rows,
        bucket=bucket,
        cell_m=float(cell_m),
        min_count=int(min_count),
        reports=n,
        suppressed_zone_reports=suppressed_zone,
        suppressed_cell_reports=suppressed_cell,
        outside_zones=int(n - in_any.sum()),
    )


def category_counts(
    records: Deviations | Iterable[DeviationRecord],
    *,
    where: np.ndarray | None = None,
    min_weekly: int = 1,
    bucket: str = "week",
    tz: str = DEFAULT_TIME_ZONE,
) -> dict[str, int]:
    """Reports per category (of those ``where`` is true; all when None), summed over the
    buckets (ISO weeks, or nights: `geo.timeofweek.bucket_days`) in which the category has at
    least ``min_weekly`` of them.

    With ``min_weekly`` = 1 every report counts. With `MIN_PARTNER_COUNT` it is the partner's
    rule, as in the export's period layers (`maps.layers.partner_layers`): a total over a
    period is the sum of the week counts that may be shown, so that two periods a week apart
    cannot be subtracted to find a week's 1 or 2 reports.

    >>> t = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    >>> later = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # the next week
    >>> recs = [DeviationRecord(18.0, 59.3, "brand", t)] * 3 + [DeviationRecord(18.0, 59.3,
    ...     "brand", later)]
    >>> category_counts(recs), category_counts(recs, min_weekly=3)
    ({'brand': 4}, {'brand': 3})
    """
    dev = as_deviations(records)
    if not len(dev):
        return {}
    pick = np.ones(len(dev), dtype=bool) if where is None else np.asarray(where, dtype=bool)
    if not pick.any():
        return {}
    categories, cat_index = np.unique(dev.category.astype(str)[pick], return_inverse=True)
    weeks = bucket_days(dev.observed_at[pick], bucket=bucket, tz=tz)
    (cats, _weeks), counts = _group_counts([cat_index.ravel().astype(np.int64), weeks])
    keep = counts >= min_weekly
    sums = np.bincount(cats[keep], weights=counts[keep], minlength=len(categories))
    return {str(categories[k]): int(sums[k]) for k in np.flatnonzero(sums).tolist()}


def zone_category_counts(
    records: Deviations | Iterable[DeviationRecord],
    *,
    zones: Sequence[Zone],
    min_weekly: int = 1,
    bucket: str = "week",
    tz: str = DEFAULT_TIME_ZONE,
) -> dict[tuple[str, str], int]:
    """Reports per ``(zone slug, category)``, summed over the weeks in which the zone has at
    least ``min_weekly`` of the category (`category_counts`; 1: every report).

    For the meeting report's table, which shows counts under `MIN_PARTNER_COUNT` as "< 3".

    >>> t = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    >>> zone = ("alvsjo", "Älvsjö", shapely.Point(18.0104, 59.2786).buffer(0.01))
    >>> zone_category_counts([DeviationRecord(18.0104, 59.2786, "brand", t)], zones=[zone])
    {('alvsjo', 'brand'): 1}
    """
    dev = as_deviations(records)
    out: dict[tuple[str, str], int] = {}
    if not len(dev):
        return out
    for slug, _name, geom in zones:
        shapely.prepare(geom)
        inside = shapely.intersects_xy(geom, dev.lon, dev.lat)
        found = category_counts(dev, where=inside, min_weekly=min_weekly, bucket=bucket, tz=tz)
        for code, n in found.items():
            out[(slug, code)] = n
    return out


def detail_rows(
    records: Deviations | Iterable[DeviationRecord],
    *,
    include_descriptions: bool = False,
    tz: str = DEFAULT_TIME_ZONE,
) -> list[DetailRow]:
    """One row per report for the detail profile, without reporter or organisation.

    >>> t = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    >>> rec = DeviationRecord(18.01, 59.28, "brand", t, description="text", reporter="r@x.se")
    >>> row = detail_rows([rec])[0]
    >>> row.description is None, row.local_date.isoformat(), hasattr(row, "reporter")
    (True, '2026-11-21', False)
    >>> detail_rows([rec], include_descriptions=True)[0].description
    'text'
    """
    dev = as_deviations(records)
    n = len(dev)
    if not n:
        return []
    local_days = (local_wall_clock(dev.observed_at, tz).astype(np.int64) // _US_PER_DAY).tolist()
    times = dev.observed_at.astype("datetime64[us]").astype(datetime).tolist()
    ids = dev.id.tolist() if dev.id is not None else [None] * n
    texts = (
        dev.description.tolist()
        if include_descriptions and dev.description is not None
        else [None] * n
    )
    epoch = date(1970, 1, 1)
    return [
        DetailRow(
            id=None if i is None else str(i),
            lon=float(lo),
            lat=float(la),
            category=str(c),
            observed_at=t.replace(tzinfo=UTC),
            local_date=epoch + timedelta(days=d),
            severity=int(s),
            description=None if text is None else str(text),
        )
        for i, lo, la, c, t, d, s, text in zip(
            ids,
            dev.lon.tolist(),
            dev.lat.tolist(),
            dev.category.tolist(),
            times,
            local_days,
            dev.severity.tolist(),
            texts,
            strict=True,
        )
    ]


def _group_counts(keys: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct combinations of integer ``keys`` (sorted) and how often each occurs.

    The keys are packed into one int64 (mixed radix over their ranges), so one sort does it.
    """
    if not len(keys[0]):
        return [np.zeros(0, dtype=np.int64) for _ in keys], np.zeros(0, dtype=np.int64)
    lows = [int(k.min()) for k in keys]
    sizes = [int(k.max()) - low + 1 for k, low in zip(keys, lows, strict=True)]
    if math.prod(sizes) >= 2**62:
        stacked = np.stack(keys, axis=1)
        uniq, counts = np.unique(stacked, axis=0, return_counts=True)
        return [uniq[:, i] for i in range(len(keys))], counts
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for k, low, size in zip(keys, lows, sizes, strict=True):
        packed = packed * size + (k - low)
    uniq, counts = np.unique(packed, return_counts=True)
    out = []
    for low, size in zip(reversed(lows), reversed(sizes), strict=True):
        out.append(uniq % size + low)
        uniq = uniq // size
    return out[::-1], counts


def _cell_polygons(
    cols: np.ndarray, rows: np.ndarray, cell_m: float
) -> dict[tuple[int, int], Geometry]:
    """The WGS 84 square of each distinct cell (corners transformed; edges stay straight)."""
    if not len(cols):
        return {}
    pairs = np.unique(np.stack([cols, rows], axis=1), axis=0)
    x0, y0 = pairs[:, 0] * cell_m, pairs[:, 1] * cell_m
    boxes = shapely.box(x0, y0, x0 + cell_m, y0 + cell_m, ccw=True)
    fn = transformer(SWEREF99TM, WGS84).transform
    boxes = shapely.transform(boxes, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))
    return {(int(c), int(r)): g for (c, r), g in zip(pairs.tolist(), boxes, strict=True)}
