"""Privacy profiles: aggregation to zones and 250 m cells, time buckets, suppression, detail."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely

from geo.errors import InvalidParameter
from geo.geometry import to_metric, to_wgs84
from geo.privacy import (
    CellCount,
    DetailRow,
    DeviationRecord,
    Deviations,
    ZoneCount,
    category_counts,
    detail_rows,
    partner_aggregates,
    zone_category_counts,
)
from geo.timeofweek import bucket_days, local_wall_clock
from tests.maps import CATEGORIES

STOCKHOLM = ZoneInfo("Europe/Stockholm")
STATION = (18.0104, 59.2786)
CANARIES = ("Anna Andersson", "070-123 45 67", "19800101-1234", "kanarie@example.org")


def _zone(
    slug: str, name: str, lon: float, lat: float, radius_m: float
) -> tuple[str, str, shapely.Geometry]:
    return slug, name, to_wgs84(to_metric(shapely.Point(lon, lat)).buffer(radius_m, 32))


ZONES = [
    _zone("alvsjo-station", "Älvsjö station", 18.0092, 59.2785, 260.0),
    _zone("solbergaskolan", "Solbergaskolan", 18.0062, 59.2903, 200.0),
]


def _records(n: int, seed: int = 7, days: int = 365) -> list[DeviationRecord]:
    """SYNTHETIC reports within ~1 km of Älvsjö station over ``days``, with canaries."""
    rng = np.random.default_rng(seed)
    centre = to_metric(shapely.Point(*STATION))
    xy = np.column_stack([centre.x + rng.normal(0, 400, n), centre.y + rng.normal(0, 400, n)])
    lonlat = shapely.get_coordinates(to_wgs84(shapely.multipoints(xy)))
    start = datetime(2025, 12, 1, tzinfo=UTC)
    return [
        DeviationRecord(
            float(lonlat[i, 0]),
            float(lonlat[i, 1]),
            CATEGORIES[int(rng.integers(0, 4))],
            start + timedelta(seconds=float(rng.uniform(0, days * 86400))),
            int(rng.integers(1, 4)),
            description=f"{CANARIES[0]} {CANARIES[1]} {CANARIES[2]}",
            reporter=CANARIES[3],
            organisation="Älvsjö AIK",
            id=f"id-{i}",
        )
        for i in range(n)
    ]


def _reference_bucket(t: datetime, bucket: str) -> date:
    """The bucket's first local date, the slow obvious way."""
    local = t.astimezone(STOCKHOLM)
    if bucket == "night":
        return (local - timedelta(hours=12)).date()
    d = local.date()
    return d - timedelta(days=d.weekday())


@pytest.mark.parametrize("bucket", ["week", "night"])
def test_buckets_match_a_per_row_reference_in_local_time(bucket: str) -> None:
    recs = _records(3000)
    # Add instants around both DST changes of 2026 and around midnight and noon.
    for moment in (
        "2026-03-29T00:59:59",
        "2026-03-29T01:00:00",
        "2026-10-25T00:59:59",
        "2026-10-25T01:00:00",
        "2026-11-20T22:59:59",
        "2026-11-20T23:00:00",
        "2026-11-21T10:59:59",
        "2026-11-21T11:00:00",
    ):
        recs.append(DeviationRecord(*STATION, "brand", datetime.fromisoformat(moment + "+00:00")))
    days = bucket_days(Deviations.from_records(recs).observed_at, bucket=bucket)
    got = [date(1970, 1, 1) + timedelta(days=int(d)) for d in days]
    assert got == [_reference_bucket(r.observed_at, bucket) for r in recs]


def test_local_wall_clock_follows_dst() -> None:
    t = np.array(["2026-10-25T00:30", "2026-10-25T01:30"], dtype="datetime64[us]")
    assert [str(v)[11:16] for v in local_wall_clock(t)] == ["02:30", "02:30"]  # the hour repeats


