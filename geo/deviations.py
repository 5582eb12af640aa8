"""Validation of a deviation report (a GeoJSON Point Feature) before anything touches SQL.

Checks that need the database (known category, distance to the known areas, the walk) are in
`geo.db.deviations`; everything here is pure. Each error names the field and says what to fix.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from geo.errors import InvalidGeometry, InvalidInput

MAX_BODY_BYTES = 64 * 1024
MAX_DESCRIPTION = 2000
MAX_FUTURE = timedelta(minutes=10)
MAX_AGE = timedelta(days=30)
MAX_ACCURACY_M = 10_000.0
REQUIRED = {"id", "category", "observed_at", "severity"}
OPTIONAL = {"description", "accuracy_m", "walk_id"}
LONLAT_EXAMPLE = "[18.0104, 59.2786]"


@dataclass(frozen=True)
class DeviationReport:
    """A validated report, normalised (UTC time, stripped text)."""

    id: uuid.UUID
    category: str
    observed_at: datetime
    severity: int
    lon: float
    lat: float
    description: str | None = None
    accuracy_m: float | None = None
    walk_id: uuid.UUID | None = None

    def sha256(self) -> str:
        """A digest of the normalised content: the same report sent twice has the same one."""
        canonical = {
            "id": str(self.id),
            "category": self.category,
            "observed_at": self.observed_at.astimezone(UTC).isoformat(),
            "severity": self.severity,
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "description": self.description,
            "accuracy_m": self.accuracy_m,
            "walk_id": str(self.walk_id) if self.walk_id else None,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(
            f"{field} must be a UUID made by the client, e.g. {uuid.uuid4()}", field=field
        ) from None


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{field} must be a number", field=field)
    return float(value)


def parse_point(geometry: Any, *, field: str = "geometry") -> tuple[float, float]:
    """``(lon, lat)`` of a GeoJSON Point in WGS 84, or `InvalidGeometry`."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise InvalidGeometry(
            f'{field} must be a GeoJSON Point: {{"type": "Point", "coordinates": '
            f"{LONLAT_EXAMPLE}}} (longitude, latitude in WGS 84)",
            field=field,
        )
    if "crs" in geometry:
        raise InvalidGeometry(
            f"{field}: coordinates must be WGS 84 longitude/latitude (EPSG:4326) without a "
            "'crs' member; transform them before sending",
            field=field,
        )
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) not in (2, 3):
        raise InvalidGeometry(
            f"{field}.coordinates must be [longitude, latitude], e.g. {LONLAT_EXAMPLE}",
            field=field,
        )
    lon = _number(coords[0], f"{field}.coordinates[0]")
    lat = _number(coords[1], f"{field}.coordinates[1]")
    if not -180 <= lon <= 180 or not -90 <= lat <= 90:
        hint = ""
        if -90 <= lon <= 90 and -180 <= lat <= 180:
            hint = "; did you send [latitude, longitude]? GeoJSON order is [longitude, latitude]"
        raise InvalidGeometry(
            f"{field}: longitude must be within -180..180 and latitude within -90..90, got "
            f"[{lon}, {lat}]{hint}",
            field=field,
        )
    return lon, lat


def parse_report(body: Any, *, now: datetime) -> DeviationReport:
    """Validate a deviation Feature as sent by a client and return it normalised."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput(
            'the body must be a GeoJSON Feature: {"type": "Feature", "geometry": {...}, '
            '"properties": {...}}',
            field="type",
        )
    unknown_top = set(body) - {"type", "geometry", "properties", "id", "bbox"}
    if unknown_top:
        raise InvalidInput(f"unknown member(s) {sorted(unknown_top)} in the Feature")
    lon, lat = parse_point(body.get("geometry"))
    props = body.get("properties")
    if not isinstance(props, dict):
        raise InvalidInput("properties must be an object", field="properties")
    unknown = set(props) - REQUIRED - OPTIONAL
    if unknown:
        raise InvalidInput(
            f"unknown properties {sorted(unknown)}: allowed are {sorted(REQUIRED | OPTIONAL)}",
            field="properties",
        )
    missing = REQUIRED - set(props)
    if missing:
        raise InvalidInput(f"missing properties {sorted(missing)}", field="properties")
    report_id = _uuid(props["id"], "properties.id")
    category = props["category"]
    if not isinstance(category, str) or not category:
        raise InvalidInput("properties.category must be a category code", field="category")
    observed = props["observed_at"]
    try:
        observed_at = datetime.fromisoformat(str(observed))
    except ValueError:
        raise InvalidInput(
            "properties.observed_at must be an ISO 8601 time with a time zone, "
            "e.g. 2026-11-20T22:15:00+01:00",
            field="observed_at",
        ) from None
    if observed_at.tzinfo is None:
        raise InvalidInput(
            "properties.observed_at needs a time zone (e.g. +01:00 or Z)", field="observed_at"
        )
    if observed_at > now + MAX_FUTURE:
        raise InvalidInput(
            "properties.observed_at lies more than 10 minutes in the future: check the "
            "device's clock",
            field="observed_at",
        )
    if observed_at < now - MAX_AGE:
        raise InvalidInput(
            "properties.observed_at is older than 30 days: report recent observations only",
            field="observed_at",
        )
    severity = props["severity"]
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 3:
        raise InvalidInput("properties.severity must be 1, 2 or 3", field="severity")
    description = props.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise InvalidInput("properties.description must be text", field="description")
        description = description.strip() or None
        if description and len(description) > MAX_DESCRIPTION:
            raise InvalidInput(
                f"properties.description has {len(description)} characters; at most "
                f"{MAX_DESCRIPTION} are allowed",
                field="description",
            )
    accuracy = props.get("accuracy_m")
    if accuracy is not None:
        accuracy = _number(accuracy, "properties.accuracy_m")
        if not 0 <= accuracy <= MAX_ACCURACY_M:
            raise InvalidInput(
                f"properties.accuracy_m must be between 0 and {MAX_ACCURACY_M:.0f} metres",
                field="accuracy_m",
            )
    walk = props.get("walk_id")
    return DeviationReport(
        id=report_id,
        category=category,
        observed_at=observed_at.astimezone(UTC),
        severity=severity,
        lon=lon,
        lat=lat,
        description=description,
        accuracy_m=accuracy,
        walk_id=_uuid(walk, "properties.walk_id") if walk is not None else None,
    )
