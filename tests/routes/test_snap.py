"""Snapping hand-drawn lines onto the real Långbro streets."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo.errors import InvalidGeometry
from geo.geometry import LonLat, transformer
from routes.errors import NotNearNetwork
from routes.network import StreetNetwork, shortest_path
from routes.snap import snap_line

GEOD = Geod(ellps="WGS84")
TO_3006 = transformer(4326, 3006).transform


def _metric(coords: list[LonLat]) -> shapely.LineString:
    return shapely.transform(shapely.LineString(coords), TO_3006, interleaved=False)


def _street_walk(net: StreetNetwork, name: str) -> list[LonLat]:
    """A real walk along a street: the shortest path between its two farthest nodes."""
    ends = sorted({n for e in net.edges if e.name == name for n in (e.source, e.target)})
    xy = net.xy[[net.index_of(n) for n in ends]]
    far = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    i, j = np.unravel_index(int(far.argmax()), far.shape)
    return shortest_path(net, ends[i], ends[j]).coords


def _drawn_beside(street: shapely.LineString, offset_m: float) -> list[LonLat]:
    """A hand-drawn line: a vertex every 40 m, ``offset_m`` to the side of ``street``."""
    drawn = street.offset_curve(offset_m)
    pts = [drawn.interpolate(d) for d in np.arange(0, drawn.length, 40.0)]
    lon, lat = transformer(3006, 4326).transform([p.x for p in pts], [p.y for p in pts])
    return list(zip(lon, lat, strict=True))


def test_a_line_drawn_20_m_beside_a_street_snaps_onto_it(langbro: StreetNetwork) -> None:
    street = _metric(_street_walk(langbro, "Svartlösavägen"))
    assert street.length > 1000
    # On this side of Svartlösavägen there is no separately mapped pavement.
    snapped = snap_line(langbro, _drawn_beside(street, -20.0))
    moved = np.asarray(snapped.moved_m)
    assert len(moved) > 25
    # Every vertex moved at most its 20 m (a side street may be nearer), most exactly 20 m.
    assert moved.max() <= 20.0 + 0.05
    assert np.median(moved) == pytest.approx(20.0, abs=0.05)
    line_m = _metric(snapped.coords)
    # It follows the street: nearly all of it within 2 m of it, about as long, and without
    # the in-and-out spurs into the side streets that some vertices landed in.
    assert line_m.intersection(street.buffer(2.0)).length / line_m.length > 0.85
    assert line_m.length == pytest.approx(street.length, rel=0.06)
    # The reported length is the geodesic length of the snapped line.
    lons, lats = np.asarray(snapped.coords).T
    assert GEOD.line_length(lons, lats) == pytest.approx(snapped.length_m, rel=1e-9)
    # On the streets: every vertex lies on a stored edge (1 m in SWEREF 99 TM).
    edges = shapely.STRtree([_metric([tuple(p) for p in e.coords]) for e in langbro.edges])
    _, dist = edges.query_nearest(
        shapely.points(np.asarray(line_m.coords)), return_distance=True, all_matches=False
    )
    assert dist.max() < 1.0
    # With the spurs kept, the line is longer by their length there and back.
    with_spurs = snap_line(langbro, _drawn_beside(street, -20.0), max_spur_m=0.0)
    assert with_spurs.length_m > snapped.length_m + 2 * 10.0


def test_on_the_other_side_it_lands_on_the_separately_mapped_pavement(
    langbro: StreetNetwork,
) -> None:
    street = _metric(_street_walk(langbro, "Svartlösavägen"))
    snapped = snap_line(langbro, _drawn_beside(street, 20.0))
    kinds = [langbro.edges[k].highway for k in snapped.edges]
    # The pavement-and-cycle path along the street (highway=cycleway, foot=yes) is nearer.
    assert kinds.count("cycleway") > 0.6 * len(kinds)
    assert max(snapped.moved_m) <= 20.0 + 0.05


def test_points_on_two_streets_are_joined_along_the_streets(langbro: StreetNetwork) -> None:
    walk = _street_walk(langbro, "Svartlösavägen")
    first, last = walk[0], walk[-1]
    snapped = snap_line(langbro, [first, first, last])
    assert snapped.moved_m == pytest.approx([0, 0, 0], abs=1e-6)
    lons, lats = np.asarray(walk).T
    assert snapped.length_m == pytest.approx(GEOD.line_length(lons, lats), rel=1e-6)
    assert snapped.coords[0] == pytest.approx(first) and snapped.coords[-1] == pytest.approx(last)
    # The straight line is shorter than the walk along the streets, never longer.
    assert GEOD.inv(*first, *last)[2] <= snapped.length_m


def test_a_vertex_far_from_the_streets_is_named(langbro: StreetNetwork) -> None:
    walk = _street_walk(langbro, "Spadvägen")
    drawn = walk[:2]
    lon, lat, _ = GEOD.fwd(*drawn[1], 0, 5000)
    with pytest.raises(NotNearNetwork, match=r"^vertex 2 .* is \d+ m from the nearest street") as e:
        snap_line(langbro, [*drawn, (lon, lat)])
    assert 4000 < e.value.distance_m < 6000
    with pytest.raises(InvalidGeometry, match="at least two"):
        snap_line(langbro, drawn[:1])
    with pytest.raises(InvalidGeometry, match="vertex 1"):
        snap_line(langbro, [drawn[0], (59.28, 17.98 + 100)])
