"""Map layers for collaboration meetings: plain data, and the builders that make them.

A `Layer` is a name, a Swedish title, fields with types, rows with a shapely geometry in WGS 84
(EPSG:4326) and a `LayerStyle`. The builders (`partner_layers`, `detail_layer`, `areas_layer`, …)
make layers from what the store and the analysis return and keep only whitelisted properties, so
a layer cannot carry a property nobody chose; privacy itself (aggregation, suppression, no
reporter, no free text) happens before, in `geo.privacy`. `maps.export` writes them as files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import shapely
from shapely import Geometry

from geo.hotspots import COMPARE_LABELS, class_label
from geo.privacy import MIN_PARTNER_COUNT, CellCount, DetailRow, PartnerAggregates, ZoneCount
from geo.timeofweek import BUCKET_SV
from maps.places import PLACE_COLOURS, PLACE_KINDS_SV
from maps.styles import (
    CATEGORIES,
    LayerStyle,
    StyleClass,
    category_style,
    count_style,
    hotspot_class_key,
    hotspot_style,
    isopleth_style,
)

FieldType = Literal["str", "int", "float", "date", "datetime", "bool"]
GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = {"fid", "geom", "geometry", "id"}


@dataclass(frozen=True)
class Field:
    """A column of a layer: ASCII name, type and Swedish title."""

    name: str
    type: FieldType
    title_sv: str


@dataclass(frozen=True, eq=False)
class Layer:
    """One map layer: rows are dicts of field values plus ``"geometry"`` (shapely, WGS 84).

    ``placemark_name`` gives a row's readable Swedish name in KML; by default its ``namn`` field
    or the layer's title.
    """

    name: str
    title_sv: str
    geometry_type: str
    fields: tuple[Field, ...]
    rows: list[dict[str, Any]]
    style: LayerStyle = field(default_factory=LayerStyle)
    placemark_name: Callable[[Mapping[str, Any]], str] | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"layer name {self.name!r} must be lower-case ASCII: [a-z][a-z0-9_]*")
        if self.geometry_type not in GEOMETRY_TYPES:
            raise ValueError(f"geometry_type must be one of {GEOMETRY_TYPES}")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"layer {self.name}: duplicate field names")
        for f in self.fields:
            if not _NAME.match(f.name) or f.name in _RESERVED:
                raise ValueError(f"layer {self.name}: bad field name {f.name!r}")
            if f.type not in ("str", "int", "float", "date", "datetime", "bool"):
                raise ValueError(f"layer {self.name}: field {f.name} has unknown type {f.type!r}")

    def name_of(self, row: Mapping[str, Any]) -> str:
        if self.placemark_name is not None:
            return self.placemark_name(row)
        return str(row.get("namn") or self.title_sv)


# ---------------------------------------------------------------------------------------------
# Builders


def _category_name(code: str, categories: Mapping[str, tuple[str, str]]) -> str:
    return categories.get(code, (code, ""))[0]


def _reports(n: int) -> str:
    return f"{n} rapport" if n == 1 else f"{n} rapporter"


TOTAL_FIELD = "antal_totalt"


def count_field(code: str) -> str:
    """The column of a category's count in the partner layers (``antal_<code>``).

    >>> count_field("skadegorelse"), count_field("totalt")
    ('antal_skadegorelse', 'antal_kat_totalt')
    """
    name = f"antal_{code}"
    return f"antal_kat_{code}" if name == TOTAL_FIELD else name


PERIOD_LAYERS = ("avvikelser_zon", "avvikelser_ruta")
"""The partner count layers of the whole period: one feature per zone (or cell)."""


def bucket_layer_name(layer: str, bucket: str) -> str:
    """The name of the per-bucket layer beside a period layer.

    >>> bucket_layer_name("avvikelser_zon", "week"), bucket_layer_name("avvikelser_ruta", "night")
    ('avvikelser_zon_vecka', 'avvikelser_ruta_natt')
    """
    return f"{layer}_{BUCKET_SV[bucket]}"


def partner_layers(
    aggregates: PartnerAggregates,
    *,
    since: date,
    until: date,
    categories: Mapping[str, tuple[str, str]] | None = None,
) -> list[Layer]:
    """The partner profile's deviation layers, in the wide layout: a column of counts per
    category (``antal_<code>``, `count_field`) and their sum (``antal_totalt``), so that a
    zone's categories never stack as features on one geometry.

    ``avvikelser_zon`` and ``avvikelser_ruta`` have one feature per zone (or 250 m cell) for
    the whole period ``since``–``until`` (inclusive days); ``avvikelser_zon_vecka`` and
    ``avvikelser_ruta_vecka`` (``_natt`` for nights: `bucket_layer_name`) one per zone (or cell)
    and time bucket. A bucket's count under the profile's minimum stays empty (as in
    `geo.privacy`, it may be 0, 1 or 2: it is never told apart from none), and a period count
    is the sum of the counts its buckets show, so that nothing here says more than the
    buckets' counts (`/api/v1/deviation-aggregates`) say: a period count made from every
    report would, less the buckets shown, tell how many reports lie in the buckets left out.
    ``antal_totalt`` sums the counts shown, so no suppressed count can be worked out from it
    either. A zone or cell without any count shown is left out. The columns are every category
    of ``categories`` (code → (Swedish name, colour), as the ``deviation_categories`` table;
    `maps.styles.CATEGORIES` when None) and any other code counted, so an export without
    reports keeps them too.
    """
    cats = CATEGORIES if categories is None else categories
    counted = {r.category for r in aggregates.zone_counts} | {
        r.category for r in aggregates.cell_counts
    }
    codes = list(cats) + sorted(counted - set(cats))
    buckets = "veckornas" if aggregates.bucket == "week" else "nätternas"

    def count_fields(note: str) -> tuple[Field, ...]:
        return tuple(
            Field(count_field(code), "int", f"Antal: {_category_name(code, cats)} ({note})")
            for code in codes
        )

    small = f"tomt: färre än {aggregates.min_count}"
    total = Field(TOTAL_FIELD, "int", "Antal rapporter (summan av de visade antalen)")
    bucket_fields = (
        Field("period_typ", "str", "Tidsindelning"),
        Field("period", "str", "Period"),
        Field("period_start", "date", "Periodens första dag"),
        *count_fields(small),
        total,
    )
    period_fields = (
        Field("period_fran", "date", "Periodens första dag"),
        Field("period_till", "date", "Periodens sista dag"),
        *count_fields(f"summan av {buckets} antal; {buckets} under {aggregates.min_count} tomma"),
        total,
    )

    def place_of(r: ZoneCount | CellCount) -> dict[str, Any]:
        if isinstance(r, ZoneCount):
            return {"zon": r.zone, "zon_namn": r.zone_name}
        return {"ruta": r.cell}

    def pivot(
        counts: Sequence[ZoneCount] | Sequence[CellCount], *, per_bucket: bool
    ) -> list[dict[str, Any]]:
        rows: dict[tuple[str, date | None], dict[str, Any]] = {}
        for r in counts:
            place = r.zone if isinstance(r, ZoneCount) else r.cell
            key = (place, r.period_start if per_bucket else None)
            row = rows.get(key)
            if row is None:
                when: dict[str, Any] = (
                    {
                        "period_typ": BUCKET_SV[r.bucket],
                        "period": r.period,
                        "period_start": r.period_start,
                    }
                    if per_bucket
                    else {"period_fran": since, "period_till": until}
                )
                row = {**place_of(r), **when, TOTAL_FIELD: 0, "geometry": r.geometry}
                rows[key] = row
            name = count_field(r.category)
            row[name] = (row.get(name) or 0) + r.count
            row[TOTAL_FIELD] += r.count
        return list(rows.values())

    def label(row: Mapping[str, Any]) -> str:
        parts = [
            f"{_category_name(code, cats)} {row[count_field(code)]}"
            for code in codes
            if row.get(count_field(code)) is not None
        ]
        when = (
            f"{row['period_typ']} {row['period']}"
            if "period" in row
            else f"{row['period_fran']} – {row['period_till']}"
        )
        text = f"{when} – {_reports(row[TOTAL_FIELD])} ({', '.join(parts)})"
        return f"{row['zon_namn']}: {text}" if "zon_namn" in row else text

    cell = f"{aggregates.cell_m:g} m"
    days = 7 if aggregates.bucket == "week" else 1
    per = "vecka" if aggregates.bucket == "week" else "natt"
    zone_fields = (Field("zon", "str", "Zon (kod)"), Field("zon_namn", "str", "Zon"))
    cell_fields = (Field("ruta", "str", f"Ruta ({cell}, SWEREF 99 TM)"),)
    zone_layer, cell_layer = PERIOD_LAYERS
    places = (
        (
            zone_layer,
            "Avvikelser per samverkanszon",
            "MultiPolygon",
            zone_fields,
            aggregates.zone_counts,
        ),
        (
            cell_layer,
            f"Avvikelser per ruta ({cell})",
            "Polygon",
            cell_fields,
            aggregates.cell_counts,
        ),
    )
    # The period layers first, then those per bucket (shown one week or night at a time).
    return [
        Layer(
            bucket_layer_name(name, aggregates.bucket) if per_bucket else name,
            f"{title} och {per}" if per_bucket else title,
            kind,
            (*fields, *(bucket_fields if per_bucket else period_fields)),
            pivot(counts, per_bucket=per_bucket),
            count_style(days=days if per_bucket else None),
            label,
        )
        for per_bucket in (False, True)
        for name, title, kind, fields, counts in places
    ]


def detail_layer(
    rows: Sequence[DetailRow],
    *,
    include_descriptions: bool = False,
    categories: Mapping[str, tuple[str, str]] | None = None,
) -> Layer:
    """The detail profile's ``avvikelser``: one point per report, never the reporter.

    The ``beskrivning`` field exists only with ``include_descriptions``.
    """
    cats = CATEGORIES if categories is None else categories
    fields = [
        Field("rapport", "str", "Rapport-id"),
        Field("kategori", "str", "Kategori (kod)"),
        Field("kategori_namn", "str", "Kategori"),
        Field("observerad", "datetime", "Observerad (UTC)"),
        Field("datum", "date", "Datum (lokal tid)"),
        Field("allvarlighet", "int", "Allvarlighetsgrad (1–3)"),
    ]
    if include_descriptions:
        fields.append(Field("beskrivning", "str", "Beskrivning"))
    out = []
    for r in rows:
        row: dict[str, Any] = {
            "rapport": r.id,
            "kategori": r.category,
            "kategori_namn": _category_name(r.category, cats),
            "observerad": r.observed_at,
            "datum": r.local_date,
            "allvarlighet": r.severity,
            "geometry": shapely.Point(r.lon, r.lat),
        }
        if include_descriptions:
            row["beskrivning"] = r.description
        out.append(row)
    return Layer(
        "avvikelser",
        "Avvikelser (enskilda rapporter)",
        "Point",
        tuple(fields),
        out,
        category_style(categories=cats),
        lambda row: f"{row['kategori_namn']} – {row['datum']}",
    )


def _features(fc: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Geometry]]:
    return [
        (f.get("properties") or {}, shapely.geometry.shape(f["geometry"]))
        for f in fc.get("features", [])
        if f.get("geometry")
    ]


def areas_layer(fc: Mapping[str, Any]) -> Layer:
    """``omraden`` from the areas FeatureCollection (slug, name, area_km2)."""
    rows = [
        {"slug": p.get("slug"), "namn": p.get("name"), "yta_km2": p.get("area_km2"), "geometry": g}
        for p, g in _features(fc)
    ]
    return Layer(
        "omraden",
        "Stadsdelar",
        "MultiPolygon",
        (
            Field("slug", "str", "Kod"),
            Field("namn", "str", "Stadsdel"),
            Field("yta_km2", "float", "Yta (km²)"),
        ),
        rows,
        LayerStyle(colour="#333333", stroke="#333333", fill_opacity=0.0, stroke_width_mm=0.6),
    )


def zones_layer(fc: Mapping[str, Any]) -> Layer:
    """``samverkanszoner`` from the zones FeatureCollection (slug, name, area)."""
    rows = [
        {"slug": p.get("slug"), "namn": p.get("name"), "omrade": p.get("area"), "geometry": g}
        for p, g in _features(fc)
    ]
    return Layer(
        "samverkanszoner",
        "Platssamverkanszoner",
        "MultiPolygon",
        (
            Field("slug", "str", "Kod"),
            Field("namn", "str", "Zon"),
            Field("omrade", "str", "Stadsdel"),
        ),
        rows,
        LayerStyle(colour="#6a3d9a", stroke="#6a3d9a", fill_opacity=0.15, stroke_width_mm=0.6),
    )


def places_layer(fc: Mapping[str, Any]) -> Layer:
    """``platser`` from the places FeatureCollection (name, kind)."""
    rows = [
        {
            "namn": p.get("name"),
            "typ": p.get("kind"),
            "typ_namn": PLACE_KINDS_SV.get(str(p.get("kind")), p.get("kind")),
            "geometry": g,
        }
        for p, g in _features(fc)
    ]
    style = LayerStyle(
        colour=PLACE_COLOURS["other"],
        stroke="#ffffff",
        categorised_by="typ",
        classes=tuple(StyleClass(k, c, PLACE_KINDS_SV[k]) for k, c in PLACE_COLOURS.items()),
    )
    return Layer(
        "platser",
        "Platser",
        "Point",
        (
            Field("namn", "str", "Namn"),
            Field("typ", "str", "Typ (kod)"),
            Field("typ_namn", "str", "Typ"),
        ),
        rows,
        style,
    )


def routes_layer(fc: Mapping[str, Any]) -> Layer:
    """``rutter`` (walk routes) from a routes FeatureCollection; only the name is kept."""
    rows = [{"namn": p.get("name"), "geometry": g} for p, g in _features(fc)]
    return Layer(
        "rutter",
        "Nattvandringsrutter",
        "MultiLineString",
        (Field("namn", "str", "Rutt"),),
        rows,
        LayerStyle(colour="#00796b", stroke_width_mm=0.8),
    )


def tracks_layer(fc: Mapping[str, Any]) -> Layer:
    """``gangna_spar`` (walked tracks): properties ``date`` (ISO date), ``walkers``, ``route``.

    Only the date is kept of the time: the partner profile shows no exact times.
    """
    rows = [
        {
            "datum": as_date(p.get("date")),
            "vandrare": p.get("walkers"),
            "rutt": p.get("route"),
            "geometry": g,
        }
        for p, g in _features(fc)
    ]
    return Layer(
        "gangna_spar",
        "Gångna spår",
        "MultiLineString",
        (
            Field("datum", "date", "Datum"),
            Field("vandrare", "int", "Antal vandrare"),
            Field("rutt", "str", "Rutt"),
        ),
        rows,
        LayerStyle(colour="#1565c0", stroke_width_mm=0.5),
        lambda row: f"Nattvandring {row['datum']}",
    )


def isopleths_layer(fc: Mapping[str, Any]) -> Layer:
    """``varmekarta`` from `geo.isopleths.isopleths_geojson` (percent, threshold, unit)."""
    rows = [
        {
            "andel": int(round(float(p["percent"]))),
            "troskel": p.get("threshold"),
            "enhet": "rapporter per km² och vecka",
            "geometry": g,
        }
        for p, g in _features(fc)
    ]
    return Layer(
        "varmekarta",
        "Värmekarta (isopleter)",
        "MultiPolygon",
        (
            Field("andel", "int", "Andel av tätheten (%)"),
            Field("troskel", "float", "Täthet vid gränsen"),
            Field("enhet", "str", "Enhet"),
        ),
        rows,
        isopleth_style(),
        lambda row: f"Högsta {row['andel']} % av tätheten",
    )


def hotspots_layer(
    fc: Mapping[str, Any],
    *,
    changes: Sequence[str] | None = None,
    min_count: int = MIN_PARTNER_COUNT,
) -> Layer:
    """``hotspots`` from `geo.hotspots.hotspots_geojson`: the significant cells.

    ``changes``, one per feature, is ``new``/``persistent``/``gone``/"" from
    `geo.hotspots.compare`; a cell that is no longer hot is kept when it is ``gone``. A cell's
    report count under ``min_count`` is left empty (the partner profile's rule; pass 0 for
    planners).
    """
    rows = []
    for i, (p, g) in enumerate(_features(fc)):
        cls = int(p["class"])
        change = changes[i] if changes is not None else ""
        if cls == 0 and change != "gone":
            continue
        count = None if p.get("count") is None else int(round(float(p["count"])))
        rows.append(
            {
                "klass": cls,
                "klass_namn": class_label(cls),
                "antal": count if count is not None and count >= min_count else None,
                "z": p.get("z"),
                "forandring": COMPARE_LABELS.get(change, ""),
                "stil": hotspot_class_key(cls, change),
                "geometry": g,
            }
        )

    def label(row: Mapping[str, Any]) -> str:
        n = row["antal"]
        return row["klass_namn"] if n is None else f"{row['klass_namn']} – {_reports(n)}"

    fields = (
        Field("klass", "int", "Klass (−3…3)"),
        Field("klass_namn", "str", "Klass"),
        Field("antal", "int", "Antal rapporter i cellen"),
        Field("z", "float", "Gi* z"),
        Field("forandring", "str", "Jämfört med föregående period"),
        Field("stil", "str", "Stilklass (klass och förändring)"),
    )
    return Layer(
        "hotspots", "Hot spots (Getis-Ord Gi*)", "Polygon", fields, rows, hotspot_style(), label
    )


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------------------------------------
# Values and geometries
