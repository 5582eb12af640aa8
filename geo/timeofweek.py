"""Local time in an area: time-of-week filters and time buckets (weeks, nights).

"Friday–Saturday 20–02" becomes a vectorised test on UTC timestamps, and a timestamp's bucket
its local week or night.

A night belongs to the day it STARTS: ``days=fri-sat, hours=20-02`` selects Friday 20:00 to
Saturday 02:00 and Saturday 20:00 to Sunday 02:00, but not the small hours of Friday (that is
Thursday's night). Local time is the area's wall-clock time (its ``time_zone``, by default
`geo.geometry.DEFAULT_TIME_ZONE`), with daylight saving time handled through the zone's real UTC
offsets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from geo.errors import InvalidParameter
from geo.geometry import DEFAULT_TIME_ZONE

DAYS_FORM = (
    "days as a range or a comma-separated list of weekdays: English (mon, tue, wed, thu, fri, "
    "sat, sun), Swedish (mån, tis, ons, tor, fre, lör, sön) or ISO numbers 1–7 (Monday = 1), "
    "for example fri-sat, fre-lör, mon,wed or 5-6; sun-mon wraps round the week"
)
HOURS_FORM = (
    "hours as start-end in whole local hours, end exclusive, for example 20-02 (20:00 to 02:00 "
    "the next morning), 08-17, or 00-24 for the whole day"
)

# Monday = 0, as datetime.weekday(). Swedish names with and without diacritics.
_DAY_NAMES: dict[str, int] = {}
for _number, _names in enumerate(
    [
        ("mon", "monday", "mån", "man", "måndag", "mandag"),
        ("tue", "tuesday", "tis", "tisdag"),
        ("wed", "wednesday", "ons", "onsdag"),
        ("thu", "thursday", "tor", "torsdag"),
        ("fri", "friday", "fre", "fredag"),
        ("sat", "saturday", "lör", "lor", "lördag", "lordag"),
        ("sun", "sunday", "sön", "son", "söndag", "sondag"),
    ]
):
    for _name in _names:
        _DAY_NAMES[_name] = _number
    _DAY_NAMES[str(_number + 1)] = _number  # ISO 8601 weekday number

_DASH = re.compile(r"\s*[-–—]\s*")
_HOURS = re.compile(r"^\s*(\d{1,2})(?::00)?\s*[-–—]\s*(\d{1,2})(?::00)?\s*$")
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR
BUCKETS = ("week", "night")
BUCKET_SV = {"week": "vecka", "night": "natt"}
NIGHT_STARTS_H = 12  # a night runs 12:00–12:00 local time and is named by its first date


def _day(token: str) -> int:
    try:
        return _DAY_NAMES[token.strip().lower()]
    except KeyError:
        raise InvalidParameter(
            f"days: {token.strip()!r} is not a weekday; give {DAYS_FORM}", field="days"
        ) from None


def parse_days(text: str | None) -> frozenset[int] | None:
    """Parse a weekday filter into weekday numbers (Monday = 0), or None for no filter.

    Ranges include both ends and wrap round the week (``sun-mon`` is Sunday and Monday).

    >>> sorted(parse_days("fri-sat"))
    [4, 5]
    >>> sorted(parse_days("sön-mån"))
    [0, 6]
    >>> sorted(parse_days("1,3,5"))
    [0, 2, 4]
    >>> parse_days("") is None
    True
    """
    if text is None or not text.strip():
        return None
    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            raise InvalidParameter(f"days: empty item in {text!r}; give {DAYS_FORM}", field="days")
        ends = _DASH.split(part.strip())
        if len(ends) == 1:
            days.add(_day(ends[0]))
        elif len(ends) == 2:
            start, end = _day(ends[0]), _day(ends[1])
            days.update((start + k) % 7 for k in range((end - start) % 7 + 1))
        else:
            raise InvalidParameter(
                f"days: {part.strip()!r} is not a range; give {DAYS_FORM}", field="days"
            )
    return frozenset(days)


def parse_hours(text: str | None) -> tuple[int, int] | None:
    """Parse ``start-end`` local hours (end exclusive), or None for no filter.

    ``end <= start`` means the window runs across midnight into the next day.

    >>> parse_hours("20-02")
    (20, 2)
    >>> parse_hours("00-24")
    (0, 24)
    >>> parse_hours(None) is None
    True
    """
    if text is None or not text.strip():
        return None
    match = _HOURS.match(text)
    if not match:
        raise InvalidParameter(
            f"hours: {text!r} is not understood; give {HOURS_FORM}", field="hours"
        )
    start, end = int(match.group(1)), int(match.group(2))
    if not (0 <= start <= 23 and 0 <= end <= 24):
        raise InvalidParameter(
            f"hours: the start must be 0–23 and the end 0–24; give {HOURS_FORM}", field="hours"
        )
    return start, end


def _as_utc_us(times: np.ndarray | Sequence[datetime]) -> np.ndarray:
    """Microseconds since the epoch (int64, UTC); NaT stays the int64 minimum."""
    if isinstance(times, np.ndarray) and np.issubdtype(times.dtype, np.datetime64):
        return times.astype("datetime64[us]").astype(np.int64)
    if any(t.tzinfo is None or t.utcoffset() is None for t in times):
        raise ValueError("in_time_of_week needs timezone-aware datetimes (or UTC datetime64)")
    # POSIX seconds as float64 keep microseconds exact up to the year 2255.
    seconds = np.fromiter((t.timestamp() for t in times), dtype=np.float64, count=len(times))
    return np.round(seconds * 1e6).astype(np.int64)


def _utc_offsets_us(utc_us: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """The zone's UTC offset (µs) at each instant, from a table of its transitions.

    zoneinfo has no public list of transitions, so they are found by sampling the offset once a
    day over the data's range and bisecting each day on which it changes down to the microsecond (no
    zone changes its offset twice within a day). Each timestamp then looks up its offset with
    ``searchsorted``: a few hundred ``utcoffset`` calls per year of data instead of one per row.
    """
    if utc_us.size == 0:
        return np.zeros(0, dtype=np.int64)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def offset_at(us: int) -> int:
        # Clamp to datetime's range; offsets beyond it do not matter for real data.
        us = min(max(us, -62_135_596_800_000_000 + _US_PER_DAY), 253_402_300_799_000_000)
        delta = (epoch + timedelta(microseconds=us)).astimezone(tz).utcoffset()
        assert delta is not None
        return int(delta // timedelta(microseconds=1))

    first = int(utc_us.min()) // _US_PER_DAY * _US_PER_DAY
    last = int(utc_us.max())
    samples = list(range(first, last + _US_PER_DAY, _US_PER_DAY))
    offsets = [offset_at(s) for s in samples]
    starts, values = [samples[0]], [offsets[0]]
    for k in range(1, len(samples)):
        if offsets[k] != offsets[k - 1]:
            lo, hi = samples[k - 1], samples[k]  # offset(lo) is old, offset(hi) is new
            while hi - lo > 1:  # to the microsecond: an instant on the change has the new offset
                mid = (lo + hi) // 2
                if offset_at(mid) == offsets[k - 1]:
                    lo = mid
                else:
                    hi = mid
            starts.append(hi)
            values.append(offsets[k])
    index = np.searchsorted(np.asarray(starts, dtype=np.int64), utc_us, side="right") - 1
    return np.asarray(values, dtype=np.int64)[np.maximum(index, 0)]


def local_wall_clock(utc: np.ndarray, tz: str = DEFAULT_TIME_ZONE) -> np.ndarray:
    """UTC instants (``datetime64``) as the wall-clock time of ``tz``, ``datetime64[us]``.

    NaT stays NaT.

    >>> t = np.array(["2026-07-01T22:30", "2026-12-01T22:30"], dtype="datetime64[us]")
    >>> [str(v) for v in local_wall_clock(t)]
    ['2026-07-02T00:30:00.000000', '2026-12-01T23:30:00.000000']
    >>> t = np.array(["2026-03-29T00:59", "2026-03-29T01:00"], dtype="datetime64[us]")  # DST
    >>> [str(v)[11:16] for v in local_wall_clock(t)]
    ['01:59', '03:00']
    """
    utc_us = np.asarray(utc).astype("datetime64[us]").astype(np.int64)
    nat = utc_us == np.iinfo(np.int64).min
    local_us = utc_us + _utc_offsets_us(np.where(nat, 0, utc_us), ZoneInfo(tz))
    return np.where(nat, utc_us, local_us).astype("datetime64[us]")


def in_time_of_week(
    times: np.ndarray | Sequence[datetime],
    *,
    days: frozenset[int] | None,
    hours: tuple[int, int] | None,
    tz: str = DEFAULT_TIME_ZONE,
) -> np.ndarray:
    """Which timestamps fall in the time-of-week window, in the zone's local time.

    Parameters
    ----------
    times
        ``datetime64`` instants in UTC (any unit; converted to µs), or timezone-aware datetimes.
    days
        Weekdays (Monday = 0) on which a window STARTS, as from `parse_days`; None = every day.
    hours
        ``(start, end)`` local hours from `parse_hours`; ``end <= start`` runs into the next
        day, which still belongs to the start day. None = whole days.
    tz
        IANA time zone of the local clock.

    Returns
    -------
    numpy.ndarray
        Booleans, one per timestamp; NaT is never inside.

    Examples
    --------
    >>> t = np.array(["2026-05-01T19:30", "2026-05-01T23:30"], dtype="datetime64[us]")
    >>> in_time_of_week(t, days=frozenset({4}), hours=(22, 2)).tolist()  # Fri 21:30, Sat 01:30
    [False, True]
    """
    utc_us = _as_utc_us(times)
    valid = utc_us != np.iinfo(np.int64).min
    if days is None and hours is None:
        return valid
    utc_us = np.where(valid, utc_us, 0)
    local_us = utc_us + _utc_offsets_us(utc_us, ZoneInfo(tz))
    day_number = local_us // _US_PER_DAY  # floor division: correct before 1970 too
    weekday = (day_number + 3) % 7  # 1970-01-01 was a Thursday (3)
    hour = (local_us - day_number * _US_PER_DAY) // _US_PER_HOUR
    on_day = np.ones(7, dtype=bool) if days is None else np.isin(np.arange(7), list(days))
    if hours is None:
        return valid & on_day[weekday]
    start, end = hours
    if end > start:
        inside = on_day[weekday] & (hour >= start) & (hour < end)
    else:
        # Evening part on a selected day, small hours on the day after a selected day.
        inside = (on_day[weekday] & (hour >= start)) | (on_day[(weekday - 1) % 7] & (hour < end))
    return valid & inside


def bucket_days(utc: np.ndarray, *, bucket: str, tz: str = DEFAULT_TIME_ZONE) -> np.ndarray:
    """The first local date of each instant's bucket, as days since 1970-01-01 (int64).

    ``night``: the night runs 12:00–12:00 local time and starts on the returned date; ``week``:
    the ISO week's Monday.

    >>> t = np.array(["2026-11-20T00:30", "2026-11-20T11:30"], dtype="datetime64[us]")
    >>> [str(np.datetime64(int(d), "D")) for d in bucket_days(t, bucket="night")]
    ['2026-11-19', '2026-11-20']
    >>> [str(np.datetime64(int(d), "D")) for d in bucket_days(t, bucket="week")]
    ['2026-11-16', '2026-11-16']
    """
    check_bucket(bucket)
    local_us = local_wall_clock(utc, tz).astype(np.int64)
    if bucket == "night":
        return (local_us - NIGHT_STARTS_H * _US_PER_HOUR) // _US_PER_DAY
    days = local_us // _US_PER_DAY
    return days - (days + 3) % 7  # 1970-01-01 was a Thursday (ISO weekday 4)


def bucket_label(day: date, *, bucket: str) -> str:
    """The label of the bucket that starts on ``day``: an ISO week or the night's date.

    >>> bucket_label(date(2026, 11, 16), bucket="week"), bucket_label(date(2026, 11, 19),
    ...     bucket="night")
    ('2026-W47', '2026-11-19')
    >>> bucket_label(date(2026, 12, 28), bucket="week")  # ISO week 53 of 2026
    '2026-W53'
    """
    check_bucket(bucket)
    if bucket == "night":
        return day.isoformat()
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


@dataclass(frozen=True)
class Period:
    """Local days ``first``–``last`` (both inclusive) and the instants that a read of them
    runs between: from ``start`` (included) to ``end`` (excluded), in the area's zone."""

    first: date
    last: date
    start: datetime
    end: datetime


