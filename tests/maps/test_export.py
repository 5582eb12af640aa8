"""Every export format read back with a real client; privacy canaries never reach partner files.

GeoPackage, Shapefile, GeoJSON and CSV are read with pyogrio (GDAL) and the GeoPackage is also
opened with GDAL's ``ogrinfo`` and checked with sqlite3; KML is parsed with the standard library.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely

from geo.db.queries import GEOJSON_DECIMALS
from geo.errors import InvalidParameter
from geo.geometry import WGS84_DECIMALS
from geo.privacy import ZoneCount, detail_rows, partner_aggregates
from maps import export
from maps import layers as ml
from maps.export import short_field_names
from maps.formatting import COORD_DECIMALS, layer_frame
from maps.layers import Field, Layer
from tests.maps import (
    CANARIES,
    CANARY_NAME,
    CATEGORIES,
    PERIOD,
    area_feature,
    hotspot_feature_collection,
    isopleth_feature_collection,
    places_feature_collection,
    records,
    route_feature_collection,
    tracks_feature_collection,
    zones,
)

KML = "{http://www.opengis.net/kml/2.2}"
EXTENSIONS = {
    "gpkg": "gpkg",
    "geojson": "geojson.zip",
    "kml": "kml",
    "csv": "csv",
    "shp": "shp.zip",
}
METADATA = {
    "area": "Solberga",
    "period_start": PERIOD[0],
    "period_end": PERIOD[1],
    "profile": "partner",
    "bucket": "week",
    "cell_m": 250,
    "min_count": 3,
    "generated_at": datetime(2026, 11, 30, 7, 45, tzinfo=UTC),
}
# QGIS's layer_styles columns, in its order.
QGIS_STYLE_COLUMNS = [
    "id",
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
]


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _context_layers() -> list[Layer]:
    recs = records(1500)
    hotspots, changes = hotspot_feature_collection(recs)
    zone_fc = _fc(
        [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(g),
                "properties": {
                    "slug": s,
                    "name": n,
                    "area": "solberga",
                    "description": f"Kontakt: {CANARY_NAME}",
                },
            }
            for s, n, g in zones()
        ]
    )
    return [
        ml.areas_layer(_fc([area_feature()])),
        ml.zones_layer(zone_fc),
        ml.places_layer(places_feature_collection()),
        ml.routes_layer(route_feature_collection()),
        ml.tracks_layer(tracks_feature_collection()),
        ml.isopleths_layer(isopleth_feature_collection()),
        ml.hotspots_layer(hotspots, changes=changes),
    ]


@pytest.fixture(scope="module")
def partner_layers() -> list[Layer]:
    agg = partner_aggregates(records(3000), zones=zones(), bucket="week")
    return ml.partner_layers(agg, since=PERIOD[0], until=PERIOD[1]) + _context_layers()


@pytest.fixture(scope="module")
def partner_files(
    partner_layers: list[Layer], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("partner")
    files = {}
    for fmt, ext in EXTENSIONS.items():
        files[fmt] = out / f"export.{ext}"
        export.write(partner_layers, fmt, files[fmt], metadata=METADATA)
    return files


def _by_name(layers: list[Layer]) -> dict[str, Layer]:
    return {layer.name: layer for layer in layers}


# ---------------------------------------------------------------------------------------------
# GeoPackage


def test_gpkg_layers_types_crs_and_counts(
    partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    path = partner_files["gpkg"]
    listed = {str(name): geom for name, geom in pyogrio.list_layers(path)}
    assert set(listed) == {layer.name for layer in partner_layers} | {
        "layer_styles",
        "export_metadata",
    }
    assert listed["layer_styles"] is None and listed["export_metadata"] is None
    for layer in partner_layers:
        info = pyogrio.read_info(path, layer=layer.name)
        assert info["crs"] == "EPSG:4326"
        assert info["features"] == len(layer.rows)
        assert info["geometry_type"] == layer.geometry_type
        assert list(info["fields"]) == [f.name for f in layer.fields]
        ogr_types = dict(zip(info["fields"], info["ogr_types"], strict=True))
        expected = {
            "str": "OFTString",
            "int": "OFTInteger",
            "float": "OFTReal",
            "date": "OFTDate",
            "datetime": "OFTDateTime",
            "bool": "OFTInteger",
        }
        assert ogr_types == {f.name: expected[f.type] for f in layer.fields}
    cells = pyogrio.read_info(path, layer="avvikelser_ruta")
    types = dict(zip(cells["fields"], cells["ogr_types"], strict=True))
    assert types["period_fran"] == "OFTDate" and types["antal_totalt"] == "OFTInteger"
    weekly = pyogrio.read_info(path, layer="avvikelser_ruta_vecka")
    assert dict(zip(weekly["fields"], weekly["ogr_types"], strict=True))["period_start"] == (
        "OFTDate"
    )
    _meta, _fids, geoms, fields = pyogrio.raw.read(path, layer="avvikelser_ruta")
    antal = fields[list(cells["fields"]).index("antal_totalt")]
    assert antal.dtype.kind == "i" and antal.min() >= 3
    rows = _by_name(partner_layers)["avvikelser_ruta"].rows
    assert sum(antal) == sum(r["antal_totalt"] for r in rows)
    lonlat = shapely.get_coordinates(shapely.from_wkb(geoms))
    assert 17.9 < lonlat[:, 0].min() and lonlat[:, 0].max() < 18.1  # x is longitude
    assert 59.2 < lonlat[:, 1].min() and lonlat[:, 1].max() < 59.4


def test_gpkg_is_valid_for_gdal_and_sqlite(partner_files: dict[str, Path]) -> None:
    path = partner_files["gpkg"]
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    )
    assert "Warning" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    assert "Warning" not in done.stdout and "ERROR" not in done.stdout
    styles = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(path), "layer_styles"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Warning" not in styles.stderr and "ERROR" not in styles.stderr, styles.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA application_id").fetchone() == (0x47504B47,)  # "GPKG"
        srids = dict(conn.execute("SELECT table_name, srs_id FROM gpkg_geometry_columns"))
        assert set(srids.values()) == {4326}
        contents = dict(conn.execute("SELECT table_name, data_type FROM gpkg_contents"))
        assert contents["layer_styles"] == "attributes"
        assert contents["export_metadata"] == "attributes"
        identifiers = dict(conn.execute("SELECT table_name, identifier FROM gpkg_contents"))
        assert identifiers["avvikelser_zon"] == "Avvikelser per samverkanszon"


def test_gpkg_has_qgis_layer_styles(
    partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    with sqlite3.connect(partner_files["gpkg"]) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(layer_styles)")]
        assert columns == QGIS_STYLE_COLUMNS
        rows = conn.execute(
            'SELECT f_table_name, f_geometry_column, "styleName", "styleQML", '
            '"useAsDefault", f_table_schema FROM layer_styles'
        ).fetchall()
    assert {r[0] for r in rows} == {layer.name for layer in partner_layers}
    for table, geom_column, name, qml_text, default, schema in rows:
        assert geom_column == "geom" and name == table and default == 1 and schema == ""
        doc = ET.fromstring(qml_text.split("\n", 1)[1])  # after the DOCTYPE line
        renderer = doc.find("renderer-v2")
        assert renderer is not None
        if table.startswith(("avvikelser_zon", "avvikelser_ruta")):
            # Issue 16: graduated by the total of the one feature per place (and week), and
            # the weeks' layers shown one week at a time by QGIS's temporal controller.
            assert renderer.get("type") == "graduatedSymbol"
            assert renderer.get("attr") == "antal_totalt"
            ranges = [
                (r.get("lower"), r.get("upper"), r.get("label")) for r in renderer.iter("range")
            ]
            assert ranges[0] == ("3", "4", "3–4 rapporter")
            assert ranges[-1][2] == "20 rapporter eller fler"
            temporal = doc.find("temporal")
            if table in ml.PERIOD_LAYERS:  # one feature per place: always shown
                assert temporal is None
                continue
            assert temporal is not None and temporal.get("enabled") == "1"
            assert temporal.get("mode") == "4" and '"period_start"' in temporal.get(
                "startExpression", ""
            )
            assert "7 days" in temporal.get("endExpression", "")
        if table == "hotspots":
            values = {
                c.get("value"): (c.get("type"), c.get("label")) for c in renderer.iter("category")
            }
            assert values["3"] == ("string", "Het punkt 99 %")
            assert values["-1"] == ("string", "Kall punkt 90 %")
            # Issue 16: gone hot spots (class 0) are drawn and in the legend, and new and
            # persistent ones are told apart.
            assert values["forsvunnen"] == ("string", "Försvunnen het punkt")
            assert values["3_ny"][1] == "Het punkt 99 % – ny"
            assert values["3_kvar"][1] == "Het punkt 99 % – kvarstående"
            hot = _by_name(partner_layers)["hotspots"]
            assert renderer.get("attr") == "stil"
            assert {row["stil"] for row in hot.rows} <= set(values)
            assert any(row["klass"] == 0 and row["stil"] == "forsvunnen" for row in hot.rows)
        if table == "omraden":
            assert renderer.get("type") == "singleSymbol"


def test_gpkg_layer_styles_hold_sld_for_arcgis_and_geoserver(
    partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    """Issue 16: ``layer_styles.styleSLD`` is an SLD 1.0 document with a rule per class."""
    sld_ns = "{http://www.opengis.net/sld}"
    ogc_ns = "{http://www.opengis.net/ogc}"
    with sqlite3.connect(partner_files["gpkg"]) as conn:
        rows = dict(conn.execute('SELECT f_table_name, "styleSLD" FROM layer_styles').fetchall())
    layers = _by_name(partner_layers)
    for table, text in rows.items():
        doc = ET.fromstring(text.split("\n", 1)[1])
        assert doc.tag == f"{sld_ns}StyledLayerDescriptor" and doc.get("version") == "1.0.0"
        assert doc.find(f"{sld_ns}NamedLayer/{sld_ns}Name").text == table
        rules = doc.findall(f".//{sld_ns}Rule")
        style = layers[table].style
        if style.categorised_by and style.classes:
            literals = [r.findtext(f".//{ogc_ns}Literal") for r in rules]
            assert literals[:-1] == [str(c.value) for c in style.classes]
            assert rules[-1].find(f"{sld_ns}ElseFilter") is not None
            names = {r.findtext(f".//{ogc_ns}PropertyName") for r in rules[:-1]}
            assert names == {style.categorised_by}
        elif style.graduated_by and style.ranges:
            limits = [[x.text for x in r.iter(f"{ogc_ns}Literal")] for r in rules[:-1]]
            assert limits == [[f"{b.lower:.0f}", f"{b.upper:.0f}"] for b in style.ranges]
            assert all(r.find(f"{ogc_ns}Filter/{ogc_ns}And") is not None for r in rules[:-1])
            assert rules[-1].find(f"{sld_ns}ElseFilter") is not None
        else:
            assert len(rules) == 1
    gone = [
        r
        for r in ET.fromstring(rows["hotspots"].split("\n", 1)[1]).iter(f"{sld_ns}Rule")
        if r.findtext(f".//{ogc_ns}Literal") == "forsvunnen"
    ]
    dashes = [
        p for p in gone[0].iter(f"{sld_ns}CssParameter") if p.get("name") == "stroke-dasharray"
    ]
    assert dashes


@pytest.mark.parametrize(("fmt", "ext"), [("shp", "shp"), ("geojson", "geojson")])
def test_zips_hold_a_qml_style_beside_each_layer(
    partner_layers: list[Layer], partner_files: dict[str, Path], fmt: str, ext: str
) -> None:
    """Issue 16: QGIS applies ``<layer>.qml`` beside ``<layer>.shp`` / ``.geojson``; in the
    Shapefile's QML the categorised field has its 10-character DBF name."""
    with zipfile.ZipFile(partner_files[fmt]) as zf:
        names = set(zf.namelist())
        for layer in partner_layers:
            assert f"{layer.name}.{ext}" in names and f"{layer.name}.qml" in names
        doc = ET.fromstring(zf.read("avvikelser_zon_vecka.qml").decode().split("\n", 1)[1])
        period = ET.fromstring(zf.read("avvikelser_zon.qml").decode().split("\n", 1)[1])
        hot = ET.fromstring(zf.read("hotspots.qml").decode().split("\n", 1)[1])
    total = "antal_tota" if fmt == "shp" else "antal_totalt"
    assert doc.find("renderer-v2").get("attr") == total
    assert period.find("renderer-v2").get("attr") == total and period.find("temporal") is None
    start = "period_sta" if fmt == "shp" else "period_start"
    assert f'"{start}"' in (doc.find("temporal").get("startExpression") or "")
    assert hot.find("renderer-v2").get("attr") == "stil"
    if fmt == "shp":
        info = pyogrio.read_info(f"/vsizip/{partner_files[fmt]}/hotspots.shp")
        assert "stil" in list(info["fields"])


