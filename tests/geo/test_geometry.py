"""Pure geometry helpers: no database."""

from __future__ import annotations

import pytest
from shapely import Point

from geo.errors import InvalidParameter
from geo.geometry import display_name, parse_bbox, slugify, to_metric, to_wgs84


def test_parse_bbox_accepts_lon_lat_box() -> None:
    box = parse_bbox(" 17.97, 59.26 ,18.06,59.30")
    assert box.as_tuple() == (17.97, 59.26, 18.06, 59.30)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("17.97,59.26,18.06", "four numbers"),
        ("17.97,59.26,18.06,59.30,1", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("", "four numbers"),
        ("17.97,59.26,nan,59.30", "finite"),
        ("59.26,17.97,59.30,18.06,", "four numbers"),
        ("17.97,-95,18.06,59.30", "latitudes"),
        ("-181,59.26,18.06,59.30", "longitudes"),
        ("18.06,59.26,17.97,59.30", "minimum"),
    ],
)
def test_parse_bbox_rejects_with_a_message_that_says_what_to_fix(text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        parse_bbox(text)
    assert fragment in str(err.value)
    assert "minlon,minlat,maxlon,maxlat" in str(err.value)
    assert err.value.field == "bbox"


def test_swapped_stockholm_box_is_rejected_with_a_hint() -> None:
    with pytest.raises(InvalidParameter, match="swap"):
        parse_bbox("59.26,117.97,59.30,118.06")


def test_slug_and_display_name_of_swedish_districts() -> None:
    assert slugify("ÄLVSJÖ") == "alvsjo"
    assert slugify("ENSKEDE GÅRD") == "enskede-gard"
    assert display_name("ENSKEDE GÅRD") == "Enskede gård"


def test_metric_round_trip_is_lossless_and_metric() -> None:
    station = Point(18.010451, 59.278549)
    m = to_metric(station)
    # SWEREF 99 TM: eastings around 670 km, northings around 6,575 km in Stockholm.
    assert 600_000 < m.x < 700_000 and 6_500_000 < m.y < 6_600_000
    back = to_wgs84(m)
    assert back.distance(station) < 1e-9
    # One kilometre north in metres is about 0.009 degrees of latitude.
    north = to_wgs84(Point(m.x, m.y + 1000))
    assert north.y - station.y == pytest.approx(0.00899, abs=0.0001)
