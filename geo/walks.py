"""Walks (pass), pure rules: the request bodies, the expansion of a series into walks, and the
CSV log of earlier seasons.

Everything here is checked before SQL touches it; what needs the database (a known
organisation, an area near the meeting point, the walker's club) is in `geo.db.walks`. Request
bodies are flat JSON objects (pydantic v2 models); `parse` turns pydantic's errors into an
`InvalidInput` that names the field, for callers outside FastAPI (the CLI, the demo, tests).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from geo.errors import InvalidInput
from geo.geometry import DEFAULT_TIME_ZONE
from geo.inputs.geojson import PointGeometry
from geo.timeofweek import parse_days

MAX_DURATION = timedelta(hours=12)
DEFAULT_WALKERS_NEEDED = 6
MAX_SERIES_WALKS = 250
MAX_SERIES_DAYS = 366
MAX_TRACK_BATCH = 2000
MAX_LOG_BYTES = 5 * 1024 * 1024
MAX_LOG_ROWS = 5000
MOODS = ("calm", "mixed", "unsettled")
CONTACTS = ("field_workers", "police", "ambulance", "parents", "school")
STATUSES = ("planned", "ongoing", "reported", "approved", "rejected", "cancelled")
# Walks made from the CSV log are keyed by organisation and start, so a repeated import is
# stored once (uuid5 in this namespace).
IMPORT_NAMESPACE = uuid.UUID("3d1b0f5e-7a57-4d3c-9c1e-77616c6b6c6f")

M = TypeVar("M", bound=BaseModel)


class FieldError(ValueError):
    """A rule across fields, broken by ``field`` (pydantic gives such errors no location)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse(model: type[M], body: Any) -> M:
    """``model`` validated from ``body``, or an `InvalidInput` naming the first bad field.

    >>> parse(ReportIn, {"id": "x"})
    Traceback (most recent call last):
    ...
    geo.errors.InvalidInput: id: Input should be a valid UUID, ...
    """
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or None
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            loc = ".".join(p for p in (loc, cause.field) if p)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{loc}: {message}" if loc else message, field=loc) from None


def _point(value: Any) -> tuple[float, float] | None:
    """A GeoJSON Point as ``(lon, lat)``; pydantic sees a ValueError for a bad one."""
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2:
        return (float(value[0]), float(value[1]))
    try:
        point = PointGeometry.model_validate(value)
    except ValidationError as exc:  # the same code (lonlat_swapped, …) and message, one level up
        first = exc.errors()[0]
        raise PydanticCustomError(first["type"], first["msg"], first.get("ctx")) from None
    return (point.lon, point.lat)


