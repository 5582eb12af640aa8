"""Walk request bodies (pass): a walk, a season (series), a change, guests, the report back,
and the phone's track points; flat JSON objects as pydantic v2 models, checked before SQL.

Rules across fields are refused with `geo.inputs.geojson.fail` (a `PydanticCustomError`):
``type`` is the rule's code (``ends_before_start``, ``meeting_point_missing``…) and
``ctx.field`` the field to fix. The meeting point is the GeoJSON Point model of
`geo.inputs.geojson` (its codes, ``lonlat_swapped`` and the rest, come through). `parse` turns
pydantic's errors into an `InvalidInput` naming the field, for callers outside FastAPI (the CLI,
the demo, tests).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar

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

from geo.errors import InvalidInput, InvalidParameter
from geo.inputs.geojson import PointGeometry, fail
from geo.timeofweek import parse_days

MAX_DURATION = timedelta(hours=12)
MAX_SERIES_DAYS = 366
MAX_TRACK_BATCH = 2000
MAX_WALK_BODY = 16 * 1024
MAX_SERIES_BODY = 64 * 1024
MAX_REPORT_BODY = 16 * 1024
MAX_TRACK_BATCH_BODY = 512 * 1024
MOODS = ("calm", "mixed", "unsettled")
CONTACTS = ("field_workers", "police", "ambulance", "parents", "school")

M = TypeVar("M", bound=BaseModel)


def _refuse(code: str, message: str, *, field: str) -> None:
    """Refuse a rule across fields: ``code`` is the 422 item's ``type``, ``ctx.field`` the field
    to fix (pydantic gives such errors no location of their own)."""
    fail(code, message, field=field)


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
        named = (first.get("ctx") or {}).get("field")
        if isinstance(named, str):
            loc = ".".join(p for p in (loc, named) if p)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(
            f"{loc}: {message}" if loc else message, field=loc, code=first["type"]
        ) from None


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
        _refuse(
            "ends_before_start",
            f"{what} must end after it starts (the end is {end}, the start {start})",
            field=field,
        )
    if end - start > MAX_DURATION:
        hours = (end - start).total_seconds() / 3600
        _refuse(
            "too_long_walk",
            f"{what} lasts {hours:.1f} h; at most 12 h (check the dates)",
            field=field,
        )


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
            _refuse(
                "meeting_point_missing",
                "give meeting_point (a GeoJSON Point) or meeting_place (a place id): where "
                "the walkers meet",
                field="meeting_point",
            )
        if self.meeting_point is not None and self.meeting_place is not None:
            _refuse(
                "meeting_point_and_place",
                "give meeting_point or meeting_place, not both",
                field="meeting_place",
            )
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
            _refuse(
                "meeting_point_missing",
                "give meeting_point (a GeoJSON Point) or meeting_place (a place id)",
                field="meeting_point",
            )
        if self.meeting_point is not None and self.meeting_place is not None:
            _refuse(
                "meeting_point_and_place",
                "give meeting_point or meeting_place, not both",
                field="meeting_place",
            )
        if self.last_date < self.first_date:
            _refuse("ends_before_start", "last_date is before first_date", field="last_date")
        if (self.last_date - self.first_date).days > MAX_SERIES_DAYS:
            _refuse(
                "too_long_series",
                f"a series spans at most {MAX_SERIES_DAYS} days",
                field="last_date",
            )
        if self.start_time.tzinfo is not None or self.end_time.tzinfo is not None:
            _refuse(
                "value_error",
                "start_time and end_time are the area's local times, without a zone",
                field="start_time",
            )
        if night_length(self.start_time, self.end_time) > MAX_DURATION:
            _refuse("too_long_walk", "a walk of the series lasts more than 12 h", field="end_time")
        return self


def night_length(start: time, end: time) -> timedelta:
    """How long a walk from ``start`` to ``end`` (local times) lasts: an end at or before the
    start is on the next day (21:00–01:00 is four hours)."""
    day = date(2000, 1, 1)
    length = datetime.combine(day, end) - datetime.combine(day, start)
    return length if length > timedelta(0) else length + timedelta(days=1)


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
            _refuse(
                "meeting_point_and_place",
                "give meeting_point or meeting_place, not both",
                field="meeting_place",
            )
        for name in ("planned_start", "planned_end", "walkers_needed", "meeting_point"):
            if name in self.model_fields_set and getattr(self, name) is None:
                _refuse("value_error", f"{name} cannot be null", field=name)
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


class ReportPatch(ReportIn):
    """``PATCH /api/v1/walks/{id}/report``: the whole corrected report and the ``version``
    read."""

    version: int = Field(gt=0)

    def report(self) -> ReportIn:
        """The report without the version (what is stored and digested)."""
        return ReportIn.model_validate(self.model_dump(exclude={"version"}))


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


class GuestsIn(_Body):
    """``PUT /api/v1/walks/{id}/guests``: how many walk without an account."""

    guests: int = Field(ge=0, le=100, strict=True)


def period_value(text: str | None, name: str) -> date | datetime | None:
    """A list's ``since``/``until``: a date (``YYYY-MM-DD``, a local day) or a datetime with its
    zone (checked by `geo.walks.period_bounds`).

    >>> period_value("2026-09-04", "since")
    datetime.date(2026, 9, 4)
    """
    if text is None:
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(
            f"{name}: {text!r} is neither a date (YYYY-MM-DD) nor a datetime with a zone "
            "(2026-09-04T21:00+02:00)",
            field=name,
        ) from None
