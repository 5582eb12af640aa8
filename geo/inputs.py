"""Request bodies read and checked before anything touches SQL: walk routes and zones."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape

from geo.errors import InvalidGeometry, InvalidInput

MAX_VERTICES = 10_000


def parse_zone(body: Any) -> tuple[str, str, str | None, Any]:
    """Name, description, area slug and (Multi)Polygon of a GeoJSON Feature body."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput('the body must be a GeoJSON Feature ({"type": "Feature", …})')
    geometry = body.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(
            "a zone's geometry must be a GeoJSON Polygon or MultiPolygon", field="geometry"
        )
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InvalidGeometry(f"the polygon cannot be read: {exc}", field="geometry") from None
    if geom.is_empty:
        raise InvalidGeometry("the polygon is empty", field="geometry")
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise InvalidGeometry(f"at most {MAX_VERTICES:,} vertices", field="geometry")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        raise InvalidGeometry(
            "coordinates out of range: GeoJSON is [longitude, latitude] in WGS 84", field="geometry"
        )
    if not geom.is_valid:
        raise InvalidGeometry(
            f"the polygon is not valid ({shapely.is_valid_reason(geom)}): its edges must not cross",
            field="geometry",
        )
    props = body.get("properties") or {}
    unknown = set(props) - {"name", "description", "area", "version", "slug", "illustrative"}
    if unknown:
        raise InvalidInput(f"unknown properties: {', '.join(sorted(unknown))}", field="properties")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("properties.name is required (at most 200 characters)", field="name")
    description = props.get("description") or ""
    if not isinstance(description, str) or len(description) > 4000:
        raise InvalidInput("description: text of at most 4,000 characters", field="description")
    area = props.get("area")
    return name.strip(), description, area if isinstance(area, str) else None, geom


MAX_VERTICES = 10_000


MAX_LENGTH_M = 60_000


MAX_NAME = 200


MAX_NOTES = 4000


SOURCES = ("drawn", "snapped", "planned", "gpx")


@dataclass(frozen=True)
class RouteInput:
    """A validated route body."""

    name: str
    coords: list[tuple[float, float]]
    area: str | None = None
    notes: str = ""
    source: str = "drawn"
    plan: dict[str, Any] | None = None

    def sha256(self) -> str:
        canonical = {
            "name": self.name,
            "area": self.area,
            "notes": self.notes,
            "source": self.source,
            "coords": [[round(x, 7), round(y, 7)] for x, y in self.coords],
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def parse_route(body: Any, *, source: str = "drawn") -> RouteInput:
    """A GeoJSON Feature with a LineString and ``properties.name`` (``area``, ``notes``)."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput('the body must be a GeoJSON Feature ({"type": "Feature", …})')
    geometry = body.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "LineString":
        raise InvalidGeometry("the geometry must be a GeoJSON LineString", field="geometry")
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        raise InvalidGeometry("a LineString needs at least two positions", field="geometry")
    if len(coords) > MAX_VERTICES:
        raise InvalidGeometry(
            f"at most {MAX_VERTICES:,} positions; simplify the line first", field="geometry"
        )
    points: list[tuple[float, float]] = []
    for i, c in enumerate(coords):
        if (
            not isinstance(c, list)
            or len(c) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in c)
        ):
            raise InvalidGeometry(f"position {i} must be [longitude, latitude]", field="geometry")
        lon, lat = float(c[0]), float(c[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidGeometry(
                f"position {i} [{lon}, {lat}] is out of range: longitude −180…180, latitude "
                "−90…90, in that order (GeoJSON is [longitude, latitude])",
                field="geometry",
            )
        points.append((lon, lat))
    if len(set(points)) < 2:
        raise InvalidGeometry(
            "the line has no length: all positions are the same", field="geometry"
        )
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput("properties must be an object", field="properties")
    unknown = set(props) - {
        "name",
        "area",
        "notes",
        "version",
        "id",
        "length_m",
        "source",
        "created_at",
        "updated_at",
        "plan",
    }
    if unknown:
        raise InvalidInput(f"unknown properties: {', '.join(sorted(unknown))}", field="properties")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("properties.name is required (a name for the route)", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"the name may have at most {MAX_NAME} characters", field="name")
    notes = props.get("notes") or ""
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        raise InvalidInput(f"notes must be text of at most {MAX_NOTES} characters", field="notes")
    area = props.get("area")
    if area is not None and not isinstance(area, str):
        raise InvalidInput("area must be an area slug such as 'solberga'", field="area")
    if props.get("source") in SOURCES:
        source = str(props["source"])
    return RouteInput(
        name=name.strip(),
        coords=points,
        area=area,
        notes=notes,
        source=source,
        plan=props.get("plan") if isinstance(props.get("plan"), dict) else None,
    )