def days_period(since: date, until: date, *, tz: str = DEFAULT_TIME_ZONE) -> Period:
    """The local days ``since``–``until`` exactly, midnight to midnight.

    >>> p = days_period(date(2026, 11, 17), date(2026, 11, 21))
    >>> p.start.isoformat(), p.end.isoformat()
    ('2026-11-17T00:00:00+01:00', '2026-11-22T00:00:00+01:00')
    """
    zone = ZoneInfo(tz)
    return Period(
        since,
        until,
        datetime.combine(since, time(0), zone),
        datetime.combine(until + timedelta(days=1), time(0), zone),
    )


def whole_buckets(since: date, until: date, *, bucket: str, tz: str = DEFAULT_TIME_ZONE) -> Period:
    """The days ``since``–``until`` widened outward to whole time buckets (`bucket_days`).

    A count per bucket over a period that starts or ends inside a bucket would count part of
    it, and two periods that differ by a day would differ by that day's reports: whole buckets
    leave nothing to subtract but whole buckets' counts, which are shown (or suppressed) on
    their own. ``week``: from the Monday of ``since``'s ISO week, 00:00, to the Monday after
    ``until``'s week, 00:00 (``first``–``last`` are that Monday and Sunday). ``night``: the
    nights whose own date (the day they start) lies in ``since``–``until``, from ``since``
    12:00 to the day after ``until``, 12:00 (``first``–``last`` stay the nights' dates).
    ``month`` (for the police notices' counts beside ours): from the first of ``since``'s
    month to the first of the month after ``until``'s, midnight.

    >>> p = whole_buckets(date(2026, 11, 17), date(2026, 11, 21), bucket="week")
    >>> p.first.isoformat(), p.last.isoformat(), p.start.isoformat(), p.end.isoformat()
    ('2026-11-16', '2026-11-22', '2026-11-16T00:00:00+01:00', '2026-11-23T00:00:00+01:00')
    >>> p = whole_buckets(date(2026, 11, 17), date(2026, 11, 21), bucket="night")
    >>> p.first.isoformat(), p.last.isoformat(), p.start.isoformat(), p.end.isoformat()
    ('2026-11-17', '2026-11-21', '2026-11-17T12:00:00+01:00', '2026-11-22T12:00:00+01:00')
    >>> p = whole_buckets(date(2026, 11, 17), date(2026, 12, 2), bucket="month")
    >>> p.first.isoformat(), p.last.isoformat(), p.end.isoformat()
    ('2026-11-01', '2026-12-31', '2027-01-01T00:00:00+01:00')
    """
    zone = ZoneInfo(tz)
    if bucket == "month":
        after = date(until.year + until.month // 12, until.month % 12 + 1, 1)
        first = since.replace(day=1)
        return Period(
            first,
            after - timedelta(days=1),
            datetime.combine(first, time(0), zone),
            datetime.combine(after, time(0), zone),
        )
    check_bucket(bucket)
    if bucket == "night":
        start = datetime.combine(since, time(NIGHT_STARTS_H), zone)
        end = datetime.combine(until + timedelta(days=1), time(NIGHT_STARTS_H), zone)
        return Period(since, until, start, end)
    first = since - timedelta(days=since.weekday())
    last = until + timedelta(days=6 - until.weekday())
    return Period(
        first,
        last,
        datetime.combine(first, time(0), zone),
        datetime.combine(last + timedelta(days=1), time(0), zone),
    )


def check_bucket(bucket: str) -> None:
    """Raise `InvalidParameter` unless ``bucket`` is one of `BUCKETS`."""
    if bucket not in BUCKETS:
        raise InvalidParameter(
            f"bucket must be one of {', '.join(BUCKETS)}; got {bucket!r}", field="bucket"
        )
