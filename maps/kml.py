"""KML 2.2 documents of map layers (`maps.layers`): styles per category, a folder per layer.

Pure: layers in, an `xml.etree.ElementTree.ElementTree` out; `maps.export.write_kml` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import shapely
from shapely import Geometry

from maps.formatting import (
    COORD_DECIMALS,
    as_text,
    check_unique_names,
    metadata_items,
    prepared_geometries,
)
from maps.layers import Layer
from maps.styles import StyleClass, geometry_family, kml_colour

KML_NS = "http://www.opengis.net/kml/2.2"
# KML 2.2's SimpleField types (dates and times are ISO text).
_KML_TYPES = {
    "str": "string",
    "int": "int",
    "float": "double",
    "date": "string",
    "datetime": "string",
    "bool": "bool",
}


def kml_document(
    layers: Sequence[Layer],
    *,
    metadata: Mapping[str, Any] | None = None,
    title: str = "Nattvandring",
) -> ET.ElementTree:
    """KML 2.2: a ``<Style>`` per category or hot-spot class, a ``<Folder>`` per layer.

    Placemarks have readable Swedish names (e.g. ``Skadegörelse – vecka 2026-W47 – 4
    rapporter``), their fields as ``<ExtendedData>`` with Swedish display names, and lon,lat
    coordinates. The XML library does the escaping.
    """
    check_unique_names(layers)
    # Unprefixed tags: the root's default namespace applies to every element.
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = title
    items = metadata_items(metadata)
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
        # Each layer's fields as a KML <Schema> (after ExtendedData, before the folders, as the
        # schema orders them), so that a folder without placemarks still says what it holds.
        schema = ET.SubElement(doc, "Schema", name=layer.name, id=f"{layer.name}-fields")
        for f in layer.fields:
            field = ET.SubElement(schema, "SimpleField", name=f.name, type=_KML_TYPES[f.type])
            ET.SubElement(field, "displayName").text = f.title_sv
    for layer in layers:
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = layer.title_sv
        geoms = prepared_geometries(layer)
        for row, geom in zip(layer.rows, geoms, strict=True):
            pm = ET.SubElement(folder, "Placemark")
            ET.SubElement(pm, "name").text = layer.name_of(row)
            ET.SubElement(pm, "styleUrl").text = "#" + _kml_style_id(layer, row)
            ext = ET.SubElement(pm, "ExtendedData")
            for f in layer.fields:
                data = ET.SubElement(ext, "Data", name=f.name)
                ET.SubElement(data, "displayName").text = f.title_sv
                ET.SubElement(data, "value").text = as_text(row.get(f.name))
            pm.append(_kml_geometry(geom))
    return ET.ElementTree(root)


def _kml_style_id(layer: Layer, row: Mapping[str, Any]) -> str:
    found = layer.style.row_class(row)
    if isinstance(found, StyleClass):
        return f"{layer.name}-{found.value}"
    if found is not None:
        return f"{layer.name}-r{layer.style.ranges.index(found)}"
    return layer.name


def _kml_styles(layer: Layer) -> list[tuple[str, str]]:
    styles = [(layer.name, layer.style.colour)]
    if layer.style.categorised_by:
        styles += [(f"{layer.name}-{c.value}", c.colour) for c in layer.style.classes]
    elif layer.style.graduated_by:
        styles += [(f"{layer.name}-r{i}", r.colour) for i, r in enumerate(layer.style.ranges)]
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
