"""The GeoJSON pieces every request body is made of, as pydantic models with our checks.

Positions are WGS 84 ``[longitude, latitude]`` (an optional third number, the height, is
ignored), as RFC 7946 says; a position out of range says whether it looks like
``[latitude, longitude]``. Validators raise `PydanticCustomError` with our error codes as the
error's ``type`` and messages that say what to fix, so that FastAPI's 422 carries them unchanged.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import shapely
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from geo.errors import InvalidInput

LONLAT_EXAMPLE = "[18.0104, 59.2786]"
M = TypeVar("M", bound=BaseModel)
MAX_VERTICES = 10_000


def fail(code: str, message: str, **ctx: Any) -> NoReturn:
    """Refuse a value: ``code`` becomes the 422 item's ``type``, ``ctx`` its figures."""
    # pydantic fills ``{name}`` in the message from ``ctx``: our messages are complete already,
    # and only names in ``ctx`` are replaced, so a literal ``{"type": …}`` stays as it is.
    raise PydanticCustomError(code, message, ctx or None)


def validated(model: type[M], data: Any) -> M:
    """``data`` checked as ``model``, for bodies built in code (from a GPX file, say): what is
    wrong becomes an `InvalidInput` naming the first field, with the same code and message."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(first["msg"], field=field, code=first["type"]) from None


def _text(max_chars: int, what: str) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > max_chars:
            fail(
                "too_long",
                f"{what} has {len(value)} characters; at most {max_chars} are allowed",
                max_length=max_chars,
                length=len(value),
            )
        return value

    return AfterValidator(check)


def Text(max_chars: int, what: str) -> Any:  # noqa: N802 (reads as a type)
    """``str`` of at most ``max_chars`` characters; longer is a ``too_long`` error."""
    # The limit is checked by our validator (for its code and message) and shown in the schema.
    return Annotated[str, Field(json_schema_extra={"maxLength": max_chars}), _text(max_chars, what)]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def lonlat(position: Any, what: str) -> tuple[float, float]:
    """``(lon, lat)`` of a GeoJSON position, or a 422 that says what is wrong with it."""
    if (
        not isinstance(position, list | tuple)
        or len(position) not in (2, 3)
        or not all(is_number(v) for v in position)
    ):
        fail(
            "value_error",
            f"{what} must be [longitude, latitude] in degrees, e.g. {LONLAT_EXAMPLE}",
        )
    lon, lat = float(position[0]), float(position[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        if -90 <= lon <= 90 and -180 <= lat <= 180:
            fail(
                "lonlat_swapped",
                f"{what} [{lon}, {lat}] is out of range: latitude must be within -90..90; did "
                "you send [latitude, longitude]? GeoJSON order is [longitude, latitude]",
            )
        fail(
            "value_error",
            f"{what} [{lon}, {lat}] is out of range: longitude must be within -180..180 and "
            "latitude within -90..90, in that order (GeoJSON is [longitude, latitude])",
        )
    return lon, lat


Position = Annotated[list[float], Field(min_length=2, max_length=3)]


class _Geometry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_crs(cls, data: Any) -> Any:
        if isinstance(data, dict) and "crs" in data:
            fail(
                "value_error",
                "coordinates must be WGS 84 longitude/latitude (EPSG:4326) without a 'crs' "
                "member; transform them before sending",
            )
        return data


def _geometry_type(data: Any, allowed: tuple[str, ...], message: str) -> None:
    if not isinstance(data, dict) or data.get("type") not in allowed:
        fail("value_error", message)


class PointGeometry(_Geometry):
    """A GeoJSON Point in WGS 84: ``{"type": "Point", "coordinates": [lon, lat]}``."""

    type: Literal["Point"]
    coordinates: Position

    @model_validator(mode="before")
    @classmethod
    def _point(cls, data: Any) -> Any:
        _geometry_type(
            data,
            ("Point",),
            f'a GeoJSON Point is needed: {{"type": "Point", "coordinates": {LONLAT_EXAMPLE}}} '
            "(longitude, latitude in WGS 84)",
        )
        lon, lat = lonlat(data.get("coordinates"), "the point's coordinates")
        return {**data, "coordinates": [lon, lat]}

    @property
    def lon(self) -> float:
        return self.coordinates[0]

    @property
    def lat(self) -> float:
        return self.coordinates[1]


class LineStringGeometry(_Geometry):
    """A GeoJSON LineString in WGS 84 with 2 to 10,000 positions and a length above zero."""

    type: Literal["LineString"]
    coordinates: Annotated[list[Position], Field(min_length=2, max_length=MAX_VERTICES)]

    @model_validator(mode="before")
    @classmethod
    def _line(cls, data: Any) -> Any:
        _geometry_type(data, ("LineString",), "the geometry must be a GeoJSON LineString")
        coords = data.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            fail("value_error", "a LineString needs at least two positions")
        if len(coords) > MAX_VERTICES:
            fail(
                "value_error",
                f"at most {MAX_VERTICES:,} positions; simplify the line first",
                max_vertices=MAX_VERTICES,
            )
        points = [list(lonlat(c, f"position {i}")) for i, c in enumerate(coords)]
        if len({tuple(p) for p in points}) < 2:
            fail("value_error", "the line has no length: all positions are the same")
        return {**data, "coordinates": points}


def _rings(coordinates: Any, kind: str) -> Any:
    """The coordinates of a (Multi)Polygon with each position checked by `lonlat` (2-D)."""
    polygons = [coordinates] if kind == "Polygon" else coordinates
    what = "a Polygon's coordinates must be a list of rings, each a list of positions"
    if kind == "MultiPolygon":
        what = "a MultiPolygon's coordinates must be a list of polygons, each a list of rings"
    if not isinstance(polygons, list) or not all(
        isinstance(rings, list) and all(isinstance(r, list) for r in rings) for rings in polygons
    ):
        fail("value_error", what)
    n = sum(len(r) for rings in polygons for r in rings)
    if n > MAX_VERTICES:
        fail("value_error", f"at most {MAX_VERTICES:,} vertices", max_vertices=MAX_VERTICES)
    checked = [
        [
            [list(lonlat(p, f"position {i} of ring {j}")) for i, p in enumerate(ring)]
            for j, ring in enumerate(rings)
        ]
        for rings in polygons
    ]
    return checked[0] if kind == "Polygon" else checked


class PolygonGeometry(_Geometry):
    """A valid GeoJSON Polygon or MultiPolygon in WGS 84, at most 10,000 vertices."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[list[Position]] | list[list[list[Position]]]

    @model_validator(mode="before")
    @classmethod
    def _polygon(cls, data: Any) -> Any:
        _geometry_type(
            data,
            ("Polygon", "MultiPolygon"),
            "a zone's geometry must be a GeoJSON Polygon or MultiPolygon",
        )
        # Every position a [longitude, latitude] of numbers, as for points and lines: shapely
        # alone would read "17.98" and true (as 1.0) as coordinates.
        data = {**data, "coordinates": _rings(data.get("coordinates"), data["type"])}
        try:
            geom = shapely.geometry.shape(data)
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            fail("value_error", f"the polygon cannot be read: {exc}")
        if geom.is_empty:
            fail("value_error", "the polygon is empty")
        if shapely.get_num_coordinates(geom) > MAX_VERTICES:
            fail("value_error", f"at most {MAX_VERTICES:,} vertices", max_vertices=MAX_VERTICES)
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
            fail(
                "value_error",
                "coordinates out of range: GeoJSON is [longitude, latitude] in WGS 84",
            )
        if not geom.is_valid:
            fail(
                "value_error",
                f"the polygon is not valid ({shapely.is_valid_reason(geom)}): its edges must "
                "not cross",
            )
        return data

    @property
    def shape(self) -> shapely.Geometry:
        """The (Multi)Polygon as a shapely geometry."""
        return shapely.force_2d(shapely.geometry.shape(self.model_dump()))


