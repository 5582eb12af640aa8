"""The collection catalogue of the feature service: one table of collection descriptors.

As tipg keeps a catalogue of `Collection` models (id, title, geometry and datetime columns) and
serves every collection through the same ``features()`` method, each entry of `CATALOGUE` is a
`Collection` descriptor: its id, Swedish title, geometry type, whether it has time, who may see
it (a `Capability`, or any signed-in user, or anyone), and the source that reads its Features.
No source writes SQL of its own: each calls the store function (or the analysis) that the rest
of the API calls for the same layer, so that the viewer rules, the one Feature builder
(`geo.db.queries.feature_sql`) and the privacy rules (partners: aggregates, k ≥ 3) are the
API's. A viewer who may not see a collection gets a 404 for it, as for a collection that does
not exist, so that its existence does not leak (`visible`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import mapping, shape

from api import meeting
from api.ogc.query import Interval
from geo import isopleths
from geo.analysis import HeatParams, HotspotParams, Window, heat_map, hotspot_map
from geo.capabilities import Capability
from geo.db import areas, categories, deviations, walk_routes, walks
from geo.db.accounts import User
from geo.db.deviations import Viewer
from geo.db.guarded import Connections
from geo.errors import NotFound
from geo.geometry import BBox
from geo.hotspots import COMPARE_LABELS
from maps.layers import Layer, partner_layers

ANALYSIS_DAYS = 90
"""The period of the computed collections (hot spots, isopleths, aggregates) without
``datetime``: the last 90 days, as the API's heat maps."""
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@dataclass(frozen=True)
class SourceQuery:
    """What a source is asked for: who reads, the lon/lat box, the time interval, the page,
    the area (for the collections of one area)."""

    user: User | None
    bbox: BBox | None = None
    interval: Interval | None = None
    limit: int | None = None
    offset: int = 0
    area: str | None = None
    """The ``area`` parameter; None: every area (or `default_area` for one-area analyses)."""
    default_area: str = "solberga"

    @property
    def one_area(self) -> str:
        """The area of a collection computed for one area (hot spots, counts)."""
        return self.area or self.default_area

    @property
    def viewer(self) -> Viewer:
        assert self.user is not None
        return Viewer.of(self.user)


@dataclass(frozen=True)
class Page:
    """A page of Features (CRS84 GeoJSON dicts, each with an ``id``) and how many match."""

    features: list[dict[str, Any]]
    number_matched: int
    synthetic: bool = False
    """Made from synthetic demo data (the answer then says so: `SYNTHETIC_NOTE`)."""


Source = Callable[[Connections, SourceQuery], Page]
ItemSource = Callable[[Connections, SourceQuery, str], dict[str, Any]]


@dataclass(frozen=True)
class Collection:
    """One collection of the catalogue (tipg's `Collection`, without its SQL)."""

    id: str
    title: str
    description: str
    geometry_type: str
    source: Source
    needs: Capability | None = None
    """The capability a viewer needs; None: every signed-in user (or anyone, `public`)."""
    public: bool = False
    """Readable without signing in (the API's areas, zones and places)."""
    temporal: str | None = None
    """The property that ``datetime`` filters (None: ``datetime`` is accepted and ignored)."""
    default_days: int | None = None
    """Without ``datetime``: the last this many days (the computed collections)."""
    params: frozenset[str] = field(default_factory=frozenset)
    """Query parameters of its own (``area``), besides those of Part 1 and Part 2."""
    item: ItemSource | None = None
    """One Feature by id; by default the source's Features searched for it."""
    properties: tuple[tuple[str, str], ...] = ()
    """(name, JSON type) of its properties, for clients that read a schema."""

    def visible_to(self, user: User | None) -> bool:
        if self.public:
            return True
        if user is None:
            return False
        return self.needs is None or user.can(self.needs)


# -- helpers: the whole of a small layer, filtered and paged here ---------------------------------


def _page(
    features: list[dict[str, Any]], q: SourceQuery, *, filter_bbox: bool, synthetic: bool = False
) -> Page:
    """A page of a layer read whole (tens or hundreds of Features), with the bbox filter when
    its store function has none."""
    if filter_bbox and q.bbox is not None:
        box = shapely.box(*q.bbox.as_tuple())
        features = [
            f for f in features if f.get("geometry") and shape(f["geometry"]).intersects(box)
        ]
    end = None if q.limit is None else q.offset + q.limit
    synthetic = synthetic or any(
        (f.get("properties") or {}).get("synthetic") is True for f in features
    )
    return Page(features[q.offset : end], len(features), synthetic)


