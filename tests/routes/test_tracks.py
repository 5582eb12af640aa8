"""Recorded tracks: cleaning, the MultiLineString, GPX and GeoJSON uploads, plan vs walked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from shapely import LineString, MultiLineString

from geo.geometry import to_metric
from geo.inputs.walks import TrackPoint
from routes.errors import InvalidGpx
from routes.gpx import MAX_GPX_BYTES
from routes.tracks import build_track, clean_track, plan_vs_walked, read_track_upload

T0 = datetime(2026, 9, 4, 19, 0, tzinfo=UTC)
LON, LAT = 18.0104, 59.2786
# About 57 m of longitude per 0.001° at 59.3° N.
STEP = 0.001


def walk_points(n: int, *, every: timedelta = timedelta(minutes=1)) -> list[TrackPoint]:
    return [
        TrackPoint(recorded_at=T0 + i * every, lon=LON + STEP * i, lat=LAT, accuracy_m=8)
        for i in range(n)
    ]


def clean(points: list[TrackPoint], **kw: object) -> object:
    return clean_track(points, window_start=T0, window_end=T0 + timedelta(hours=4), **kw)  # type: ignore[arg-type]


def test_each_reason_is_counted() -> None:
    good = walk_points(6)
    inaccurate = TrackPoint(recorded_at=T0 + timedelta(seconds=30), lon=LON, lat=LAT, accuracy_m=51)
    early = TrackPoint(recorded_at=T0 - timedelta(hours=1, minutes=1), lon=LON, lat=LAT)
    late = TrackPoint(recorded_at=T0 + timedelta(hours=5, minutes=1), lon=LON, lat=LAT)
    edge = TrackPoint(recorded_at=T0 - timedelta(hours=1), lon=LON, lat=LAT)
    # 1 km in 60 s is 60 km/h: a GPS jump.
    jump = TrackPoint(recorded_at=T0 + timedelta(minutes=6), lon=LON + 0.0175 + STEP * 5, lat=LAT)
    dup = good[2]
    result = clean_track(
        [*good, inaccurate, early, late, edge, jump, dup],
        window_start=T0,
        window_end=T0 + timedelta(hours=4),
    )
    assert result.describe() == {
        "kept": 7,
        "dropped_inaccurate": 1,
        "dropped_outside_time": 2,
        "dropped_too_fast": 1,
        "duplicates": 1,
    }
    assert result.dropped == 4
    assert [p.recorded_at for p in result.kept] == sorted(p.recorded_at for p in result.kept)
    assert edge in result.kept and jump not in result.kept


def test_speed_limit_is_30_kmh_from_the_last_kept_point() -> None:
    # 0.0085° of longitude is about 483 m: in 60 s that is 29 km/h (kept), in 55 s 31.6 (not).
    a = TrackPoint(recorded_at=T0, lon=LON, lat=LAT)
    ok = TrackPoint(recorded_at=T0 + timedelta(seconds=60), lon=LON + 0.0085, lat=LAT)
    fast = TrackPoint(recorded_at=T0 + timedelta(seconds=55), lon=LON + 0.0085, lat=LAT)
    assert len(clean_track([a, ok], window_start=T0, window_end=T0).kept) == 2
    assert clean_track([a, fast], window_start=T0, window_end=T0).too_fast == 1
    # After a jump is dropped, the next point is measured from the last kept one.
    back = TrackPoint(recorded_at=T0 + timedelta(seconds=120), lon=LON + 0.0005, lat=LAT)
    result = clean_track([a, fast, back], window_start=T0, window_end=T0)
    assert result.kept == [a, back]


def test_a_retried_batch_is_a_duplicate_of_the_stored_points() -> None:
    first = walk_points(5)
    again = clean_track(first, window_start=T0, window_end=T0, stored=first)
    assert again.duplicates == 5
    assert again.kept == first
    # A point of a new batch is checked against the stored ones (too fast after the last).
    jump = TrackPoint(recorded_at=T0 + timedelta(minutes=5), lon=LON + 0.05, lat=LAT)
    assert clean_track([jump], window_start=T0, window_end=T0, stored=first).too_fast == 1


def test_a_long_gap_starts_a_new_part() -> None:
    before = walk_points(4)
    after = [
        TrackPoint(recorded_at=T0 + timedelta(minutes=30 + i), lon=LON + 0.01 + STEP * i, lat=LAT)
        for i in range(3)
    ]
    lonely = TrackPoint(recorded_at=T0 + timedelta(hours=2), lon=LON, lat=LAT)
    track = build_track([*after, lonely, *before])
    assert isinstance(track, MultiLineString)
    assert [len(g.coords) for g in track.geoms] == [4, 3]
    assert track.geoms[0].coords[0] == (LON, LAT)
    assert build_track([lonely]) is None
    assert build_track([]) is None


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>
<trkpt lat="59.2786" lon="18.0104"><time>2026-09-04T19:00:00Z</time></trkpt>
<trkpt lat="59.2786" lon="18.0114"><time>2026-09-04T19:01:00Z</time></trkpt>
</trkseg><trkseg>
<trkpt lat="59.2790" lon="18.0120"><time>2026-09-04T19:30:00Z</time></trkpt>
</trkseg></trk></gpx>"""