def test_night_runs_noon_to_noon_and_week_is_iso() -> None:
    zone = ZONES[0]
    at = [
        datetime(2026, 11, 20, 11, 30, tzinfo=UTC),  # Fri 12:30 local: night of Fri 20
        datetime(2026, 11, 20, 23, 30, tzinfo=UTC),  # Sat 00:30 local: still night of Fri 20
        datetime(2026, 11, 21, 10, 30, tzinfo=UTC),
    ]  # Sat 11:30 local: still night of Fri 20
    recs = [DeviationRecord(*STATION, "brand", t) for t in at]
    night = partner_aggregates(recs, zones=[zone], bucket="night")
    assert [(r.period, r.period_start, r.count) for r in night.zone_counts] == [
        ("2026-11-20", date(2026, 11, 20), 3)
    ]
    week = partner_aggregates(recs, zones=[zone], bucket="week")
    assert [(r.period, r.period_start) for r in week.zone_counts] == [
        ("2026-W47", date(2026, 11, 16))
    ]
    # New Year's Day 2027 (a Friday) belongs to ISO week 53 of 2026.
    new_year = [DeviationRecord(*STATION, "brand", datetime(2027, 1, 1, 12, tzinfo=UTC))] * 3
    row = partner_aggregates(new_year, zones=[zone]).zone_counts[0]
    assert (row.period, row.period_start) == ("2026-W53", date(2026, 12, 28))


def test_cells_are_aligned_250_m_squares_that_contain_their_reports() -> None:
    recs = _records(4000)
    agg = partner_aggregates(recs, zones=ZONES, min_count=3)
    assert agg.cell_counts
    for row in agg.cell_counts[:200]:
        minx, miny, maxx, maxy = to_metric(row.geometry).bounds
        col, north = (int(v) for v in row.cell[1:].split("_N"))
        assert abs(minx - col * 250) < 0.01 and abs(miny - north * 250) < 0.01
        assert abs(maxx - minx - 250) < 0.01 and abs(maxy - miny - 250) < 0.01
    # Every report lies in the cell its id names: recount from the ids.
    dev = Deviations.from_records(recs)
    pts = shapely.get_coordinates(
        to_metric(shapely.multipoints(np.column_stack([dev.lon, dev.lat])))
    )
    ids = [f"E{int(x // 250)}_N{int(y // 250)}" for x, y in pts]
    cell_of = {(r.cell, r.category, r.period_start): r.count for r in agg.cell_counts}
    days = bucket_days(dev.observed_at, bucket="week")
    recount = Counter(
        (ids[i], recs[i].category, date(1970, 1, 1) + timedelta(days=int(days[i])))
        for i in range(len(recs))
    )
    assert all(recount[key] == count for key, count in cell_of.items())
    # The same place gets the same cell id in another export (stable grid).
    again = partner_aggregates(recs[:1000], zones=ZONES, min_count=3)
    geoms = {r.cell: r.geometry for r in agg.cell_counts}
    for row in again.cell_counts:
        if row.cell in geoms:
            assert shapely.equals_exact(row.geometry, geoms[row.cell], tolerance=1e-9)


def test_counts_under_three_are_suppressed_and_accounted_for() -> None:
    recs = _records(1500, days=14)
    agg = partner_aggregates(recs, zones=ZONES, bucket="night")
    assert agg.cell_counts and agg.zone_counts
    assert min(r.count for r in agg.cell_counts) >= 3
    assert min(r.count for r in agg.zone_counts) >= 3
    assert sum(r.count for r in agg.cell_counts) + agg.suppressed_cell_reports == len(recs)
    dev = Deviations.from_records(recs)
    memberships = sum(int(shapely.intersects_xy(g, dev.lon, dev.lat).sum()) for _, _, g in ZONES)
    assert sum(r.count for r in agg.zone_counts) + agg.suppressed_zone_reports == memberships
    in_none = ~np.any([shapely.intersects_xy(g, dev.lon, dev.lat) for _, _, g in ZONES], axis=0)
    assert agg.outside_zones == int(in_none.sum())
    stricter = partner_aggregates(recs, zones=ZONES, bucket="night", min_count=5)
    assert min(r.count for r in stricter.cell_counts) >= 5


def test_partner_rows_carry_no_personal_data() -> None:
    agg = partner_aggregates(_records(800), zones=ZONES)
    allowed = {
        "zone",
        "zone_name",
        "category",
        "bucket",
        "period",
        "period_start",
        "count",
        "geometry",
        "cell",
    }
    assert {f.name for f in dataclasses.fields(ZoneCount)} <= allowed
    assert {f.name for f in dataclasses.fields(CellCount)} <= allowed
    text = repr(agg)
    assert not any(c in text for c in CANARIES)
    assert "Älvsjö AIK" not in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_count": 2},
        {"min_count": 0},
        {"bucket": "month"},
        {"cell_m": 0.0},
        {"cell_m": float("nan")},
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter) as info:
        partner_aggregates(_records(10), zones=ZONES, **kwargs)  # type: ignore[arg-type]
    assert info.value.field in {"min_count", "bucket", "cell_m"}


