"""Layer styles of the exports: colours, Swedish legend labels, QGIS QML and KML colours.

One `LayerStyle` per layer drives every format: the QML in a GeoPackage's ``layer_styles`` table
(QGIS opens the layer styled), the ``<Style>`` elements of KML and the legend of the meeting
report's map. A style is a single symbol, or categorised by one field with a colour and a Swedish
label per value (deviation categories, hot-spot classes, isopleth levels, place kinds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from geo.hotspots import CLASS_COLOURS, class_label

# The deviation categories as migration 0002 seeds them: code -> (Swedish name, colour). The API
# should pass the database's current rows (admins may change them); these are the fallback.
CATEGORIES: dict[str, tuple[str, str]] = {
    "skadegorelse": ("Skadegörelse", "#d62728"),
    "narkotika": ("Narkotika", "#9467bd"),
    "ungdomar_samlas": ("Ungdomar samlas", "#ff7f0e"),
    "hot_vald": ("Hot/våld", "#8b0000"),
    "trasig_belysning": ("Trasig belysning", "#bcbd22"),
    "nedskrapning": ("Nedskräpning", "#8c564b"),
    "brand": ("Brand", "#ff4500"),
    "otrygg_plats": ("Otrygg plats", "#1f77b4"),
    "ovrigt": ("Övrigt", "#7f7f7f"),
}
UNKNOWN_COLOUR = "#7f7f7f"
# The heat map's ColorBrewer YlOrRd, one shade per isopleth (the innermost 50 % the darkest).
ISOPLETH_COLOURS = {90: "#fed976", 75: "#fd8d3c", 50: "#e31a1c"}

_QML_GEOMETRY = {
    "point": ("marker", "SimpleMarker", 0),
    "line": ("line", "SimpleLine", 1),
    "polygon": ("fill", "SimpleFill", 2),
}


@dataclass(frozen=True)
class StyleClass:
    """One value of a categorised style: the field's value, its colour and Swedish label."""

    value: str | int
    colour: str
    label_sv: str


@dataclass(frozen=True)
class LayerStyle:
    """How a layer is drawn.

    ``colour`` fills polygons and points and draws lines (and is the fallback of a categorised
    style); ``stroke`` outlines polygons and points. ``fill_opacity`` 0 draws outlines only.
    With ``categorised_by`` each of ``classes`` gives the colour of rows with that value.
    """

    colour: str = "#6a3d9a"
    stroke: str = "#333333"
    fill_opacity: float = 0.35
    stroke_width_mm: float = 0.4
    size_mm: float = 2.4
    categorised_by: str | None = None
    classes: tuple[StyleClass, ...] = ()

    def colour_of(self, value: object) -> str:
        """The colour of rows whose ``categorised_by`` field is ``value``."""
        for c in self.classes:
            if c.value == value:
                return c.colour
        return self.colour


def category_style(
    field: str = "kategori", categories: Mapping[str, tuple[str, str]] | None = None
) -> LayerStyle:
    """Deviation layers: one colour per category, as on the situation map."""
    cats = CATEGORIES if categories is None else categories
    return LayerStyle(
        colour=UNKNOWN_COLOUR,
        stroke="#ffffff",
        fill_opacity=0.6,
        categorised_by=field,
        classes=tuple(StyleClass(code, colour, name) for code, (name, colour) in cats.items()),
    )


def hotspot_style(field: str = "klass") -> LayerStyle:
    """Gi* classes in ArcGIS's colours with Swedish labels (``Het punkt 99 %`` …).

    >>> [c.label_sv for c in hotspot_style().classes][:2]
    ['Het punkt 99 %', 'Het punkt 95 %']
    """
    classes = tuple(
        StyleClass(c, colour, class_label(c))
        for c, colour in CLASS_COLOURS.items()
        if colour is not None
    )
    return LayerStyle(
        colour="#ffffff",
        stroke="#666666",
        fill_opacity=0.7,
        stroke_width_mm=0.2,
        categorised_by=field,
        classes=classes,
    )


def isopleth_style(field: str = "andel") -> LayerStyle:
    """Heat-map isopleths: the cells holding the top 50/75/90 % of the density."""
    classes = tuple(
        StyleClass(p, c, f"Högsta {p} % av tätheten") for p, c in sorted(ISOPLETH_COLOURS.items())
    )
    return LayerStyle(
        colour="#feb24c",
        stroke="#b10026",
        fill_opacity=0.45,
        stroke_width_mm=0.2,
        categorised_by=field,
        classes=classes,
    )