def test_gpkg_metadata_table(partner_files: dict[str, Path]) -> None:
    _m, _f, geoms, (keys, values) = pyogrio.raw.read(partner_files["gpkg"], layer="export_metadata")
    meta = dict(zip(keys.tolist(), values.tolist(), strict=True))
    assert meta["area"] == "Solberga" and meta["profile"] == "partner"
    assert meta["period_start"] == "2026-10-05" and meta["generated_at"] == "2026-11-30T07:45:00Z"


# ---------------------------------------------------------------------------------------------
# GeoJSON, KML, CSV, Shapefile


def test_geojson_zip_has_one_rfc7946_collection_per_layer(
    partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    path = partner_files["geojson"]
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert names == {
            f"{layer.name}.{ext}" for layer in partner_layers for ext in ("geojson", "qml")
        } | {"README.txt"}
        readme = zf.read("README.txt").decode("utf-8")
        assert "Koordinatsystem: WGS 84" in readme and "Solberga" in readme
        for layer in partner_layers:
            fc = json.loads(zf.read(f"{layer.name}.geojson"))
            assert fc["type"] == "FeatureCollection" and "crs" not in fc
            assert len(fc["features"]) == len(layer.rows)
            if fc["features"]:
                props = fc["features"][0]["properties"]
                assert list(props) == [f.name for f in layer.fields]
                x, y = (
                    fc["features"][0]["geometry"]["coordinates"][0][0]
                    if layer.geometry_type == "Polygon"
                    else (18.0, 59.3)
                )
                assert 17.9 < x < 18.1 and 59.2 < y < 59.4
    for layer in partner_layers:
        info = pyogrio.read_info(f"/vsizip/{path}/{layer.name}.geojson")
        assert info["features"] == len(layer.rows) and info["crs"] == "EPSG:4326"
    _m, _f, _g, fields = pyogrio.raw.read(
        f"/vsizip/{path}/avvikelser_ruta.geojson", columns=["antal_totalt"]
    )
    assert fields[0].min() >= 3


def test_kml_styles_folders_and_readable_names(
    partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    root = ET.parse(partner_files["kml"]).getroot()
    assert root.tag == f"{KML}kml"
    doc = root.find(f"{KML}Document")
    assert doc is not None
    styles = {s.get("id"): s for s in doc.findall(f"{KML}Style")}
    assert "avvikelser_ruta-r0" in styles and "hotspots-3" in styles
    assert "hotspots--3" in styles
    colour = styles["hotspots-3"].findtext(f"{KML}PolyStyle/{KML}color")
    assert colour is not None and re.fullmatch(r"[0-9a-f]{8}", colour)
    assert colour[2:] == "272fd6"  # #d62f27 as bbggrr
    folders = {f.findtext(f"{KML}name"): f for f in doc.findall(f"{KML}Folder")}
    assert set(folders) == {layer.title_sv for layer in partner_layers}
    cells = folders["Avvikelser per ruta (250 m)"].findall(f"{KML}Placemark")
    assert len(cells) == len(_by_name(partner_layers)["avvikelser_ruta"].rows)
    names = [p.findtext(f"{KML}name") or "" for p in cells]
    span = f"{PERIOD[0]} – {PERIOD[1]}"
    assert all(re.fullmatch(rf"{span} – \d+ rapporter \(.+ \d+\)", n) for n in names)
    weeks = folders["Avvikelser per ruta (250 m) och vecka"].findall(f"{KML}Placemark")
    assert len(weeks) == len(_by_name(partner_layers)["avvikelser_ruta_vecka"].rows)
    names = [p.findtext(f"{KML}name") or "" for p in weeks]
    assert all(re.fullmatch(r"vecka \d{4}-W\d{2} – \d+ rapporter \(.+ \d+\)", n) for n in names)
    first = cells[0]
    assert (first.findtext(f"{KML}styleUrl") or "").startswith("#avvikelser_ruta-")
    data = {d.get("name"): d.findtext(f"{KML}value") for d in first.iter(f"{KML}Data")}
    assert int(data["antal_totalt"] or 0) >= 3 and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}", data["period_fran"] or ""
    )
    coords = (first.findtext(f".//{KML}coordinates") or "").split()
    lon, lat = (float(v) for v in coords[0].split(","))
    assert 17.9 < lon < 18.1 and 59.2 < lat < 59.4
    zones_folder = folders["Avvikelser per samverkanszon"].findall(f"{KML}Placemark")
    assert (zones_folder[0].findtext(f"{KML}name") or "").startswith(("Älvsjö", "Solberga"))
    # GDAL reads it too: one layer per folder.
    gdal_layers = {str(n) for n, _ in pyogrio.list_layers(partner_files["kml"])}
    assert "Avvikelser per ruta (250 m)" in gdal_layers


