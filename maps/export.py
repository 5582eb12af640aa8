"""Map layers for collaboration meetings (`maps.layers`) written as GeoPackage, GeoJSON, KML,
CSV or Shapefile.

This module writes files (its name says so); it reads no database and no network. Every writer
takes the export's ``metadata`` (area, period, profile, generated at…): the caller must not put
personal data there, since it is copied into every file.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pyogrio.raw
import shapely
from shapely import Geometry

from geo.errors import InvalidParameter
from maps.layers import FieldType, Layer, as_date
from maps.styles import (
    geometry_family,
    kml_colour,
    qml,
)

logger = logging.getLogger(__name__)

FORMATS = ("gpkg", "geojson", "kml", "csv", "shp")
# The layer a CSV export holds: the first of these present (a CSV has one table).
CSV_LAYERS = ("avvikelser", "avvikelser_ruta", "avvikelser_zon")
COORD_DECIMALS = 7  # ~1 cm; more digits only make the files larger
GPKG_GEOMETRY_COLUMN = "geom"
SHP_FIELD_CHARS = 10
DBF_MAX_BYTES = 254
KML_NS = "http://www.opengis.net/kml/2.2"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)

# The QGIS layer_styles table exactly as QGIS (QgsOgrProviderMetadata::saveStyle) has OGR create
# it in a GeoPackage, so QGIS finds, lists and updates these styles like its own.
_LAYER_STYLES_DDL = """
CREATE TABLE "layer_styles" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256),
  "f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT,
  "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))
"""


def _geometries(layer: Layer) -> np.ndarray:
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


def _text(value: Any) -> str:
    """A value as text for CSV, KML and README: ISO dates and UTC times, ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime field values must be timezone-aware")
    return value.astimezone(UTC)


def _json_value(value: Any, ftype: FieldType) -> Any:
    if value is None:
        return None
    if ftype in ("date", "datetime"):
        return _text(value)
    if ftype == "int":
        return int(value)
    if ftype == "float":
        return float(value)
    if ftype == "bool":
        return bool(value)
    return str(value)


def _ogr_columns(
    layer: Layer, *, shapefile: bool = False
) -> tuple[list[np.ndarray], list[np.ndarray | None], dict[str, np.ndarray]]:
    """Numpy columns whose dtypes give GDAL the field types (Date, Integer, Real, …), the null
    masks, and GDAL's time-zone flags (100 = UTC) for datetime fields."""
    data: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    tz: dict[str, np.ndarray] = {}
    n = len(layer.rows)
    for f in layer.fields:
        values = [row.get(f.name) for row in layer.rows]
        missing = np.array([v is None for v in values], dtype=bool)
        mask = missing if missing.any() else None
        if f.type == "str" or (f.type == "datetime" and shapefile):
            col = np.array([None if v is None else _text(v) for v in values], dtype=object)
            if shapefile:
                col = np.array([None if v is None else _dbf_text(v) for v in col], dtype=object)
            mask = None
        elif f.type == "int":
            ints = np.array([0 if v is None else int(v) for v in values], dtype=np.int64)
            fits = not n or (ints.min() >= -(2**31) and ints.max() < 2**31)
            col = ints.astype(np.int32) if fits else ints
        elif f.type == "float":
            col = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
            mask = None  # NaN is written as null
        elif f.type == "bool":
            col = np.array([bool(v) for v in values], dtype=bool)
        elif f.type == "date":
            col = np.array([None if v is None else as_date(v) for v in values],
                           dtype="datetime64[D]")  # fmt: skip
            mask = None  # NaT is written as null
        else:  # datetime, stored as UTC
            col = np.array([None if v is None else _utc(v).replace(tzinfo=None) for v in values],
                           dtype="datetime64[ms]")  # fmt: skip
            tz[f.name] = np.full(n, 100, dtype=np.int32)
            mask = None
        data.append(col)
        masks.append(mask)
    return data, masks, tz


