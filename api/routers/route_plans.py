"""Route plans: a walk along real streets that spends the time budget where it matters most."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi import APIRouter
from fastapi.responses import Response

from api.bodies import BodyRoute, limit
from api.deps import DbDep
from api.heavy import RoutePlannerDep, run_in_process
from api.routers.layers import GEOJSON
from geo.analysis import HotspotParams, PointSelection, Window, route_candidates
from geo.db import areas
from geo.db.deviations import select_points
from geo.db.guarded import Connections
from geo.inputs import PlaceRef, PlanRequest, PointGeometry
from geo.inputs.plans import MAX_PLAN_BODY
from geo.timeofweek import parse_days, parse_hours
from routes.network import StreetNetwork
from routes.network_io import network_around
from routes.plan_types import Candidate, Plan
from routes.planner import plan_route

router = APIRouter(
    prefix="/api/v1", tags=["route plans"], route_class=BodyRoute, strict_content_type=False
)


def _lonlat(
    conn: psycopg.Connection, ref: PointGeometry | PlaceRef, field: str
) -> tuple[float, float]:
    if isinstance(ref, PlaceRef):
        _, lon, lat = areas.place_point(conn, ref.place_id, field=field)
        return lon, lat
    return ref.lon, ref.lat


def _selection(conn: psycopg.Connection, req: PlanRequest) -> tuple[PointSelection, Window]:
    until = req.until or datetime.now(UTC)
    since = req.since or until - timedelta(days=90)
    window = Window(since, until, parse_days(req.days), parse_hours(req.hours), req.days, req.hours)
    selection = select_points(conn, area=req.area, since=since, until=until, margin_m=600)
    return selection, window


def _default_candidates(
    db: Connections, selection: PointSelection, window: Window
) -> list[Candidate]:
    spots = route_candidates(selection, window, hot=HotspotParams())
    with db.connection() as conn:
        names = areas.nearest_place_names(conn, [(s.lon, s.lat) for s in spots])
    out = []
    for i, (spot, near) in enumerate(zip(spots, names, strict=True), 1):
        title = "Hot spot" if spot.kind == "hotspot" else "Värmetopp"
        name = f"{title} {i}" + (f" vid {near}" if near else "")
        out.append(Candidate(name=name, lon=spot.lon, lat=spot.lat, priority=spot.priority))
    return out


def _feature(
    plan: Plan, req: PlanRequest, start_at: datetime | None, network: StreetNetwork
) -> dict[str, Any]:
    def clock(seconds: float) -> str | None:
        return (start_at + timedelta(seconds=seconds)).isoformat() if start_at else None

    def on_route(node: int) -> list[float]:
        lon, lat = network.lonlat[network.index_of(node)]
        return [round(float(lon), 7), round(float(lat), 7)]

    # lon/lat: the stop's own position; on_route: the street corner where the walk stops for it
    # (snap_m metres away).
    stops = [
        {
            "name": s.name,
            "lon": round(s.lon, 7),
            "lat": round(s.lat, 7),
            "on_route": on_route(s.node),
            "arrive_min": round(s.arrive_s / 60, 1),
            "arrive": clock(s.arrive_s),
            "dwell_min": round(s.dwell_s / 60, 1),
            "priority": s.priority,
            "must_visit": s.must_visit,
            "snap_m": round(s.snap_m, 1),
        }
        for s in plan.stops
    ]
    return {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [[round(x, 7), round(y, 7)] for x, y in plan.coords],
        },
        "properties": {
            "area": req.area,
            "length_m": round(plan.length_m, 1),
            "duration_min": round(plan.duration_s / 60, 1),
            "walking_min": round(plan.walking_s / 60, 1),
            "budget_min": round(plan.budget_s / 60, 1),
            "speed_kmh": plan.speed_kmh,
            "priority_collected": round(plan.priority_collected, 3),
            "start_at": start_at.isoformat() if start_at else None,
            "end_at": clock(plan.duration_s),
            "stops": stops,
            "left_out": [{"name": lo.name, "reason": lo.reason} for lo in plan.left_out],
            "solver": {
                "method": plan.solver.method,
                "heuristic_priority": plan.solver.heuristic_priority,
                "ortools_priority": plan.solver.ortools_priority,
                "ortools_status": plan.solver.ortools_status,
                "matrix_s": round(plan.solver.matrix_s, 3),
                "search_s": round(plan.solver.search_s, 3),
            },
        },
    }


@router.post(
    "/route-plans",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
    openapi_extra=limit(MAX_PLAN_BODY),
)
def create_route_plan(db: DbDep, user: RoutePlannerDep, req: PlanRequest) -> Response:
    """Plan a walk along the area's streets from ``start`` (a point or ``{"place_id": …}``) back
    to it (or to ``end``) that collects the most priority within the time budget
    (``duration_min``, or ``start_at``–``end_at``): the stops and their arrival times, the
    route as a LineString, length and duration, and the candidates left out with why.

    Without ``candidates`` the area's significant hot spots and heat-map peaks (last 90 days,
    or ``since``/``until``, ``days``/``hours``) are the candidates. ``must_visit`` (place ids
    or candidates) are always included, or a 422 says how much time is missing.
    """
    import json

    # Read what the plan needs, give the connection back, then compute (`api.heavy`).
    with db.connection() as conn:
        start = _lonlat(conn, req.start, "start")
        end = _lonlat(conn, req.end, "end") if req.end is not None else None
        given = [
            Candidate(c.name, c.point.lon, c.point.lat, c.priority) for c in req.candidates or []
        ]
        chosen = None if req.candidates is not None else _selection(conn, req)
        must = []
        for i, m in enumerate(req.must_visit):
            if isinstance(m, int):
                name, lon, lat = areas.place_point(conn, m, field=f"must_visit[{i}]")
                must.append(Candidate(name, lon, lat, 1.0, must_visit=True))
            else:
                must.append(
                    Candidate(m.name, m.point.lon, m.point.lat, m.priority, must_visit=True)
                )
        # The meeting point and the must-visit places may lie outside the area: their streets too.
        anchors = [start, *([end] if end else []), *((c.lon, c.lat) for c in must)]
        network = network_around(conn, req.area, anchors)
    candidates = (given if chosen is None else _default_candidates(db, *chosen)) + must
    plan = run_in_process(
        plan_route,
        network,
        start=start,
        end=end,
        budget_s=req.budget_min * 60,
        candidates=candidates,
        speed_kmh=req.speed_kmh,
        dwell_s=req.dwell_min * 60,
        time_limit_s=req.time_limit_s,
    )
    feature = _feature(plan, req, req.start_at, network)
    return Response(json.dumps(feature, ensure_ascii=False), media_type=GEOJSON)
