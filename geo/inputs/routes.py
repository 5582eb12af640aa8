"""Walk routes as clients send them: a GeoJSON LineString Feature with a name."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo.inputs.geojson import (
    MAX_NAME,
    FeatureIn,
    LineStringGeometry,
    NamedProperties,
    Text,
    fail,
    is_number,
    known_members,
    lonlat,
    validated,
)

MAX_LENGTH_M = 60_000
MAX_NOTES = 4000
MAX_ROUTE_BODY = 2 * 1024 * 1024
MAX_PLAN_STOPS = 500
Source = Literal["drawn", "snapped", "planned", "gpx"]


class RouteProperties(NamedProperties):
    """A route's name, area slug and notes; ``version`` is the version a PUT changes.

    The read-only members of a route read with GET (``id``, ``length_m``, ``created_at``,
    ``updated_at``) may be sent back and are ignored.
    """

    notes: Text(MAX_NOTES, "properties.notes") = ""  # type: ignore[valid-type]
    source: Source | None = None
    plan: dict[str, Any] | None = None
    id: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    length_m: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    waypoints: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    created_at: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    updated_at: Any = Field(default=None, exclude=True, description="Read-only, ignored")

    @field_validator("notes", mode="before")
    @classmethod
    def _notes(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            fail("value_error", f"properties.notes must be text of at most {MAX_NOTES} characters")
        return value or ""

    @field_validator("plan", mode="before")
    @classmethod
    def _plan(cls, value: Any) -> Any:
        # A plan is what the route planner gave (stops, duration), kept with the route for its
        # GPX waypoints: each stop needs a position there, so a stop without one is refused here.
        if value is None:
            return None
        if not isinstance(value, dict):
            fail("value_error", "properties.plan must be an object: the route plan's answer")
        stops = value.get("stops", [])
        if not isinstance(stops, list) or len(stops) > MAX_PLAN_STOPS:
            fail(
                "value_error",
                f"properties.plan.stops must be a list of at most {MAX_PLAN_STOPS} stops",
            )
        for i, stop in enumerate(stops):
            what = f"properties.plan.stops[{i}]"
            if not isinstance(stop, dict):
                fail("value_error", f"{what} must be an object with lon, lat and name")
            lonlat([stop.get("lon"), stop.get("lat")], f"{what} (lon, lat)")
            if not isinstance(stop.get("name", ""), str) or len(stop.get("name", "")) > MAX_NAME:
                fail("value_error", f"{what}.name must be text of at most {MAX_NAME} characters")
            arrive = stop.get("arrive_min", 0)
            if not is_number(arrive) or not 0 <= arrive <= 24 * 60:
                fail("value_error", f"{what}.arrive_min must be minutes within 0..1440")
        return value


class WalkRoute(FeatureIn):
    """A walk route: a GeoJSON LineString Feature in WGS 84 with ``properties.name``."""

    model_config = ConfigDict(
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
    geometry: LineStringGeometry
    properties: RouteProperties

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

    def source(self) -> str:
        """Where the line came from: as the client says, else drawn."""
        return self.properties.source or "drawn"

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


class SnapProperties(BaseModel):
    """What a snap preview may say besides the line: the area whose streets to use (by default
    the area the line's first point lies in or nearest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    area: str | None = Field(default=None, description="An area slug, e.g. langbro")

    @model_validator(mode="before")
    @classmethod
    def _members(cls, data: Any) -> Any:
        return known_members(data, set(cls.model_fields))

    @field_validator("area", mode="before")
    @classmethod
    def _area(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            fail("value_error", "properties.area must be an area slug such as 'langbro'")
        return value


class SnapPreview(FeatureIn):
    """The waypoints of a route to snap to the streets without storing it: a GeoJSON LineString
    Feature (its properties optional)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[17.9837465, 59.2838017], [17.9840781, 59.2833519]],
                    },
                    "properties": {"area": "langbro"},
                }
            ]
        },
    )
    geometry: LineStringGeometry
    properties: SnapProperties

    @property
    def coords(self) -> list[tuple[float, float]]:
        return [(c[0], c[1]) for c in self.geometry.coordinates]
