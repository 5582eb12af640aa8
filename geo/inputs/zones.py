"""Collaboration zones as clients draw them: a GeoJSON (Multi)Polygon Feature with a name."""

from __future__ import annotations

from typing import Any

import shapely
from pydantic import ConfigDict, Field, field_validator

from geo.inputs.geojson import FeatureIn, NamedProperties, PolygonGeometry, Text, fail

MAX_ZONE_BODY = 1024 * 1024
MAX_ZONE_DESCRIPTION = 4000


class ZoneProperties(NamedProperties):
    """A zone's name, description and area slug; ``version`` is the version a PUT changes."""

    description: Text(MAX_ZONE_DESCRIPTION, "properties.description") = ""  # type: ignore[valid-type]
    slug: Any = Field(default=None, exclude=True, description="Read-only, ignored")
    illustrative: Any = Field(default=None, exclude=True, description="Read-only, ignored")

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            fail("value_error", "properties.description: text of at most 4,000 characters")
        return value or ""


class Zone(FeatureIn):
    """A collaboration zone: a GeoJSON Polygon or MultiPolygon Feature in WGS 84."""

    model_config = ConfigDict(
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
    geometry: PolygonGeometry
    properties: ZoneProperties

    @property
    def shape(self) -> shapely.Geometry:
        return self.geometry.shape
