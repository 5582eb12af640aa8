"""Snap a hand-drawn line (or a recorded track) onto the walkable street network.

Each vertex moves to the nearest point of an edge of the network's largest connected component
(not just the nearest intersection: a line drawn beside a street lands on that street, not up a
driveway). Successive positions are joined along the network: along the edge itself when both
lie on one edge, otherwise out to one of the edge's ends, along the shortest path, and in from
an end of the next edge, whichever of the four ways is shortest. The distance each vertex moved
is reported in metres (in the network's metric CRS).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod

from geo.errors import InvalidGeometry
from geo.geometry import LonLat
from routes.errors import NoRoute, NotNearNetwork
from routes.network import ShortestPaths, StreetNetwork, nearest_edges, shortest_paths

MAX_VERTICES = 5_000
_GEOD = Geod(ellps="WGS84")
# Sources per Dijkstra call: bounds the (sources × nodes) distance array held at once.
_CHUNK = 64


@dataclass(frozen=True)
class SnappedLine:
    """A line along streets: lon/lat coordinates, its length in metres (geodesic), the edge
    index (into ``network.edges``) each input vertex landed on, and how far it moved."""

    coords: list[LonLat] = field(repr=False)
    length_m: float
    edges: list[int]
    moved_m: list[float]


def snap_line(
    network: StreetNetwork,
    coords: Sequence[LonLat],
    *,
    max_move_m: float = 200.0,
    max_spur_m: float = 30.0,
) -> SnappedLine:
    """Snap a lon/lat polyline onto the street network.

    Parameters
    ----------
    network
        The street graph.
    coords
        At least two lon/lat vertices (at most `MAX_VERTICES`).
    max_move_m
        A vertex farther than this from the network raises `NotNearNetwork`, naming the vertex
        (0-based index) and its distance.
    max_spur_m
        Out-and-back detours up to this long (one way, metres) are cut from the result: they
        come from vertices drawn near the mouth of a side street.

    Returns
    -------
    SnappedLine
        The snapped line, starting and ending at the projections of the first and last
        vertices. If every vertex lands on one point the line repeats it (length 0).
    """
    pts = np.asarray(coords, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
        raise InvalidGeometry("a line needs at least two [longitude, latitude] vertices")
    if len(pts) > MAX_VERTICES:
        raise InvalidGeometry(
            f"a line to snap may have at most {MAX_VERTICES} vertices; got {len(pts)}: "
            "simplify it first"
        )
    bad = ~(np.isfinite(pts).all(axis=1) & (np.abs(pts[:, 0]) <= 180) & (np.abs(pts[:, 1]) <= 90))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidGeometry(
            f"vertex {i} is not [longitude, latitude] in degrees (WGS 84): {pts[i].tolist()}"
        )
    snapped = nearest_edges(network, pts)
    far = np.flatnonzero(~(snapped.moved_m <= max_move_m))
    if len(far):
        i = int(far[0])
        raise NotNearNetwork(
            f"vertex {i} ({pts[i, 0]:.6f}, {pts[i, 1]:.6f}) is {snapped.moved_m[i]:.0f} m from "
            f"the nearest street, more than the {max_move_m:.0f} m a vertex may move; move it "
            f"closer to a street or remove it ({len(far)} vertex/vertices too far in all)",
            distance_m=float(snapped.moved_m[i]),
        )
    keep = [0] + [
        i
        for i in range(1, len(pts))
        if (snapped.edges[i], snapped.along_m[i]) != (snapped.edges[i - 1], snapped.along_m[i - 1])
    ]
    positions = [
        (int(snapped.edges[i]), float(snapped.along_m[i]), snapped.lonlat[i]) for i in keep
    ]
    first = (float(positions[0][2][0]), float(positions[0][2][1]))
    line: list[LonLat] = [first]
    for k in range(0, len(positions) - 1, _CHUNK):
        chunk = positions[k : k + _CHUNK + 1]
        ends = sorted({n for e, _, _ in chunk for n in _ends(network, e)})
        straight = max(
            float(np.hypot(*(network.xy[network.index_of(a)] - network.xy[network.index_of(b)])))
            for a in ends[:1]
            for b in ends
        )
        # Legs are short: the search stops a little beyond the chunk's extent; a leg that needs
        # more is searched again without a limit.
        trees = shortest_paths(network, ends, limit_m=3 * straight + 1000.0)
        for a, b in itertools.pairwise(chunk):
            line.extend(_leg(network, trees, a, b))
    # A position on a node repeats the node's point; keep one.
    line = [p for i, p in enumerate(line) if i == 0 or p != line[i - 1]]
    line = _without_spurs(line, max_spur_m)
    if len(line) == 1:
        line.append(first)
    lon, lat = np.asarray(line).T
    # The geodesic length of the line: the sum of the (partial) edge lengths it runs along.
    length_m = float(_GEOD.line_length(lon, lat))
    return SnappedLine(line, length_m, snapped.edges.tolist(), snapped.moved_m.tolist())


def _without_spurs(line: list[LonLat], max_spur_m: float) -> list[LonLat]:
    """``line`` without out-and-back detours of at most ``max_spur_m`` metres one way.

    A vertex drawn near the mouth of a side street lands a few metres up that street, and the
    joined line goes in and straight back out: a spur that nobody meant to walk. A longer one
    (into a cul-de-sac and back, to look at a playground) is kept.
    """
    i = 1
    while i < len(line) - 1:
        if line[i - 1] != line[i + 1]:
            i += 1
            continue
        k = 1  # the spur is line[i - k : i + k + 1], its tip at i
        while i - k - 1 >= 0 and i + k + 1 < len(line) and line[i - k - 1] == line[i + k + 1]:
            k += 1
        half = np.asarray(line[i - k : i + 1])
        if _GEOD.line_length(half[:, 0], half[:, 1]) <= max_spur_m:
            line = line[: i - k + 1] + line[i + k + 1 :]
            i = max(1, i - k)  # the cut may have made a new tip just before
        else:
            i += 1
    return line


Position = tuple[int, float, NDArray[np.float64]]


def _ends(network: StreetNetwork, edge: int) -> tuple[int, int]:
    e = network.edges[edge]
    return e.source, e.target


def _leg(network: StreetNetwork, trees: ShortestPaths, a: Position, b: Position) -> list[LonLat]:
    """The shortest walk from position ``a`` to ``b`` (without ``a``'s own point)."""
    (ea, da, pa), (eb, db, pb) = a, b
    la, lb = network.edges[ea].length_m, network.edges[eb].length_m
    best: tuple[float, Callable[[], list[LonLat]]] | None = None
    if ea == eb:
        best = (abs(db - da), lambda: _along(network, ea, da, db, pa, pb))
    src_a, tgt_a = _ends(network, ea)
    src_b, tgt_b = _ends(network, eb)
    for node_a, out_m in ((src_a, da), (tgt_a, la - da)):
        for node_b, in_m in ((src_b, db), (tgt_b, lb - db)):
            mid = trees.distance_m(node_a, node_b)
            if not math.isfinite(mid):
                mid = shortest_paths(network, [node_a]).distance_m(node_a, node_b)
            total = out_m + mid + in_m
            if best is None or total < best[0] - 1e-9:
                best = (
                    total,
                    functools.partial(
                        _via, network, trees, (ea, da, pa, node_a), (eb, db, pb, node_b)
                    ),
                )
    assert best is not None
    return best[1]()


def _along(
    network: StreetNetwork,
    edge: int,
    d0: float,
    d1: float,
    p0: NDArray[np.float64],
    p1: NDArray[np.float64],
) -> list[LonLat]:
    """The stored vertices of ``edge`` strictly between ``d0`` and ``d1`` metres from its
    source (in walking order), then the point ``p1``."""
    e = network.edges[edge]
    at = _vertex_distances(network, edge)
    inner = (at > min(d0, d1)) & (at < max(d0, d1))
    pts = e.coords[inner] if d1 >= d0 else e.coords[inner][::-1]
    return [(float(x), float(y)) for x, y in pts] + [(float(p1[0]), float(p1[1]))]


def _vertex_distances(network: StreetNetwork, edge: int) -> NDArray[np.float64]:
    """Metres (geodesic scale) from the edge's source to each of its vertices."""
    xy = np.asarray(network._metric_lines[edge].coords)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    return cum * (network.edges[edge].length_m / cum[-1]) if cum[-1] > 0 else cum


def _via(
    network: StreetNetwork,
    trees: ShortestPaths,
    a: tuple[int, float, NDArray[np.float64], int],
    b: tuple[int, float, NDArray[np.float64], int],
) -> list[LonLat]:
    """Out of edge ``a`` at its node, along the shortest path, into edge ``b`` from its node."""
    ea, da, _, node_a = a
    eb, db, pb, node_b = b
    src_a = network.edges[ea].source
    out = _along(
        network,
        ea,
        da,
        0.0 if node_a == src_a else network.edges[ea].length_m,
        a[2],
        network.lonlat[network.index_of(node_a)],
    )
    try:
        path = trees.path(node_a, node_b)
    except NoRoute:
        path = shortest_paths(network, [node_a]).path(node_a, node_b)
    src_b = network.edges[eb].source
    into = _along(
        network,
        eb,
        0.0 if node_b == src_b else network.edges[eb].length_m,
        db,
        network.lonlat[network.index_of(node_b)],
        pb,
    )
    return out + path.coords[1:] + into
