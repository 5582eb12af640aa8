"""A walk's recorded track: cleaning the phone's positions, the track as a MultiLineString,
reading an uploaded GPX or GeoJSON track, and the planned route against the walked one.

Pure computation on `geo.inputs.walks.TrackPoint`s (WGS 84 lon/lat, UTC times); distances in the
area's metric CRS (SWEREF 99 TM by default), never in degrees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import gpxpy
import gpxpy.gpx
import numpy as np
import shapely
from shapely import LineString, MultiLineString, Point

from geo.geometry import SWEREF99TM, WGS84, to_metric, transformer
from geo.inputs.walks import TrackPoint
from routes.errors import InvalidGpx
from routes.gpx import MAX_GPX_BYTES, MAX_POINTS, parse_gpx

MAX_ACCURACY_M = 50.0
TIME_MARGIN = timedelta(hours=1)
MAX_SPEED_KMH = 30.0
# A pause longer than this (a dead zone, the phone in a pocket) starts a new part of the line,
# so the map does not draw a straight line across streets nobody walked.
GAP = timedelta(minutes=10)
NEAR_M = 50.0


@dataclass(frozen=True)
class CleanedTrack:
    """The points kept (in time order) and how many were dropped, per reason."""

    kept: list[TrackPoint]
    inaccurate: int = 0
    outside_time: int = 0
    too_fast: int = 0
    duplicates: int = 0

    @property
    def dropped(self) -> int:
        return self.inaccurate + self.outside_time + self.too_fast

    def describe(self) -> dict[str, int]:
        return {
            "kept": len(self.kept),
            "dropped_inaccurate": self.inaccurate,
            "dropped_outside_time": self.outside_time,
            "dropped_too_fast": self.too_fast,
            "duplicates": self.duplicates,
        }


def _metric_xy(points: Sequence[TrackPoint], epsg: int) -> np.ndarray:
    if not points:
        return np.zeros((0, 2))
    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    x, y = transformer(WGS84, epsg).transform(lon, lat)
    return np.column_stack([x, y])


def clean_track(
    points: Sequence[TrackPoint],
    *,
    window_start: datetime,
    window_end: datetime,
    stored: Sequence[TrackPoint] = (),
    epsg: int = SWEREF99TM,
    max_accuracy_m: float = MAX_ACCURACY_M,
    margin: timedelta = TIME_MARGIN,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> CleanedTrack:
    """Drop the points a walk cannot have made, and say how many for each reason.

    A point is dropped when its accuracy is worse than ``max_accuracy_m``, when it lies outside
    ``[window_start - margin, window_end + margin]``, or when reaching it from the previous kept
    point (in time order) means moving faster than ``max_speed_kmh`` (a GPS jump: walkers walk).
    ``stored`` are the points kept from earlier batches: they are kept, the speed test of a new
    point starts from them, and a new point at the time of one of them is a duplicate (a
    retried batch), as is a second point at one time within ``points``.

    >>> t0 = datetime(2026, 9, 4, 19, tzinfo=UTC)
    >>> pts = [TrackPoint(recorded_at=t0 + timedelta(minutes=i), lon=18.0 + 0.001 * i, lat=59.28)
    ...        for i in range(3)]
    >>> jump = TrackPoint(recorded_at=t0 + timedelta(minutes=3), lon=18.1, lat=59.28)
    >>> clean_track([*pts, jump], window_start=t0, window_end=t0 + timedelta(hours=4)).describe()
    {'kept': 3, 'dropped_inaccurate': 0, 'dropped_outside_time': 0, 'dropped_too_fast': 1, \
'duplicates': 0}
    """
    lo, hi = window_start - margin, window_end + margin
    inaccurate = outside = duplicates = 0
    taken: dict[datetime, TrackPoint] = {}
    stored_times = {p.recorded_at for p in stored}
    for p in points:
        if p.recorded_at in stored_times or p.recorded_at in taken:
            duplicates += 1
        elif p.accuracy_m is not None and p.accuracy_m > max_accuracy_m:
            inaccurate += 1
        elif not lo <= p.recorded_at <= hi:
            outside += 1
        else:
            taken[p.recorded_at] = p
    merged = sorted(
        [*((p, True) for p in stored), *((p, False) for p in taken.values())],
        key=lambda item: item[0].recorded_at,
    )
    xy = _metric_xy([p for p, _ in merged], epsg)
    max_speed = max_speed_kmh / 3.6
    kept: list[TrackPoint] = []
    last: int | None = None
    too_fast = 0
    for i, (p, was_stored) in enumerate(merged):
        if not was_stored and last is not None:
            dt = (p.recorded_at - merged[last][0].recorded_at).total_seconds()
            dist = float(math.hypot(*(xy[i] - xy[last])))
            if dist > max_speed * dt:
                too_fast += 1
                continue
        kept.append(p)
        last = i
    return CleanedTrack(kept, inaccurate, outside, too_fast, duplicates)


def build_track(points: Sequence[TrackPoint], *, gap: timedelta = GAP) -> MultiLineString | None:
    """The track as a MultiLineString (lon/lat), a new part after a pause longer than ``gap``.

    Parts of a single point are left out (a point is no line); None when nothing is left.
    """
    ordered = sorted(points, key=lambda p: p.recorded_at)
    parts: list[list[tuple[float, float]]] = []
    previous: TrackPoint | None = None
    for p in ordered:
        if previous is None or p.recorded_at - previous.recorded_at > gap:
            parts.append([])
        parts[-1].append((p.lon, p.lat))
        previous = p
    lines = [LineString(part) for part in parts if len(set(part)) >= 2]
    return MultiLineString(lines) if lines else None


# -- uploads --------------------------------------------------------------------------------------


def read_track_upload(data: bytes | str) -> list[TrackPoint]:
    """The timed points of an uploaded track: GPX 1.1 (``<trkpt>`` with ``<time>``) or GeoJSON.

    GeoJSON is a (Multi)LineString Feature with ``properties.coordTimes`` (the convention of
    togeojson and most tracking apps) or a FeatureCollection of Point features with a ``time``
    property. The limits of the route GPX import hold (`routes.gpx`: 10 MB, 20,000 points, no
    DTD); every failure is an `InvalidGpx` that says what to fix.
    """
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_GPX_BYTES:
        raise InvalidGpx(
            f"the track file is {len(raw) / 1e6:.1f} MB; at most {MAX_GPX_BYTES / 1e6:.0f} MB "
            "allowed",
            field="file",
        )
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    points = _geojson_points(raw) if head in (b"{", b"[") else _gpx_points(raw)
    if len(points) > MAX_POINTS:
        raise InvalidGpx(
            f"the track has {len(points):,} points; at most {MAX_POINTS:,} allowed", field="file"
        )
    return points


def _gpx_points(raw: bytes) -> list[TrackPoint]:
    parse_gpx(raw)  # the route import's checks: encoding, no DTD, well-formed, size, range
    gpx = gpxpy.parse(raw.decode("utf-8-sig"))
    found = [p for t in gpx.tracks for s in t.segments for p in s.points]
    if not found:
        raise InvalidGpx("the GPX file has no track points (<trkpt>): upload a recorded track")
    untimed = sum(1 for p in found if p.time is None)
    if untimed:
        raise InvalidGpx(
            f"{untimed} of the {len(found)} track points have no <time>: a walk's track needs "
            "the time of each point (export the recording, not a planned route)",
            field="file",
        )
    return [
        _point(p.time, p.longitude, p.latitude, p.horizontal_dilution, i)
        for i, p in enumerate(found)
    ]


def _point(when: Any, lon: Any, lat: Any, accuracy: Any, i: int) -> TrackPoint:
    try:
        moment = when if isinstance(when, datetime) else datetime.fromisoformat(str(when))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # GPX times are UTC
        return TrackPoint(recorded_at=moment, lon=lon, lat=lat, accuracy_m=None)
    except (ValueError, TypeError) as exc:
        raise InvalidGpx(
            f"point {i} (lon={lon}, lat={lat}, time={when}) is not a valid position: "
            f"{str(exc).splitlines()[0]}",
            field="file",
        ) from None


def _geojson_points(raw: bytes) -> list[TrackPoint]:
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidGpx(f"not readable GeoJSON: {exc}", field="file") from None
    if not isinstance(doc, dict):
        raise InvalidGpx("the GeoJSON must be a Feature or a FeatureCollection", field="file")
    if doc.get("type") == "Feature":
        geom, props = doc.get("geometry") or {}, doc.get("properties") or {}
        kind = geom.get("type") if isinstance(geom, dict) else None
        if kind not in ("LineString", "MultiLineString"):
            raise InvalidGpx(
                "a track Feature must be a LineString or MultiLineString", field="file"
            )
        lines = geom.get("coordinates") or []
        times = props.get("coordTimes") if isinstance(props, dict) else None
        if kind == "LineString":
            lines, times = [lines], [times]
        if not isinstance(times, list) or len(times) != len(lines):
            raise InvalidGpx(
                "the Feature needs properties.coordTimes: a time for each position",
                field="file",
            )
        out: list[TrackPoint] = []
        for line, line_times in zip(lines, times, strict=True):
            if (
                not isinstance(line, list)
                or not isinstance(line_times, list)
                or len(line_times) != len(line)
            ):
                raise InvalidGpx("coordTimes must have one time per position", field="file")
            for c, t in zip(line, line_times, strict=True):
                if not isinstance(c, list) or len(c) < 2:
                    raise InvalidGpx(f"position {c!r} is not [lon, lat]", field="file")
                out.append(_point(t, c[0], c[1], None, len(out)))
    elif doc.get("type") == "FeatureCollection":
        out = []
        for f in doc.get("features") or []:
            geom = f.get("geometry") if isinstance(f, dict) else None
            props = (f.get("properties") or {}) if isinstance(f, dict) else {}
            if not isinstance(geom, dict) or geom.get("type") != "Point":
                raise InvalidGpx("a track FeatureCollection holds Point features", field="file")
            c = geom.get("coordinates") or []
            if len(c) < 2:
                raise InvalidGpx(f"position {c!r} is not [lon, lat]", field="file")
            when = props.get("time", props.get("recorded_at"))
            if when is None:
                raise InvalidGpx("every point needs a time property", field="file")
            out.append(_point(when, c[0], c[1], props.get("accuracy_m"), len(out)))
    else:
        raise InvalidGpx("the GeoJSON must be a Feature or a FeatureCollection", field="file")
    if not out:
        raise InvalidGpx("the track has no positions", field="file")
    return out


# -- plan vs walked -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanVsWalked:
    """How a walk followed its plan: lengths in metres, a share in 0–1, the stops by name."""

    walked_m: float
    planned_m: float | None
    planned_share_walked: float | None
    stops_passed: list[str] = field(default_factory=list)
    stops_missed: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "walked_m": round(self.walked_m, 1),
            "planned_m": None if self.planned_m is None else round(self.planned_m, 1),
            "planned_share_walked": None
            if self.planned_share_walked is None
            else round(self.planned_share_walked, 3),
            "stops_passed": self.stops_passed,
            "stops_missed": self.stops_missed,
        }


def plan_vs_walked(
    track: MultiLineString | None,
    *,
    route: LineString | None = None,
    stops: Sequence[tuple[str, float, float]] = (),
    epsg: int = SWEREF99TM,
    near_m: float = NEAR_M,
) -> PlanVsWalked:
    """Length walked, the share of the planned ``route`` within ``near_m`` of the track, and
    which ``stops`` (name, lon, lat) the track passed within ``near_m``.

    >>> walked = MultiLineString([[(18.0, 59.28), (18.01, 59.28)]])
    >>> plan = LineString([(18.0, 59.2801), (18.02, 59.2801)])
    >>> r = plan_vs_walked(walked, route=plan, stops=[("Skolan", 18.005, 59.2802),
    ...                                               ("Torget", 18.02, 59.28)])
    >>> round(r.walked_m), round(r.planned_share_walked, 2), r.stops_passed, r.stops_missed
    (570, 0.54, ['Skolan'], ['Torget'])
    """
    walked = to_metric(track, epsg) if track is not None else None
    walked_m = float(walked.length) if walked is not None else 0.0
    corridor = walked.buffer(near_m) if walked is not None else None
    planned_m = share = None
    if route is not None:
        planned = to_metric(route, epsg)
        planned_m = float(planned.length)
        inside = planned.intersection(corridor).length if corridor is not None else 0.0
        share = float(inside / planned_m) if planned_m > 0 else None
    passed: list[str] = []
    missed: list[str] = []
    for name, lon, lat in stops:
        point = to_metric(Point(lon, lat), epsg)
        near = corridor is not None and bool(shapely.intersects(corridor, point))
        (passed if near else missed).append(name)
    return PlanVsWalked(walked_m, planned_m, share, passed, missed)


def track_to_gpx(name: str, lines: Sequence[Sequence[Sequence[float]]]) -> str:
    """A walked track (the coordinates of a MultiLineString) as GPX 1.1: one track, a segment
    per part of the line.

    >>> "<trkseg>" in track_to_gpx("Pass", [[(18.0, 59.28), (18.001, 59.28)]])
    True
    """
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "nattvandring"
    gpx.name = name
    track = gpxpy.gpx.GPXTrack(name=name)
    for line in lines:
        segment = gpxpy.gpx.GPXTrackSegment()
        for lon, lat, *_ in line:
            segment.points.append(gpxpy.gpx.GPXTrackPoint(round(lat, 7), round(lon, 7)))
        track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml(version="1.1")
