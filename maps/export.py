"""Map layers for collaboration meetings (`maps.layers`) written as GeoPackage, GeoJSON, KML,
CSV or Shapefile.

This module writes files (its name says so); it reads no database and no network. GeoPackage,
GeoJSON and Shapefile layers are GeoDataFrames (`maps.formatting.layer_frame`) that GDAL writes
through pyogrio and Arrow; KML (`maps.kml`) and CSV are written from the rows. Every writer
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

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from geo.errors import InvalidParameter
from maps.formatting import (
    COORD_DECIMALS,
    as_text,
    as_utc,
    check_unique_names,
    csv_row,
    layer_frame,
    metadata_items,
    prepared_geometries,
)
from maps.kml import kml_document
from maps.layers import Field, Layer
from maps.styles import qml, sld

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


def _dbf_text(text: str) -> str:
    """Text cut to the 254 bytes a DBF field holds, never inside a UTF-8 character."""
    return text.encode("utf-8")[:DBF_MAX_BYTES].decode("utf-8", "ignore")


def _shapefile_frame(layer: Layer) -> gpd.GeoDataFrame:
    """`layer_frame` with what a DBF can hold: times as ISO text in UTC (it has no time type)
    and texts cut to 254 bytes."""
    frame = layer_frame(layer)
    for f in layer.fields:
        if f.type in ("str", "datetime"):
            texts = [row.get(f.name) for row in layer.rows]
            frame[f.name] = pd.array(
                [None if v is None else _dbf_text(as_text(v)) for v in texts],
                dtype=pd.ArrowDtype(pa.string()),
            )
    return frame


def _write_frame(
    frame: gpd.GeoDataFrame, path: Path, *, driver: str, geometry_type: str, **options: Any
) -> None:
    """One GeoDataFrame as one layer of a file (``options``: ``layer``, creation options).

    Through Arrow (``use_arrow=True``) the columns' Arrow types give GDAL the field types: a
    date32 column a Date field (the numpy path would write dates as text), int32 an Integer, a
    UTC timestamp a DateTime in UTC; and nulls stay nulls. ``geometry_type`` is the layer's
    declared type, so that an empty layer has it too.
    """
    frame.to_file(
        path,
        driver=driver,
        engine="pyogrio",
        use_arrow=True,
        geometry_type=geometry_type,
        **options,
    )


# ---------------------------------------------------------------------------------------------
# Writers


def write_gpkg(
    layers: Sequence[Layer], path: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> None:
    """A GeoPackage with one table per layer, QGIS styles and the export's metadata.

    Each layer is a GeoDataFrame in EPSG:4326 with GDAL field types from the `Field` types
    (Date, Integer, Real, String, DateTime in UTC, Integer(Boolean)) and its Swedish title as the
    ``gpkg_contents`` identifier. ``layer_styles`` holds a default QML style per layer, as QGIS
    saves it, so QGIS opens each layer styled. ``export_metadata`` (key, value) holds
    ``metadata``. The file is GeoPackage 1.3 so that GDAL 3.6 (Debian 12) opens it without a
    warning.
    """
    path = Path(path)
    check_unique_names(layers)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    version = {"VERSION": "1.3"}
    for i, layer in enumerate(layers):
        _write_frame(
            layer_frame(layer),
            path,
            layer=layer.name,
            driver="GPKG",
            geometry_type=layer.geometry_type,
            dataset_options=version if i == 0 else None,
            layer_options={
                "IDENTIFIER": layer.title_sv,
                "DESCRIPTION": layer.title_sv,
                "GEOMETRY_NAME": GPKG_GEOMETRY_COLUMN,
            },
        )
    items = metadata_items(metadata)
    text = pd.ArrowDtype(pa.string())
    table = pd.DataFrame(
        {
            "key": pd.array([k for k, _ in items], dtype=text),
            "value": pd.array([v for _, v in items], dtype=text),
        }
    )
    # A table without geometry (an 'attributes' row in gpkg_contents): a plain DataFrame, which
    # has no to_file, so pyogrio's function that GeoDataFrame.to_file calls.
    pyogrio.write_dataframe(
        table,
        path,
        layer="export_metadata",
        driver="GPKG",
        use_arrow=True,
        dataset_options=None if layers else version,
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
            sld(
                layer.style,
                geometry_type=layer.geometry_type,
                layer_name=layer.name,
                title=layer.title_sv,
            ),
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


# GeoJSON has no schema: each collection names its fields in a foreign member (RFC 7946 §6.1),
# with GDAL's field type and the Swedish title, so that an empty layer still says what it holds.
_GDAL_TYPES = {
    "str": "String",
    "int": "Integer",
    "float": "Real",
    "date": "Date",
    "datetime": "DateTime",
    "bool": "Boolean",
}


def _with_fields(text: str, layer: Layer) -> str:
    """GDAL's GeoJSON text with a ``fields`` member after the opening brace."""
    if not text.startswith("{\n"):
        raise ValueError("unexpected GeoJSON from GDAL")
    fields = [
        {"name": f.name, "type": _GDAL_TYPES[f.type], "title": f.title_sv} for f in layer.fields
    ]
    return '{\n"fields": ' + json.dumps(fields, ensure_ascii=False) + ",\n" + text[2:]