def feature_body(data: Any) -> Any:
    """Refuse anything but a JSON object with ``"type": "Feature"`` before its members are read."""
    if not isinstance(data, dict) or data.get("type") != "Feature":
        fail(
            "value_error",
            'the body must be a GeoJSON Feature: {"type": "Feature", "geometry": {...}, '
            '"properties": {...}}',
        )
    return data


class FeatureIn(BaseModel):
    """A GeoJSON Feature as a client sends it; subclasses say which geometry and properties.

    Members other than ``type``, ``geometry`` and ``properties`` (a Feature's ``id`` read with
    GET and sent back, say) are ignored; ``"properties": null`` reads as no properties.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["Feature"]

    @model_validator(mode="before")
    @classmethod
    def _feature(cls, data: Any) -> Any:
        feature_body(data)
        if data.get("properties") is None:
            return {**data, "properties": {}}
        return data


def known_members(data: Any, allowed: set[str], what: str = "properties") -> Any:
    """Refuse members that are not in ``allowed``, naming them and the allowed ones."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        fail("value_error", f"{what} must be an object")
    unknown = set(data) - allowed
    if unknown:
        fail(
            "value_error",
            f"unknown {what} {sorted(unknown)}: allowed are {sorted(allowed)}",
        )
    return data


MAX_NAME = 200


class NamedProperties(BaseModel):
    """The properties of something planners draw: a name, an area slug, and the version a PUT
    changes (read from the body, not stored from it). Members that a subclass does not declare
    are refused, naming them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text(MAX_NAME, "properties.name")  # type: ignore[valid-type]
    area: str | None = Field(default=None, description="An area slug, e.g. solberga")
    version: int | None = Field(
        default=None, exclude=True, description="PUT: the version you changed"
    )

    @model_validator(mode="before")
    @classmethod
    def _members(cls, data: Any) -> Any:
        return known_members(data, set(cls.model_fields))

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            fail("value_error", f"properties.name is required (at most {MAX_NAME} characters)")
        return value.strip()

    @field_validator("area", mode="before")
    @classmethod
    def _area(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            fail("value_error", "properties.area must be an area slug such as 'solberga'")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            fail("value_error", "properties.version must be an integer")
        return value
