"""Route plans: a walk along real streets that spends the time budget where it matters most,
with clock times, opening hours, and for several groups from one meeting point."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.bodies import BodyRoute, limit
from api.deps import ConnDep, DbDep
from api.heavy import RoutePlannerDep, run_in_process
from api.routers.layers import GEOJSON
from api.security import require
from geo.analysis import HotspotParams, PointSelection, Window, route_candidates
from geo.capabilities import Capability
from geo.db import areas, plan_data
from geo.db.accounts import User
from geo.db.deviations import select_points
from geo.db.guarded import Connections
from geo.inputs import CandidateIn, PlaceRef, PlanRequest, PointGeometry
from geo.inputs.plans import MAX_PLAN_BODY, PlaceHoursIn
from geo.timeofweek import parse_days, parse_hours
from routes import plan_clock
from routes.gpx import route_to_gpx
from routes.network import StreetNetwork
from routes.network_io import network_around
from routes.plan_types import Candidate, Plan
from routes.planner import plan_groups

PlanReaderDep = Annotated[User, Depends(require(Capability.PLAN_ROUTES))]
HoursEditorDep = Annotated[User, Depends(require(Capability.DRAW))]

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
    plan: Plan, req: PlanRequest, start_at: datetime, network: StreetNetwork
) -> dict[str, Any]:
    def on_route(node: int) -> list[float]:
        lon, lat = network.lonlat[network.index_of(node)]
        return [round(float(lon), 7), round(float(lat), 7)]

    # lon/lat: the stop's own position; on_route: the street corner where the walk stops for it
    # (snap_m metres away). arrive: when the group gets there; wait_min: until the place opens;
    # leave: after the wait and the dwell.
    stops = [
        {
            "name": s.name,
            "lon": round(s.lon, 7),
            "lat": round(s.lat, 7),
            "on_route": on_route(s.node),
            "arrive_min": round(s.arrive_s / 60, 1),
            "arrive": plan_clock.at(start_at, s.arrive_s),
            "wait_min": round(s.wait_s / 60, 1),
            "leave": plan_clock.at(start_at, s.arrive_s + s.wait_s + s.dwell_s),
            "dwell_min": round(s.dwell_s / 60, 1),
            "hours": s.hours,
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
            "start_at": start_at.isoformat(timespec="seconds"),
            "end_at": plan_clock.at(start_at, plan.duration_s),
            "stops": stops,
            "left_out": _left_out(plan),
            "solver": _solver(plan),
        },
    }


def _left_out(plan: Plan) -> list[dict[str, str]]:
    return [
        {"name": lo.name, "code": lo.code, "reason": lo.reason, "reason_sv": lo.reason_sv}
        for lo in plan.left_out
    ]


def _solver(plan: Plan) -> dict[str, Any]:
    return {
        "method": plan.solver.method,
        "heuristic_priority": plan.solver.heuristic_priority,
        "ortools_priority": plan.solver.ortools_priority,
        "ortools_status": plan.solver.ortools_status,
        "matrix_s": round(plan.solver.matrix_s, 3),
        "search_s": round(plan.solver.search_s, 3),
    }


def _groups(
    plans: list[Plan], req: PlanRequest, start_at: datetime, network: StreetNetwork
) -> dict[str, Any]:
    """One Feature a group (as a single plan's, with ``group`` and its ``gpx``), the candidates
    left out and the totals once, on the collection."""
    features = []
    for plan in plans:
        f = _feature(plan, req, start_at, network)
        props = f["properties"]
        del props["left_out"], props["solver"]
        name = f"Grupp {plan.group}"
        props["group"] = plan.group
        props["name"] = name
        props["gpx"] = route_to_gpx(name, plan.coords, stops=plan.stops)
        features.append(f)
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "area": req.area,
            "groups": len(plans),
            "start_at": start_at.isoformat(timespec="seconds"),
            "budget_min": round(plans[0].budget_s / 60, 1),
            "priority_collected": round(sum(p.priority_collected for p in plans), 3),
            "left_out": _left_out(plans[0]),
            "solver": _solver(plans[0]),
        },
    }


@router.get("/route-plans/default-start")
def default_start(db: DbDep, user: PlanReaderDep, area: str) -> dict[str, Any]:
    """When a plan for ``area`` starts unless ``start_at`` says otherwise: the area's next
    scheduled walk (``source`` = ``walk``), else 21:00 this evening in the area's time zone
    (``evening``). ``start_at`` is ISO 8601 with the zone's offset, ``local`` the same wall
    clock without it (for a form's date and time field)."""
    now = datetime.now(UTC)
    with db.connection() as conn:
        time_zone = areas.time_zone(conn, area)
        walk = plan_data.next_walk_start(conn, area, now=now)
    start, source = plan_clock.default_start(now, time_zone=time_zone, next_walk=walk)
    return {
        "area": area,
        "start_at": start.isoformat(timespec="seconds"),
        "local": start.strftime("%Y-%m-%dT%H:%M"),
        "time_zone": time_zone,
        "source": source,
    }


@router.put("/places/{place_id}/hours", openapi_extra=limit(1024))
def set_place_hours(
    body: PlaceHoursIn, conn: ConnDep, user: HoursEditorDep, place_id: int
) -> dict[str, Any]:
    """Set a place's daily opening hours (``"HH:MM"``, the wall clock of its area; a closing
    time before the opening time is after midnight), or clear them with nulls (always open):
    route plans visit the place only while it is open. Planners and admins."""
    hours = plan_clock.parse_hours(body.opens, body.closes, field="body")
    place = plan_data.set_place_hours(
        conn,
        place_id,
        opens=hours.opens if hours else None,
        closes=hours.closes if hours else None,
        source=body.source,
    )
    return {
        "id": place_id,
        "name": place.name,
        "opens": None if place.opens is None else f"{place.opens:%H:%M}",
        "closes": None if place.closes is None else f"{place.closes:%H:%M}",
        "hours_source": place.hours_source,
    }


def _candidate(
    c: CandidateIn,
    *,
    must_visit: bool,
    clock: Callable[[plan_clock.OpeningHours | None], tuple[float, float] | None],
    field: str,
) -> Candidate:
    hours = plan_clock.parse_hours(c.opens, c.closes, field=field)
    return Candidate(
        c.name,
        c.point.lon,
        c.point.lat,
        c.priority,
        must_visit=must_visit,
        window_s=clock(hours),
        hours=hours.label if hours else None,
    )


@router.post(
    "/route-plans",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
    openapi_extra=limit(MAX_PLAN_BODY),
)
def create_route_plan(db: DbDep, user: RoutePlannerDep, req: PlanRequest) -> Response:
    """Plan a walk along the area's streets from ``start`` (a point or ``{"place_id": …}``) back
    to it (or to ``end``) that collects the most priority within the time budget
    (``duration_min``, or ``start_at``–``end_at``): the stops with their clock times
    (``arrive``, ``wait_min``, ``leave``), the route as a LineString, length and duration, and
    the candidates left out with why (``code``, ``reason``, ``reason_sv``).

    ``start_at`` defaults to the area's next scheduled walk, else 21:00 this evening
    (``GET /api/v1/route-plans/default-start``). A candidate with ``opens`` and ``closes``
    (``"HH:MM"``, the area's wall clock; a must-visit place id brings its own) is visited only
    while it is open, waiting if the group is early. Without ``candidates`` the area's
    significant hot spots and heat-map peaks (last 90 days, or ``since``/``until``,
    ``days``/``hours``) are the candidates. ``must_visit`` (place ids or candidates) are
    always included, or a 422 says how much time is missing.

    ``groups`` (2 or 3): one route a group from the one meeting point, no stop in two, the
    most priority in total, each within the budget: a FeatureCollection with one Feature a
    group (its stops and its ``gpx``) and the candidates left out on the collection.
    """
    # Read what the plan needs, give the connection back, then compute (`api.heavy`).
    with db.connection() as conn:
        time_zone = areas.time_zone(conn, req.area)
        start_at = req.start_at
        if start_at is None:
            now = datetime.now(UTC)
            walk = plan_data.next_walk_start(conn, req.area, now=now)
            start_at, _ = plan_clock.default_start(now, time_zone=time_zone, next_walk=walk)
        start_at = start_at.astimezone(ZoneInfo(time_zone))
        clock = partial(
            plan_clock.visit_window,
            start_at=start_at,
            budget_s=req.budget_min * 60,
            dwell_s=req.dwell_min * 60,
            time_zone=time_zone,
        )
        start = _lonlat(conn, req.start, "start")
        end = _lonlat(conn, req.end, "end") if req.end is not None else None
        given = [
            _candidate(c, must_visit=False, clock=clock, field=f"candidates[{i}]")
            for i, c in enumerate(req.candidates or [])
        ]
        chosen = None if req.candidates is not None else _selection(conn, req)
        must = []
        for i, m in enumerate(req.must_visit):
            field = f"must_visit[{i}]"
            if isinstance(m, int):
                place = plan_data.place_for_plan(conn, m, field=field)
                hours = None
                if place.opens is not None and place.closes is not None:
                    hours = plan_clock.OpeningHours(place.opens, place.closes, place.hours_source)
                must.append(
                    Candidate(
                        place.name,
                        place.lon,
                        place.lat,
                        1.0,
                        must_visit=True,
                        window_s=clock(hours),
                        hours=hours.label if hours else None,
                    )
                )
            else:
                must.append(_candidate(m, must_visit=True, clock=clock, field=field))
        # The meeting point and the must-visit places may lie outside the area: their streets too.
        anchors = [start, *([end] if end else []), *((c.lon, c.lat) for c in must)]
        network = network_around(conn, req.area, anchors)
    candidates = (given if chosen is None else _default_candidates(db, *chosen)) + must
    plans = run_in_process(
        plan_groups,
        network,
        start=start,
        end=end,
        budget_s=req.budget_min * 60,
        candidates=candidates,
        speed_kmh=req.speed_kmh,
        dwell_s=req.dwell_min * 60,
        time_limit_s=req.time_limit_s,
        groups=req.groups or 1,
    )
    body = (
        _feature(plans[0], req, start_at, network)
        if len(plans) == 1
        else _groups(plans, req, start_at, network)
    )
    return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)