def write_geojson_zip(
    layers: Sequence[Layer], path: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> None:
    """A zip with ``<layer>.geojson`` per layer (RFC 7946: lon/lat, no ``crs``, exterior rings
    anticlockwise, and a ``fields`` member: each field's name, GDAL type and Swedish title, so an
    empty layer keeps them), a ``<layer>.qml`` style beside each, and README.txt."""
    check_unique_names(layers)
    with (
        tempfile.TemporaryDirectory(prefix="nv-geojson-") as tmp,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for layer in layers:
            member = Path(tmp) / f"{layer.name}.geojson"
            _write_frame(
                layer_frame(layer),
                member,
                layer=layer.name,
                driver="GeoJSON",
                geometry_type=layer.geometry_type,
                layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": str(COORD_DECIMALS)},
            )
            zf.writestr(member.name, _with_fields(member.read_text(encoding="utf-8"), layer))
            # QGIS applies a .qml of the same name beside a file when it opens the layer.
            zf.writestr(f"{layer.name}.qml", qml(layer.style, geometry_type=layer.geometry_type))
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
    """One layer as CSV (UTF-8, header, ISO dates, UTC times with ``Z``; text that a
    spreadsheet would take for a formula gets a leading ``'``, `maps.formatting.csv_cell`).

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
                [as_text(v) for v in csv_row(row.get(f.name) for f in layer.fields)]
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
            _write_frame(
                _shapefile_frame(layer).rename(columns=mapping[layer.name]),
                Path(tmp) / f"{layer.name}.shp",
                driver="ESRI Shapefile",
                geometry_type=layer.geometry_type,
                encoding="UTF-8",  # with a .cpg that says so
            )
            for ext in ("shp", "shx", "dbf", "prj", "cpg"):
                zf.write(Path(tmp) / f"{layer.name}.{ext}", f"{layer.name}.{ext}")
            # The style with the field names of the DBF (cut to 10 characters).
            short = mapping[layer.name]
            style = layer.style.renamed(short)
            zf.writestr(f"{layer.name}.qml", qml(style, geometry_type=layer.geometry_type))
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


def _partner_counts_layer(cells: Layer, zones: Layer) -> Layer:
    """The partner profile's two count layers as one table: ``lager`` says ``ruta`` (a 250 m
    cell: ``ruta`` set) or ``zon`` (a collaboration zone: ``zon`` and ``zon_namn`` set)."""
    place = {"ruta", "zon", "zon_namn"}
    shared = [f for f in cells.fields if f.name not in place]
    by_name = {f.name: f for f in (*cells.fields, *zones.fields)}
    fields = (
        Field("lager", "str", "Lager (ruta eller zon)"),
        by_name["ruta"],
        by_name["zon"],
        by_name["zon_namn"],
        *shared,
    )
    rows = [{**r, "lager": "ruta"} for r in cells.rows] + [
        {**r, "lager": "zon"} for r in zones.rows
    ]
    return Layer("avvikelser_antal", "Avvikelser per ruta och zon", "MultiPolygon", fields, rows)


def csv_layer(layers: Sequence[Layer]) -> Layer:
    """The layer a CSV export holds: the single reports (detail), or the partner profile's
    counts per cell *and* per zone in one table (`_partner_counts_layer`)."""
    by_name = {layer.name: layer for layer in layers}
    if "avvikelser" not in by_name and {"avvikelser_ruta", "avvikelser_zon"} <= set(by_name):
        return _partner_counts_layer(by_name["avvikelser_ruta"], by_name["avvikelser_zon"])
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
