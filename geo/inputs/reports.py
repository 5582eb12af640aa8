"""Deviation reports (a GeoJSON Point Feature), their status changes and the category bodies.

Checks that need the database (a known category, the distance to the known areas, the walk) are
in `geo.db.deviations`; everything here is pure. Each error names the field and says what to fix.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from geo.inputs.geojson import (
    FeatureIn,
    PointGeometry,
    Text,
    fail,
    feature_body,
    is_number,
    known_members,
)

MAX_BODY_BYTES = 64 * 1024
MAX_DESCRIPTION = 2000
MAX_FUTURE = timedelta(minutes=10)
MAX_AGE = timedelta(days=30)
MAX_ACCURACY_M = 10_000.0
STATUSES = ("new", "confirmed", "dismissed")
_REQUIRED = {"id", "category", "observed_at", "severity"}
_OPTIONAL = {"description", "accuracy_m", "walk_id"}


def _now(info: ValidationInfo) -> datetime:
    """The time a report is checked against: ``context={"now": …}`` in tests, else the clock."""
    context = info.context if isinstance(info.context, dict) else {}
    now = context.get("now")
    return now if isinstance(now, datetime) else datetime.now(UTC)


def _client_uuid(value: Any, field: str) -> Any:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        fail("value_error", f"{field} must be a UUID made by the client, e.g. {uuid.uuid4()}")


def _check_category(value: Any, field: str) -> Any:
    if not isinstance(value, str) or not value:
        fail("value_error", f"{field} must be a category code")
    return value


def _check_severity(value: Any, field: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        fail("value_error", f"{field} must be 1, 2 or 3")
    return value


def _check_description(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        fail("value_error", f"{field} must be text")
    return value.strip() or None


class ReportProperties(BaseModel):
    """What was seen, when and how badly; ``id`` is a UUID the client makes for the report."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: uuid.UUID = Field(description="A UUID made by the client: a retry sends the same one")
    category: str = Field(min_length=1, description="A category code (GET /api/v1/categories)")
    observed_at: datetime = Field(
        description="ISO 8601 with a time zone; at most 10 minutes ahead, at most 30 days old"
    )
    severity: Annotated[int, Field(ge=1, le=3)]
    description: Text(MAX_DESCRIPTION, "properties.description") | None = None  # type: ignore[valid-type]
    accuracy_m: Annotated[float, Field(ge=0, le=MAX_ACCURACY_M)] | None = None
    walk_id: uuid.UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _members(cls, data: Any) -> Any:
        known_members(data, _REQUIRED | _OPTIONAL)
        missing = _REQUIRED - set(data or {})
        if missing:
            fail("value_error", f"missing properties {sorted(missing)}")
        return data

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return _client_uuid(value, "properties.id")

    @field_validator("walk_id", mode="before")
    @classmethod
    def _walk(cls, value: Any) -> Any:
        return None if value is None else _client_uuid(value, "properties.walk_id")

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        return _check_category(value, "properties.category")

    @field_validator("observed_at", mode="before")
    @classmethod
    def _observed_at(cls, value: Any, info: ValidationInfo) -> Any:
        try:
            observed = datetime.fromisoformat(str(value))
        except ValueError:
            fail(
                "value_error",
                "properties.observed_at must be an ISO 8601 time with a time zone, "
                "e.g. 2026-11-20T22:15:00+01:00",
            )
        if observed.tzinfo is None:
            fail("value_error", "properties.observed_at needs a time zone (e.g. +01:00 or Z)")
        now = _now(info)
        if observed > now + MAX_FUTURE:
            fail(
                "time_in_future",
                "properties.observed_at lies more than 10 minutes in the future: check the "
                "device's clock",
                max_future_min=int(MAX_FUTURE.total_seconds() // 60),
            )
        if observed < now - MAX_AGE:
            fail(
                "time_too_old",
                "properties.observed_at is older than 30 days: report recent observations only",
                max_age_days=MAX_AGE.days,
            )
        return observed.astimezone(UTC)

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        return _check_severity(value, "properties.severity")

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return _check_description(value, "properties.description")

    @field_validator("accuracy_m", mode="before")
    @classmethod
    def _accuracy(cls, value: Any) -> Any:
        if value is None:
            return None
        if not is_number(value) or not 0 <= value <= MAX_ACCURACY_M:
            fail(
                "value_error",
                f"properties.accuracy_m must be a number between 0 and {MAX_ACCURACY_M:.0f} metres",
            )
        return float(value)


class DeviationReport(FeatureIn):
    """A deviation report as a client sends it: a GeoJSON Point Feature in WGS 84."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
                    "properties": {
                        "id": "0b8f5a52-7c1e-4f7e-9d55-3d1c2f6a9e10",
                        "category": "skadegorelse",
                        "observed_at": "2026-11-20T22:15:00+01:00",
                        "severity": 2,
                        "description": "Krossad ruta vid busshållplatsen",
                    },
                }
            ]
        },
    )
    geometry: PointGeometry
    properties: ReportProperties
    id: str | int | None = Field(default=None, exclude=True, description="Ignored")
    bbox: list[float] | None = Field(default=None, exclude=True, description="Ignored")

    @model_validator(mode="before")
    @classmethod
    def _feature(cls, data: Any) -> Any:
        feature_body(data)
        unknown = set(data) - {"type", "geometry", "properties", "id", "bbox"}
        if unknown:
            fail("value_error", f"unknown member(s) {sorted(unknown)} in the Feature")
        if not isinstance(data.get("properties"), dict):
            fail("value_error", "properties must be an object")
        return data

    @property
    def lon(self) -> float:
        return self.geometry.lon

    @property
    def lat(self) -> float:
        return self.geometry.lat


class ReportCorrection(BaseModel):
    """A reporter's correction of their own report (`PATCH /api/v1/me/deviations/{id}`).

    Members left out stay as they are; ``description`` null (or blank) removes the note;
    ``geometry`` moves the report (the place the walker taps: its GPS accuracy no longer
    applies). At least one member. The same checks as a new report's properties.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"category": "hot_vald", "severity": 3}]},
    )
    category: str | None = Field(
        default=None, min_length=1, description="A category code (GET /api/v1/categories)"
    )
    severity: Annotated[int, Field(ge=1, le=3)] | None = None
    description: Text(MAX_DESCRIPTION, "description") | None = None  # type: ignore[valid-type]
    geometry: PointGeometry | None = None

    @model_validator(mode="before")
    @classmethod
    def _members(cls, data: Any) -> Any:
        known_members(data, {"category", "severity", "description", "geometry"})
        if not data:
            fail(
                "value_error",
                "nothing to correct: send category, severity, description or geometry",
            )
        for name in ("category", "severity", "geometry"):
            if name in data and data[name] is None:
                fail("value_error", f"{name} cannot be removed, only changed")
        return data

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        return _check_category(value, "category")

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        return _check_severity(value, "severity")

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return _check_description(value, "description")

    def changed(self) -> list[str]:
        """The members sent, sorted (what the audit row names)."""
        return sorted(self.model_fields_set)


class StatusChange(BaseModel):
    """A deviation's new status (planners and admins)."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["new", "confirmed", "dismissed"]


class BatchStatusChange(BaseModel):
    """Several deviations' new status at once (planners and admins): all change or none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"ids": ["6f1c1b8e-3f7e-4c1e-9a52-0d7f4f3b2a11"], "status": "confirmed"}]
        },
    )
    ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)]
    status: Literal["new", "confirmed", "dismissed"]


class CategoryChange(BaseModel):
    """Changes to a category; members left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    name_sv: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    colour: Annotated[str, Field(pattern=r"^#[0-9a-f]{6}$")] | None = None
    weight: Annotated[float, Field(gt=0, le=10)] | None = None
    active: bool | None = None


class NewCategory(CategoryChange):
    """A new category: ``code`` (a-z and _), Swedish name, colour and heat-map weight."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z_]{1,39}$")]
