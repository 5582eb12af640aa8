"""GPX written for phones and read back by gpxpy and by GDAL (pyogrio)."""

from __future__ import annotations

from pathlib import Path

import gpxpy
import numpy as np
import pyogrio
import pytest
import shapely

from geo.errors import InvalidInput
from geo.geometry import LonLat
from routes.errors import InvalidGpx
from routes.gpx import MAX_POINTS, parse_gpx, route_to_gpx
from routes.network import StreetNetwork, shortest_path
from routes.plan_types import PlannedStop


def _walk(langbro: StreetNetwork) -> list[LonLat]:
    return shortest_path(langbro, int(langbro.node_ids[0]), int(langbro.node_ids[-1])).coords


def test_round_trip_through_gpxpy_and_gdal(langbro: StreetNetwork, tmp_path: Path) -> None:
    coords = _walk(langbro)
    assert len(coords) > 10
    stops = [
        PlannedStop(
            "Spadvägen",
            *coords[3],
            node=0,
            snap_m=0.0,
            arrive_s=300.0,
            dwell_s=600.0,
            priority=2.0,
            must_visit=False,
        ),
        PlannedStop(
            "Krattvägen",
            *coords[-2],
            node=0,
            snap_m=0.0,
            arrive_s=1500.0,
            dwell_s=600.0,
            priority=1.0,
            must_visit=True,
        ),
    ]
    text = route_to_gpx("Nattvandring Långbro", coords, stops=stops)
    assert np.abs(np.asarray(parse_gpx(text)) - np.asarray(coords)).max() <= 1e-6

    doc = gpxpy.parse(text)
    assert doc.version == "1.1" and doc.creator == "nattvandring"
    points = [(p.longitude, p.latitude) for p in doc.tracks[0].segments[0].points]
    assert np.abs(np.asarray(points) - np.asarray(coords)).max() <= 1e-6
    assert [w.name for w in doc.waypoints] == ["1. Spadvägen", "2. Krattvägen"]
    assert [w.description.split(";")[0] for w in doc.waypoints] == ["+5 min", "+25 min"]
    assert doc.waypoints[0].description == (
        f"+5 min; platsen {coords[3][1]:.6f}, {coords[3][0]:.6f} (lat, lon)"
    )

    path = tmp_path / "walk.gpx"
    path.write_text(text, encoding="utf-8")
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"tracks", "waypoints"} <= layers
    tracks = pyogrio.read_dataframe(path, layer="tracks")
    assert len(tracks) == 1 and tracks["name"][0] == "Nattvandring Långbro"
    xy = shapely.get_coordinates(tracks.geometry[0])
    assert np.abs(xy - np.asarray(coords)).max() <= 1e-6
    wpts = pyogrio.read_dataframe(path, layer="waypoints")
    assert list(wpts["name"]) == ["1. Spadvägen", "2. Krattvägen"]
    assert np.abs(shapely.get_coordinates(wpts.geometry) - [coords[3], coords[-2]]).max() <= 1e-6


def test_routes_and_multi_segment_tracks_are_read() -> None:
    route = """<?xml version="1.0"?>
    <gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">
      <rte><rtept lat="59.28" lon="17.98"/><rtept lat="59.281" lon="17.982"/></rte>
    </gpx>"""
    assert parse_gpx(route) == [(17.98, 59.28), (17.982, 59.281)]
    track = """<?xml version="1.0"?>
    <gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"><trk>
      <trkseg><trkpt lat="59.28" lon="17.98"/></trkseg>
      <trkseg><trkpt lat="59.29" lon="17.99"/><trkpt lat="59.3" lon="18.0"/></trkseg>
    </trk></gpx>"""
    assert parse_gpx(track.encode()) == [(17.98, 59.28), (17.99, 59.29), (18.0, 59.3)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<gpx><trk><trkseg><trkpt lat='59' lon='18'>", "not a readable GPX file"),
        ("hello", "not a readable GPX file"),
        ("<?xml version='1.0'?><gpx version='1.1'></gpx>", "no track points"),
        ("<?xml version='1.0'?><!DOCTYPE gpx [<!ENTITY a 'aaaa'>]><gpx>&a;</gpx>", "DOCTYPE"),
        ("<gpx version='1.1'><rte><rtept lat='95' lon='18'/></rte></gpx>", "outside"),
    ],
)
def test_malformed_gpx_is_422(text: str, message: str) -> None:
    with pytest.raises(InvalidGpx, match=message) as info:
        parse_gpx(text)
    assert isinstance(info.value, InvalidInput)


def test_too_many_points_is_refused() -> None:
    pts = "".join(f"<trkpt lat='59.{i:05d}' lon='18'/>" for i in range(MAX_POINTS + 1))
    with pytest.raises(InvalidGpx, match="at most 20,000"):
        parse_gpx(f"<gpx version='1.1'><trk><trkseg>{pts}</trkseg></trk></gpx>")


def test_a_waypoint_lies_on_the_track_and_keeps_its_own_place_in_the_description() -> None:
    """Issue 16: a stop 200 m north of the track (its place: a square off the street) gets its
    waypoint at the track's nearest point; the description names where the stop itself is."""
    track = [(17.980, 59.280), (17.990, 59.280)]  # an east-west street, about 570 m
    off = PlannedStop(
        "Torget",
        17.985,
        59.2818,  # about 200 m north of the street's middle
        node=0,
        snap_m=200.0,
        arrive_s=600.0,
        dwell_s=600.0,
        priority=1.0,
        must_visit=False,
    )
    doc = gpxpy.parse(route_to_gpx("Runda", track, stops=[off]))
    (w,) = doc.waypoints
    assert w.latitude == pytest.approx(59.280, abs=2e-6)
    assert w.longitude == pytest.approx(17.985, abs=2e-5)
    line = shapely.LineString(track)
    assert line.distance(shapely.Point(w.longitude, w.latitude)) < 1e-6
    assert w.description.startswith("+10 min; platsen 59.281800, 17.985000 (lat, lon), ")
    metres = int(w.description.rsplit(", ", 1)[1].split(" m")[0])
    assert 195 <= metres <= 205