def _dbf_text(text: str) -> str:
    """Text cut to the 254 bytes a DBF field holds, never inside a UTF-8 character."""
    return text.encode("utf-8")[:DBF_MAX_BYTES].decode("utf-8", "ignore")


def _metadata_items(metadata: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The metadata as text; refuses an e-mail address (who exported belongs in the audit log,
    not in a file that leaves the district)."""
    items = [(str(k), _text(v)) for k, v in (metadata or {}).items()]
    for key, value in items:
        if _EMAIL.search(value) or _EMAIL.search(key):
            raise ValueError(f"export metadata {key!r} holds an e-mail address; exports carry "
                             "no personal data (the audit row records who exported)")
    return items


# ---------------------------------------------------------------------------------------------
# Writers


def write_gpkg(
    layers: Sequence[Layer], path: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> None:
    """A GeoPackage with one table per layer, QGIS styles and the export's metadata.

    Each layer is in EPSG:4326 with GDAL field types from the `Field` types (Date, Integer,
    Real, String, DateTime in UTC, Integer(Boolean)) and its Swedish title as the
    ``gpkg_contents`` identifier. ``layer_styles`` holds a default QML style per layer, as QGIS
    saves it, so QGIS opens each layer styled. ``export_metadata`` (key, value) holds
    ``metadata``. The file is GeoPackage 1.3 so that GDAL 3.6 (Debian 12) opens it without a
    warning.
    """
    path = Path(path)
    _check_unique(layers)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    for i, layer in enumerate(layers):
        data, masks, tz = _ogr_columns(layer)
        wkb = shapely.to_wkb(_geometries(layer)) if layer.rows else np.array([], dtype=object)
        pyogrio.raw.write(
            str(path), wkb, data, [f.name for f in layer.fields], field_mask=masks,
            layer=layer.name, driver="GPKG", geometry_type=layer.geometry_type,
            crs="EPSG:4326", gdal_tz_offsets=tz,
            dataset_options={"VERSION": "1.3"} if i == 0 else None,
            layer_options={"IDENTIFIER": layer.title_sv, "DESCRIPTION": layer.title_sv},
        )  # fmt: skip
    items = _metadata_items(metadata)
    pyogrio.raw.write(
        str(path), None,
        [np.array([k for k, _ in items], dtype=object),
         np.array([v for _, v in items], dtype=object)],
        ["key", "value"], layer="export_metadata", driver="GPKG", geometry_type=None,
        dataset_options={"VERSION": "1.3"} if not layers else None,
        layer_options={"IDENTIFIER": "Exportens uppgifter", "DESCRIPTION": "Exportens uppgifter"},
    )  # fmt: skip
    generated = (metadata or {}).get("generated_at")
    when = _utc(generated) if isinstance(generated, datetime) else datetime.now(UTC)
    # GeoPackage DATETIME is ISO 8601 in UTC with milliseconds; GDAL warns about other forms.
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    _add_layer_styles(path, layers, update_time=stamp)


def _add_layer_styles(path: Path, layers: Sequence[Layer], *, update_time: str) -> None:
    """The ``layer_styles`` table, registered in gpkg_contents as 'attributes' as OGR does."""
    rows = [("", "", layer.name, GPKG_GEOMETRY_COLUMN, layer.name,
             qml(layer.style, geometry_type=layer.geometry_type), "", 1,
             f"{layer.title_sv} (nattvandring)", "", None, update_time)
            for layer in layers]  # fmt: skip
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(_LAYER_STYLES_DDL)
            conn.executemany(
                'INSERT INTO layer_styles ("f_table_catalog", "f_table_schema", "f_table_name", '
                '"f_geometry_column", "styleName", "styleQML", "styleSLD", "useAsDefault", '
                '"description", "owner", "ui", "update_time") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
                rows,
            )
            conn.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)",
                (update_time,),
            )
            has_ogr_contents = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_ogr_contents'"
            ).fetchone()
            if has_ogr_contents:
                conn.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) "
                             "VALUES ('layer_styles', ?)", (len(rows),))  # fmt: skip
    finally:
        conn.close()


def _feature_collection(layer: Layer) -> str:
    geoms = _geometries(layer)
    geometry_json = shapely.to_geojson(geoms).tolist() if len(geoms) else []
    parts = []
    for row, geometry in zip(layer.rows, geometry_json, strict=True):
        props = {f.name: _json_value(row.get(f.name), f.type) for f in layer.fields}
        parts.append(
            '{"type":"Feature","properties":'
            + json.dumps(props, ensure_ascii=False)
            + ',"geometry":'
            + geometry
            + "}"
        )
    return ('{"type":"FeatureCollection","name":' + json.dumps(layer.name) + ',"features":['
            + ",\n".join(parts) + "]}\n")  # fmt: skip


def _readme(
    layers: Sequence[Layer],
    metadata: Mapping[str, Any] | None,
    *,
    fmt: str,
    field_names: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """README.txt in Swedish: the export's metadata and each layer's fields."""
    lines = [
        "Export från Nattvandring – underlag för platssamverkan",
        "",
        f"Format: {fmt}. Koordinatsystem: WGS 84 (EPSG:4326), longitud/latitud i grader.",
        "",
    ]
    if metadata:
        lines += ["Uppgifter om exporten:"]
        lines += [f"  {k}: {v}" for k, v in _metadata_items(metadata)]
        lines.append("")
    for layer in layers:
        lines.append(f"{layer.name}: {layer.title_sv} ({layer.geometry_type}, "
                     f"{len(layer.rows)} objekt)")  # fmt: skip
        short = (field_names or {}).get(layer.name, {})
        for f in layer.fields:
            alias = f" (i filen: {short[f.name]})" if short.get(f.name, f.name) != f.name else ""
            lines.append(f"  {f.name}{alias}: {f.title_sv} [{f.type}]")
        lines.append("")
    return "\n".join(lines)


def write_geojson_zip(
    layers: Sequence[Layer], path: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> None:
    """A zip with ``<layer>.geojson`` per layer (RFC 7946: lon/lat, no ``crs``) and README.txt."""
    _check_unique(layers)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for layer in layers:
            zf.writestr(f"{layer.name}.geojson", _feature_collection(layer))
        zf.writestr("README.txt", _readme(layers, metadata, fmt="GeoJSON (RFC 7946)"))


def write_kml(
    layers: Sequence[Layer],
    path: str | Path,
    *,
    metadata: Mapping[str, Any] | None = None,
    title: str = "Nattvandring",
) -> None:
    """KML 2.2: a ``<Style>`` per category or hot-spot class, a ``<Folder>`` per layer.

    Placemarks have readable Swedish names (e.g. ``Skadegörelse – vecka 2026-W47 – 4
    rapporter``), their fields as ``<ExtendedData>`` with Swedish display names, and lon,lat
    coordinates. The XML library does the escaping.
    """
    _check_unique(layers)

    # Unprefixed tags: the root's default namespace applies to every element.
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = title
    items = _metadata_items(metadata)
    for layer in layers:
        for style_id, colour in _kml_styles(layer):
            style = ET.SubElement(doc, "Style", id=style_id)
            family = geometry_family(layer.geometry_type)
            if family == "point":
                icon = ET.SubElement(style, "IconStyle")
                ET.SubElement(icon, "color").text = kml_colour(colour)
                ET.SubElement(icon, "scale").text = "0.8"
            line = ET.SubElement(style, "LineStyle")
            line_colour = colour if family == "line" else layer.style.stroke
            ET.SubElement(line, "color").text = kml_colour(line_colour)
            ET.SubElement(line, "width").text = f"{max(1.0, layer.style.stroke_width_mm * 4):g}"
            if family == "polygon":
                poly = ET.SubElement(style, "PolyStyle")
                ET.SubElement(poly, "color").text = kml_colour(colour, layer.style.fill_opacity)
                ET.SubElement(poly, "fill").text = "1" if layer.style.fill_opacity > 0 else "0"
    if items:  # after the styles: KML's schema orders StyleSelector before ExtendedData
        ext = ET.SubElement(doc, "ExtendedData")
        for key, value in items:
            ET.SubElement(ET.SubElement(ext, "Data", name=key), "value").text = value
    for layer in layers:
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = layer.title_sv
        geoms = _geometries(layer)
        for row, geom in zip(layer.rows, geoms, strict=True):
            pm = ET.SubElement(folder, "Placemark")
            ET.SubElement(pm, "name").text = layer.name_of(row)
            ET.SubElement(pm, "styleUrl").text = "#" + _kml_style_id(layer, row)
            ext = ET.SubElement(pm, "ExtendedData")
            for f in layer.fields:
                data = ET.SubElement(ext, "Data", name=f.name)
                ET.SubElement(data, "displayName").text = f.title_sv
                ET.SubElement(data, "value").text = _text(row.get(f.name))
            pm.append(_kml_geometry(geom))
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _kml_style_id(layer: Layer, row: Mapping[str, Any]) -> str:
    if layer.style.categorised_by and layer.style.classes:
        value = row.get(layer.style.categorised_by)
        if any(c.value == value for c in layer.style.classes):
            return f"{layer.name}-{value}"
    return layer.name


def _kml_styles(layer: Layer) -> list[tuple[str, str]]:
    styles = [(layer.name, layer.style.colour)]
    if layer.style.categorised_by:
        styles += [(f"{layer.name}-{c.value}", c.colour) for c in layer.style.classes]
    return styles


def _kml_coords(coords: np.ndarray) -> str:
    return " ".join(f"{x:.{COORD_DECIMALS}f},{y:.{COORD_DECIMALS}f}" for x, y in coords[:, :2])


def _kml_geometry(geom: Geometry) -> ET.Element:
    kind = geom.geom_type
    if kind.startswith("Multi"):
        multi = ET.Element("MultiGeometry")
        for part in shapely.get_parts(geom):
            multi.append(_kml_geometry(part))
        return multi
    if kind == "Point":
        el = ET.Element("Point")
        ET.SubElement(el, "coordinates").text = _kml_coords(shapely.get_coordinates(geom))
        return el
    if kind == "LineString":
        el = ET.Element("LineString")
        ET.SubElement(el, "tessellate").text = "1"
        ET.SubElement(el, "coordinates").text = _kml_coords(shapely.get_coordinates(geom))
        return el
    el = ET.Element("Polygon")
    for tag, ring in [("outerBoundaryIs", geom.exterior)] + [
        ("innerBoundaryIs", r) for r in geom.interiors
    ]:
        boundary = ET.SubElement(el, tag)
        lr = ET.SubElement(boundary, "LinearRing")
        ET.SubElement(lr, "coordinates").text = _kml_coords(shapely.get_coordinates(ring))
    return el


def write_csv(layer: Layer, path: str | Path) -> None:
    """One layer as CSV (UTF-8, header, ISO dates, UTC times with ``Z``).

    Point layers get ``lon`` and ``lat``; other layers ``centre_lon`` and ``centre_lat``, the
    centroid of each row's geometry (for grid cells, the cell's centre).
    """
    geoms = _geometries(layer)
    point = layer.geometry_type == "Point"
    centres = geoms if point or not len(geoms) else shapely.centroid(geoms)
    xy = shapely.get_coordinates(centres) if len(geoms) else np.zeros((0, 2))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [f.name for f in layer.fields]
            + (["lon", "lat"] if point else ["centre_lon", "centre_lat"])
        )
        for row, (x, y) in zip(layer.rows, xy.tolist(), strict=True):
            writer.writerow(
                [_text(row.get(f.name)) for f in layer.fields]
                + [f"{x:.{COORD_DECIMALS}f}", f"{y:.{COORD_DECIMALS}f}"]
            )


def short_field_names(names: Sequence[str], *, limit: int = SHP_FIELD_CHARS) -> dict[str, str]:
    """A deterministic, collision-free mapping to names of at most ``limit`` characters.

    Names are cut to ``limit``; a cut name already taken (DBF compares case-insensitively) gets
    ``_1``, ``_2``… in its last characters, in field order.

    >>> short_field_names(["kategori", "kategori_namn", "kategori_nummer"])
    {'kategori': 'kategori', 'kategori_namn': 'kategori_n', 'kategori_nummer': 'kategori_1'}
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        candidate, k = name[:limit], 0
        while candidate.lower() in used:
            k += 1
            suffix = f"_{k}"
            candidate = name[: limit - len(suffix)] + suffix
        used.add(candidate.lower())
        out[name] = candidate
    return out


