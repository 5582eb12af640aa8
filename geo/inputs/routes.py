"""Walk routes as clients send them: a GeoJSON LineString Feature with a name."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo.inputs.geojson import (
    LineStringGeometry,
    Text,
    fail,
    feature_body,
    known_members,
    validated,
)

MAX_LENGTH_M = 60_000
MAX_NAME = 200
MAX_NOTES = 4000
MAX_ROUTE_BODY = 2 * 1024 * 1024
Source = Literal["drawn", "snapped", "planned", "gpx"]
_READ_ONLY = {"id", "length_m", "created_at", "updated_at"}


class RouteProperties(BaseModel):
    """A route's name, area slug and notes; ``version`` is the version a PUT changes.

    The read-only members of a route read with GET (``id``, ``length_m``, ``created_at``,
    ``updated_at``) may be sent back and are ignored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text(MAX_NAME, "the name")  # type: ignore[valid-type]
    area: str | None = Field(default=None, description="An area slug, e.g. solberga")
    notes: Text(MAX_NOTES, "notes") = ""  # type: ignore[valid-type]
    source: Source | None = None
    plan: dict[str, Any] | None = None
    version: int | None = Field(
        default=None, exclude=True, description="PUT: the version you changed"
    )
    id: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    length_m: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    created_at: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    updated_at: Any = Field(default=None, exclude=True, description="Read-only, ignored")

    @model_validator(mode="before")
    @classmethod
    def _members(cls, data: Any) -> Any:
        return known_members(
            data, {"name", "area", "notes", "source", "plan", "version"} | _READ_ONLY
        )

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            fail("value_error", "properties.name is required (a name for the route)")
        return value.strip()

    @field_validator("notes", mode="before")
    @classmethod
    def _notes(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            fail("value_error", f"notes must be text of at most {MAX_NOTES} characters")
        return value or ""

    @field_validator("area", mode="before")
    @classmethod
    def _area(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            fail("value_error", "area must be an area slug such as 'solberga'")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            fail("value_error", "properties.version must be an integer")
        return value

    @field_validator("plan", mode="before")
    @classmethod
    def _plan(cls, value: Any) -> Any:
        # A plan is what the route planner gave (stops, duration); anything else is left out.
        return value if isinstance(value, dict) else None


class WalkRoute(BaseModel):
    """A walk route: a GeoJSON LineString Feature in WGS 84 with ``properties.name``."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[17.9837465, 59.2838017], [17.9840781, 59.2833519]],
                    },
                    "properties": {"name": "Kvällsrundan", "area": "langbro"},
                }
            ]
        },
    )
    type: Literal["Feature"]
    geometry: LineStringGeometry
    properties: RouteProperties

    @model_validator(mode="before")
    @classmethod
    def _feature(cls, data: Any) -> Any:
        feature_body(data)
        if data.get("properties") is None:
            return {**data, "properties": {}}
        return data

    @property
    def coords(self) -> list[tuple[float, float]]:
        return [(c[0], c[1]) for c in self.geometry.coordinates]

    @property
    def name(self) -> str:
        return str(self.properties.name)

    @property
    def area(self) -> str | None:
        return self.properties.area

    @property
    def notes(self) -> str:
        return str(self.properties.notes)

    @property
    def plan(self) -> dict[str, Any] | None:
        return self.properties.plan

    @property
    def version(self) -> int | None:
        return self.properties.version

    def source(self, default: str = "drawn") -> str:
        """Where the line came from: as the client says, or ``default``."""
        return self.properties.source or default

    def along(self, coords: list[tuple[float, float]], *, source: str) -> WalkRoute:
        """The same route with another line (snapped to the streets, say)."""
        geometry = LineStringGeometry(type="LineString", coordinates=[list(c) for c in coords])
        properties = self.properties.model_copy(update={"source": source})
        return self.model_copy(update={"geometry": geometry, "properties": properties})


def route_from_points(
    points: list[tuple[float, float]], *, name: str, area: str | None, source: str
) -> WalkRoute:
    """A `WalkRoute` from positions read elsewhere (a GPX file), checked as a body would be."""
    return validated(
        WalkRoute,
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [list(p) for p in points]},
            "properties": {"name": name, "area": area, "source": source},
        },
    )
