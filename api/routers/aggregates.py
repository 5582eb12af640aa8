"""Deviation aggregates: what partners read instead of single reports (DESIGN.md decision 8).

``GET /api/v1/deviation-aggregates`` gives the partner profile's counts, per collaboration zone
and per 250 m SWEREF 99 TM cell, by category and time bucket, counts under 3 left out: the same
numbers as the partner export's layers ``avvikelser_zon`` and ``avvikelser_ruta`` for the same
period, because both come from `api.meeting.partner_counts`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import shapely
from fastapi import APIRouter, Query, Response
from shapely.geometry import mapping

from api import meeting
from api.deps import ConnDep, DbDep, SettingsDep
from api.heavy import BriefExporterDep
from api.routers.layers import GEOJSON, geojson_response
from api.security import AggregateReaderDep
from geo.db import categories
from geo.db.queries import GEOJSON_DECIMALS
from geo.privacy import CellCount, PartnerAggregates, ZoneCount

router = APIRouter(prefix="/api/v1", tags=["deviations"])
DEFAULT_DAYS = 90


def _geometry(geom: shapely.Geometry) -> dict[str, Any]:
    """GeoJSON geometry with the API's one coordinate precision (`GEOJSON_DECIMALS`)."""
    rounded = shapely.transform(geom, lambda xy: np.round(xy, GEOJSON_DECIMALS))
    return dict(mapping(rounded))


def aggregates_geojson(
    agg: PartnerAggregates, *, styles: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """The aggregates as one FeatureCollection: ``properties.layer`` is ``zone`` or ``cell``.

    ``styles`` maps a category code to its Swedish name and colour.
    """
    features: list[dict[str, Any]] = []
    rows: list[ZoneCount | CellCount] = [*agg.zone_counts, *agg.cell_counts]
    for r in rows:
        name, colour = styles.get(r.category, (r.category, "#777777"))
        if isinstance(r, ZoneCount):
            place: dict[str, Any] = {"layer": "zone", "zone": r.zone, "zone_name": r.zone_name}
            key = f"zone:{r.zone}"
        else:
            place = {"layer": "cell", "cell": r.cell}
            key = f"cell:{r.cell}"
        features.append(
            {
                "type": "Feature",
                "id": f"{key}:{r.category}:{r.period}",
                "geometry": _geometry(r.geometry),
                "properties": {
                    **place,
                    "category": r.category,
                    "category_sv": name,
                    "colour": colour,
                    "bucket": r.bucket,
                    "period": r.period,
                    "period_start": r.period_start.isoformat(),
                    "count": r.count,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "bucket": agg.bucket,
        "cell_m": agg.cell_m,
        "min_count": agg.min_count,
        "features": features,
    }


@router.get(
    "/deviation-aggregates",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "A GeoJSON FeatureCollection"}},
)
def deviation_aggregates(
    conn: ConnDep,
    user: AggregateReaderDep,
    settings: SettingsDep,
    area: Annotated[str | None, Query(description="Area slug (default: the app's area)")] = None,
    since: Annotated[date | None, Query(description="First day (default: 90 days ago)")] = None,
    until: Annotated[date | None, Query(description="Last day, inclusive (default: today)")] = None,
    bucket: Literal["week", "night"] = "week",
) -> Response:
    """Deviations counted per collaboration zone and per 250 m SWEREF 99 TM cell, by category
    and week (or night, 12:00–12:00 local time), counts under 3 left out: no single report, no
    exact time, no free text. Partners, planners and admins.

    The numbers are those of the partner export (``GET /api/v1/exports/meeting``) for the same
    area and days. Each Feature's ``properties.layer`` says whether it is a ``zone`` or a
    ``cell``; ``count`` is the number of reports. Only whole buckets are counted: the days are
    widened to whole weeks (Monday to Sunday), or for nights counted from ``since`` 12:00 to
    the day after ``until`` 12:00, and the answer's ``since``, ``until``, ``counted_from`` and
    ``counted_until`` say what was counted (``asked_since``, ``asked_until``: what was asked).
    """
    last = until or date.today()
    req = meeting.Request(
        area=area or settings.default_area,
        since=since or last - timedelta(days=DEFAULT_DAYS),
        until=last,
        bucket=bucket,
    )
    meeting.check_period(req)
    agg = meeting.partner_counts(conn, req)
    styles = {c["code"]: (c["name_sv"], c["colour"]) for c in categories.categories_json(conn)}
    fc = aggregates_geojson(agg, styles=styles)
    fc.update(area=req.area, **meeting.period_json(req))
    return geojson_response(json.dumps(fc, ensure_ascii=False))


@router.get("/deviation-aggregates/hotspots")
def partner_hotspots(
    db: DbDep,
    user: BriefExporterDep,
    settings: SettingsDep,
    area: Annotated[str | None, Query(description="Area slug (default: the app's area)")] = None,
    since: Annotated[date | None, Query(description="First day (default: 90 days ago)")] = None,
    until: Annotated[date | None, Query(description="Last day, inclusive (default: today)")] = None,
) -> dict[str, Any]:
    """The hot spots of the partner export for the same area and days (the partners' page):
    Getis-Ord Gi* hot cells computed only from 250 m cells that hold at least 3 reports, each
    moved to its cell's centre (`geo.analysis.partner_selection`), with their class and a count
    only when it is 3 or more. No single report, no exact time."""
    last = until or date.today()
    req = meeting.Request(
        area=area or settings.default_area,
        since=since or last - timedelta(days=DEFAULT_DAYS),
        until=last,
    )
    return meeting.partner_hotspots(db, req, user)
