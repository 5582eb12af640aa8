"""Walks (pass), pure rules: the expansion of a series into walks, the CSV log of earlier
seasons, and the period of a walk list.

The request bodies are `geo.inputs.walks`; what needs the database (a known organisation, an
area near the meeting point, the walker's club) is in `geo.db.walks`.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from geo.errors import InvalidInput
from geo.geometry import DEFAULT_TIME_ZONE
from geo.inputs.walks import MAX_DURATION, SeriesIn, WalkIn, night_length
from geo.timeofweek import parse_days

DEFAULT_WALKERS_NEEDED = 6
MAX_SERIES_WALKS = 250
MAX_LOG_BYTES = 5 * 1024 * 1024
MAX_LOG_ROWS = 5000
STATUSES = ("planned", "ongoing", "reported", "approved", "rejected", "cancelled")
# Walks made from the CSV log are keyed by organisation and start, so a repeated import is
# stored once (uuid5 in this namespace).
IMPORT_NAMESPACE = uuid.UUID("3d1b0f5e-7a57-4d3c-9c1e-77616c6b6c6f")


def expand_series(series: SeriesIn, *, time_zone: str = DEFAULT_TIME_ZONE) -> list[WalkIn]:
    """The walks of a series, in the area's local time (right across daylight-saving changes).

    >>> s = SeriesIn(id=uuid.UUID(int=1), organisation="Älvsjö AIK", meeting_place=1,
    ...              first_date=date(2026, 10, 23), last_date=date(2026, 10, 31),
    ...              start_time=time(21), end_time=time(1))
    >>> [w.planned_start.isoformat() for w in expand_series(s)]  # CEST, then CET (UTC times)
    ['2026-10-23T19:00:00+00:00', '2026-10-24T19:00:00+00:00', '2026-10-30T20:00:00+00:00', \
'2026-10-31T20:00:00+00:00']
    """
    zone = ZoneInfo(time_zone)
    days = parse_days(series.days) or frozenset()
    skip = set(series.skip_dates)
    length = night_length(series.start_time, series.end_time)
    walks: list[WalkIn] = []
    day = series.first_date
    while day <= series.last_date:
        if day.weekday() in days and day not in skip:
            start = datetime.combine(day, series.start_time, zone)
            # Wall-clock end (the next day when it is before the start), then to UTC: a night
            # that crosses a DST change is an hour longer or shorter, as the clock says.
            end_day = (
                day
                if datetime.combine(day, series.end_time) > datetime.combine(day, series.start_time)
                else day + timedelta(days=1)
            )
            end = datetime.combine(end_day, series.end_time, zone)
            if end.astimezone(UTC) <= start.astimezone(UTC):
                end = start + length
            walks.append(
                WalkIn(
                    id=uuid.uuid5(series.id, day.isoformat()),
                    organisation=series.organisation,
                    area=series.area,
                    meeting_point=series.meeting_point,
                    meeting_place=series.meeting_place,
                    planned_start=start,
                    planned_end=end,
                    walkers_needed=series.walkers_needed,
                    route_id=series.route_id,
                    leader_id=series.leader_id,
                    notes=series.notes,
                )
            )
            if len(walks) > MAX_SERIES_WALKS:
                raise InvalidInput(
                    f"the series makes more than {MAX_SERIES_WALKS} walks; split it",
                    field="last_date",
                )
        day += timedelta(days=1)
    if not walks:
        raise InvalidInput(
            "the series makes no walk: no date between first_date and last_date falls on "
            f"{series.days!r} (after skip_dates)",
            field="days",
        )
    return walks


# -- the CSV log of earlier seasons ---------------------------------------------------------------

HEADERS = {
    "date": ("date", "datum", "dag"),
    "start": ("start", "starttid", "start_time", "börjar", "från"),
    "end": ("end", "slut", "sluttid", "end_time", "slutar", "till"),
    "organisation": ("organisation", "organization", "förening", "klubb", "club", "org"),
    "walkers": ("walkers", "vandrare", "antal", "antal vandrare", "antal_vandrare", "deltagare"),
    "notes": ("notes", "anteckningar", "noteringar", "kommentar", "kommentarer", "anmärkning"),
}
REQUIRED_COLUMNS = ("date", "start", "end", "organisation", "walkers")
MONTHS_SV = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "januari"),
            ("feb", "februari"),
            ("mar", "mars"),
            ("apr", "april"),
            ("maj",),
            ("jun", "juni"),
            ("jul", "juli"),
            ("aug", "augusti"),
            ("sep", "sept", "september"),
            ("okt", "oktober"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/. ]\s*(\d{4})")
_NAMED_DATE = re.compile(r"(\d{1,2})\s+([a-zåäö]+)\.?\s+(\d{4})")
_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?")


@dataclass(frozen=True)
class LogRow:
    """A walk taken from the log: times in UTC, keyed by organisation and start."""

    line: int
    id: uuid.UUID
    organisation: str
    planned_start: datetime
    planned_end: datetime
    walkers: int
    notes: str


@dataclass(frozen=True)
class RefusedRow:
    line: int
    reason: str


@dataclass
class LogRead:
    taken: list[LogRow] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)


def parse_log_date(text: str) -> date:
    """A date as ISO (2024-09-06) or Swedish (6/9 2024, 6.9.2024, 6 sep 2024, 6 september 2024).

    >>> parse_log_date("6/9 2024"), parse_log_date("6 okt 2024")
    (datetime.date(2024, 9, 6), datetime.date(2024, 10, 6))
    """
    text = text.strip().lower()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        if m := _NUMERIC_DATE.fullmatch(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if (m := _NAMED_DATE.fullmatch(text)) and m[2] in MONTHS_SV:
            return date(int(m[3]), MONTHS_SV[m[2]], int(m[1]))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date: {exc}") from None
    raise ValueError(f"{text!r} is not a date: write 2024-09-06 (or 6/9 2024, 6 sep 2024)")


def parse_log_time(text: str) -> time:
    """A clock time: 21:00, 21.00 or 21.

    >>> parse_log_time("21.30")
    datetime.time(21, 30)
    """
    m = _TIME.fullmatch(text.strip())
    if m is None or int(m[1]) > 23 or int(m[2] or 0) > 59:
        raise ValueError(f"{text.strip()!r} is not a time: write 21:00")
    return time(int(m[1]), int(m[2] or 0))


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    found: dict[str, int] = {}
    for key, aliases in HEADERS.items():
        for i, name in enumerate(names):
            if name in aliases:
                found.setdefault(key, i)
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise InvalidInput(
            f"the log has no column {', '.join(missing)}: the first row must name the columns "
            "date, start, end, organisation, walkers (and optionally notes), in English or "
            "Swedish (datum, start, slut, förening, vandrare, anteckningar)",
            field="header",
        )
    return found


def read_walk_log(text: str, *, now: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> LogRead:
    """The rows of a CSV log of earlier walks, taken or refused with the reason.

    The delimiter is a comma or a semicolon (as a Swedish spreadsheet writes it); times are the
    area's local times and an end at or before the start is on the next day. Only walks that
    have ended by ``now`` are taken: future walks are scheduled, not imported.
    """
    if len(text.encode()) > MAX_LOG_BYTES:
        raise InvalidInput(f"the log is larger than {MAX_LOG_BYTES // 2**20} MB", field="file")
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise InvalidInput("the log is empty", field="file")
    if len(rows) > MAX_LOG_ROWS + 1:
        raise InvalidInput(f"the log has more than {MAX_LOG_ROWS} rows; split it", field="file")
    cols = _columns(rows[0])
    zone = ZoneInfo(time_zone)
    read = LogRead()
    seen: dict[uuid.UUID, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key: str, row: list[str] = row) -> str:
            i = cols.get(key)
            return row[i].strip() if i is not None and i < len(row) else ""

        try:
            day = parse_log_date(cell("date"))
            start_t, end_t = parse_log_time(cell("start")), parse_log_time(cell("end"))
            organisation = cell("organisation")
            if not organisation:
                raise ValueError("no organisation")
            if len(organisation) > 200:
                raise ValueError("the organisation's name is longer than 200 characters")
            try:
                walkers = int(cell("walkers"))
            except ValueError:
                raise ValueError(f"walkers {cell('walkers')!r} is not a whole number") from None
            if not 0 <= walkers <= 100:
                raise ValueError(f"walkers {walkers} is outside 0–100")
            notes = cell("notes")
            if len(notes) > 2000:
                raise ValueError("the notes are longer than 2000 characters")
            start = datetime.combine(day, start_t, zone)
            end_day = day + timedelta(days=1) if end_t <= start_t else day
            end = datetime.combine(end_day, end_t, zone)
            if end - start > MAX_DURATION:
                raise ValueError("the walk lasts more than 12 h")
            if end.astimezone(UTC) > now:
                raise ValueError(
                    "the walk has not ended yet: the log is for walks that took place "
                    "(schedule coming walks as a series)"
                )
        except ValueError as exc:
            read.refused.append(RefusedRow(line, str(exc)))
            continue
        start_utc = start.astimezone(UTC)
        key = uuid.uuid5(IMPORT_NAMESPACE, f"{organisation.casefold()}|{start_utc.isoformat()}")
        if key in seen:
            read.refused.append(RefusedRow(line, f"the same walk as line {seen[key]}"))
            continue
        seen[key] = line
        read.taken.append(
            LogRow(line, key, organisation, start_utc, end.astimezone(UTC), walkers, notes)
        )
    return read


def period_bounds(
    since: date | datetime | None,
    until: date | datetime | None,
    *,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> tuple[datetime | None, datetime | None]:
    """``[since, until)`` as instants: a date is a local day (``until`` inclusive, so it ends at
    the next local midnight); a datetime must carry its zone.

    >>> a, b = period_bounds(date(2026, 9, 4), date(2026, 9, 5))
    >>> a.isoformat(), b.isoformat()
    ('2026-09-04T00:00:00+02:00', '2026-09-06T00:00:00+02:00')
    """
    zone = ZoneInfo(time_zone)

    def bound(value: date | datetime | None, name: str, *, end: bool) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise InvalidInput(
                    f"{name}: a time needs its zone (e.g. 2026-09-04T21:00+02:00), or give a "
                    "date (YYYY-MM-DD)",
                    field=name,
                )
            return value
        return datetime.combine(value + timedelta(days=1) if end else value, time(0), zone)

    lo, hi = bound(since, "since", end=False), bound(until, "until", end=True)
    if lo is not None and hi is not None and hi <= lo:
        raise InvalidInput("until is before since", field="until")
    return lo, hi
