"""The police's public event notices as context (issue 17): never reports, never points.

``GET /api/v1/police-events`` lists the notices of an area and period with their links to
polisen.se; ``GET /api/v1/police-events/counts`` counts them per district, type and month (or
week) beside our own deviation reports of the area. The notices are public, but like the rest
of the service they are read signed in: partners, planners and admins (the aggregate readers).
Each notice carries the level it is placed at (district, named place, junction, street) or
"ej placerad"; no geometry is sent, so a notice never looks like a precise point.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api import meeting
from api.deps import ConnDep, SettingsDep
from api.security import AggregateReaderDep
from geo.capabilities import Capability
from geo.db import areas, police_events
from geo.privacy import MIN_PARTNER_COUNT
from geo.timeofweek import whole_buckets

router = APIRouter(prefix="/api/v1", tags=["police events"])
DEFAULT_DAYS = 365
AreaQuery = Annotated[str | None, Query(description="Area slug (default: the app's area)")]
SinceQuery = Annotated[date | None, Query(description="First day (default: a year ago)")]
UntilQuery = Annotated[date | None, Query(description="Last day, inclusive (default: today)")]


def _request(settings: Any, area: str | None, since: date | None, until: date | None) -> Any:
    last = until or date.today()
    req = meeting.Request(
        area=area or settings.default_area,
        since=since or last - timedelta(days=DEFAULT_DAYS),
        until=last,
    )
    meeting.check_period(req)
    return req


@router.get("/police-events")
def list_police_events(
    conn: ConnDep,
    user: AggregateReaderDep,
    settings: SettingsDep,
    area: AreaQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    """The notices that name the area (or are placed in it), newest first, with their links to
    polisen.se. Source: "Händelser: Polisen (polisen.se)"."""
    req = _request(settings, area, since, until)
    events = police_events.list_events(
        conn, since=req.days.start, until=req.days.end, area=req.area, limit=limit
    )
    for e in events:
        e["occurred_at"] = e["occurred_at"].isoformat()
    return {
        "area": req.area,
        "since": req.since.isoformat(),
        "until": req.until.isoformat(),
        "source": police_events.SOURCE_SV,
        "events": events,
    }


@router.get("/police-events/counts")
def police_event_counts(
    conn: ConnDep,
    user: AggregateReaderDep,
    settings: SettingsDep,
    area: AreaQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    bucket: Literal["month", "week"] = "month",
) -> dict[str, Any]:
    """Notices per district, type and month (or week) for the area, and our deviation
    reports of the area per month beside them (for partners, months with fewer than 3 reports
    give ``count: null``). A notice naming two districts counts in each. For partners our
    reports are counted in whole months (weeks) only, as every partner count
    (`geo.timeofweek.whole_buckets`), so that periods differing by a day inside a month give
    the same counts; ``deviations_since``–``deviations_until`` say which days were counted."""
    req = _request(settings, area, since, until)
    tz = areas.time_zone(conn, req.area)
    rows = police_events.counts(
        conn, since=req.days.start, until=req.days.end, time_zone=tz, area=req.area, bucket=bucket
    )
    partner = not user.can(Capability.READ_REPORTS)
    counted = whole_buckets(req.since, req.until, bucket=bucket, tz=tz) if partner else req.days
    ours = police_events.deviation_counts(
        conn, area=req.area, since=counted.start, until=counted.end, time_zone=tz, bucket=bucket
    )
    if partner:
        for r in ours:
            if r["count"] < MIN_PARTNER_COUNT:
                r["count"] = None
    return {
        "area": req.area,
        "since": req.since.isoformat(),
        "until": req.until.isoformat(),
        "deviations_since": counted.first.isoformat(),
        "deviations_until": counted.last.isoformat(),
        "bucket": bucket,
        "source": police_events.SOURCE_SV,
        "police_events": rows,
        "deviations": ours,
    }
