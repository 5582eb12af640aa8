"""The export for collaboration meetings (platssamverkan): map layers and the meeting report.

Shared by ``GET /api/v1/exports/meeting`` and ``nattvandring export meeting``, so that both
make the same files. The ``partner`` profile (the default, and the only one a partner may have)
carries aggregated counts only; ``detail`` (planners) carries single reports without reporters,
descriptions only when asked. Every export writes an audit row with the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import shape

from api import coverage
from api.app_paths import leaflet_assets
from api.settings import REPO_DATA_DIR
from geo.analysis import (
    EARLIEST,
    LATEST,
    HeatParams,
    HotspotParams,
    Window,
    heat_map,
    hotspot_map,
    partner_selection,
)
from geo.bra import read_bra
from geo.capabilities import Capability
from geo.coverage import HotCell
from geo.db import (
    areas,
    audit,
    categories,
    deviations,
    place_names,
    police_events,
    report_data,
    streets,
    walk_routes,
    walk_tracks,
)
from geo.db.accounts import User
from geo.db.follow_up import SYNTHETIC_NOTE, walks_by_club_and_month
from geo.db.guarded import Connections
from geo.errors import Forbidden, InvalidParameter
from geo.geometry import DEFAULT_TIME_ZONE
from geo.hotspots import class_label
from geo.isopleths import isopleths_geojson
from geo.privacy import (
    MIN_PARTNER_COUNT,
    Deviations,
    PartnerAggregates,
    Zone,
    category_counts,
    detail_rows,
    partner_aggregates,
    zone_category_counts,
)
from geo.timeofweek import Period, days_period, whole_buckets
from maps import export as layers_out
from maps import layers as ml
from maps.html_map import meeting_map_html
from maps.report import (
    CategoryZoneRow,
    HotspotChange,
    MethodNote,
    meeting_report_pdf,
    previous_period,
)
from maps.report_context import SYNTHETIC_MARK, Change, PoliceNotice, Summary, trend_png
from maps.report_walks import WalkRow

STOCKHOLM = ZoneInfo(DEFAULT_TIME_ZONE)  # the demo's areas' wall clock
PROFILES = ("partner", "detail")
FORMATS = ("gpkg", "geojson", "kml", "csv", "shp", "pdf", "html")
MEDIA_TYPES = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/zip",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv; charset=utf-8",
    "shp": "application/zip",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}
SUFFIX = {
    "gpkg": "gpkg",
    "geojson": "geojson.zip",
    "kml": "kml",
    "csv": "csv",
    "shp": "shp.zip",
    "pdf": "pdf",
    "html": "html",
}
HEAT = HeatParams()
HOT = HotspotParams()
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Request:
    area: str
    since: date
    until: date  # inclusive: the last day of the period
    fmt: str = "gpkg"
    profile: str = "partner"
    include_descriptions: bool = False
    bucket: str = "week"

    @property
    def period(self) -> Period:
        """The period this request reads and says it counts, for every path that reads with
        it (the counts of the API, the OGC collections and their tiles, and every part of the
        export: layers, heat map, hot spots, the meeting report). The partner profile counts
        whole buckets only (`geo.timeofweek.whole_buckets`: the weeks, Monday to Sunday, or
        the nights, 12:00 to 12:00, that the days touch), so that two requests whose days
        differ inside a bucket get the same counts and nothing can be subtracted to find one
        report's day (DESIGN.md decision 8); the detail profile reads exactly the days asked.
        """
        if self.profile == "partner":
            return whole_buckets(self.since, self.until, bucket=self.bucket, tz=DEFAULT_TIME_ZONE)
        return self.days

    @property
    def days(self) -> Period:
        """The days as asked, midnight to midnight: for what is no count of reports for a
        partner (police notices, the planners' coverage). Partner paths read `period`."""
        return days_period(self.since, self.until, tz=DEFAULT_TIME_ZONE)

    @property
    def start(self) -> datetime:
        """The first instant read (`period`)."""
        return self.period.start

    @property
    def end(self) -> datetime:
        """The end (excluded) of what is read (`period`)."""
        return self.period.end


def period_json(req: Request) -> dict[str, Any]:
    """The period an answer counts, for its JSON: ``since``–``until`` the first and the last
    day counted (`Request.period`: for the partner profile whole weeks, Monday to Sunday, or
    the nights of those dates), ``counted_from``–``counted_until`` the instants it counts
    between (local time, the end excluded), ``asked_since``–``asked_until`` the days asked."""
    p = req.period
    return {
        "since": p.first.isoformat(),
        "until": p.last.isoformat(),
        "counted_from": p.start.isoformat(),
        "counted_until": p.end.isoformat(),
        "asked_since": req.since.isoformat(),
        "asked_until": req.until.isoformat(),
    }


def _asked(req: Request) -> dict[str, str]:
    """For a file's metadata: what the partner profile's period comprises and the days asked
    (the detail profile's period is the days asked)."""
    if req.profile != "partner":
        return {}
    p = req.period
    whole = (
        f"hela veckor, måndag {p.first.isoformat()} – söndag {p.last.isoformat()}"
        if req.bucket == "week"
        else f"hela nätter (kl. 12–12) som börjar {p.first.isoformat()} – {p.last.isoformat()}"
    )
    return {
        "period_omfattar": whole,
        "begard_period": f"{req.since.isoformat()} – {req.until.isoformat()}",
    }


@dataclass
class Export:
    content: bytes
    filename: str
    media_type: str
    counts: dict[str, int]
    sha256: str
    audit_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def check(req: Request, user: User) -> None:
    """Who may have what, and parameters that make sense; raises with a message."""
    if not user.can(Capability.EXPORT_PARTNER):
        raise Forbidden(
            f"exports are for planners, admins and partners; your account ({user.role}) may not "
            "export"
        )
    if req.profile not in PROFILES:
        raise InvalidParameter(
            f"profile must be partner or detail; got {req.profile!r}", field="profile"
        )
    if req.fmt not in FORMATS:
        raise InvalidParameter(
            f"format must be one of {', '.join(FORMATS)}; got {req.fmt!r}", field="format"
        )
    if req.profile == "detail" and not user.can(Capability.EXPORT_DETAIL):
        raise Forbidden(
            "partners may download the partner profile only (aggregated, without personal data)"
        )
    if req.include_descriptions and req.profile != "detail":
        raise InvalidParameter(
            "include_descriptions needs profile=detail", field="include_descriptions"
        )
    check_period(req)


def check_period(req: Request) -> None:
    """The time bucket and the period: ``since`` ≤ ``until``, at most three years (for the
    partner profile, once widened to whole buckets: `Request.period`)."""
    if req.bucket not in ("week", "night"):
        raise InvalidParameter("bucket must be week or night", field="bucket")
    if req.since < EARLIEST.date() or req.until >= LATEST.date():
        raise InvalidParameter(
            f"the period must lie between {EARLIEST:%Y} and {LATEST:%Y}", field="since"
        )
    if req.since > req.until:
        raise InvalidParameter("since must not be after until", field="since")
    if (req.period.last - req.period.first).days >= MAX_DAYS:
        # The partner profile's period is counted in whole weeks (or nights): those must fit.
        raise InvalidParameter("the period may be at most three years", field="since")


def _zones(conn: Any, area: str) -> tuple[dict[str, Any], list[Zone]]:
    """The area's zones as a FeatureCollection and as ``(slug, name, geometry)``."""
    zones_fc = json.loads(areas.zones_geojson(conn, area=area))
    zones = [(f["id"], f["properties"]["name"], shape(f["geometry"])) for f in zones_fc["features"]]
    return zones_fc, zones


def partner_counts(
    conn: Any,
    req: Request,
    *,
    records: Deviations | None = None,
    zones: list[Zone] | None = None,
) -> PartnerAggregates:
    """The partner profile's counts for the request's area and period: per collaboration zone
    and 250 m SWEREF 99 TM cell, by category and time bucket, counts under 3 left out.

    The numbers of the export's count layers (``avvikelser_zon_vecka``…; ``avvikelser_zon`` and
    ``avvikelser_ruta`` sum them over the period: `maps.layers.partner_layers`), of the OGC
    collections ``deviation-zones``/``deviation-cells`` and of
    ``GET /api/v1/deviation-aggregates``, computed in one place (`geo.privacy`). The period is
    `Request.period`: whole weeks (or nights) for the partner profile. ``records`` (which must
    be those of that period) and ``zones`` are read from the database when not given.
    """
    if zones is None:
        zones = _zones(conn, req.area)[1]
    if records is None:
        records = deviations.export_deviations(conn, area=req.area, since=req.start, until=req.end)
    return partner_aggregates(records, zones=zones, bucket=req.bucket)


@dataclass
class _LayerData:
    """What the layers are made of, read from the database in one step."""

    area_fc: dict[str, Any]
    zones_fc: dict[str, Any]
    zones: list[Zone]
    records: Deviations
    styles: dict[str, tuple[str, str]]
    places_fc: dict[str, Any]
    routes_fc: dict[str, Any]
    tracks: dict[str, Any]
    synthetic: bool = False


def _read_layers(conn: Any, req: Request) -> _LayerData:
    zones_fc, zones = _zones(conn, req.area)
    return _LayerData(
        area_fc={
            "type": "FeatureCollection",
            "features": [json.loads(areas.area_geojson(conn, req.area))],
        },
        zones_fc=zones_fc,
        zones=zones,
        records=deviations.export_deviations(
            conn,
            area=req.area,
            since=req.start,
            until=req.end,
            with_descriptions=req.include_descriptions,
        ),
        styles={c["code"]: (c["name_sv"], c["colour"]) for c in categories.categories_json(conn)},
        places_fc=json.loads(areas.places_geojson(conn, area=req.area)),
        routes_fc=json.loads(walk_routes.list_routes(conn, area=req.area)),
        tracks=walk_tracks.walked_tracks(conn, area=req.area, since=req.start, until=req.end),
        synthetic=report_data.synthetic_in(conn, area=req.area, since=req.start, until=req.end),
    )


def _build_layers(
    d: _LayerData, req: Request, selection: Any, window: Window
) -> tuple[list[Any], dict[str, Any]]:
    raster = heat_map(selection, window, HEAT)
    hot_fc = hotspot_map(selection, window, HOT, compare_previous=True)
    changes = [f["properties"].get("change") or "" for f in hot_fc["features"]]
    out = [
        ml.areas_layer(d.area_fc),
        ml.zones_layer(d.zones_fc),
        ml.places_layer(d.places_fc),
        ml.routes_layer(d.routes_fc),
        ml.isopleths_layer(isopleths_geojson(raster)),
        ml.hotspots_layer(hot_fc, changes=changes, min_count=3 if req.profile == "partner" else 0),
    ]
    meta: dict[str, Any] = {"reports": len(d.records)}
    if req.profile == "partner":
        agg = partner_aggregates(d.records, zones=d.zones, bucket=req.bucket)
        out += ml.partner_layers(
            agg, since=req.period.first, until=req.period.last, categories=d.styles
        )
        meta.update(
            suppressed_zone_reports=agg.suppressed_zone_reports,
            suppressed_cell_reports=agg.suppressed_cell_reports,
        )
    else:
        rows = detail_rows(d.records, include_descriptions=req.include_descriptions)
        out.append(
            ml.detail_layer(
                rows, include_descriptions=req.include_descriptions, categories=d.styles
            )
        )
    if d.tracks["features"]:
        out.append(ml.tracks_layer(d.tracks))
    return out, meta


def _for_format(layers: list[Any], req: Request) -> list[Any]:
    """The layers a file of ``req.fmt`` holds: the HTML map, which has no time slider, shows
    the count layers of the whole period only, not those per week (or night), whose features
    would lie on top of each other."""
    if req.fmt != "html":
        return layers
    return [layer for layer in layers if layer.style.temporal is None]


def _selection(conn: Any, req: Request) -> tuple[Any, Window]:
    window = Window(req.start, req.end)
    selection = deviations.select_points(
        conn,
        area=req.area,
        since=window.previous().since,
        until=window.until,
        margin_m=4 * HEAT.bandwidth_m,
    )
    if req.profile == "partner":
        # The heat map and hot spots of a partner's file (its layers, its HTML map, its meeting
        # report) are drawn only from 250 m cells that hold at least 3 reports in a week (a
        # night), each moved to its cell's centre: no isopleth or hot spot shows where a single
        # report lies, nor what a week's single report added.
        selection = partner_selection(
            selection, [window, window.previous()], bucket=req.bucket, tz=DEFAULT_TIME_ZONE
        )
    return selection, window


def _metadata(req: Request, area_name: str, *, synthetic: bool = False) -> dict[str, Any]:
    demo = {"data": f"{SYNTHETIC_MARK}: genererade, inte verkliga rapporter"} if synthetic else {}
    return demo | {
        "omrade": area_name,
        "omrade_kod": req.area,
        "period_fran": req.period.first.isoformat(),
        "period_till": req.period.last.isoformat(),
        **_asked(req),
        "profil": req.profile,
        "skapad": datetime.now(UTC).isoformat(timespec="seconds"),
        "tidsindelning": "vecka" if req.bucket == "week" else "natt",
        "metod_varmekarta": f"kärntäthet, Gauss, bandbredd {HEAT.bandwidth_m:g} m, rutor "
        f"{HEAT.cell_m:g} m, rapporter per km² och vecka",
        "metod_hotspots": f"Getis-Ord Gi*, rutor {HOT.cell_m:g} m, FDR (Benjamini–Hochberg), "
        "90/95/99 %",
        "sekretess": "partnerprofil: aggregerat per zon och 250 m-ruta i hela veckor (nätter), "
        "antal under 3 utelämnade; värmekarta och hot spots bara från 250 m-rutor med minst 3 "
        "rapporter i en vecka (natt), i rutans mitt; "
        "inga fritexter, rapportörer eller exakta tider"
        if req.profile == "partner"
        else "detaljprofil: enskilda rapporter utan rapportör"
        + (", med beskrivningar" if req.include_descriptions else ""),
    }


def partner_hotspots(db: Connections, req: Request, user: User) -> dict[str, Any]:
    """The hot spots of the partner profile's file for ``req``, for the partners' page: the hot
    cells (Gi*, `HOT`) computed from `partner_selection` (250 m cells of at least 3 reports,
    moved to their centres), each with its class and, only when it is 3 or more, its count.
    Nothing else of a cell leaves: no z-score, no exact position of a report, no time."""
    if not user.can(Capability.EXPORT_PARTNER):
        raise Forbidden(
            f"the partners' hot spots are for partners; your account ({user.role}) may not"
        )
    check_period(req)
    partner = Request(area=req.area, since=req.since, until=req.until, profile="partner")
    with db.connection() as conn:
        selection, window = _selection(conn, partner)
    hot = hotspot_map(selection, window, HOT)
    features = []
    for f in hot["features"]:
        p = f["properties"]
        cls = int(p["class"])
        if cls <= 0:
            continue  # the hot spots only: "here many reports were made"
        count = None if p.get("count") is None else int(round(float(p["count"])))
        features.append(
            {
                "type": "Feature",
                "geometry": f["geometry"],
                "properties": {
                    "class": cls,
                    "class_sv": class_label(cls),
                    "count": count if count is not None and count >= MIN_PARTNER_COUNT else None,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "area": req.area,
        **period_json(partner),
        "cell_m": HOT.cell_m,
        "features": features,
    }


def preview(db: Connections, req: Request, user: User) -> dict[str, Any]:
    """Row counts per layer of the export, without writing a file (nothing is audited)."""
    check(req, user)
    with db.connection() as conn:
        selection, window = _selection(conn, req)
        data = _read_layers(conn, req)
    layers, meta = _build_layers(data, req, selection, window)
    layers = _for_format(layers, req)
    return {
        "profile": req.profile,
        "area": req.area,
        **period_json(req),
        "layers": [
            {"name": layer.name, "title": layer.title_sv, "rows": len(layer.rows)}
            for layer in layers
        ],
        **meta,
    }


OUTSIDE_ZONES_SV = "Utanför zonerna"
AREA_TOTAL_SV = "Hela området"


@dataclass
class _PdfData:
    """What the meeting report is made of, read from the database in one step."""

    zones: list[Zone]
    now: Deviations
    prev: Deviations
    names: dict[str, str]
    colours: dict[str, str]
    routes: dict[str, Any]
    walks: tuple[list[WalkRow], list[WalkRow], bool]
    base_lines: Any
    hot_fc: dict[str, Any]
    hot_changes: list[HotspotChange]
    coverage: dict[str, Any]
    trend: tuple[list[tuple[date, str, int]], list[tuple[date, int]], date]
    synthetic: bool
    place_labels: list[tuple[str, Any]]
    street_labels: list[tuple[str, Any]]
    network_share: float
    police_now: list[dict[str, Any]]
    police_prev: list[dict[str, Any]]
    bra_years: list[Any]


def _read_pdf(conn: Any, req: Request, window: Window, selection: Any) -> _PdfData:
    before = window.previous()
    hot_fc = hotspot_map(selection, window, HOT, compare_previous=True)
    changes = _hotspot_changes(conn, hot_fc)
    cov, cells = coverage.compute(conn, area=req.area, window=window, selection=selection)
    # Trends over the last year up to the period's end (weeks from Monday, local time).
    year_start = req.period.last - timedelta(days=364)
    year_start -= timedelta(days=year_start.weekday())
    year_since = datetime.combine(year_start, time(0), STOCKHOLM)
    # For partners the last week's bar is the whole week: a period of nights that ends inside
    # it must not show a part that the next night's report would change.
    trend_end = (
        whole_buckets(req.period.first, req.period.last, bucket="week", tz=DEFAULT_TIME_ZONE).end
        if req.profile == "partner"
        else req.end
    )
    cats = categories.categories_json(conn)
    return _PdfData(
        zones=_zones(conn, req.area)[1],
        now=deviations.export_deviations(conn, area=req.area, since=req.start, until=req.end),
        prev=deviations.export_deviations(
            conn, area=req.area, since=before.since, until=before.until
        ),
        names={c["code"]: c["name_sv"] for c in cats},
        colours={c["name_sv"]: c["colour"] for c in cats},
        routes=json.loads(walk_routes.list_routes(conn, area=req.area)),
        walks=_walk_rows(conn, req),
        base_lines=streets.street_lines(conn, area=req.area),
        hot_fc=hot_fc,
        hot_changes=changes,
        coverage=cov.describe(),
        trend=(
            report_data.reports_per_week(conn, area=req.area, since=year_since, until=trend_end),
            report_data.walks_per_week(
                conn, area=req.area, since=year_start, until=req.period.last
            ),
            year_start,
        ),
        synthetic=report_data.synthetic_in(
            conn, area=req.area, since=before.since, until=window.until
        ),
        place_labels=report_data.place_label_points(conn, area=req.area),
        street_labels=report_data.street_label_points(conn, area=req.area),
        network_share=report_data.network_share(conn, area=req.area),
        police_now=police_events.list_events(conn, since=req.start, until=req.end, area=req.area),
        police_prev=police_events.list_events(
            conn, since=before.since, until=before.until, area=req.area
        ),
        bra_years=read_bra(REPO_DATA_DIR / "bra"),
    )


def _hotspot_changes(conn: Any, hot_fc: dict[str, Any]) -> list[HotspotChange]:
    """Hot spots that are new, persistent or gone, by name: touching cells of one status are
    one hot spot, named by the place and street nearest to its middle."""
    out = []
    for status in ("new", "persistent", "gone"):
        cells = [
            HotCell(i, shape(f["geometry"]), int(f["properties"]["class"]))
            for i, f in enumerate(hot_fc["features"])
            if f["properties"].get("change") == status
        ]
        groups = coverage.hot_spot_groups(cells)
        middles = [
            shapely.centroid(shapely.union_all([cells[i].polygon for i in g])) for g in groups
        ]
        names = place_names.place_labels(conn, [(float(m.x), float(m.y)) for m in middles])
        for g, name in zip(groups, names, strict=True):
            size = f" ({len(g)} rutor)" if len(g) > 1 else ""
            out.append(HotspotChange(name[0].upper() + name[1:] + size, status))
    return out


def category_table(
    d: _PdfData, *, min_weekly: int = 1, bucket: str = "week"
) -> tuple[list[CategoryZoneRow], list[Change], list[Change]]:
    """The table per category and zone with a row "Utanför zonerna" and the area's total per
    category, so that no report of the area is left out; and the changes per category and per
    zone (outside the zones included) for the summary.

    Each count sums the weeks (or nights: ``bucket``, the request's) in which its zone (the
    rest of the area, the whole area) has at least ``min_weekly`` reports of the category:
    `MIN_PARTNER_COUNT` for partners, so that the reports of periods a week (a night) apart
    cannot be subtracted (`geo.privacy.category_counts`); 1 (every report) for the detail
    profile."""
    zones, names = d.zones, d.names
    m, per = min_weekly, bucket
    now_counts = zone_category_counts(d.now, zones=zones, min_weekly=m, bucket=per)
    prev_counts = zone_category_counts(d.prev, zones=zones, min_weekly=m, bucket=per)
    outside_now = category_counts(d.now, where=~_in_zones(d.now, zones), min_weekly=m, bucket=per)
    outside_prev = category_counts(
        d.prev, where=~_in_zones(d.prev, zones), min_weekly=m, bucket=per
    )
    rows = [
        CategoryZoneRow(
            names.get(code, code),
            name,
            now_counts.get((slug, code), 0),
            prev_counts.get((slug, code), 0),
        )
        for slug, name, _ in zones
        for code in names
        if now_counts.get((slug, code)) or prev_counts.get((slug, code))
    ]
    totals_now = category_counts(d.now, min_weekly=m, bucket=per)
    totals_prev = category_counts(d.prev, min_weekly=m, bucket=per)
    for label, a, b in (
        (OUTSIDE_ZONES_SV, outside_now, outside_prev),
        (AREA_TOTAL_SV, totals_now, totals_prev),
    ):
        rows += [
            CategoryZoneRow(names.get(code, code), label, a.get(code, 0), b.get(code, 0))
            for code in names
            if a.get(code) or b.get(code)
        ]
    by_cat = [Change(names.get(c, c), totals_now.get(c, 0), totals_prev.get(c, 0)) for c in names]
    by_zone = [
        Change(
            name,
            sum(v for (z, _), v in now_counts.items() if z == slug),
            sum(v for (z, _), v in prev_counts.items() if z == slug),
        )
        for slug, name, _ in zones
    ]
    by_zone.append(Change(OUTSIDE_ZONES_SV, sum(outside_now.values()), sum(outside_prev.values())))
    return rows, by_cat, by_zone


def _in_zones(dev: Deviations, zones: list[Zone]) -> np.ndarray:
    """Which reports lie in a zone."""
    inside = np.zeros(len(dev.lon), dtype=bool)
    for _slug, _name, geom in zones:
        inside |= shapely.intersects_xy(geom, dev.lon, dev.lat)
    return inside


def _trend_chart(d: _PdfData, req: Request) -> bytes:
    reports, walks, start = d.trend
    last = req.period.last
    weeks = [start + timedelta(days=7 * i) for i in range(((last - start).days // 7) + 1)]
    index = {w: i for i, w in enumerate(weeks)}
    # For partners a category's week under MIN_PARTNER_COUNT reports is not drawn.
    least = MIN_PARTNER_COUNT if req.profile == "partner" else 1
    per_cat: dict[str, list[int]] = {}
    for code, name in d.names.items():
        values = [0] * len(weeks)
        for w, c, k in reports:
            if c == code and w in index and k >= least:
                values[index[w]] += k
        if any(values):
            per_cat[name] = values
    walk_values = [0] * len(weeks)
    for w, k in walks:
        if w in index:
            walk_values[index[w]] += k
    return trend_png(weeks, per_cat, walk_values, colours=d.colours)


def _police(d: _PdfData) -> tuple[list[tuple[str, int, int]], list[PoliceNotice]]:
    now: dict[str, int] = {}
    before: dict[str, int] = {}
    for rows, out in ((d.police_now, now), (d.police_prev, before)):
        for e in rows:
            out[e["event_type"]] = out.get(e["event_type"], 0) + 1
    by_type = sorted(
        ((t, now.get(t, 0), before.get(t, 0)) for t in set(now) | set(before)),
        key=lambda r: (-r[1], -r[2], r[0]),
    )
    notices = [
        PoliceNotice(
            e["occurred_at"].astimezone(STOCKHOLM).date(),
            e["event_type"],
            e["summary"] or e["name"],
            e["level_sv"],
            e["place_label"] or ", ".join(e["districts"]),
            e["url"],
        )
        for e in d.police_now
    ]
    return by_type, notices


def _pdf(
    d: _PdfData, req: Request, selection: Any, window: Window, area_name: str, outline: Any
) -> tuple[bytes, dict[str, int]]:
    zones = d.zones
    partner = req.profile == "partner"
    table, by_cat, by_zone = category_table(
        d, min_weekly=MIN_PARTNER_COUNT if partner else 1, bucket=req.bucket
    )
    raster = heat_map(selection, window, HEAT)
    hot_fc = d.hot_fc
    hot = [(shape(f["geometry"]), int(f["properties"]["class"])) for f in hot_fc["features"]]
    changes = d.hot_changes
    routes = d.routes
    walks_now, walks_before, walks_synthetic = d.walks
    synthetic = d.synthetic or walks_synthetic
    police_by_type, notices = _police(d)
    statuses = [f["properties"].get("change") for f in hot_fc["features"]]
    summary = Summary(
        total=sum(c.now for c in by_cat),
        previous_total=sum(c.previous for c in by_cat),
        categories=by_cat,
        places=by_zone,
        walks=walks_now,
        previous_walks=walks_before,
        hotspots_now=d.coverage["hotspot_cells"],
        hotspots_new=statuses.count("new"),
        hotspots_gone=statuses.count("gone"),
        coverage_share=d.coverage["share"] if d.coverage["hotspot_cells"] else None,
        police_now=len(d.police_now),
        police_previous=len(d.police_prev),
        notes=[f"{SYNTHETIC_MARK}: rapporterna och passen är genererade, inte verkliga."]
        if synthetic
        else [],
    )
    detail = req.profile == "detail"
    colours = {code: d.colours.get(name, "#777777") for code, name in d.names.items()}
    points = (
        [
            (shapely.Point(x, y), colours.get(str(c), "#777777"))
            for x, y, c in zip(d.now.lon, d.now.lat, d.now.category, strict=True)
        ]
        if detail
        else []
    )
    network_note = (
        None
        if d.network_share >= 0.8
        else (
            f"Det importerade gatunätet täcker bara {round(100 * d.network_share)} % av "
            f"{area_name}; gator och gatunamn saknas i resten av kartan."
        )
    )
    pdf = meeting_report_pdf(
        area_name=area_name,
        period=(req.period.first, req.period.last),
        issued=date.today(),
        area_outline=outline,
        base_lines=d.base_lines,
        zones=[(name, geom) for _, name, geom in zones],
        heat=raster,
        hotspots=hot,
        routes=[(f["properties"]["name"], shape(f["geometry"])) for f in routes["features"]],
        category_table=table,
        hotspot_changes=changes,
        method=MethodNote(
            bandwidth_m=HEAT.bandwidth_m, cell_m=HEAT.cell_m, hotspot_cell_m=HOT.cell_m
        ),
        profile="partner" if req.profile == "partner" else "detail",
        walks=walks_now,
        previous_walks=walks_before,
        note=f"{SYNTHETIC_NOTE}: passen är genererade, inte verkliga." if walks_synthetic else None,
        summary=summary,
        trend=_trend_chart(d, req),
        coverage=d.coverage,
        police_by_type=police_by_type,
        police_notices=notices,
        bra_years=d.bra_years,
        annex=_annex(d) if detail else None,
        place_labels=d.place_labels,
        street_labels=d.street_labels,
        points=points,
        network_note=network_note,
        synthetic=synthetic,
    )
    counts = {"kategori_zon": len(table), "hotspots": len(hot), "andringar": len(changes)}
    return pdf, {
        **counts,
        "pass_forening_manad": len(walks_now),
        "polisnotiser": len(notices),
        "bilaga_rapporter": len(d.now.lon) if detail else 0,
    }


def _annex(d: _PdfData) -> list[tuple[str, str, str]]:
    """The detail profile's single reports: local time, category, zone (or outside)."""
    rows = []
    for i in np.argsort(d.now.observed_at):
        lon, lat = float(d.now.lon[i]), float(d.now.lat[i])
        zone = next(
            (name for _s, name, g in d.zones if shapely.intersects_xy(g, lon, lat)),
            OUTSIDE_ZONES_SV,
        )
        at = datetime.fromtimestamp(
            d.now.observed_at[i].astype("datetime64[s]").astype(int), UTC
        ).astimezone(STOCKHOLM)
        code = str(d.now.category[i])
        rows.append((f"{at:%Y-%m-%d %H:%M}", d.names.get(code, code), zone))
    return rows


def _walk_rows(conn: Any, req: Request) -> tuple[list[WalkRow], list[WalkRow], bool]:
    """Walks done per club and month in the period and in the previous one of the same
    length, and whether any of them is synthetic."""
    first, last = req.period.first, req.period.last
    prev_since, prev_until = previous_period(first, last)
    found = [
        walks_by_club_and_month(conn, area=req.area, since=a, until=b)
        for a, b in ((first, last), (prev_since, prev_until))
    ]
    rows = [
        [
            WalkRow(r["club"], r["month"], r["walks"], r["walker_nights"], r["youths_met"])
            for r in period
        ]
        for period in found
    ]
    return rows[0], rows[1], any(r["synthetic"] for period in found for r in period)


def export(db: Connections, req: Request, user: User) -> Export:
    """Make the file, audit it, and return it: read in one step, make the file without a
    connection, audit over a new one (`api.heavy`)."""
    check(req, user)
    with db.connection() as conn:
        area_name, outline = areas.area_outline(conn, req.area)
        selection, window = _selection(conn, req)
        pdf_data = _read_pdf(conn, req, window, selection) if req.fmt == "pdf" else None
        layer_data = _read_layers(conn, req) if req.fmt != "pdf" else None
    if pdf_data is not None:
        content, counts = _pdf(pdf_data, req, selection, window, area_name, outline)
        meta: dict[str, Any] = {}
    elif req.fmt == "html":
        assert layer_data is not None
        layers, meta = _build_layers(layer_data, req, selection, window)
        layers = _for_format(layers, req)
        content = meeting_map_html(
            layers,
            assets=leaflet_assets(),
            title=f"Samverkan {area_name} {req.period.first} – {req.period.last}"
            + (f" – {SYNTHETIC_MARK}" if layer_data.synthetic else ""),
            metadata=_metadata(req, area_name, synthetic=layer_data.synthetic),
        ).encode("utf-8")
        counts = {layer.name: len(layer.rows) for layer in layers}
    else:
        assert layer_data is not None
        layers, meta = _build_layers(layer_data, req, selection, window)
        with tempfile.TemporaryDirectory(prefix="nv-export-") as tmp:
            path = Path(tmp) / f"export.{SUFFIX[req.fmt]}"
            counts = layers_out.write(
                layers,
                req.fmt,
                path,
                metadata=_metadata(req, area_name, synthetic=layer_data.synthetic),
            )
            content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    first, last = req.period.first, req.period.last
    filename = f"samverkan-{req.area}-{first}-{last}-{req.profile}.{SUFFIX[req.fmt]}"
    with db.connection() as conn:
        audit_id = audit.write_audit(
            conn,
            user_id=user.id,
            action="export.meeting",
            subject=req.area,
            details={
                "profile": req.profile,
                "format": req.fmt,
                "since": req.since.isoformat(),
                "until": req.until.isoformat(),
                "counted_since": req.period.start.isoformat(),
                "counted_until": req.period.end.isoformat(),
                "bucket": req.bucket,
                "include_descriptions": req.include_descriptions,
                "rows": counts,
                "sha256": digest,
                "bytes": len(content),
                "file": filename,
                **meta,
            },
        )
    return Export(content, filename, MEDIA_TYPES[req.fmt], counts, digest, audit_id, meta)
