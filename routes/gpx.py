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
import shapely

from geo.geometry import SWEREF99TM, WGS84_DECIMALS, LonLat, to_metric, to_wgs84
from routes.errors import InvalidGpx

MAX_GPX_BYTES = 10 * 1024 * 1024
MAX_POINTS = 20_000
# The one coordinate precision of every file the service writes (≈ 0.1 m).
DECIMALS = WGS84_DECIMALS


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
    metric_epsg: int = SWEREF99TM,
) -> str:
    """A GPX 1.1 document with the walk as one track (one segment) and a waypoint per stop.

    Each waypoint lies on the track, at the track's point nearest the stop (measured in
    ``metric_epsg``): a stop's own place may be a building or a square off the streets, and a
    phone that shows a waypoint off its track confuses the walk. The waypoint's description
    keeps the stop's own place (lat, lon, and how far from the track) and, for a stop with an
    ``arrive_s`` attribute (a planned stop), its arrival in minutes after the start.

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
    line = to_metric(
        shapely.LineString(coords) if len(coords) > 1 else shapely.Point(coords[0]), metric_epsg
    )
    for i, stop in enumerate(stops or (), 1):
        arrive_s = getattr(stop, "arrive_s", None)
        own = to_metric(shapely.Point(stop.lon, stop.lat), metric_epsg)
        on_track = line.interpolate(line.project(own)) if len(coords) > 1 else line
        off_m = own.distance(on_track)
        at = to_wgs84(on_track, metric_epsg)
        place = f"platsen {stop.lat:.6f}, {stop.lon:.6f} (lat, lon)"
        if off_m >= 1:
            place += f", {off_m:.0f} m från spåret"
        when = None if arrive_s is None else f"+{arrive_s / 60:.0f} min"
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(
                round(at.y, DECIMALS),
                round(at.x, DECIMALS),
                name=f"{i}. {stop.name}",
                description="; ".join(x for x in (when, place) if x),
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