def _features(text_or_fc: str | dict[str, Any]) -> list[dict[str, Any]]:
    fc = json.loads(text_or_fc) if isinstance(text_or_fc, str) else text_or_fc
    return list(fc["features"])


def _window(q: SourceQuery, days: int) -> tuple[datetime, datetime]:
    """The interval asked for, or the last ``days`` days; an open end is now or ``days``
    before the other end. An instant (``datetime=2026-11-20T23:00:00Z``) is the ``days`` days
    up to it, as ``../2026-11-20T23:00:00Z``: the collection's default period, ending then (a
    heat map or a count of one microsecond would say nothing)."""
    now = datetime.now(UTC)
    if q.interval is not None and q.interval.start is not None:
        if q.interval.start == q.interval.end:
            end = q.interval.until_exclusive()
            assert end is not None
            return q.interval.start - timedelta(days=days), end
    start = q.interval.start if q.interval else None
    end = q.interval.until_exclusive() if q.interval else None
    end = end or now
    start = start or end - timedelta(days=days)
    return start, end


def _local_day(moment: datetime) -> date:
    return moment.astimezone(STOCKHOLM).date()


# -- sources ---------------------------------------------------------------------------------


def _areas(db: Connections, q: SourceQuery) -> Page:
    with db.connection() as conn:
        return _page(_features(areas.areas_geojson(conn, bbox=q.bbox)), q, filter_bbox=False)


def _zones(db: Connections, q: SourceQuery) -> Page:
    with db.connection() as conn:
        fc = areas.zones_geojson(conn, bbox=q.bbox, area=q.area)
    return _page(_features(fc), q, filter_bbox=False)


def _places(db: Connections, q: SourceQuery) -> Page:
    with db.connection() as conn:
        fc = areas.places_geojson(conn, bbox=q.bbox, area=q.area)
    return _page(_features(fc), q, filter_bbox=False)


def _walk_routes(db: Connections, q: SourceQuery) -> Page:
    with db.connection() as conn:
        fc = walk_routes.list_routes(conn, area=q.area)
    return _page(_features(fc), q, filter_bbox=True)


_WALK_KEYS = (
    "status",
    "planned_start",
    "planned_end",
    "walkers_needed",
    "signed_up",
    "walkers",
    "reported",
    "synthetic",
)


def _walk_feature(w: dict[str, Any]) -> dict[str, Any]:
    """A walk as a Feature at its meeting point: when, where and how many; no one's name."""
    route = w.get("route") or {}
    place = w.get("meeting_place") or {}
    return {
        "type": "Feature",
        "id": w["id"],
        "geometry": w.get("meeting_point"),
        "properties": {
            "id": w["id"],
            "organisation": w["organisation"]["name"],
            "area": w.get("area"),
            "meeting_place": place.get("name"),
            "route_id": route.get("id"),
            "route": route.get("name"),
            **{k: w.get(k) for k in _WALK_KEYS},
        },
    }


def _walks(db: Connections, q: SourceQuery) -> Page:
    since = q.interval.start if q.interval else None
    until = q.interval.until_exclusive() if q.interval else None
    with db.connection() as conn:
        found = walks.list_walks(conn, since=since, until=until, area=q.area)
    features = [_walk_feature(w) for w in found["walks"] if w.get("meeting_point")]
    return _page(features, q, filter_bbox=True)


def _deviations(db: Connections, q: SourceQuery) -> Page:
    with db.connection() as conn:
        page = deviations.list_features(
            conn,
            viewer=q.viewer,
            reporters=False,
            bbox=q.bbox,
            area=q.area,
            since=q.interval.start if q.interval else None,
            until=q.interval.until_exclusive() if q.interval else None,
            limit=q.limit,
            offset=q.offset,
        )
    features = _features(page.geojson)
    return Page(
        features,
        page.number_matched,
        any(f["properties"].get("synthetic") is True for f in features),
    )


def _deviation(db: Connections, q: SourceQuery, fid: str) -> dict[str, Any]:
    try:
        key = uuid.UUID(fid)
    except ValueError:
        raise NotFound(f"no deviation {fid!r}") from None
    with db.connection() as conn:
        text = deviations.get_feature(conn, key, viewer=q.viewer)
    feature: dict[str, Any] = json.loads(text)
    return feature


def _count_features(layer: Layer, key: str) -> list[dict[str, Any]]:
    """The rows of a partner count layer (`maps.layers.partner_layers`) as GeoJSON Features:
    its fields as properties (dates as ISO dates, a count not shown as null), ``key``'s value
    as the id (the answer's CRS and precision are applied on the way out, as for every
    collection: `api.ogc.crs.transform_features`)."""
    out = []
    for row in layer.rows:
        props: dict[str, Any] = {}
        for f in layer.fields:
            value = row.get(f.name)
            props[f.name] = value.isoformat() if isinstance(value, date) else value
        geometry = mapping(row["geometry"])
        out.append({"type": "Feature", "id": props[key], "geometry": geometry, "properties": props})
    return out


