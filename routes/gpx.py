"""GPX 1.1 for phones: write a planned walk as a track with its stops as waypoints, and read the
points of an uploaded track or route.

GPX positions are WGS 84 latitude/longitude attributes; here, as everywhere in the service,
coordinates are (lon, lat) pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import gpxpy
import gpxpy.gpx

from geo.geometry import LonLat
from routes.errors import InvalidGpx

MAX_GPX_BYTES = 10 * 1024 * 1024
MAX_POINTS = 20_000
# 7 decimals of a degree are about 1 cm: more than any phone's GPS can tell.
DECIMALS = 7


class NamedPoint(Protocol):
    """Anything with a name and a lon/lat position (a `routes.plan_types.PlannedStop`, say)."""

    @property
    def name(self) -> str: ...
    @property
    def lon(self) -> float: ...
    @property
    def lat(self) -> float: ...


def route_to_gpx(
    name: str,
    coords: Sequence[LonLat],
    *,
    stops: Sequence[NamedPoint] | None = None,
    description: str | None = None,
) -> str:
    """A GPX 1.1 document with the walk as one track (one segment) and a waypoint per stop.

    A stop with an ``arrive_s`` attribute (a planned stop) gets its arrival time, in minutes
    after the start, as the waypoint's description.

    >>> text = route_to_gpx("Kvällsrunda", [(17.98, 59.28), (17.981, 59.281)])
    >>> parse_gpx(text)
    [(17.98, 59.28), (17.981, 59.281)]
    """
    if len(coords) < 1:
        raise InvalidGpx("a GPX track needs at least one position")
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "nattvandring"
    gpx.name = name
    gpx.description = description
    track = gpxpy.gpx.GPXTrack(name=name)
    segment = gpxpy.gpx.GPXTrackSegment()
    for lon, lat in coords:
        segment.points.append(gpxpy.gpx.GPXTrackPoint(round(lat, DECIMALS), round(lon, DECIMALS)))
    track.segments.append(segment)
    gpx.tracks.append(track)
    for i, stop in enumerate(stops or (), 1):
        arrive_s = getattr(stop, "arrive_s", None)
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(
                round(stop.lat, DECIMALS),
                round(stop.lon, DECIMALS),
                name=f"{i}. {stop.name}",
                description=None if arrive_s is None else f"+{arrive_s / 60:.0f} min",
            )
        )
    return str(gpx.to_xml(version="1.1"))


def parse_gpx(text: str | bytes) -> list[LonLat]:
    """The (lon, lat) points of a GPX file's tracks (all segments joined, in order) or, if it
    has none, of its routes. `InvalidGpx` for malformed XML, no points, or over `MAX_POINTS`
    points or `MAX_GPX_BYTES` bytes."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_GPX_BYTES:
        raise InvalidGpx(
            f"the GPX file is {size / 1e6:.1f} MB; at most {MAX_GPX_BYTES / 1e6:.0f} MB allowed"
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidGpx(f"the GPX file is not UTF-8 text: {exc}") from exc
    # A DTD can define entities that expand without bound; GPX never needs one.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise InvalidGpx("the GPX file has a DOCTYPE or ENTITY declaration; GPX needs neither")
    try:
        gpx = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise InvalidGpx(f"not a readable GPX file: {exc}") from exc
    points = [(p.longitude, p.latitude) for t in gpx.tracks for s in t.segments for p in s.points]
    if not points:
        points = [(p.longitude, p.latitude) for r in gpx.routes for p in r.points]
    if not points:
        raise InvalidGpx("the GPX file has no track points (<trkpt>) or route points (<rtept>)")
    if len(points) > MAX_POINTS:
        raise InvalidGpx(
            f"the GPX file has {len(points):,} points; at most {MAX_POINTS:,} allowed: "
            "simplify the track first"
        )
    for i, (lon, lat) in enumerate(points):
        if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
            raise InvalidGpx(f"point {i} has lat={lat}, lon={lon}: outside WGS 84's range")
    return [(float(lon), float(lat)) for lon, lat in points]
