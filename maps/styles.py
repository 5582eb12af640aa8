"""Layer styles of the exports: colours, Swedish legend labels, QGIS QML and KML colours.

One `LayerStyle` per layer drives every format: the QML in a GeoPackage's ``layer_styles`` table
(QGIS opens the layer styled), the ``<Style>`` elements of KML and the legend of the meeting
report's map. A style is a single symbol, categorised by one field with a colour and a Swedish
label per value (deviation categories, hot-spot classes, isopleth levels, place kinds), or
graduated by one numeric field with a colour per range (the partner layers' counts). A layer with
one feature per time bucket also says so (`TemporalStyle`), so that QGIS's temporal controller
steps through the periods instead of drawing every week's feature on top of each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    """One value of a categorised style: the field's value, its colour and Swedish label, and
    where a class is drawn unlike the others (a gone hot spot: a faint fill, a dashed outline)
    its own outline and fill opacity."""

    value: str | int
    colour: str
    label_sv: str
    stroke: str | None = None
    stroke_width_mm: float | None = None
    fill_opacity: float | None = None
    dashed: bool = False


@dataclass(frozen=True)
class StyleRange:
    """One range of a graduated style: ``lower`` ≤ value ≤ ``upper``, its colour and label."""

    lower: float
    upper: float
    colour: str
    label_sv: str

    def holds(self, value: object) -> bool:
        return isinstance(value, int | float) and self.lower <= value <= self.upper


@dataclass(frozen=True)
class TemporalStyle:
    """Each feature holds for ``days`` days from its ``start_field`` (a date)."""

    start_field: str
    days: int


@dataclass(frozen=True)
class LayerStyle:
    """How a layer is drawn.

    ``colour`` fills polygons and points and draws lines (and is the fallback of a categorised
    style); ``stroke`` outlines polygons and points. ``fill_opacity`` 0 draws outlines only.
    With ``categorised_by`` each of ``classes`` gives the colour of rows with that value; with
    ``graduated_by`` each of ``ranges`` the colour of rows whose value lies in it. ``temporal``
    makes QGIS show each feature only in its own period.
    """

    colour: str = "#6a3d9a"
    stroke: str = "#333333"
    fill_opacity: float = 0.35
    stroke_width_mm: float = 0.4
    size_mm: float = 2.4
    categorised_by: str | None = None
    classes: tuple[StyleClass, ...] = ()
    graduated_by: str | None = None
    ranges: tuple[StyleRange, ...] = ()
    temporal: TemporalStyle | None = None

    def colour_of(self, value: object) -> str:
        """The colour of rows whose ``categorised_by`` field is ``value``."""
        for c in self.classes:
            if c.value == value:
                return c.colour
        return self.colour

    def row_class(self, row: Mapping[str, object]) -> StyleClass | StyleRange | None:
        """The class or range a row is drawn with, None for the fallback colour."""
        if self.categorised_by:
            value = row.get(self.categorised_by)
            return next((c for c in self.classes if c.value == value), None)
        if self.graduated_by:
            value = row.get(self.graduated_by)
            return next((r for r in self.ranges if r.holds(value)), None)
        return None

    def row_colour(self, row: Mapping[str, object]) -> str:
        """The colour a row is drawn with, whatever kind of style this is."""
        found = self.row_class(row)
        return self.colour if found is None else found.colour

    def legend(self) -> list[tuple[str, str]]:
        """(colour, Swedish label) of each class or range; empty for a single symbol."""
        if self.categorised_by and self.classes:
            return [(c.colour, c.label_sv) for c in self.classes]
        if self.graduated_by and self.ranges:
            return [(r.colour, r.label_sv) for r in self.ranges]
        return []

    def renamed(self, names: Mapping[str, str]) -> LayerStyle:
        """The style with its fields renamed (a Shapefile's names cut to 10 characters)."""

        def new(name: str | None) -> str | None:
            return None if name is None else names.get(name, name)

        temporal = self.temporal
        if temporal is not None:
            temporal = TemporalStyle(
                names.get(temporal.start_field, temporal.start_field), temporal.days
            )
        return replace(
            self,
            categorised_by=new(self.categorised_by),
            graduated_by=new(self.graduated_by),
            temporal=temporal,
        )


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


# ColorBrewer Blues: unlike the hot spots' reds and the heat map's yellow to red.
COUNT_RANGES = ((3, 4, "#bdd7e7"), (5, 9, "#6baed6"), (10, 19, "#3182bd"), (20, 10**9, "#08519c"))


def count_style(
    field: str = "antal_totalt", *, start_field: str = "period_start", days: int | None = 7
) -> LayerStyle:
    """The partner count layers: one feature per zone or cell (and period), graduated by its
    total (3–4, 5–9, 10–19, 20 or more reports) in translucent blues; with ``days``, each
    feature shown in QGIS only in its own period of ``days`` days (its temporal controller steps
    through them), without (a layer of the whole period) always.

    >>> [r.label_sv for r in count_style().ranges]
    ['3–4 rapporter', '5–9 rapporter', '10–19 rapporter', '20 rapporter eller fler']
    """
    ranges = tuple(
        StyleRange(
            lo,
            hi,
            colour,
            f"{lo} rapporter eller fler" if hi >= 10**9 else f"{lo}–{hi} rapporter",
        )
        for lo, hi, colour in COUNT_RANGES
    )
    return LayerStyle(
        colour=UNKNOWN_COLOUR,
        stroke="#08306b",
        fill_opacity=0.45,
        stroke_width_mm=0.3,
        graduated_by=field,
        ranges=ranges,
        temporal=None if days is None else TemporalStyle(start_field, days),
    )


GONE_HOTSPOT = "forsvunnen"
"""The ``stil`` of a cell that was a hot spot in the previous period and is no longer one."""


def hotspot_class_key(cls: int, change: str) -> str:
    """The ``stil`` value of a hot-spot cell: its class, with ``_ny`` (new) or ``_kvar``
    (persistent) when compared with the previous period, or `GONE_HOTSPOT`.

    >>> [hotspot_class_key(3, "new"), hotspot_class_key(2, "persistent")]
    ['3_ny', '2_kvar']
    >>> hotspot_class_key(0, "gone")
    'forsvunnen'
    """
    if change == "gone":
        return GONE_HOTSPOT
    suffix = {"new": "_ny", "persistent": "_kvar"}.get(change, "")
    return f"{cls}{suffix}"


def hotspot_style(field: str = "stil") -> LayerStyle:
    """Gi* classes in ArcGIS's colours with Swedish labels (``Het punkt 99 %`` …), told apart
    by their change against the previous period: a new hot spot has a thick black outline, a
    persistent one a thin dark one, and a gone one (class 0, "försvunnen") a faint grey fill with
    a dashed outline, so that all three are drawn and in the legend (`hotspot_class_key`).

    >>> [c.label_sv for c in hotspot_style().classes][:3]
    ['Het punkt 99 %', 'Het punkt 99 % – ny', 'Het punkt 99 % – kvarstående']
    >>> hotspot_style().classes[-1].label_sv
    'Försvunnen het punkt'
    """
    classes: list[StyleClass] = []
    for c, colour in CLASS_COLOURS.items():
        if colour is None:
            continue
        classes.append(StyleClass(str(c), colour, class_label(c)))
        if c > 0:
            classes.append(
                StyleClass(
                    f"{c}_ny",
                    colour,
                    f"{class_label(c)} – ny",
                    stroke="#000000",
                    stroke_width_mm=0.8,
                )
            )
            classes.append(
                StyleClass(f"{c}_kvar", colour, f"{class_label(c)} – kvarstående", stroke="#444444")
            )
    classes.append(
        StyleClass(
            GONE_HOTSPOT,
            "#bdbdbd",
            "Försvunnen het punkt",
            stroke="#636363",
            stroke_width_mm=0.5,
            fill_opacity=0.2,
            dashed=True,
        )
    )
    return LayerStyle(
        colour="#ffffff",
        stroke="#666666",
        fill_opacity=0.7,
        stroke_width_mm=0.2,
        categorised_by=field,
        classes=tuple(classes),
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
    ('categorizedSymbol', 'stil')
    >>> doc.find("renderer-v2/categories/category").attrib["type"]
    'string'
    >>> doc = ET.fromstring(qml(isopleth_style(), geometry_type="Polygon"))
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
            symbols.append(_qml_symbol(str(i), kind, symbol_class, c.colour, style, c))
        source = ET.SubElement(renderer, "source-symbol")
        source.append(_qml_symbol("0", kind, symbol_class, style.colour, style))
    elif style.graduated_by and style.ranges:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            type="graduatedSymbol",
            attr=style.graduated_by,
            graduatedMethod="GraduatedColor",
            symbollevels="0",
            enableorderby="0",
            forceraster="0",
        )
        ranges = ET.SubElement(renderer, "ranges")
        symbols = ET.SubElement(renderer, "symbols")
        for i, r in enumerate(style.ranges):
            ET.SubElement(
                ranges,
                "range",
                lower=f"{r.lower:g}",
                upper=f"{r.upper:.0f}" if r.upper >= 1e6 else f"{r.upper:g}",
                symbol=str(i),
                label=r.label_sv,
                render="true",
            )
            symbols.append(_qml_symbol(str(i), kind, symbol_class, r.colour, style))
        source = ET.SubElement(renderer, "source-symbol")
        source.append(_qml_symbol("0", kind, symbol_class, style.colour, style))
        ET.SubElement(renderer, "mode", name="manual")
        ET.SubElement(renderer, "classificationMethod", id="Manual")
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
    if style.temporal is not None:
        # QgsVectorLayerTemporalProperties: mode 4 is start and end from expressions, limit
        # mode 0 includes the start and excludes the end, so one period shows at a time.
        root.set("styleCategories", "Symbology|Temporal")
        start = f'to_datetime("{style.temporal.start_field}")'
        ET.SubElement(
            root,
            "temporal",
            enabled="1",
            mode="4",
            startExpression=start,
            endExpression=f"{start} + to_interval('{style.temporal.days} days')",
            startField="",
            endField="",
            durationField="",
            durationUnit="min",
            fixedDuration="0",
            accumulate="0",
            limitMode="0",
        )
    ET.SubElement(root, "layerGeometryType").text = str(geometry_code)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def _looks(style: LayerStyle, c: StyleClass | None) -> tuple[str, float, float, bool]:
    """Outline colour, outline width (mm), fill opacity and dashes of a class of ``style``."""
    if c is None:
        return style.stroke, style.stroke_width_mm, style.fill_opacity, False
    return (
        c.stroke or style.stroke,
        style.stroke_width_mm if c.stroke_width_mm is None else c.stroke_width_mm,
        style.fill_opacity if c.fill_opacity is None else c.fill_opacity,
        c.dashed,
    )


def _qml_symbol(
    name: str,
    kind: str,
    symbol_class: str,
    colour: str,
    style: LayerStyle,
    cls: StyleClass | None = None,
) -> ET.Element:
    def q(c: str, opacity: float = 1.0) -> str:
        return ",".join(str(v) for v in rgba(c, opacity))

    stroke, stroke_mm, fill_opacity, dashed = _looks(style, cls)
    width = f"{stroke_mm:g}"
    if kind == "fill":
        props = {
            "color": q(colour, fill_opacity),
            "style": "solid",
            "outline_color": q(stroke),
            "outline_style": "dash" if dashed else "solid",
            "outline_width": width,
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
        }
    elif kind == "line":
        props = {
            "line_color": q(colour),
            "line_style": "dash" if dashed else "solid",
            "line_width": width,
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        }
    else:
        props = {
            "name": "circle",
            "color": q(colour),
            "outline_color": q(stroke),
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


_SLD = "http://www.opengis.net/sld"
_OGC = "http://www.opengis.net/ogc"


def sld(style: LayerStyle, *, geometry_type: str, layer_name: str, title: str = "") -> str:
    """The style as OGC SLD 1.0 (for GeoServer, ArcGIS Pro and QGIS's SLD import): a rule per
    class with a ``PropertyIsEqualTo`` filter and the class's Swedish title, and an
    ``ElseFilter`` rule with the fallback colour; a single rule for a single symbol.

    >>> doc = ET.fromstring(sld(hotspot_style(), geometry_type="Polygon", layer_name="hotspots"))
    >>> rules = doc.findall(".//{http://www.opengis.net/sld}Rule")
    >>> len(rules) == len(hotspot_style().classes) + 1
    True
    """
    ET.register_namespace("sld", _SLD)
    ET.register_namespace("ogc", _OGC)
    root = ET.Element(
        f"{{{_SLD}}}StyledLayerDescriptor",
        {"version": "1.0.0"},
    )
    named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    ET.SubElement(named, f"{{{_SLD}}}Name").text = layer_name
    user = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
    ET.SubElement(user, f"{{{_SLD}}}Name").text = layer_name
    ET.SubElement(user, f"{{{_SLD}}}Title").text = title or layer_name
    fts = ET.SubElement(user, f"{{{_SLD}}}FeatureTypeStyle")
    family = geometry_family(geometry_type)

    def rule(
        name: str,
        colour: str,
        cls: StyleClass | None,
        value: str | int | None,
        band: StyleRange | None = None,
    ) -> None:
        r = ET.SubElement(fts, f"{{{_SLD}}}Rule")
        ET.SubElement(r, f"{{{_SLD}}}Name").text = name
        ET.SubElement(r, f"{{{_SLD}}}Title").text = name
        if value is not None and style.categorised_by:
            f = ET.SubElement(r, f"{{{_OGC}}}Filter")
            eq = ET.SubElement(f, f"{{{_OGC}}}PropertyIsEqualTo")
            ET.SubElement(eq, f"{{{_OGC}}}PropertyName").text = style.categorised_by
            ET.SubElement(eq, f"{{{_OGC}}}Literal").text = str(value)
        elif band is not None and style.graduated_by:
            f = ET.SubElement(r, f"{{{_OGC}}}Filter")
            both = ET.SubElement(f, f"{{{_OGC}}}And")
            for tag, limit in (
                ("PropertyIsGreaterThanOrEqualTo", band.lower),
                ("PropertyIsLessThanOrEqualTo", band.upper),
            ):
                cmp = ET.SubElement(both, f"{{{_OGC}}}{tag}")
                ET.SubElement(cmp, f"{{{_OGC}}}PropertyName").text = style.graduated_by
                ET.SubElement(cmp, f"{{{_OGC}}}Literal").text = f"{limit:.0f}"
        elif style.legend():
            ET.SubElement(r, f"{{{_SLD}}}ElseFilter")
        stroke, width_mm, opacity, dashed = _looks(style, cls)
        # SLD sizes are pixels; at 96 dpi a millimetre is 3.78 pixels.
        width_px = f"{width_mm * 96 / 25.4:.2f}"

        def params(parent: ET.Element, tag: str, values: dict[str, str]) -> None:
            el = ET.SubElement(parent, f"{{{_SLD}}}{tag}")
            for k, v in values.items():
                ET.SubElement(el, f"{{{_SLD}}}CssParameter", name=k).text = v

        line = {"stroke": stroke, "stroke-width": width_px}
        if dashed:
            line["stroke-dasharray"] = "6 3"
        if family == "polygon":
            sym = ET.SubElement(r, f"{{{_SLD}}}PolygonSymbolizer")
            params(sym, "Fill", {"fill": colour, "fill-opacity": f"{opacity:g}"})
            params(sym, "Stroke", line)
        elif family == "line":
            sym = ET.SubElement(r, f"{{{_SLD}}}LineSymbolizer")
            params(sym, "Stroke", {**line, "stroke": colour})
        else:
            sym = ET.SubElement(r, f"{{{_SLD}}}PointSymbolizer")
            graphic = ET.SubElement(sym, f"{{{_SLD}}}Graphic")
            mark = ET.SubElement(graphic, f"{{{_SLD}}}Mark")
            ET.SubElement(mark, f"{{{_SLD}}}WellKnownName").text = "circle"
            params(mark, "Fill", {"fill": colour})
            params(mark, "Stroke", {"stroke": stroke, "stroke-width": "0.76"})
            ET.SubElement(graphic, f"{{{_SLD}}}Size").text = f"{style.size_mm * 96 / 25.4:.1f}"

    if style.categorised_by and style.classes:
        for c in style.classes:
            rule(c.label_sv, c.colour, c, c.value)
        rule("Övrigt", style.colour, None, None)
    elif style.graduated_by and style.ranges:
        for band in style.ranges:
            rule(band.label_sv, band.colour, None, None, band)
        rule("Övrigt", style.colour, None, None)
    else:
        rule(title or layer_name, style.colour, None, None)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