def write_shapefile_zip(
    layers: Sequence[Layer], path: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> None:
    """A zip with a .shp/.shx/.dbf/.prj/.cpg set per layer, fields.txt and README.txt.

    Field names are shortened to 10 characters by `short_field_names` (fields.txt lists the long
    names); texts are cut to DBF's 254 bytes; times are ISO text in UTC (DBF has no time type).
    """
    _check_unique(layers)
    mapping = {layer.name: short_field_names([f.name for f in layer.fields]) for layer in layers}
    with tempfile.TemporaryDirectory(prefix="nv-shp-") as tmp, \
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:  # fmt: skip
        for layer in layers:
            data, masks, _ = _ogr_columns(layer, shapefile=True)
            wkb = shapely.to_wkb(_geometries(layer)) if layer.rows else np.array([], dtype=object)
            shp = Path(tmp) / f"{layer.name}.shp"
            pyogrio.raw.write(
                str(shp), wkb, data, [mapping[layer.name][f.name] for f in layer.fields],
                field_mask=masks, driver="ESRI Shapefile", geometry_type=layer.geometry_type,
                crs="EPSG:4326", encoding="UTF-8",
            )  # fmt: skip
            for ext in ("shp", "shx", "dbf", "prj", "cpg"):
                zf.write(Path(tmp) / f"{layer.name}.{ext}", f"{layer.name}.{ext}")
        lines = ["Fältnamn i Shapefile (högst 10 tecken) och deras fullständiga namn", ""]
        for layer in layers:
            lines.append(f"{layer.name}: {layer.title_sv}")
            lines += [f"  {mapping[layer.name][f.name]:<10} = {f.name} ({f.title_sv})"
                      for f in layer.fields]  # fmt: skip
            lines.append("")
        zf.writestr("fields.txt", "\n".join(lines))
        zf.writestr("README.txt", _readme(layers, metadata, fmt="ESRI Shapefile",
                                          field_names=mapping))  # fmt: skip


def csv_layer(layers: Sequence[Layer]) -> Layer:
    """The layer a CSV export holds: the first of `CSV_LAYERS` present."""
    by_name = {layer.name: layer for layer in layers}
    for name in CSV_LAYERS:
        if name in by_name:
            return by_name[name]
    raise InvalidParameter(
        "format=csv exports the deviation layer, and this export has none", field="format"
    )


def write(
    layers: Sequence[Layer],
    fmt: str,
    path: str | Path,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Write ``layers`` as ``fmt`` (gpkg, geojson, kml, csv, shp); returns rows per layer.

    ``geojson`` and ``shp`` are zip files; ``csv`` holds only the deviation layer (`csv_layer`).
    """
    if fmt not in FORMATS:
        raise InvalidParameter(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}",
                               field="format")  # fmt: skip
    if fmt == "csv":
        layer = csv_layer(layers)
        write_csv(layer, path)
        return {layer.name: len(layer.rows)}
    writers: dict[str, Callable[..., None]] = {
        "gpkg": write_gpkg,
        "geojson": write_geojson_zip,
        "kml": write_kml,
        "shp": write_shapefile_zip,
    }
    writers[fmt](layers, path, metadata=metadata)
    counts = {layer.name: len(layer.rows) for layer in layers}
    logger.info("wrote %s export %s: %s", fmt, path, counts)
    return counts


def _check_unique(layers: Sequence[Layer]) -> None:
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be unique; got {names}")
    if "layer_styles" in names or "export_metadata" in names:
        raise ValueError("layer_styles and export_metadata are reserved table names")