def _aggregates(layer: str) -> Source:
    """The partner profile's counts of one layer (``zone`` or ``cell``), k ≥ 3, in the wide
    layout of the export's ``avvikelser_zon`` and ``avvikelser_ruta``: one Feature per zone (or
    cell) with a count per category (``antal_<code>``) and ``antal_totalt`` for the period, each
    the sum of the week counts that `api.meeting.partner_counts` shows (as
    ``GET /api/v1/deviation-aggregates`` for the same days), so that no count it leaves out can
    be worked out from these. ``datetime`` is taken as the local days it touches, widened to
    whole ISO weeks (`api.meeting.Request.period`): an interval that starts or ends inside a
    week counts that whole week, and ``period_fran``–``period_till`` say which weeks (Monday to
    Sunday) were counted; two intervals inside the same weeks give the same counts."""
    name, key = ("avvikelser_zon", "zon") if layer == "zone" else ("avvikelser_ruta", "ruta")

    def source(db: Connections, q: SourceQuery) -> Page:
        start, end = _window(q, ANALYSIS_DAYS)
        req = meeting.Request(
            area=q.one_area, since=_local_day(start), until=_local_day(end - timedelta(seconds=1))
        )
        meeting.check_period(req)
        with db.connection() as conn:
            agg = meeting.partner_counts(conn, req)
            synthetic = deviations.any_synthetic(
                conn, area=q.one_area, since=req.start, until=req.end
            )
            styles = {
                c["code"]: (c["name_sv"], c["colour"]) for c in categories.categories_json(conn)
            }
        counted = req.period  # whole weeks (`api.meeting.Request.period`), as partner_counts
        layers = partner_layers(agg, since=counted.first, until=counted.last, categories=styles)
        found = next(x for x in layers if x.name == name)
        return _page(_count_features(found, key), q, filter_bbox=True, synthetic=synthetic)

    return source


def _selection(
    db: Connections, q: SourceQuery, *, margin_m: float, previous: bool
) -> tuple[Any, Window, bool]:
    start, end = _window(q, ANALYSIS_DAYS)
    window = Window(start, end)
    since = window.previous().since if previous else start
    with db.connection() as conn:
        selection = deviations.select_points(
            conn, area=q.one_area, since=since, until=end, margin_m=margin_m
        )
        synthetic = deviations.any_synthetic(conn, area=q.one_area, since=since, until=end)
    return selection, window, synthetic


def _hotspots(db: Connections, q: SourceQuery) -> Page:
    """Significant Gi* cells of the period and the hot spots gone since the previous one."""
    params = HotspotParams()
    selection, window, synthetic = _selection(db, q, margin_m=0, previous=True)
    fc = hotspot_map(selection, window, params, compare_previous=True)
    for f in fc["features"]:
        props = f["properties"]
        props["change_sv"] = COMPARE_LABELS.get(props.get("change") or "", None)
    return _page(fc["features"], q, filter_bbox=True, synthetic=synthetic)


def _heat_isopleths(db: Connections, q: SourceQuery) -> Page:
    params = HeatParams()
    selection, window, synthetic = _selection(
        db, q, margin_m=4 * params.bandwidth_m, previous=False
    )
    fc = isopleths.isopleths_geojson(heat_map(selection, window, params))
    for f in fc["features"]:
        f["id"] = int(f["properties"]["percent"])
    return _page(fc["features"], q, filter_bbox=True, synthetic=synthetic)


AREA = frozenset({"area"})
COUNT_PROPERTIES = (
    ("period_fran", "string"),
    ("period_till", "string"),
    ("antal_totalt", "integer"),
)