def test_columns_and_records_give_the_same_result() -> None:
    recs = _records(500)
    dev = Deviations.from_records(recs)
    a = partner_aggregates(recs, zones=ZONES)
    b = partner_aggregates(dev, zones=ZONES)
    assert [(r.cell, r.category, r.period, r.count) for r in a.cell_counts] == [
        (r.cell, r.category, r.period, r.count) for r in b.cell_counts
    ]
    assert partner_aggregates([], zones=ZONES).cell_counts == []


def test_zone_category_counts_are_unsuppressed_totals() -> None:
    recs = _records(600)
    counts = zone_category_counts(recs, zones=ZONES)
    dev = Deviations.from_records(recs)
    inside = shapely.intersects_xy(ZONES[0][2], dev.lon, dev.lat)
    expected = Counter(
        c for c, ok in zip(dev.category.tolist(), inside.tolist(), strict=True) if ok
    )
    assert {c: n for (z, c), n in counts.items() if z == ZONES[0][0]} == dict(expected)


def test_partner_totals_sum_only_the_weeks_that_may_be_shown() -> None:
    """The meeting report's partner counts (`category_counts`, `zone_category_counts` with
    min_weekly 3) against a per-row reference: each is the sum of the weeks in which its zone
    (or the area) has 3 or more of the category, so that periods a week apart differ by 0 or
    by 3 or more, never by a week's 1 or 2 reports."""
    recs = _records(900, seed=11, days=120)
    dev = Deviations.from_records(recs)
    weeks = bucket_days(dev.observed_at, bucket="week")
    inside = shapely.intersects_xy(ZONES[0][2], dev.lon, dev.lat)

    def reference(
        pick: np.ndarray, last_week: int | None = None, buckets: np.ndarray = weeks
    ) -> dict[str, int]:
        per = Counter(
            (c, w)
            for c, w, ok in zip(dev.category.tolist(), buckets.tolist(), pick.tolist(), strict=True)
            if ok and (last_week is None or w <= last_week)
        )
        out: Counter[str] = Counter()
        for (c, _w), n in per.items():
            if n >= 3:
                out[c] += n
        return dict(out)

    everything = np.ones(len(dev), dtype=bool)
    assert category_counts(dev, min_weekly=3) == reference(everything)
    assert category_counts(dev) == dict(Counter(dev.category.tolist()))
    nights = bucket_days(dev.observed_at, bucket="night")
    assert category_counts(dev, min_weekly=3, bucket="night") == reference(
        everything, buckets=nights
    )
    zoned = zone_category_counts(dev, zones=ZONES, min_weekly=3)
    assert {c: n for (z, c), n in zoned.items() if z == ZONES[0][0]} == reference(inside)
    assert any(n < 3 for n in Counter(
        (c, w) for c, w, ok in zip(dev.category.tolist(), weeks.tolist(), inside.tolist(),
                                   strict=True) if ok).values())  # fmt: skip
    # Two periods, the second a week shorter: the zone's counts differ by 0 or by 3 or more.
    cut = int(np.sort(np.unique(weeks))[-2])
    earlier = [r for r, w in zip(recs, weeks.tolist(), strict=True) if w <= cut]
    shorter = zone_category_counts(earlier, zones=ZONES, min_weekly=3)
    assert {c: n for (z, c), n in shorter.items() if z == ZONES[0][0]} == reference(inside, cut)
    for (z, c), n in zoned.items():
        assert n - shorter.get((z, c), 0) == 0 or n - shorter.get((z, c), 0) >= 3


def test_detail_rows_never_hold_the_reporter_and_descriptions_only_on_request() -> None:
    recs = _records(50)
    assert {f.name for f in dataclasses.fields(DetailRow)}.isdisjoint({"reporter", "organisation"})
    plain = detail_rows(recs)
    assert len(plain) == 50 and all(r.description is None for r in plain)
    assert not any(c in repr(plain) for c in CANARIES)
    assert "Älvsjö AIK" not in repr(plain)
    with_text = detail_rows(recs, include_descriptions=True)
    assert all(CANARIES[0] in (r.description or "") for r in with_text)
    assert CANARIES[3] not in repr(with_text) and "Älvsjö AIK" not in repr(with_text)
    assert with_text[0].observed_at == recs[0].observed_at
    assert with_text[0].local_date == recs[0].observed_at.astimezone(STOCKHOLM).date()


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Deviations.from_records([DeviationRecord(*STATION, "brand", datetime(2026, 11, 20))])