def test_gpx_upload_with_times() -> None:
    points = read_track_upload(GPX.encode())
    assert [(p.lon, p.lat) for p in points] == [
        (18.0104, 59.2786),
        (18.0114, 59.2786),
        (18.012, 59.279),
    ]
    assert points[0].recorded_at == T0
    assert points[2].recorded_at.tzinfo is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (GPX.replace("<time>2026-09-04T19:01:00Z</time>", ""), "no <time>"),
        ("<gpx><trk>", "not a readable GPX"),
        (
            '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "b">]><gpx version="1.1"></gpx>',
            "DOCTYPE",
        ),
        (GPX.replace('lat="59.2786" lon="18.0104"', 'lat="95" lon="18.0104"'), "range"),
        ('<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"></gpx>', "no track"),
        ("{", "not readable GeoJSON"),
        ('{"type": "Point", "coordinates": [18, 59]}', "Feature"),
        (
            '{"type": "Feature", "properties": {}, "geometry": '
            '{"type": "LineString", "coordinates": [[18, 59], [18.1, 59]]}}',
            "coordTimes",
        ),
    ],
)
def test_bad_uploads_are_refused(data: str, message: str) -> None:
    with pytest.raises(InvalidGpx, match=message):
        read_track_upload(data.encode())


def test_a_10_mb_track_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidGpx, match="MB"):
        read_track_upload(b" " * (MAX_GPX_BYTES + 1))


def test_geojson_uploads() -> None:
    line = {
        "type": "Feature",
        "properties": {"coordTimes": ["2026-09-04T19:00:00Z", "2026-09-04T19:01:00Z"]},
        "geometry": {"type": "LineString", "coordinates": [[18.0104, 59.2786], [18.0114, 59.2786]]},
    }
    points = read_track_upload(json.dumps(line))
    assert [p.recorded_at for p in points] == [T0, T0 + timedelta(minutes=1)]
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"time": "2026-09-04T21:00:00+02:00"},
                "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
            }
        ],
    }
    assert read_track_upload(json.dumps(collection))[0].recorded_at == T0
    collection["features"][0]["properties"] = {}  # type: ignore[index]
    with pytest.raises(InvalidGpx, match="time"):
        read_track_upload(json.dumps(collection))


def test_plan_vs_walked() -> None:
    plan = LineString([(LON, LAT), (LON + 0.01, LAT), (LON + 0.01, LAT + 0.005)])
    # The walk follows the first leg 20 m off it, then leaves the plan.
    walked = MultiLineString([[(LON, LAT + 0.00018), (LON + 0.01, LAT + 0.00018)]])
    stops = [("Stationen", LON, LAT), ("Skolan", LON + 0.01, LAT + 0.005)]
    result = plan_vs_walked(walked, route=plan, stops=stops)
    first_leg = to_metric(LineString(plan.coords[:2])).length
    assert result.walked_m == pytest.approx(first_leg, rel=0.01)
    assert result.planned_m == pytest.approx(to_metric(plan).length)
    # The first leg and the first 70 m of the second (the track ends 20 m north of the corner,
    # and 50 m further north is still within 50 m of it).
    expected = (first_leg + 70) / result.planned_m
    assert result.planned_share_walked == pytest.approx(expected, abs=0.005)
    assert result.stops_passed == ["Stationen"] and result.stops_missed == ["Skolan"]
    nothing = plan_vs_walked(None, route=plan, stops=stops)
    assert nothing.walked_m == 0 and nothing.planned_share_walked == 0
    assert nothing.describe()["stops_missed"] == ["Stationen", "Skolan"]
