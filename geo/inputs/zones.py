"""Collaboration zones as clients draw them: a GeoJSON (Multi)Polygon Feature with a name."""

from __future__ import annotations

from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo.inputs.geojson import PolygonGeometry, Text, fail, feature_body, known_members

MAX_ZONE_BODY = 1024 * 1024
MAX_ZONE_NAME = 200
MAX_ZONE_DESCRIPTION = 4000


class ZoneProperties(BaseModel):
    """A zone's name, description and area slug; ``version`` is the version a PUT changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text(MAX_ZONE_NAME, "properties.name")  # type: ignore[valid-type]
    description: Text(MAX_ZONE_DESCRIPTION, "description") = ""  # type: ignore[valid-type]
    area: str | None = Field(default=None, description="An area slug, e.g. solberga")
    version: int | None = Field(
        default=None, exclude=True, description="PUT: the version you changed"
    )
    slug: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    illustrative: Any = Field(default=None, exclude=True, description="Read-only, ignored")

    @model_validator(mode="before")
    @classmethod
    def _members(cls, data: Any) -> Any:
        return known_members(
            data, {"name", "description", "area", "version", "slug", "illustrative"}
        )

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            fail("value_error", "properties.name is required (at most 200 characters)")
        return value.strip()

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            fail("value_error", "description: text of at most 4,000 characters")
        return value or ""

    @field_validator("area", mode="before")
    @classmethod
    def _area(cls, value: Any) -> Any:
        return value if isinstance(value, str) else None

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            fail("value_error", "properties.version must be an integer")
        return value


class Zone(BaseModel):
    """A collaboration zone: a GeoJSON Polygon or MultiPolygon Feature in WGS 84."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [[17.98, 59.282], [17.985, 59.282], [17.985, 59.285], [17.98, 59.282]]
                        ],
                    },
                    "properties": {"name": "Krattvägen runt", "description": "Ny zon"},
                }
            ]
        },
    )
    type: Literal["Feature"]
    geometry: PolygonGeometry
    properties: ZoneProperties

    @model_validator(mode="before")
    @classmethod
    def _feature(cls, data: Any) -> Any:
        feature_body(data)
        if data.get("properties") is None:
            return {**data, "properties": {}}
        return data

    @property
    def shape(self) -> shapely.Geometry:
        return self.geometry.shape
