"""``GET /api/v1/coverage``: did the walks go where it mattered (issue 17)?

The share of the significant (95 %) hot-spot cells of the period that a walked track passed
within 50 m, and the time the walkers spent within 50 m of them, per club and month; the hot
spots no walk reached, by name. Hot spots show where reports lie and the figures are per walk
and club, so this needs both `Capability.ANALYSE` and `Capability.READ_WALKS` (planners,
admins; walkers see their own programme's coverage too). Dates as the exports take them: the
first and the last day (inclusive), local time of the area.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import coverage, meeting
from api.deps import ConnDep, SettingsDep
from api.security import require
from geo.analysis import Window
from geo.capabilities import Capability
from geo.db.accounts import User
from geo.db.streets import area_srid

router = APIRouter(prefix="/api/v1", tags=["analysis"])
CoverageReaderDep = Annotated[User, Depends(require(Capability.ANALYSE, Capability.READ_WALKS))]


@router.get("/coverage")
def get_coverage(
    conn: ConnDep,
    user: CoverageReaderDep,
    settings: SettingsDep,
    area: Annotated[str | None, Query(description="Area slug (default: the app's area)")] = None,
    since: Annotated[date | None, Query(description="First day (default: 90 days ago)")] = None,
    until: Annotated[date | None, Query(description="Last day, inclusive (default: today)")] = None,
) -> dict[str, Any]:
    """Coverage of the period's significant hot spots by the walks (see the module's doc):
    ``share`` 0–1, ``time_near_s`` seconds, ``per_club_month``, ``not_reached`` by name and
    ``hotspots`` (each cell: name, class, centre, reached)."""
    last = until or date.today()
    req = meeting.Request(
        area=area or settings.default_area, since=since or last - timedelta(days=90), until=last
    )
    meeting.check_period(req)
    window = Window(req.days.start, req.days.end)  # the days asked (no partner count)
    cov, cells = coverage.compute(conn, area=req.area, window=window)
    _, srid = area_srid(conn, req.area)
    body = coverage.coverage_json(cov, cells, epsg=srid)
    body.update(area=req.area, since=req.since.isoformat(), until=req.until.isoformat())
    return body
