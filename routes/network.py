"""The walkable street graph in memory: shortest paths, distance matrices and nearest nodes.

Nodes are the OSM nodes where walkable ways meet or end; edges are the pieces of ways between
them. Edges are undirected: a walker may go both ways along a one-way street. Edge lengths are
geodesic metres on the WGS 84 ellipsoid (computed once, at import), so path lengths do not
depend on a projection. Nearest-node look-ups run in a metric CRS (SWEREF 99 TM, EPSG:3006, for
Swedish areas) where a KD-tree's Euclidean distance is in metres.

Stops are snapped to the nearest *node* (`nearest_node`): the service's networks have nodes at
every intersection and at most 50 m apart along the streets (`routes.densify`), so that moves a
point little, and the distance moved is always reported. Drawn lines are snapped onto the
nearest point of an *edge* (`nearest_edges`), so that a line beside a street lands on that
street. Both are restricted to the largest connected component, so that every snapped point can
reach every other one (OSM extracts hold small unconnected pieces: a footway in a courtyard, a
way cut off at the extract's edge).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo.geometry import SWEREF99TM, LonLat, transformer
from routes.errors import NoRoute, UnknownNode
from routes.onetoone import OneToOne, walk_back


@dataclass(frozen=True, eq=False)
class Edge:
    """A piece of an OSM way between two network nodes.

    ``coords`` is an ``(k, 2)`` array of lon/lat (WGS 84) from ``source`` to ``target``;
    ``length_m`` its geodesic length in metres.
    """

    source: int
    target: int
    length_m: float
    coords: NDArray[np.float64]
    osm_way_id: int = 0
    seq: int = 0
    highway: str = ""
    name: str | None = None


@dataclass(frozen=True, eq=False)
class Path:
    """A walk along the network: OSM node ids, indices of the edges used, length and line."""

    nodes: list[int]
    edges: list[int]
    length_m: float
    coords: list[LonLat] = field(repr=False)


class StreetNetwork:
    """An undirected, weighted street graph built from `Edge` rows.

    Attributes
    ----------
    node_ids : ndarray of int64
        OSM node ids, sorted; a node's position in it is its graph index.
    lonlat, xy : ndarray, shape (n, 2)
        Node coordinates in WGS 84 degrees and in ``metric_epsg`` metres.
    graph : scipy.sparse.csr_matrix
        Symmetric adjacency; the weight of a pair is the shortest edge joining it, in metres.
    component : ndarray of int
        Connected-component label per node; ``largest`` is the label of the biggest one.
    """

    def __init__(self, edges: Sequence[Edge], *, metric_epsg: int = SWEREF99TM) -> None:
        self.edges: list[Edge] = list(edges)
        self.metric_epsg = metric_epsg
        n_edges = len(self.edges)
        src = np.fromiter((e.source for e in self.edges), np.int64, n_edges)
        tgt = np.fromiter((e.target for e in self.edges), np.int64, n_edges)
        lengths = np.fromiter((e.length_m for e in self.edges), np.float64, n_edges)
        self.node_ids: NDArray[np.int64] = np.unique(np.concatenate([src, tgt]))
        n = len(self.node_ids)
        si = np.searchsorted(self.node_ids, src)
        ti = np.searchsorted(self.node_ids, tgt)
        self.lonlat = np.zeros((n, 2))
        if n_edges:
            self.lonlat[si] = np.array([e.coords[0] for e in self.edges])
            self.lonlat[ti] = np.array([e.coords[-1] for e in self.edges])
        x, y = transformer(4326, metric_epsg).transform(self.lonlat[:, 0], self.lonlat[:, 1])
        self.xy = np.column_stack([x, y]) if n else np.zeros((0, 2))

        # Self-loops never shorten a path; of parallel edges only the shortest one matters.
        a, b = np.minimum(si, ti), np.maximum(si, ti)
        order = np.lexsort((lengths, b, a))
        order = order[a[order] != b[order]]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])
        best = order[first]
        # (i, j) with i < j → the edge and whether it runs from i to j.
        self._pair_edge: dict[tuple[int, int], tuple[int, bool]] = {
            (int(i), int(j)): (int(k), bool(si[k] == i))
            for i, j, k in zip(a[best], b[best], best, strict=True)
        }
        rows = np.concatenate([a[best], b[best]])
        cols = np.concatenate([b[best], a[best]])
        self.graph = csr_matrix(
            (np.concatenate([lengths[best], lengths[best]]), (rows, cols)), shape=(n, n)
        )
        self.total_length_m = float(lengths[best].sum())
        if n:
            _, self.component = connected_components(self.graph, directed=False)
            self.largest = int(np.bincount(self.component).argmax())
        else:
            self.component = np.zeros(0, dtype=np.int32)
            self.largest = -1

    def __repr__(self) -> str:
        return (
            f"<StreetNetwork {self.n_nodes} nodes, {self.n_edges} edges, EPSG:{self.metric_epsg}>"
        )

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    def index_of(self, node: int) -> int:
        """The graph index of OSM node ``node``, or `UnknownNode`."""
        i = int(np.searchsorted(self.node_ids, node))
        if i >= len(self.node_ids) or self.node_ids[i] != node:
            raise UnknownNode(f"street node {node} is not in the loaded network")
        return i

    def edge_between(self, i: int, j: int) -> int:
        """The index in ``edges`` of the shortest edge joining graph indices ``i`` and ``j``."""
        return self._pair_edge[(i, j) if i < j else (j, i)][0]

    # Plain Python lists for the per-step work of path reconstruction (numpy scalars are slow).
    @cached_property
    def _node_id_list(self) -> list[int]:
        return [int(i) for i in self.node_ids]

    @cached_property
    def _node_lonlat(self) -> list[LonLat]:
        return [(float(x), float(y)) for x, y in self.lonlat]

    @cached_property
    def _edge_forward(self) -> list[list[LonLat]]:
        """Each edge's points after its source, source → target."""
        return [[(float(x), float(y)) for x, y in e.coords[1:]] for e in self.edges]

    @cached_property
    def _edge_backward(self) -> list[list[LonLat]]:
        """Each edge's points after its target, target → source."""
        return [[(float(x), float(y)) for x, y in e.coords[-2::-1]] for e in self.edges]

    @cached_property
    def _edge_lengths(self) -> list[float]:
        return [e.length_m for e in self.edges]

    @cached_property
    def _one_to_one(self) -> OneToOne:
        return OneToOne(self.graph, self.xy)

    @cached_property
    def _tree_all(self) -> cKDTree:
        return cKDTree(self.xy)

    @cached_property
    def _main_nodes(self) -> NDArray[np.intp]:
        return np.flatnonzero(self.component == self.largest)

    @cached_property
    def _tree_main(self) -> cKDTree:
        return cKDTree(self.xy[self._main_nodes])

    @cached_property
    def _metric_lines(self) -> NDArray[np.object_]:
        """Every edge as a shapely LineString in ``metric_epsg`` metres."""
        if not self.edges:
            return np.zeros(0, dtype=object)
        coords = np.concatenate([e.coords for e in self.edges])
        xy = self.to_metric(coords[:, 0], coords[:, 1])
        index = np.repeat(np.arange(len(self.edges)), [len(e.coords) for e in self.edges])
        return np.asarray(shapely.linestrings(xy, indices=index), dtype=object)

    @cached_property
    def _main_edges(self) -> NDArray[np.intp]:
        si = np.searchsorted(self.node_ids, [e.source for e in self.edges])
        return np.flatnonzero(self.component[si] == self.largest) if self.edges else si

    @cached_property
    def _edge_tree(self) -> shapely.STRtree:
        return shapely.STRtree(self._metric_lines[self._main_edges])

    def to_metric(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
        """Lon/lat arrays as an ``(n, 2)`` array in ``metric_epsg`` metres."""
        x, y = transformer(4326, self.metric_epsg).transform(lon, lat)
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])


