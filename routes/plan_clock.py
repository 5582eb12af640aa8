"""Clock times of a route plan: when it starts, when each stop is open, and what a stop's
arrival, waiting and leaving are on the wall clock.

Times with zone (`datetime` aware) come in and go out; the solver works in seconds after the
start (`routes.planner`). Opening hours are wall-clock times of the area's time zone, every day
alike; a closing time before the opening time is after midnight (18:00–01:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from geo.errors import InvalidInput

EVENING = time(21, 0)  # the usual start of a night walk, when no walk is scheduled


@dataclass(frozen=True)
class OpeningHours:
    """A place's daily opening hours (wall clock of its area); ``closes`` < ``opens`` is after
    midnight."""

    opens: time
    closes: time
    source: str = ""

    @property
    def label(self) -> str:
        """As people read them: ``08:00–22:00``."""
        return f"{self.opens:%H:%M}–{self.closes:%H:%M}"


def parse_hours(opens: str | None, closes: str | None, *, field: str) -> OpeningHours | None:
    """Opening hours from ``"HH:MM"`` strings (both or neither; None when neither).

    Examples
    --------
    >>> parse_hours("18:00", "01:00", field="x").label
    '18:00–01:00'
    >>> parse_hours(None, None, field="x") is None
    True
    """
    if opens is None and closes is None:
        return None
    if opens is None or closes is None:
        raise InvalidInput(f"{field}: give both opens and closes, or neither", field=field)
    try:
        o, c = time.fromisoformat(opens), time.fromisoformat(closes)
    except ValueError as exc:
        raise InvalidInput(
            f"{field}: opens and closes must be times like 08:00; got {opens!r}, {closes!r}",
            field=field,
        ) from exc
    if o == c:
        raise InvalidInput(f"{field}: opens and closes must differ", field=field)
    return OpeningHours(o.replace(second=0, microsecond=0), c.replace(second=0, microsecond=0))


def default_start(
    now: datetime, *, time_zone: str, next_walk: datetime | None = None
) -> tuple[datetime, str]:
    """When a plan starts by default, and why: the area's next scheduled walk (``"walk"``),
    else 21:00 of the evening it is in the area's time zone (``"evening"``; after midnight that
    is the coming evening).

    Examples
    --------
    >>> from datetime import UTC
    >>> now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    >>> t, why = default_start(now, time_zone="Europe/Stockholm")
    >>> t.isoformat(), why
    ('2026-12-02T21:00:00+01:00', 'evening')
    """
    tz = ZoneInfo(time_zone)
    if next_walk is not None:
        return next_walk.astimezone(tz), "walk"
    local = now.astimezone(tz)
    return datetime.combine(local.date(), EVENING, tzinfo=tz), "evening"


def visit_window(
    hours: OpeningHours | None,
    *,
    start_at: datetime,
    budget_s: float,
    dwell_s: float,
    time_zone: str,
) -> tuple[float, float] | None:
    """When a visit to a place with ``hours`` may start, in seconds after ``start_at``, so that
    the whole dwell lies within its opening hours and within the walk.

    Of the opening periods that meet the walk (the day before, the day of and the day after
    the start), the one giving the longest window is taken (the first of equals). None when
    ``hours`` is None (always open); an empty window (start after end) when the place is not
    open long enough for a visit during the walk.

    Examples
    --------
    >>> from datetime import UTC
    >>> h = OpeningHours(time(18, 0), time(22, 0))
    >>> t0 = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)  # 21:00 in Stockholm
    >>> visit_window(h, start_at=t0, budget_s=7200, dwell_s=600, time_zone="Europe/Stockholm")
    (0.0, 3000.0)
    """
    if hours is None:
        return None
    tz = ZoneInfo(time_zone)
    first = start_at.astimezone(tz).date() - timedelta(days=1)
    # Differences in UTC: between two times of one ZoneInfo Python subtracts wall clocks.
    t0 = start_at.astimezone(UTC)
    best: tuple[float, float] | None = None
    for d in range(3):
        lo, hi = _period(hours, first + timedelta(days=d), tz)
        w_lo = max(0.0, (lo.astimezone(UTC) - t0).total_seconds())
        w_hi = min(budget_s - dwell_s, (hi.astimezone(UTC) - t0).total_seconds() - dwell_s)
        if w_lo <= w_hi and (best is None or w_hi - w_lo > best[1] - best[0]):
            best = (w_lo, w_hi)
    return best if best is not None else (1.0, 0.0)


def _period(hours: OpeningHours, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The opening period that begins on ``day`` (aware datetimes)."""
    lo = datetime.combine(day, hours.opens, tzinfo=tz)
    end_day = day + timedelta(days=1) if hours.closes <= hours.opens else day
    return lo, datetime.combine(end_day, hours.closes, tzinfo=tz)


def at(start_at: datetime, seconds: float) -> str:
    """``start_at`` + ``seconds`` as ISO 8601 with the zone's offset, to the second (elapsed
    time: across a change to or from summer time too).

    Examples
    --------
    >>> t0 = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    >>> at(t0, 3600)
    '2026-03-29T03:30:00+02:00'
    """
    when = start_at.astimezone(UTC) + timedelta(seconds=round(seconds))
    return when.astimezone(start_at.tzinfo).isoformat(timespec="seconds")
