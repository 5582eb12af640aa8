"""Route-plan requests (``POST /api/v1/route-plans``): a start, a time budget, candidates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo.analysis import EARLIEST, LATEST
from geo.inputs.geojson import PointGeometry

MAX_PLAN_BODY = 1024 * 1024
MAX_GROUPS = 3
# A wall-clock time of day, "HH:MM" (24 hours).
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class PlaceRef(BaseModel):
    """A known place by its id (``GET /api/v1/places``)."""

    model_config = ConfigDict(extra="forbid")
    place_id: int


class CandidateIn(BaseModel):
    """A place worth a visit, with its priority (higher is more worth the time)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    point: PointGeometry
    priority: Annotated[float, Field(gt=0, le=1000)] = 1.0
    # Opening hours, wall clock of the area (closes before opens: after midnight).
    opens: ClockTime | None = None
    closes: ClockTime | None = None

    @model_validator(mode="after")
    def _hours(self) -> CandidateIn:
        if (self.opens is None) != (self.closes is None):
            raise ValueError("give both opens and closes, or neither")
        if self.opens is not None and self.opens == self.closes:
            raise ValueError("opens and closes must differ")
        return self


class PlaceHoursIn(BaseModel):
    """A place's daily opening hours (``PUT /api/v1/places/{id}/hours``): both times, or both
    null for always open; ``source`` says where they come from."""

    model_config = ConfigDict(extra="forbid")
    opens: ClockTime | None
    closes: ClockTime | None
    source: Annotated[str, Field(max_length=200)] = "planner"

    @model_validator(mode="after")
    def _both(self) -> PlaceHoursIn:
        if (self.opens is None) != (self.closes is None):
            raise ValueError("give both opens and closes, or neither")
        if self.opens is not None and self.opens == self.closes:
            raise ValueError("opens and closes must differ")
        return self


class PlanRequest(BaseModel):
    """A route-plan request; see ``POST /api/v1/route-plans``."""

    model_config = ConfigDict(extra="forbid")
    area: str
    start: PointGeometry | PlaceRef
    end: PointGeometry | PlaceRef | None = None
    duration_min: Annotated[float | None, Field(gt=0, le=720)] = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    speed_kmh: Annotated[float, Field(ge=1, le=10)] = 4.0
    dwell_min: Annotated[float, Field(ge=0, le=120)] = 10.0
    must_visit: list[int | CandidateIn] = Field(default_factory=list, max_length=50)
    candidates: list[CandidateIn] | None = Field(default=None, max_length=500)
    time_limit_s: Annotated[float, Field(gt=0, le=30)] = 1.0
    # Groups walking from the one meeting point (no stop in two): 2 or 3 answer a
    # FeatureCollection, one Feature a group; none or 1 the single Feature.
    groups: Annotated[int | None, Field(ge=1, le=MAX_GROUPS)] = None
    # For the default candidates (hot spots and heat-map peaks): period and time of week.
    since: datetime | None = None
    until: datetime | None = None
    days: str | None = None
    hours: str | None = None

    @model_validator(mode="after")
    def _budget(self) -> PlanRequest:
        if self.duration_min is None and (self.start_at is None or self.end_at is None):
            raise ValueError("give duration_min, or a time window start_at and end_at")
        for name in ("start_at", "end_at", "since", "until"):
            t = getattr(self, name)
            if t is not None and t.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (Z or +01:00)")
            if t is not None and not EARLIEST <= t <= LATEST:
                raise ValueError(f"{name} must lie between {EARLIEST:%Y} and {LATEST:%Y}")
        if self.start_at and self.end_at:
            minutes = (self.end_at - self.start_at).total_seconds() / 60
            if not 0 < minutes <= 720:
                raise ValueError("end_at must come after start_at, within 12 hours")
            if self.duration_min is not None and self.duration_min > minutes:
                raise ValueError("duration_min is longer than the time window")
        return self

    @property
    def budget_min(self) -> float:
        """The time budget in minutes: ``duration_min``, or the window's length."""
        if self.duration_min is not None:
            return self.duration_min
        assert self.start_at and self.end_at
        return (self.end_at - self.start_at).total_seconds() / 60