def nearest_nodes(
    network: StreetNetwork,
    lonlat: Sequence[LonLat] | NDArray[np.float64],
    *,
    largest_component: bool = True,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The nearest node (OSM id) to each lon/lat point and its distance in metres.

    With ``largest_component`` (the default) only nodes of the largest connected component are
    candidates, so that all snapped points are connected to each other.
    """
    pts = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    if network.n_nodes == 0:
        return np.zeros(len(pts), np.int64), np.full(len(pts), np.inf)
    xy = network.to_metric(pts[:, 0], pts[:, 1])
    if largest_component:
        dist, k = network._tree_main.query(xy)
        idx = network._main_nodes[k]
    else:
        dist, idx = network._tree_all.query(xy)
    return network.node_ids[idx], np.asarray(dist, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class EdgePositions:
    """Points snapped onto edges: the edge index, the distance along it from its source in
    metres (geodesic, scaled from the metric CRS), the snapped lon/lat, and how far each
    point moved (metres, metric CRS)."""

    edges: NDArray[np.intp]
    along_m: NDArray[np.float64]
    lonlat: NDArray[np.float64]
    moved_m: NDArray[np.float64]


def nearest_edges(
    network: StreetNetwork, lonlat: Sequence[LonLat] | NDArray[np.float64]
) -> EdgePositions:
    """The nearest point on an edge of the largest connected component to each lon/lat point.

    The projection is made in the metric CRS; the snapped position is interpolated in lon/lat
    on the same segment, so it lies exactly on the stored edge line.
    """
    pts = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    xy = network.to_metric(pts[:, 0], pts[:, 1])
    points = shapely.points(xy)
    hits, dist = network._edge_tree.query_nearest(points, return_distance=True, all_matches=False)
    order = np.argsort(hits[0])
    edges = network._main_edges[hits[1][order]]
    along = np.empty(len(pts))
    snapped = np.empty((len(pts), 2))
    for i, k in enumerate(edges):
        line = network._metric_lines[k]
        d = float(shapely.line_locate_point(line, points[i]))
        seg, t = _segment_at(np.asarray(line.coords), d)
        lon_lat = network.edges[k].coords
        snapped[i] = lon_lat[seg] + t * (lon_lat[seg + 1] - lon_lat[seg])
        along[i] = network.edges[k].length_m * (d / line.length if line.length > 0 else 0.0)
    return EdgePositions(edges, along, snapped, np.asarray(dist, dtype=np.float64)[order])


def _segment_at(xy: NDArray[np.float64], d: float) -> tuple[int, float]:
    """The segment holding the point ``d`` metres along polyline ``xy`` and the fraction of it."""
    seg_len = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    i = int(np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(seg_len) - 1))
    return i, float(np.clip((d - cum[i]) / seg_len[i], 0.0, 1.0)) if seg_len[i] > 0 else 0.0


def nearest_node(
    network: StreetNetwork, lon: float, lat: float, *, largest_component: bool = True
) -> tuple[int, float]:
    """The nearest node (OSM id) to a lon/lat point and the distance to it in metres."""
    ids, dist = nearest_nodes(network, [(lon, lat)], largest_component=largest_component)
    return int(ids[0]), float(dist[0])


class ShortestPaths:
    """Shortest-path trees from several sources, computed by one multi-source Dijkstra call."""

    def __init__(
        self, network: StreetNetwork, sources: Sequence[int], *, limit_m: float = np.inf
    ) -> None:
        self.network = network
        idx = [network.index_of(int(s)) for s in sources]
        self._row = {i: r for r, i in enumerate(idx)}
        dist, pred = dijkstra(
            network.graph, directed=True, indices=idx, return_predecessors=True, limit=limit_m
        )
        self.distances_m: NDArray[np.float64] = np.atleast_2d(dist)
        self.predecessors: NDArray[np.int32] = np.atleast_2d(pred)

    def distance_m(self, source: int, target: int) -> float:
        """Metres from ``source`` (one of the sources) to ``target`` (OSM ids); inf if none."""
        row = self._row[self.network.index_of(source)]
        return float(self.distances_m[row, self.network.index_of(target)])

    def matrix(self, nodes: Sequence[int]) -> NDArray[np.float64]:
        """Metres between every pair of ``nodes`` (OSM ids, each one of the sources)."""
        rows = [self._row[self.network.index_of(n)] for n in nodes]
        cols = [self.network.index_of(n) for n in nodes]
        return np.asarray(self.distances_m[np.ix_(rows, cols)], dtype=np.float64)

    def path(self, source: int, target: int) -> Path:
        """The shortest path from ``source`` (one of the sources) to ``target`` (OSM ids)."""
        net = self.network
        s, t = net.index_of(source), net.index_of(target)
        row = self._row[s]
        if not np.isfinite(self.distances_m[row, t]):
            raise NoRoute(f"no walkable path from street node {source} to street node {target}")
        return _path_along(net, walk_back(self.predecessors[row], s, t))


def _path_along(net: StreetNetwork, chain: list[int]) -> Path:
    ids = net._node_id_list
    coords: list[LonLat] = [net._node_lonlat[chain[0]]]
    edges: list[int] = []
    pair_edge, forward, backward = net._pair_edge, net._edge_forward, net._edge_backward
    for u, v in zip(chain[:-1], chain[1:], strict=True):
        if u < v:
            k, ahead = pair_edge[(u, v)]
        else:
            k, ahead = pair_edge[(v, u)]
            ahead = not ahead
        coords += forward[k] if ahead else backward[k]
        edges.append(k)
    lengths = net._edge_lengths
    return Path([ids[i] for i in chain], edges, math.fsum(lengths[k] for k in edges), coords)


def shortest_paths(
    network: StreetNetwork, sources: Sequence[int], *, limit_m: float = np.inf
) -> ShortestPaths:
    """Shortest-path trees from each of ``sources`` (OSM node ids) in one Dijkstra call.

    ``limit_m`` stops the search at that distance (nodes beyond it are unreachable).
    """
    return ShortestPaths(network, sources, limit_m=limit_m)


def distance_matrix(network: StreetNetwork, nodes: Sequence[int]) -> NDArray[np.float64]:
    """Walking distances in metres between every pair of ``nodes`` (OSM ids); inf if none.

    One multi-source Dijkstra call over the distinct nodes (``indices=``), whatever their number.
    """
    unique, inverse = np.unique(np.asarray(nodes, dtype=np.int64), return_inverse=True)
    if len(unique) == 0:
        return np.zeros((0, 0))
    idx = np.array([network.index_of(int(n)) for n in unique])
    dist = np.atleast_2d(dijkstra(network.graph, directed=True, indices=idx))
    return np.asarray(dist[:, idx][np.ix_(inverse, inverse)], dtype=np.float64)


def shortest_path(network: StreetNetwork, source: int, target: int) -> Path:
    """The shortest walk between two nodes (OSM ids), or `NoRoute` if they are not connected.

    Exact; dead ends are walked rather than searched and the Dijkstra search stops at a
    landmark bound of the distance (`routes.onetoone`).
    """
    s, t = network.index_of(source), network.index_of(target)
    if network.component[s] != network.component[t]:
        raise NoRoute(
            f"no walkable path from street node {source} to street node {target}: they are on "
            "unconnected pieces of the street network"
        )
    return _path_along(network, network._one_to_one.chain(s, t))