def test_csv_of_the_cells_has_centres(
    partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    with open(partner_files["csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    layer = _by_name(partner_layers)["avvikelser_ruta"]
    zone_layer = _by_name(partner_layers)["avvikelser_zon"]
    # Issue 16: the cells and the zones, told apart by ``lager``.
    assert len(rows) == len(layer.rows) + len(zone_layer.rows)
    assert list(rows[0]) == ["lager", "ruta", "zon", "zon_namn"] + [
        f.name for f in layer.fields if f.name != "ruta"
    ] + ["centre_lon", "centre_lat"]
    assert all(int(r["antal_totalt"]) >= 3 for r in rows)
    zone_rows = [r for r in rows if r["lager"] == "zon"]
    assert zone_rows and all(r["zon"] and r["zon_namn"] and not r["ruta"] for r in zone_rows)
    counts = [f.name for f in zone_layer.fields if f.name.startswith("antal_")]
    assert sorted(
        (r["zon"], r["period_fran"], *(int(r[c]) if r[c] else None for c in counts))
        for r in zone_rows
    ) == sorted(
        (r["zon"], str(r["period_fran"]), *(r.get(c) for c in counts)) for r in zone_layer.rows
    )
    rows = [r for r in rows if r["lager"] == "ruta"]
    assert all(r["period_fran"] == PERIOD[0].isoformat() for r in rows)
    centre = shapely.Point(float(rows[0]["centre_lon"]), float(rows[0]["centre_lat"]))
    cell = next(r["geometry"] for r in layer.rows if r["ruta"] == rows[0]["ruta"])
    assert cell.contains(centre)
    info = pyogrio.read_info(partner_files["csv"])
    assert info["features"] == len(rows) + len(zone_layer.rows)


def test_csv_of_detail_points_has_lon_lat(tmp_path: Path) -> None:
    layer = ml.detail_layer(detail_rows(records(40)))
    counts = export.write([layer, *_context_layers()], "csv", tmp_path / "d.csv")
    assert counts == {"avvikelser": 40}
    with open(tmp_path / "d.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"lon", "lat"} <= set(rows[0]) and "centre_lon" not in rows[0]
    assert rows[0]["observerad"].endswith("Z")
    _m, _f, _g, fields = pyogrio.raw.read(tmp_path / "d.csv", read_geometry=False)
    assert len(fields[0]) == 40


def test_shapefile_zip_sets_short_names_and_types(
    partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    path = partner_files["shp"]
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        fields_txt = zf.read("fields.txt").decode("utf-8")
        assert "README.txt" in names
    for layer in partner_layers:
        assert {f"{layer.name}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        info = pyogrio.read_info(f"/vsizip/{path}/{layer.name}.shp")
        assert info["features"] == len(layer.rows) and info["crs"] == "EPSG:4326"
        assert all(len(name) <= 10 for name in info["fields"])
        mapping = short_field_names([f.name for f in layer.fields])
        assert list(info["fields"]) == [mapping[f.name] for f in layer.fields]
        if "period_start" in mapping:
            types = dict(zip(info["fields"], info["ogr_types"], strict=True))
            assert types[mapping["period_start"]] == "OFTDate"
            assert types[mapping["antal_totalt"]] == "OFTInteger"
    assert "antal_skad = antal_skadegorelse (Antal: Skadegörelse" in fields_txt


def test_short_field_names_are_unique_and_deterministic() -> None:
    names = ["forandring_fran", "forandring_till", "forandring_fore", "Forandring_x", "a"]
    short = short_field_names(names)
    assert len({v.lower() for v in short.values()}) == len(names)
    assert all(len(v) <= 10 for v in short.values())
    assert short == short_field_names(names)


# ---------------------------------------------------------------------------------------------
# Dispatch, empty exports, privacy


def test_write_refuses_an_unknown_format(partner_layers: list[Layer], tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter) as info:
        export.write(partner_layers, "xlsx", tmp_path / "x.xlsx")
    assert info.value.field == "format"


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "shp", "csv"])
def test_an_export_without_reports_is_still_valid(fmt: str, tmp_path: Path) -> None:
    agg = partner_aggregates([], zones=zones())
    layers = ml.partner_layers(agg, since=PERIOD[0], until=PERIOD[1])
    path = tmp_path / f"empty.{EXTENSIONS[fmt]}"
    counts = export.write(layers, fmt, path, metadata=METADATA)
    assert set(counts.values()) == {0}
    if fmt == "gpkg":
        info = pyogrio.read_info(path, layer="avvikelser_ruta")
        assert info["features"] == 0 and info["geometry_type"] == "Polygon"
        # The empty layer keeps its fields and their types.
        assert list(info["fields"]) == [f.name for f in layers[1].fields]
        types = dict(zip(info["fields"], info["ogr_types"], strict=True))
        assert types["period_fran"] == "OFTDate" and types["antal_totalt"] == "OFTInteger"
        assert (
            "ERROR"
            not in subprocess.run(
                ["ogrinfo", "-ro", "-so", str(path)], capture_output=True, text=True
            ).stderr
        )
    if fmt == "shp":
        info = pyogrio.read_info(f"/vsizip/{path}/avvikelser_zon_vecka.shp")
        types = dict(zip(info["fields"], info["ogr_types"], strict=True))
        assert info["features"] == 0 and types["period_sta"] == "OFTDate"


def _unpacked(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every byte stream of an export: the file, or each member of a zip."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                yield f"{path.name}:{name}", zf.read(name)
    else:
        yield path.name, path.read_bytes()


def _sqlite_text(path: Path) -> str:
    """Every value of every table of a GeoPackage, as text."""
    parts = []
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 (names from sqlite_master)
                parts += [
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                ]
    return "\n".join(parts)


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
def test_partner_files_hold_no_canary(fmt: str, partner_files: dict[str, Path]) -> None:
    path = partner_files[fmt]
    streams = list(_unpacked(path))
    assert streams
    for name, data in streams:
        for canary in CANARIES:
            assert canary.encode("utf-8") not in data, f"{canary!r} in {name}"
    if fmt == "gpkg":
        text = _sqlite_text(path)
        assert "Solberga" in text  # the check does see the tables' contents
        for canary in CANARIES:
            assert canary not in text


def test_partner_cells_never_count_under_three(partner_files: dict[str, Path]) -> None:
    for layer in (
        "avvikelser_zon",
        "avvikelser_ruta",
        "avvikelser_zon_vecka",
        "avvikelser_ruta_vecka",
    ):
        frame = pyogrio.read_dataframe(partner_files["gpkg"], layer=layer)
        counts = frame[[c for c in frame.columns if c.startswith("antal_")]].to_numpy(float)
        shown = counts[~np.isnan(counts)]
        assert len(frame) and len(shown) and shown.min() >= 3, layer


@pytest.mark.parametrize("include", [False, True])
def test_detail_profile_descriptions_only_when_asked(include: bool, tmp_path: Path) -> None:
    recs = records(60)
    layer = ml.detail_layer(
        detail_rows(recs, include_descriptions=include), include_descriptions=include
    )
    for fmt, ext in EXTENSIONS.items():
        path = tmp_path / f"detail.{ext}"
        export.write([layer], fmt, path, metadata={**METADATA, "profile": "detail"})
        blob = b"".join(data for _, data in _unpacked(path))
        assert (CANARY_NAME.encode() in blob) is include, fmt
        assert b"kanarie@example.org" not in blob and "Kanariefågelns".encode() not in blob
    info = pyogrio.read_info(tmp_path / "detail.gpkg", layer="avvikelser")
    assert ("beskrivning" in list(info["fields"])) is include
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["observerad"] == "OFTDateTime" and types["datum"] == "OFTDate"
    assert types["allvarlighet"] == "OFTInteger" and info["features"] == 60


def test_layer_frame_types_nulls_and_wide_integers(tmp_path: Path) -> None:
    fields = (
        Field("namn", "str", "Namn"),
        Field("antal", "int", "Antal"),
        Field("stort", "int", "Stort tal"),
        Field("andel", "float", "Andel"),
        Field("ny", "bool", "Ny"),
        Field("datum", "date", "Datum"),
        Field("tid", "datetime", "Tid"),
    )
    when = datetime(2026, 11, 28, 22, 15, 30, 123456, tzinfo=UTC)
    rows = [
        {
            "namn": "Älvsjö",
            "antal": 4,
            "stort": 2**40,
            "andel": 0.25,
            "ny": True,
            "datum": when,  # a datetime in a date field is its date
            "tid": when,
            "geometry": shapely.Point(18.0104, 59.2786),
        },
        {"stort": 1, "geometry": shapely.Point(18.0062, 59.2903)},  # every other field missing
    ]
    layer = Layer("prov", "Prov", "Point", fields, rows)
    frame = layer_frame(layer)
    assert frame.crs.to_epsg() == 4326 and list(frame.columns) == [
        *(f.name for f in fields),
        "geometry",
    ]
    assert str(frame["antal"].dtype) == "int32[pyarrow]"
    assert str(frame["stort"].dtype) == "int64[pyarrow]"  # does not fit GDAL's Integer
    assert frame["datum"].iloc[0] == when.date()
    assert frame["tid"].iloc[0] == when.replace(microsecond=123000)  # GeoPackage keeps ms
    assert frame.iloc[1][[f.name for f in fields if f.name != "stort"]].isna().all()

    path = tmp_path / "prov.gpkg"
    export.write_gpkg([layer], path)
    info = pyogrio.read_info(path, layer="prov")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types == {
        "namn": "OFTString",
        "antal": "OFTInteger",
        "stort": "OFTInteger64",
        "andel": "OFTReal",
        "ny": "OFTInteger",
        "datum": "OFTDate",
        "tid": "OFTDateTime",
    }
    assert dict(zip(info["fields"], info["ogr_subtypes"], strict=True))["ny"] == "OFSTBoolean"
    with sqlite3.connect(path) as conn:
        first, second = conn.execute(
            "SELECT namn, antal, stort, andel, ny, datum, tid FROM prov ORDER BY fid"
        ).fetchall()
    assert first == ("Älvsjö", 4, 2**40, 0.25, 1, "2026-11-28", "2026-11-28T22:15:30.123Z")
    assert second == (None, None, 1, None, None, None, None)  # nulls, not 0 or NaN


def test_layer_names_and_geometry_types_are_checked() -> None:
    with pytest.raises(ValueError, match="lower-case ASCII"):
        Layer("Avvikelser", "x", "Point", (), [])
    with pytest.raises(ValueError, match="bad field name"):
        Layer("x", "x", "Point", (Field("geom", "str", "x"),), [])
    line = Layer("x", "x", "Point", (), [{"geometry": shapely.LineString([(0, 0), (1, 1)])}])
    with pytest.raises(ValueError, match="geometry types"):
        export.write_geojson_zip([line], "/dev/null")


def test_metadata_with_an_e_mail_address_is_refused(tmp_path: Path) -> None:
    layers = ml.partner_layers(
        partner_aggregates([], zones=zones()), since=PERIOD[0], until=PERIOD[1]
    )
    with pytest.raises(ValueError, match="e-mail"):
        export.write(
            layers,
            "gpkg",
            tmp_path / "x.gpkg",
            metadata={**METADATA, "exported_by": "planerare@stockholm.se"},
        )


# ---------------------------------------------------------------------------------------------
# Issue 16: the partner count layers, one coordinate precision, empty layers


def _expected_counts(place: str, *, weekly: bool) -> dict[tuple[str, str], dict[str, int]]:
    """(zone or cell, week or the period's first day) → {category: count} of the partner
    aggregates, as `geo.privacy` computes them (counts under 3 already left out); over the
    whole period, the sums of the weeks' counts."""
    agg = partner_aggregates(records(3000), zones=zones(), bucket="week")
    out: dict[tuple[str, str], dict[str, int]] = {}
    rows = agg.zone_counts if place == "zon" else agg.cell_counts
    for r in rows:
        where = r.zone if isinstance(r, ZoneCount) else r.cell
        counts = out.setdefault((where, r.period if weekly else PERIOD[0].isoformat()), {})
        counts[r.category] = counts.get(r.category, 0) + r.count
    return out


def _shown(row: dict[str, Any], place: str, names: dict[str, str] | None = None) -> Any:
    """A read-back row as ((place, period), {category: count}, total); ``names`` maps the
    long field names to those in the file (a Shapefile's)."""
    name = (names or {}).get
    counts = {}
    for code in CATEGORIES:
        value = row.get(name(f"antal_{code}", f"antal_{code}"))
        if value not in (None, "") and not (isinstance(value, float) and np.isnan(value)):
            counts[code] = int(value)
    when = row.get(name("period", "period"))
    if when is None:  # a layer of the whole period
        when = str(row[name("period_fran", "period_fran")])[:10]
    key = (row[name(place, place)], when)
    return key, counts, int(row[name("antal_totalt", "antal_totalt")])


def _read_back(fmt: str, path: Path, layer: Layer) -> list[dict[str, Any]]:
    """The rows of ``layer`` as the file holds them, read by GDAL (KML: the standard library)."""
    if fmt == "gpkg":
        return pyogrio.read_dataframe(path, layer=layer.name).to_dict("records")
    if fmt == "geojson":
        return pyogrio.read_dataframe(f"/vsizip/{path}/{layer.name}.geojson").to_dict("records")
    if fmt == "shp":
        return pyogrio.read_dataframe(f"/vsizip/{path}/{layer.name}.shp").to_dict("records")
    if fmt == "csv":
        with open(path, encoding="utf-8", newline="") as fh:
            lager = "zon" if layer.name.startswith("avvikelser_zon") else "ruta"
            return [r for r in csv.DictReader(fh) if r["lager"] == lager]
    doc = ET.parse(path).getroot().find(f"{KML}Document")
    assert doc is not None
    folder = next(f for f in doc.iter(f"{KML}Folder") if f.findtext(f"{KML}name") == layer.title_sv)
    return [
        {d.get("name"): d.findtext(f"{KML}value") for d in p.iter(f"{KML}Data")}
        for p in folder.findall(f"{KML}Placemark")
    ]


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
def test_partner_count_layers_have_one_feature_per_place_and_period(
    fmt: str, partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    """Issue 16: no more one feature per category stacked on one zone. Each zone or cell is
    one feature for the whole period, and one per week in the weeks' layer, with a column per
    category (empty under 3; over the period the sum of the weeks' counts shown) and their
    total, in every format (the CSV holds the period's), with the numbers of
    `geo.privacy.partner_aggregates`."""
    layers = _by_name(partner_layers)
    wanted = [("avvikelser_zon", "zon", False), ("avvikelser_ruta", "ruta", False)]
    if fmt != "csv":
        wanted += [("avvikelser_zon_vecka", "zon", True), ("avvikelser_ruta_vecka", "ruta", True)]
    for name, place, weekly in wanted:
        layer = layers[name]
        names = short_field_names([f.name for f in layer.fields]) if fmt == "shp" else None
        rows = [_shown(r, place, names) for r in _read_back(fmt, partner_files[fmt], layer)]
        expected = _expected_counts(place, weekly=weekly)
        assert len(rows) == len(expected) > 0, name
        keys = [key for key, _, _ in rows]
        assert len(set(keys)) == len(keys), f"{name}: one feature per {place} (and week)"
        if not weekly:
            assert len({key[0] for key in keys}) == len(keys), f"{name}: one per {place}"
        for key, counts, total in rows:
            assert counts == expected[key], (name, key)
            assert all(n >= 3 for n in counts.values()) and total == sum(counts.values())
        # Several categories share a feature somewhere (the zones hold hundreds of reports).
        if place == "zon":
            assert max(len(c) for _, c, _ in rows) > 1


def test_the_count_columns_and_the_total_leave_no_small_count_to_work_out() -> None:
    """A zone-week of 4 + 2 + 1 reports shows 4, two empty cells and a total of 4 (the total
    of all six would give the suppressed 3 away)."""
    base = records(1)[0]
    station = zones()[0]
    centre = station[2].representative_point()
    recs = [
        replace(base, category=c, lon=centre.x, lat=centre.y)
        for c in ["brand"] * 4 + ["narkotika"] * 2 + ["ovrigt"]
    ]
    agg = partner_aggregates(recs, zones=[station])
    layers = ml.partner_layers(agg, since=PERIOD[0], until=PERIOD[1])
    assert [len(layer.rows) for layer in layers] == [1, 1, 1, 1]
    for zone in layers:
        row = zone.rows[0]
        assert row["antal_brand"] == 4 and row["antal_totalt"] == 4
        assert row.get("antal_narkotika") is None and row.get("antal_ovrigt") is None
        assert zone.name_of(row).endswith("– 4 rapporter (Brand 4)")
    zone = layers[0]
    # Every category is a column, the empty layer's too.
    assert {f"antal_{c}" for c in CATEGORIES} <= {f.name for f in zone.fields}


def test_a_period_count_is_the_sum_of_the_weeks_shown() -> None:
    """Issue 16: the period layers say no more than the weeks' counts: 4 reports one week and
    2 the next give 4 over the period, not 6 (which, less the 4 shown, would give the
    suppressed week's 2 away); a zone with 1 + 1 + 1 in three weeks is not in them at all."""
    base = records(1)[0]
    station, other = zones()[0], zones()[1]
    at, elsewhere = station[2].representative_point(), other[2].representative_point()
    monday = datetime(2026, 10, 5, 20, tzinfo=UTC)
    recs = [
        replace(base, category="brand", lon=at.x, lat=at.y, observed_at=monday + timedelta(days=d))
        for d in (0, 1, 2, 3, 7, 8)
    ] + [
        replace(
            base,
            category="brand",
            lon=elsewhere.x,
            lat=elsewhere.y,
            observed_at=monday + timedelta(days=d),
        )
        for d in (0, 7, 14)
    ]
    agg = partner_aggregates(recs, zones=[station, other])
    zone, _cell, weekly, _cells = ml.partner_layers(agg, since=PERIOD[0], until=PERIOD[1])
    assert [(r["zon"], r["antal_brand"], r["antal_totalt"]) for r in zone.rows] == [
        (station[0], 4, 4)
    ]
    assert [(r["period"], r["antal_brand"]) for r in weekly.rows] == [("2026-W41", 4)]
    assert zone.rows[0]["period_fran"] == PERIOD[0] and zone.rows[0]["period_till"] == PERIOD[1]


def _decimals(value: float) -> int:
    text = repr(float(value))
    assert "e" not in text, text
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
def test_every_format_has_one_coordinate_precision(
    fmt: str, partner_layers: list[Layer], partner_files: dict[str, Path]
) -> None:
    """Issue 16: six decimals of a degree (≈ 0.1 m) in every file, as in the API's GeoJSON."""
    path = partner_files[fmt]
    assert COORD_DECIMALS == WGS84_DECIMALS == GEOJSON_DECIMALS == 6
    values: list[float] = []
    if fmt in ("gpkg", "shp", "geojson"):
        for layer in partner_layers:
            source = {
                "gpkg": str(path),
                "shp": f"/vsizip/{path}/{layer.name}.shp",
                "geojson": f"/vsizip/{path}/{layer.name}.geojson",
            }[fmt]
            frame = pyogrio.read_dataframe(source, layer=layer.name if fmt == "gpkg" else None)
            xy = shapely.get_coordinates(frame.geometry.to_numpy())
            original = shapely.get_coordinates([r["geometry"] for r in layer.rows])
            assert len(xy) and np.abs(xy - np.round(xy, 6)).max() == 0, layer.name
            if layer.geometry_type.endswith("Point"):  # the same vertices, rounded
                assert np.abs(xy - original).max() <= 5.1e-7
            values += xy.ravel().tolist()
        if fmt == "geojson":  # and in the text: no more digits than six
            with zipfile.ZipFile(path) as zf:
                fc = json.loads(zf.read("avvikelser_ruta.geojson"))
            values = (
                shapely.get_coordinates(
                    [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
                )
                .ravel()
                .tolist()
            )
    elif fmt == "kml":
        text = path.read_text(encoding="utf-8")
        numbers = re.findall(r"<coordinates>([^<]*)</coordinates>", text)
        digits = {len(v.split(".")[1]) for c in numbers for p in c.split() for v in p.split(",")}
        assert digits == {6}
        return
    else:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        digits = {len(r[k].split(".")[1]) for r in rows for k in ("centre_lon", "centre_lat")}
        assert digits == {6}
        return
    assert values and max(_decimals(v) for v in values) <= 6


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "shp", "csv"])
def test_empty_layers_keep_their_fields(fmt: str, tmp_path: Path) -> None:
    """Issue 16: a layer without rows keeps its fields in every format, read back with GDAL
    (GeoJSON has no schema: its ``fields`` member; KML: its ``<Schema>``)."""
    layers = [
        *ml.partner_layers(partner_aggregates([], zones=zones()), since=PERIOD[0], until=PERIOD[1]),
        ml.hotspots_layer(_fc([])),
        ml.isopleths_layer(_fc([])),
    ]
    path = tmp_path / f"empty.{EXTENSIONS[fmt]}"
    assert set(export.write(layers, fmt, path, metadata=METADATA).values()) == {0}
    if fmt == "csv":
        info = pyogrio.read_info(path)
        expected = [f.name for f in export.csv_layer(layers).fields]
        assert list(info["fields"]) == expected + ["centre_lon", "centre_lat"]
        assert "antal_skadegorelse" in expected and info["features"] == 0
        return
    for layer in layers:
        names = [f.name for f in layer.fields]
        if fmt == "gpkg":
            info = pyogrio.read_info(path, layer=layer.name)
            assert list(info["fields"]) == names and info["features"] == 0
            assert info["geometry_type"] == layer.geometry_type
        elif fmt == "shp":
            info = pyogrio.read_info(f"/vsizip/{path}/{layer.name}.shp")
            short = short_field_names(names)
            assert list(info["fields"]) == [short[n] for n in names] and info["features"] == 0
            kinds = dict(zip(info["fields"], info["ogr_types"], strict=True))
            ints = [short[f.name] for f in layer.fields if f.type == "int"]
            assert ints and all(kinds[n] == "OFTInteger" for n in ints)
        elif fmt == "geojson":
            with zipfile.ZipFile(path) as zf:
                fc = json.loads(zf.read(f"{layer.name}.geojson"))
            assert fc["features"] == [] and [f["name"] for f in fc["fields"]] == names
            types = {f["name"]: f["type"] for f in fc["fields"]}
            assert all(types[f.name] == "Integer" for f in layer.fields if f.type == "int")
            assert pyogrio.read_info(f"/vsizip/{path}/{layer.name}.geojson")["features"] == 0
        else:
            doc = ET.parse(path).getroot().find(f"{KML}Document")
            assert doc is not None
            schema = next(s for s in doc.findall(f"{KML}Schema") if s.get("name") == layer.name)
            fields = [f.get("name") for f in schema.findall(f"{KML}SimpleField")]
            assert fields == names
    if fmt == "kml":
        assert {str(n) for n, _ in pyogrio.list_layers(path)} >= {
            layer.title_sv for layer in layers
        }