def geometry_family(geometry_type: str) -> str:
    """``point``, ``line`` or ``polygon`` for an OGC geometry type name.

    >>> geometry_family("MultiLineString")
    'line'
    """
    name = geometry_type.lower().removeprefix("multi")
    if name == "point":
        return "point"
    if name in ("linestring", "line"):
        return "line"
    if name == "polygon":
        return "polygon"
    raise ValueError(f"unsupported geometry type {geometry_type!r}")


def rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    """``#rrggbb`` and an opacity as 0–255 components.

    >>> rgba("#d62728", 0.5)
    (214, 39, 40, 128)
    """
    h = colour.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"colours must be #rrggbb; got {colour!r}")
    return (
        int(h[0:2], 16),
        int(h[2:4], 16),
        int(h[4:6], 16),
        round(max(0.0, min(1.0, opacity)) * 255),
    )


def kml_colour(colour: str, opacity: float = 1.0) -> str:
    """KML's ``aabbggrr`` hex for ``#rrggbb`` and an opacity.

    >>> kml_colour("#d62728", 0.5)
    '802827d6'
    """
    r, g, b, a = rgba(colour, opacity)
    return f"{a:02x}{b:02x}{g:02x}{r:02x}"


def qml(style: LayerStyle, *, geometry_type: str) -> str:
    """A QGIS layer style (QML) for ``style``: categorised or single symbol.

    Symbol properties are written both as ``<Option>`` maps (QGIS ≥ 3.26) and ``<prop>``
    elements (older 3.x), so current and long-term-release versions read it.

    >>> doc = ET.fromstring(qml(hotspot_style(), geometry_type="Polygon"))
    >>> doc.find("renderer-v2").get("type"), doc.find("renderer-v2").get("attr")
    ('categorizedSymbol', 'klass')
    >>> doc.find("renderer-v2/categories/category").attrib["type"]
    'long'
    """
    kind, symbol_class, geometry_code = _QML_GEOMETRY[geometry_family(geometry_type)]
    root = ET.Element("qgis", version="3.34.0-Prizren", styleCategories="Symbology")
    if style.categorised_by and style.classes:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            type="categorizedSymbol",
            attr=style.categorised_by,
            symbollevels="0",
            enableorderby="0",
            forceraster="0",
        )
        categories = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        for i, c in enumerate(style.classes):
            ET.SubElement(
                categories,
                "category",
                value=str(c.value),
                type="long" if isinstance(c.value, int) else "string",
                symbol=str(i),
                label=c.label_sv,
                render="true",
            )
            symbols.append(_qml_symbol(str(i), kind, symbol_class, c.colour, style))
        source = ET.SubElement(renderer, "source-symbol")
        source.append(_qml_symbol("0", kind, symbol_class, style.colour, style))
    else:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            type="singleSymbol",
            symbollevels="0",
            enableorderby="0",
            forceraster="0",
        )
        symbols = ET.SubElement(renderer, "symbols")
        symbols.append(_qml_symbol("0", kind, symbol_class, style.colour, style))
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    ET.SubElement(root, "layerGeometryType").text = str(geometry_code)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def _qml_symbol(
    name: str, kind: str, symbol_class: str, colour: str, style: LayerStyle
) -> ET.Element:
    def q(c: str, opacity: float = 1.0) -> str:
        return ",".join(str(v) for v in rgba(c, opacity))

    width = f"{style.stroke_width_mm:g}"
    if kind == "fill":
        props = {
            "color": q(colour, style.fill_opacity),
            "style": "solid",
            "outline_color": q(style.stroke),
            "outline_style": "solid",
            "outline_width": width,
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
        }
    elif kind == "line":
        props = {
            "line_color": q(colour),
            "line_style": "solid",
            "line_width": width,
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        }
    else:
        props = {
            "name": "circle",
            "color": q(colour),
            "outline_color": q(style.stroke),
            "outline_style": "solid",
            "outline_width": "0.2",
            "outline_width_unit": "MM",
            "size": f"{style.size_mm:g}",
            "size_unit": "MM",
        }
    symbol = ET.Element(
        "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    layer = ET.SubElement(
        symbol, "layer", {"class": symbol_class, "enabled": "1", "pass": "0", "locked": "0"}
    )
    options = ET.SubElement(layer, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(options, "Option", name=k, type="QString", value=v)
    for k, v in props.items():
        ET.SubElement(layer, "prop", k=k, v=v)
    return symbol
