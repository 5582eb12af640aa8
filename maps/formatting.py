"""Layer values as files want them: a layer as a GeoDataFrame, geometries rounded and oriented,
values as text or JSON, and the export's metadata checked for personal data.

Pure: shared by the file writers (`maps.export`, `maps.kml`); nothing here writes a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from shapely import Geometry

from geo.geometry import WGS84_DECIMALS
from maps.layers import FieldType, Layer, as_date
from maps.styles import geometry_family

# The one precision of every coordinate the service writes (≈ 0.1 m), as the API's GeoJSON.
COORD_DECIMALS = WGS84_DECIMALS
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
# Each field type as an Arrow type, which GDAL maps to its field types when a frame is written
# with ``use_arrow=True``: string → String, int32 → Integer (int64 → Integer64), float64 → Real,
# bool → Integer(Boolean), date32 → Date, timestamp in UTC → DateTime with a UTC flag. Arrow keeps
# nulls as nulls in every type, and the dtypes hold for an empty layer too, so its fields remain.
_ARROW_TYPES: dict[FieldType, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def prepared_geometries(layer: Layer) -> np.ndarray:
    """The rows' geometries rounded to `COORD_DECIMALS`, multi-part when the type says so, with
    exterior rings anticlockwise (RFC 7946)."""
    geoms = np.array([row["geometry"] for row in layer.rows], dtype=object)
    if not len(geoms):
        return geoms
    if not all(isinstance(g, Geometry) for g in geoms):
        raise ValueError(f"layer {layer.name}: every row needs a shapely 'geometry'")
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, COORD_DECIMALS))
    multi = layer.geometry_type.startswith("Multi")
    single = layer.geometry_type.removeprefix("Multi")
    type_ids = shapely.get_type_id(geoms)
    rings = type_ids == 2  # a LinearRing is a closed LineString to every format
    if rings.any():
        geoms[rings] = [shapely.LineString(shapely.get_coordinates(g)) for g in geoms[rings]]
        type_ids = shapely.get_type_id(geoms)
    expected = {"Point": 0, "LineString": 1, "Polygon": 3}[single]
    if multi:
        promote = type_ids == expected
        if promote.any():
            make = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons}
            geoms[promote] = [make[expected]([g]) for g in geoms[promote]]
        expected = {0: 4, 1: 5, 3: 6}[expected]
    bad = shapely.get_type_id(geoms) != expected
    if bad.any():
        raise ValueError(f"layer {layer.name}: geometry types other than {layer.geometry_type}")
    if geometry_family(layer.geometry_type) == "polygon":
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    return geoms


def layer_frame(layer: Layer) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame in EPSG:4326: a column per field, in field order, and the
    geometries of `prepared_geometries`.

    The columns have Arrow-backed dtypes by field type (text, int32 or int64 when a value does
    not fit, float64, bool, date32, timestamp[ms, UTC]), so that written with ``use_arrow=True``
    dates stay Date fields, counts Integer fields and missing values nulls.

    >>> from maps.layers import Field
    >>> layer = Layer("x", "X", "Point", (Field("antal", "int", "Antal"),),
    ...               [{"antal": 3, "geometry": shapely.Point(18, 59)}])
    >>> frame = layer_frame(layer)
    >>> str(frame["antal"].dtype), frame.crs.to_epsg(), frame.geometry.iloc[0].wkt
    ('int32[pyarrow]', 4326, 'POINT (18 59)')
    """
    columns: dict[str, Any] = {}
    for f in layer.fields:
        values = [_arrow_value(row.get(f.name), f.type) for row in layer.rows]
        arrow_type = _ARROW_TYPES[f.type]
        if f.type == "int" and any(
            v is not None and not (_INT32_MIN <= v <= _INT32_MAX) for v in values
        ):
            arrow_type = pa.int64()  # GDAL's Integer64
        columns[f.name] = pd.array(values, dtype=pd.ArrowDtype(arrow_type))
    geometry = gpd.GeoSeries(prepared_geometries(layer), crs="EPSG:4326")
    return gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:4326")


def _arrow_value(value: Any, ftype: FieldType) -> Any:
    if value is None:
        return None
    if ftype == "date":
        return as_date(value)
    if ftype == "datetime":
        return as_utc(value)
    if ftype == "str":
        return as_text(value)
    return json_value(value, ftype)


def as_text(value: Any) -> str:
    """A value as text for CSV, KML and README: ISO dates and UTC times, ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


# What a spreadsheet reads as the start of a formula (OWASP "CSV injection"): `=`, `+`, `-`,
# `@`, and a tab or carriage return before one of them.
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs: text starting like a formula gets a leading ``'``.

    Only text is changed; numbers (a negative amount, a longitude) stay numbers. Every CSV the
    service writes passes its cells through here (`csv_row`).

    >>> csv_cell("=1+1"), csv_cell("@SUM(A1)")
    ("'=1+1", "'@SUM(A1)")
    >>> csv_cell("-5 grader"), csv_cell(-5), csv_cell("Älvsjö")
    ("'-5 grader", -5, 'Älvsjö')
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """`csv_cell` of each value, for ``csv.writer.writerow``."""
    return [csv_cell(v) for v in values]


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime field values must be timezone-aware")
    return value.astimezone(UTC)


def json_value(value: Any, ftype: FieldType) -> Any:
    if value is None:
        return None
    if ftype in ("date", "datetime"):
        return as_text(value)
    if ftype == "int":
        return int(value)
    if ftype == "float":
        return float(value)
    if ftype == "bool":
        return bool(value)
    return str(value)


def metadata_items(metadata: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The metadata as text; refuses an e-mail address (who exported belongs in the audit log,
    not in a file that leaves the district)."""
    items = [(str(k), as_text(v)) for k, v in (metadata or {}).items()]
    for key, value in items:
        if _EMAIL.search(value) or _EMAIL.search(key):
            raise ValueError(
                f"export metadata {key!r} holds an e-mail address; exports carry "
                "no personal data (the audit row records who exported)"
            )
    return items


def check_unique_names(layers: Sequence[Layer]) -> None:
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be unique; got {names}")
    if "layer_styles" in names or "export_metadata" in names:
        raise ValueError("layer_styles and export_metadata are reserved table names")