LonLatPoint = Annotated[tuple[float, float] | None, BeforeValidator(_point)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _check_times(start: datetime | None, end: datetime | None, what: str, *, field: str) -> None:
    if start is None or end is None:
        return
    if end <= start:
        raise FieldError(
            f"{what} must end after it starts (the end is {end}, the start {start})", field=field
        )
    if end - start > MAX_DURATION:
        hours = (end - start).total_seconds() / 3600
        raise FieldError(f"{what} lasts {hours:.1f} h; at most 12 h (check the dates)", field=field)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class _Place(_Body):
    """Where to meet: a GeoJSON Point or the id of a known place (one of them)."""

    meeting_point: LonLatPoint = None
    meeting_place: int | None = Field(default=None, gt=0)


class WalkIn(_Place):
    """``POST /api/v1/walks``: one walk, keyed by a client-made UUID."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1f0e8c1a-4a57-4c1e-9b7a-2f5d3c4b5a69",
                    "organisation": "Älvsjö AIK",
                    "meeting_point": {"type": "Point", "coordinates": [18.0104, 59.2786]},
                    "planned_start": "2026-09-04T21:00:00+02:00",
                    "planned_end": "2026-09-05T01:00:00+02:00",
                    "route_id": 3,
                }
            ]
        }
    )

    id: uuid.UUID
    organisation: Name
    area: str | None = Field(default=None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    walkers_needed: int | None = Field(default=None, ge=1, le=100)
    route_id: int | None = Field(default=None, gt=0)
    leader_id: int | None = Field(default=None, gt=0)
    notes: str = Field(default="", max_length=2000)

    normalise_times = field_validator("planned_start", "planned_end")(_utc)

    @model_validator(mode="after")
    def _rules(self) -> WalkIn:
        if self.meeting_point is None and self.meeting_place is None:
            raise FieldError(
                "give meeting_point (a GeoJSON Point) or meeting_place (a place id): where "
                "the walkers meet",
                field="meeting_point",
            )
        if self.meeting_point is not None and self.meeting_place is not None:
            raise FieldError("give meeting_point or meeting_place, not both", field="meeting_place")
        _check_times(self.planned_start, self.planned_end, "the walk", field="planned_end")
        return self


class SeriesIn(_Place):
    """``POST /api/v1/walks/series``: a season of walks on given weekdays at the same times.

    ``id`` keys the series: walk ids are uuid5(id, local date), so sending it again makes no
    duplicates. ``end_time`` at or before ``start_time`` is on the next day (21:00–01:00).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6c1d6a55-0c1f-4c59-9d7e-5a1c2b3d4e5f",
                    "organisation": "Kulturföreningen Solan",
                    "meeting_place": 12,
                    "first_date": "2026-09-04",
                    "last_date": "2026-12-19",
                    "days": "fri-sat",
                    "start_time": "21:00",
                    "end_time": "01:00",
                    "skip_dates": ["2026-10-30", "2026-10-31"],
                }
            ]
        }
    )

    id: uuid.UUID
    organisation: Name
    area: str | None = Field(default=None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    first_date: date
    last_date: date
    days: str = Field(default="fri-sat", max_length=100)
    start_time: time
    end_time: time
    skip_dates: list[date] = Field(default_factory=list, max_length=400)
    walkers_needed: int | None = Field(default=None, ge=1, le=100)
    route_id: int | None = Field(default=None, gt=0)
    leader_id: int | None = Field(default=None, gt=0)
    notes: str = Field(default="", max_length=2000)

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        try:
            if parse_days(value) is None:
                raise ValueError("days: give the weekdays, e.g. fri-sat or fre,lör")
        except InvalidInput as exc:
            raise ValueError(str(exc).removeprefix("days: ")) from None
        return value

    @model_validator(mode="after")
    def _rules(self) -> SeriesIn:
        if self.meeting_point is None and self.meeting_place is None:
            raise FieldError(
                "give meeting_point (a GeoJSON Point) or meeting_place (a place id)",
                field="meeting_point",
            )
        if self.meeting_point is not None and self.meeting_place is not None:
            raise FieldError("give meeting_point or meeting_place, not both", field="meeting_place")
        if self.last_date < self.first_date:
            raise FieldError("last_date is before first_date", field="last_date")
        if (self.last_date - self.first_date).days > MAX_SERIES_DAYS:
            raise FieldError(f"a series spans at most {MAX_SERIES_DAYS} days", field="last_date")
        if self.start_time.tzinfo is not None or self.end_time.tzinfo is not None:
            raise FieldError(
                "start_time and end_time are the area's local times, without a zone",
                field="start_time",
            )
        if _duration(self.start_time, self.end_time) > MAX_DURATION:
            raise FieldError("a walk of the series lasts more than 12 h", field="end_time")
        return self


def _duration(start: time, end: time) -> timedelta:
    day = date(2000, 1, 1)
    length = datetime.combine(day, end) - datetime.combine(day, start)
    return length if length > timedelta(0) else length + timedelta(days=1)


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
    length = _duration(series.start_time, series.end_time)
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


class WalkPatch(_Body):
    """``PATCH /api/v1/walks/{id}``: the fields to change and the ``version`` being changed.

    A field left out stays; ``route_id``, ``leader_id`` may be null to clear them;
    ``cancel_reason`` cancels a planned walk.
    """

    version: int = Field(gt=0)
    planned_start: AwareDatetime | None = None
    planned_end: AwareDatetime | None = None
    meeting_point: LonLatPoint = None
    meeting_place: int | None = Field(default=None, gt=0)
    walkers_needed: int | None = Field(default=None, ge=1, le=100)
    route_id: int | None = Field(default=None, gt=0)
    leader_id: int | None = Field(default=None, gt=0)
    notes: str | None = Field(default=None, max_length=2000)
    cancel_reason: str | None = Field(default=None, min_length=1, max_length=500)

    normalise_times = field_validator("planned_start", "planned_end")(
        lambda v: None if v is None else _utc(v)
    )

    @model_validator(mode="after")
    def _rules(self) -> WalkPatch:
        if self.meeting_point is not None and self.meeting_place is not None:
            raise FieldError("give meeting_point or meeting_place, not both", field="meeting_place")
        for name in ("planned_start", "planned_end", "walkers_needed", "meeting_point"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise FieldError(f"{name} cannot be null", field=name)
        _check_times(self.planned_start, self.planned_end, "the walk", field="planned_end")
        return self


class ReportIn(_Body):
    """``POST /api/v1/walks/{id}/report``: the report back after a walk (återrapportering)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9b2f4f0e-5a3d-4f57-8a5e-0c6e1d2b3a4c",
                    "started_at": "2026-09-04T21:05:00+02:00",
                    "ended_at": "2026-09-05T00:55:00+02:00",
                    "walkers_present": 5,
                    "youths_met": 40,
                    "mood": "mixed",
                    "contacts": ["field_workers"],
                    "summary": "Grupper vid stationen, lugnt vid skolan.",
                }
            ]
        }
    )

    id: uuid.UUID
    started_at: AwareDatetime
    ended_at: AwareDatetime
    walkers_present: int = Field(ge=0, le=100)
    youths_met: int = Field(ge=0, le=1000)
    mood: Literal["calm", "mixed", "unsettled"]
    contacts: list[Literal["field_workers", "police", "ambulance", "parents", "school"]] = Field(
        default_factory=list, max_length=5
    )
    summary: str = Field(default="", max_length=2000)

    normalise_times = field_validator("started_at", "ended_at")(_utc)

    @field_validator("contacts")
    @classmethod
    def _contacts(cls, value: list[str]) -> list[str]:
        # A set in a fixed order, so that the digest does not depend on the order sent.
        return sorted(set(value), key=CONTACTS.index)

    @model_validator(mode="after")
    def _rules(self) -> ReportIn:
        _check_times(self.started_at, self.ended_at, "the walk reported", field="ended_at")
        return self


class TrackPoint(_Body):
    """One recorded position: time, WGS 84 lon/lat and the phone's accuracy in metres."""

    recorded_at: AwareDatetime
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)

    normalise_time = field_validator("recorded_at")(_utc)


class TrackBatch(_Body):
    """``POST /api/v1/walks/{id}/track/points``: a batch of positions recorded by the phone."""

    points: list[TrackPoint] = Field(min_length=1, max_length=MAX_TRACK_BATCH)


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
