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
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely

from geo.errors import InvalidParameter
from maps.formatting import (
    COORD_DECIMALS,
    as_text,
    as_utc,
    check_unique_names,
    json_value,
    metadata_items,
    prepared_geometries,
)
from maps.kml import kml_document
from maps.layers import Layer, as_date
from maps.styles import qml

logger = logging.getLogger(__name__)

FORMATS = ("gpkg", "geojson", "kml", "csv", "shp")
# The layer a CSV export holds: the first of these present (a CSV has one table).
CSV_LAYERS = ("avvikelser", "avvikelser_ruta", "avvikelser_zon")
GPKG_GEOMETRY_COLUMN = "geom"
SHP_FIELD_CHARS = 10
DBF_MAX_BYTES = 254

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
            col = np.array([None if v is None else as_text(v) for v in values], dtype=object)
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
            col = np.array(
                [None if v is None else as_date(v) for v in values], dtype="datetime64[D]"
            )
            mask = None  # NaT is written as null
        else:  # datetime, stored as UTC
            col = np.array(
                [None if v is None else as_utc(v).replace(tzinfo=None) for v in values],
                dtype="datetime64[ms]",
            )
            tz[f.name] = np.full(n, 100, dtype=np.int32)
            mask = None
        data.append(col)
        masks.append(mask)
    return data, masks, tz


def _wkb(layer: Layer) -> np.ndarray:
    return shapely.to_wkb(prepared_geometries(layer)) if layer.rows else np.array([], dtype=object)


def _dbf_text(text: str) -> str:
    """Text cut to the 254 bytes a DBF field holds, never inside a UTF-8 character."""
    return text.encode("utf-8")[:DBF_MAX_BYTES].decode("utf-8", "ignore")


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
    check_unique_names(layers)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    for i, layer in enumerate(layers):
        data, masks, tz = _ogr_columns(layer)
        wkb = _wkb(layer)
        pyogrio.raw.write(
            str(path),
            wkb,
            data,
            [f.name for f in layer.fields],
            field_mask=masks,
            layer=layer.name,
            driver="GPKG",
            geometry_type=layer.geometry_type,
            crs="EPSG:4326",
            gdal_tz_offsets=tz,
            dataset_options={"VERSION": "1.3"} if i == 0 else None,
            layer_options={"IDENTIFIER": layer.title_sv, "DESCRIPTION": layer.title_sv},
        )
    items = metadata_items(metadata)
    pyogrio.raw.write(
        str(path),
        None,
        [
            np.array([k for k, _ in items], dtype=object),
            np.array([v for _, v in items], dtype=object),
        ],
        ["key", "value"],
        layer="export_metadata",
        driver="GPKG",
        geometry_type=None,
        dataset_options={"VERSION": "1.3"} if not layers else None,
        layer_options={"IDENTIFIER": "Exportens uppgifter", "DESCRIPTION": "Exportens uppgifter"},
    )
    generated = (metadata or {}).get("generated_at")
    when = as_utc(generated) if isinstance(generated, datetime) else datetime.now(UTC)
    # GeoPackage DATETIME is ISO 8601 in UTC with milliseconds; GDAL warns about other forms.
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    _add_layer_styles(path, layers, update_time=stamp)


def _add_layer_styles(path: Path, layers: Sequence[Layer], *, update_time: str) -> None:
    """The ``layer_styles`` table, registered in gpkg_contents as 'attributes' as OGR does."""
    rows = [
        (
            "",
            "",
            layer.name,
            GPKG_GEOMETRY_COLUMN,
            layer.name,
            qml(layer.style, geometry_type=layer.geometry_type),
            "",
            1,
            f"{layer.title_sv} (nattvandring)",
            "",
            None,
            update_time,
        )
        for layer in layers
    ]
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
                conn.execute(
                    "INSERT INTO gpkg_ogr_contents (table_name, feature_count) "
                    "VALUES ('layer_styles', ?)",
                    (len(rows),),
                )
    finally:
        conn.close()


def _feature_collection(layer: Layer) -> str:
    geoms = prepared_geometries(layer)
    geometry_json = shapely.to_geojson(geoms).tolist() if len(geoms) else []
    parts = []
    for row, geometry in zip(layer.rows, geometry_json, strict=True):
        props = {f.name: json_value(row.get(f.name), f.type) for f in layer.fields}
        parts.append(
            '{"type":"Feature","properties":'
            + json.dumps(props, ensure_ascii=False)
            + ',"geometry":'
            + geometry
            + "}"
        )
    return (
        '{"type":"FeatureCollection","name":'
        + json.dumps(layer.name)
        + ',"features":['
        + ",\n".join(parts)
        + "]}\n"
    )


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
        lines += [f"  {k}: {v}" for k, v in metadata_items(metadata)]
        lines.append("")
    for layer in layers:
        lines.append(
            f"{layer.name}: {layer.title_sv} ({layer.geometry_type}, {len(layer.rows)} objekt)"
        )
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
    check_unique_names(layers)
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
    """A KML 2.2 file of the layers (`maps.kml.kml_document`)."""
    kml_document(layers, metadata=metadata, title=title).write(
        path, encoding="utf-8", xml_declaration=True
    )


def write_csv(layer: Layer, path: str | Path) -> None:
    """One layer as CSV (UTF-8, header, ISO dates, UTC times with ``Z``).

    Point layers get ``lon`` and ``lat``; other layers ``centre_lon`` and ``centre_lat``, the
    centroid of each row's geometry (for grid cells, the cell's centre).
    """
    geoms = prepared_geometries(layer)
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
                [as_text(row.get(f.name)) for f in layer.fields]
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
    check_unique_names(layers)
    mapping = {layer.name: short_field_names([f.name for f in layer.fields]) for layer in layers}
    with (
        tempfile.TemporaryDirectory(prefix="nv-shp-") as tmp,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for layer in layers:
            data, masks, _ = _ogr_columns(layer, shapefile=True)
            wkb = _wkb(layer)
            shp = Path(tmp) / f"{layer.name}.shp"
            pyogrio.raw.write(
                str(shp),
                wkb,
                data,
                [mapping[layer.name][f.name] for f in layer.fields],
                field_mask=masks,
                driver="ESRI Shapefile",
                geometry_type=layer.geometry_type,
                crs="EPSG:4326",
                encoding="UTF-8",
            )
            for ext in ("shp", "shx", "dbf", "prj", "cpg"):
                zf.write(Path(tmp) / f"{layer.name}.{ext}", f"{layer.name}.{ext}")
        lines = ["Fältnamn i Shapefile (högst 10 tecken) och deras fullständiga namn", ""]
        for layer in layers:
            lines.append(f"{layer.name}: {layer.title_sv}")
            lines += [
                f"  {mapping[layer.name][f.name]:<10} = {f.name} ({f.title_sv})"
                for f in layer.fields
            ]
            lines.append("")
        zf.writestr("fields.txt", "\n".join(lines))
        zf.writestr(
            "README.txt", _readme(layers, metadata, fmt="ESRI Shapefile", field_names=mapping)
        )


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
        raise InvalidParameter(
            f"format must be one of {', '.join(FORMATS)}; got {fmt!r}", field="format"
        )
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
