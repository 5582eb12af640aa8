"""Request bodies as pydantic models, read and checked before anything touches SQL.

One way to read GeoJSON input: `geojson` has the geometries (with the lon/lat-order, range,
vertex-count and validity checks) and the Feature checks; `reports`, `routes`, `zones` and
`plans` the bodies built from them; `digest` the canonical digest used for idempotent creation.
The API takes these models as body parameters, so the OpenAPI document describes every body.
"""

from __future__ import annotations

from geo.inputs.digest import body_digest
from geo.inputs.geojson import (
    MAX_VERTICES,
    LineStringGeometry,
    PointGeometry,
    PolygonGeometry,
)
from geo.inputs.plans import CandidateIn, PlaceRef, PlanRequest
from geo.inputs.reports import (
    MAX_BODY_BYTES,
    BatchStatusChange,
    CategoryChange,
    DeviationReport,
    NewCategory,
    ReportCorrection,
    StatusChange,
)
from geo.inputs.routes import MAX_LENGTH_M, WalkRoute, route_from_points
from geo.inputs.zones import Zone

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_LENGTH_M",
    "MAX_VERTICES",
    "BatchStatusChange",
    "CandidateIn",
    "CategoryChange",
    "DeviationReport",
    "LineStringGeometry",
    "NewCategory",
    "PlaceRef",
    "PlanRequest",
    "PointGeometry",
    "PolygonGeometry",
    "ReportCorrection",
    "StatusChange",
    "WalkRoute",
    "Zone",
    "body_digest",
    "route_from_points",
]