CATALOGUE: tuple[Collection, ...] = (
    Collection(
        "areas",
        "Stadsdelar",
        "Districts (stadsdelar) with their outline, metric CRS and area in km².",
        "MultiPolygon",
        _areas,
        public=True,
        properties=(("slug", "string"), ("name", "string"), ("area_km2", "number")),
    ),
    Collection(
        "zones",
        "Platssamverkanszoner",
        "Collaboration (platssamverkan) zones of the area.",
        "MultiPolygon",
        _zones,
        public=True,
        params=AREA,
        properties=(("slug", "string"), ("name", "string"), ("area", "string")),
    ),
    Collection(
        "places",
        "Platser",
        "Places: stations, stops, schools, playgrounds, the library, shops…",
        "Point",
        _places,
        public=True,
        params=AREA,
        properties=(("name", "string"), ("kind", "string")),
    ),
    Collection(
        "walk-routes",
        "Nattvandringsrutter",
        "Walk routes of the area.",
        "LineString",
        _walk_routes,
        params=AREA,
        properties=(("name", "string"), ("length_m", "number")),
    ),
    Collection(
        "walks",
        "Nattvandringar",
        "Scheduled walks at their meeting points (when, status, how many walkers; no names).",
        "Point",
        _walks,
        needs=Capability.SCHEDULE_WALKS,
        temporal="planned_start",
        params=AREA,
        properties=(("organisation", "string"), ("planned_start", "string")),
    ),
    Collection(
        "deviations",
        "Avvikelser",
        "Single deviation reports, newest first; never who reported. Descriptions as the "
        "viewer may see them (planners all, walkers their own organisation's).",
        "Point",
        _deviations,
        needs=Capability.READ_REPORTS,
        temporal="observed_at",
        params=AREA,
        item=_deviation,
        properties=(("category", "string"), ("observed_at", "string"), ("severity", "integer")),
    ),
    Collection(
        "deviation-cells",
        "Avvikelser per ruta (250 m)",
        "Reports counted per 250 m SWEREF 99 TM cell: one Feature per cell with a count per "
        "category (antal_<code>) and antal_totalt for the period, each the sum of the weeks' "
        "counts of 3 or more (the partner profile; a week's count under 3 is never shown). Whole "
        "weeks only: the last 90 days, or the days of datetime, widened to whole ISO weeks "
        "(Monday–Sunday, period_fran–period_till).",
        "Polygon",
        _aggregates("cell"),
        needs=Capability.READ_AGGREGATES,
        temporal="period_fran",
        default_days=ANALYSIS_DAYS,
        params=AREA,
        properties=(("ruta", "string"), *COUNT_PROPERTIES),
    ),
    Collection(
        "deviation-zones",
        "Avvikelser per samverkanszon",
        "Reports counted per collaboration zone: one Feature per zone with a count per "
        "category (antal_<code>) and antal_totalt for the period, each the sum of the weeks' "
        "counts of 3 or more (the partner profile; a week's count under 3 is never shown). Whole "
        "weeks only: the last 90 days, or the days of datetime, widened to whole ISO weeks "
        "(Monday–Sunday, period_fran–period_till).",
        "MultiPolygon",
        _aggregates("zone"),
        needs=Capability.READ_AGGREGATES,
        temporal="period_fran",
        default_days=ANALYSIS_DAYS,
        params=AREA,
        properties=(("zon", "string"), ("zon_namn", "string"), *COUNT_PROPERTIES),
    ),
    Collection(
        "hotspots",
        "Hot spots (Gi*)",
        "Getis-Ord Gi* hot and cold spots (100 m cells, FDR-corrected, 90/95/99 %) with the "
        "change against the previous period (new, persistent, gone). The last 90 days unless "
        "datetime is given.",
        "Polygon",
        _hotspots,
        needs=Capability.ANALYSE,
        temporal="period",
        default_days=ANALYSIS_DAYS,
        params=AREA,
        properties=(("class", "integer"), ("z", "number"), ("change", "string")),
    ),
    Collection(
        "heat-isopleths",
        "Värmekarta (isopleter)",
        "Kernel density isopleths (the smallest regions holding 50, 75 and 90 % of the "
        "density). The last 90 days unless datetime is given.",
        "MultiPolygon",
        _heat_isopleths,
        needs=Capability.ANALYSE,
        temporal="period",
        default_days=ANALYSIS_DAYS,
        params=AREA,
        properties=(("percent", "integer"), ("threshold", "number")),
    ),
)
BY_ID: dict[str, Collection] = {c.id: c for c in CATALOGUE}


def visible(user: User | None) -> list[Collection]:
    """The collections ``user`` may see, in the catalogue's order."""
    return [c for c in CATALOGUE if c.visible_to(user)]


def collection(collection_id: str, user: User | None) -> Collection:
    """The collection, or `NotFound` when there is none *or the user may not see it*."""
    found = BY_ID.get(collection_id)
    if found is None or not found.visible_to(user):
        raise NotFound(
            f"no collection {collection_id!r}; GET /ogc/collections lists those you may read"
        )
    return found


def read_item(db: Connections, c: Collection, q: SourceQuery, fid: str) -> dict[str, Any]:
    """One Feature of ``c`` by id, or `NotFound`."""
    if c.item is not None:
        return c.item(db, q, fid)
    for feature in c.source(db, q).features:
        if str(feature.get("id")) == fid:
            return feature
    raise NotFound(f"no feature {fid!r} in the collection {c.id!r}")
