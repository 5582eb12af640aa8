"""Time-of-week filters (pure): parsing, nights that cross midnight and the week, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.timeofweek import (
    bucket_days,
    in_time_of_week,
    parse_days,
    parse_hours,
    whole_buckets,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


def utc64(*times: datetime) -> np.ndarray:
    return np.array([t.astimezone(UTC).replace(tzinfo=None) for t in times], dtype="datetime64[us]")


def check(days: str | None, hours: str | None, expected: dict[datetime, bool]) -> None:
    times = list(expected)
    got = in_time_of_week(utc64(*times), days=parse_days(days), hours=parse_hours(hours))
    assert dict(zip(times, got.tolist(), strict=True)) == expected
    # Aware datetimes give the same answer as UTC datetime64.
    again = in_time_of_week(times, days=parse_days(days), hours=parse_hours(hours))
    assert again.tolist() == got.tolist()


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("fri-sat", {4, 5}),
        ("Fri, Sat", {4, 5}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sun-mon", {6, 0}),
        ("fre-lör", {4, 5}),
        ("sön–tis", {6, 0, 1}),
        ("mån,ons", {0, 2}),
        ("tor", {3}),
        ("5-6", {4, 5}),
        ("7", {6}),
        ("saturday", {5}),
    ],
)
def test_parse_days(text: str, days: set[int]) -> None:
    assert parse_days(text) == frozenset(days)


@pytest.mark.parametrize("text", ["frd", "fri-", "8", "0", "fri-sat-sun", "mon,,tue", "20-02"])
def test_parse_days_rejects_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        parse_days(text)
    assert error.value.field == "days"
    assert "fre-lör" in str(error.value) and "1–7" in str(error.value)


def test_no_filter_is_none() -> None:
    assert parse_days(None) is None and parse_days("  ") is None
    assert parse_hours(None) is None and parse_hours("") is None


@pytest.mark.parametrize(
    ("text", "hours"),
    [("20-02", (20, 2)), ("00-24", (0, 24)), ("8-17", (8, 17)), ("20:00–02:00", (20, 2))],
)
def test_parse_hours(text: str, hours: tuple[int, int]) -> None:
    assert parse_hours(text) == hours


@pytest.mark.parametrize("text", ["25-02", "20-25", "20", "evening", "20-02-04"])
def test_parse_hours_rejects_with_the_accepted_form(text: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        parse_hours(text)
    assert error.value.field == "hours" and "20-02" in str(error.value)


def test_a_night_belongs_to_the_day_it_starts() -> None:
    # 2026-05-01 is a Friday.
    check(
        "fri-sat",
        "20-02",
        {
            local(2026, 5, 1, 1, 0): False,  # Friday 01:00 is Thursday's night
            local(2026, 5, 1, 19, 59): False,
            local(2026, 5, 1, 20, 0): True,
            local(2026, 5, 2, 1, 59): True,  # Saturday small hours: Friday's night
            local(2026, 5, 2, 2, 0): False,  # end exclusive
            local(2026, 5, 2, 20, 0): True,
            local(2026, 5, 3, 1, 30): True,  # Sunday small hours: Saturday's night
            local(2026, 5, 3, 20, 30): False,
            local(2026, 5, 4, 1, 0): False,
        },
    )


def test_hours_only_is_every_day_and_days_only_is_whole_days() -> None:
    check(
        None,
        "22-04",
        {
            local(2026, 5, 5, 22, 0): True,
            local(2026, 5, 6, 3, 59): True,
            local(2026, 5, 6, 4, 0): False,
            local(2026, 5, 6, 12, 0): False,
        },
    )
    check(
        "sat",
        None,
        {
            local(2026, 5, 2, 0, 0): True,
            local(2026, 5, 2, 23, 59): True,
            local(2026, 5, 3, 0, 0): False,
            local(2026, 5, 1, 23, 59): False,
        },
    )
    check(None, "00-24", {local(2026, 5, 5, 0, 0): True, local(2026, 5, 5, 23, 59): True})


def test_week_boundary() -> None:
    # Sunday 2026-05-03, Monday 2026-05-04.
    check(
        "sun",
        "22-02",
        {
            local(2026, 5, 3, 23, 0): True,
            local(2026, 5, 4, 1, 0): True,  # Monday small hours belong to Sunday's night
            local(2026, 5, 3, 1, 0): False,  # Sunday small hours are Saturday's night
            local(2026, 5, 4, 23, 0): False,
        },
    )
    check(
        "sun-mon",
        None,
        {
            local(2026, 5, 3, 12, 0): True,
            local(2026, 5, 4, 23, 59): True,
            local(2026, 5, 5, 0, 0): False,
            local(2026, 5, 2, 23, 59): False,
        },
    )


def test_daylight_saving_time_changes() -> None:
    # 2026-03-29 (Sunday): 02:00 CET → 03:00 CEST at 01:00 UTC.
    spring = [datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    assert [t.astimezone(STOCKHOLM).hour for t in spring] == [1, 3]
    got = in_time_of_week(utc64(*spring), days=parse_days("sat"), hours=parse_hours("22-02"))
    assert got.tolist() == [True, False]
    # 2026-10-25 (Sunday): 03:00 CEST → 02:00 CET at 01:00 UTC; 02:xx happens twice.
    autumn = [datetime(2026, 10, 25, h, m, tzinfo=UTC) for h, m in ((0, 30), (1, 30), (2, 0))]
    assert [t.astimezone(STOCKHOLM).hour for t in autumn] == [2, 2, 3]
    got = in_time_of_week(utc64(*autumn), days=parse_days("sun"), hours=parse_hours("02-03"))
    assert got.tolist() == [True, True, False]


def test_agrees_with_zoneinfo_on_random_timestamps_over_several_years() -> None:
    rng = np.random.default_rng(1)
    start = np.datetime64("2024-01-01T00:00", "us").astype(np.int64)
    end = np.datetime64("2028-01-01T00:00", "us").astype(np.int64)
    times = rng.integers(start, end, 20_000).astype("datetime64[us]")
    aware = [
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(t))
        for t in times.astype(np.int64)
    ]
    wall = [t.astimezone(STOCKHOLM) for t in aware]
    for days, hours in [
        ("fri-sat", "20-02"),
        ("sun", "22-02"),
        ("mon-fri", "08-17"),
        (None, "23-01"),
        ("sun-mon", None),
        ("lör", "02-03"),
    ]:
        d, h = parse_days(days), parse_hours(hours)
        expected = []
        for t in wall:
            start_day = t.weekday()
            if h is None:
                ok = True
            elif h[1] > h[0]:
                ok = h[0] <= t.hour < h[1]
            else:
                ok = t.hour >= h[0] or t.hour < h[1]
                if t.hour < h[1]:
                    start_day = (start_day - 1) % 7  # the night started the day before
            expected.append(ok and (d is None or start_day in d))
        got = in_time_of_week(times, days=d, hours=h)
        assert got.tolist() == expected, (days, hours)


def test_nat_is_outside_and_naive_datetimes_are_refused() -> None:
    times = np.array(["2026-05-01T20:00", "NaT"], dtype="datetime64[us]")
    assert in_time_of_week(times, days=None, hours=None).tolist() == [True, False]
    assert in_time_of_week(times, days=parse_days("fri"), hours=None).tolist() == [True, False]
    with pytest.raises(ValueError, match="timezone-aware"):
        in_time_of_week([datetime(2026, 5, 1, 20)], days=None, hours=parse_hours("20-02"))


def test_whole_buckets_hold_exactly_the_buckets_the_days_touch() -> None:
    """`whole_buckets` against `bucket_days`: over two years of days (both DST changes), the
    widened period holds every instant whose bucket is one of those the days name, and no
    other; a period starting or ending anywhere inside a week gives the same week."""
    rng = np.random.default_rng(5)
    tz = ZoneInfo("Europe/Stockholm")
    base = date(2025, 1, 1)
    for _ in range(60):
        since = base + timedelta(days=int(rng.integers(0, 700)))
        until = since + timedelta(days=int(rng.integers(0, 40)))
        for bucket in ("week", "night"):
            p = whole_buckets(since, until, bucket=bucket)
            assert p.start.tzinfo is not None and p.start < p.end
            # Hourly instants from two days before to two days after.
            t0 = datetime.combine(p.first - timedelta(days=2), datetime.min.time(), tz)
            hours = np.arange(0, ((p.last - p.first).days + 5) * 24 + 1)
            instants = np.array(
                [
                    (t0 + timedelta(hours=int(h))).astimezone(UTC).replace(tzinfo=None)
                    for h in hours
                ],
                dtype="datetime64[us]",
            )
            first_days = bucket_days(instants, bucket=bucket)
            epoch = date(1970, 1, 1)
            named = [epoch + timedelta(days=int(d)) for d in first_days]
            if bucket == "week":
                wanted = [since - timedelta(days=since.weekday()) <= d <= until for d in named]
                assert p.first.weekday() == 0 and p.last.weekday() == 6
            else:
                wanted = [since <= d <= until for d in named]
                assert (p.first, p.last) == (since, until)
            start_us = np.datetime64(p.start.astimezone(UTC).replace(tzinfo=None), "us")
            end_us = np.datetime64(p.end.astimezone(UTC).replace(tzinfo=None), "us")
            inside = (instants >= start_us) & (instants < end_us)
            assert inside.tolist() == wanted, (since, until, bucket)
    # Any day of a week as either end gives that week.
    monday = date(2026, 3, 23)  # the week of the change to summer time (29 March)
    weeks = {
        whole_buckets(monday + timedelta(days=a), monday + timedelta(days=b), bucket="week")
        for a in range(7)
        for b in range(a, 7)
    }
    assert len(weeks) == 1
    (week,) = weeks
    assert week.start.isoformat() == "2026-03-23T00:00:00+01:00"
    assert week.end.isoformat() == "2026-03-30T00:00:00+02:00"
    with pytest.raises(InvalidParameter):
        whole_buckets(monday, monday, bucket="year")
