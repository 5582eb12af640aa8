"""Shortest paths on the real Helsinki graph, checked against networkx on the same edges."""

from __future__ import annotations

import networkx as nx
import numpy as np
import psycopg
import pytest
import shapely
from pyproj import Geod

from routes.densify import split_long_edges
from routes.errors import NetworkNotImported, NoRoute, UnknownNode
from routes.network import (
    StreetNetwork,
    distance_matrix,
    nearest_node,
    nearest_nodes,
    shortest_path,
    shortest_paths,
)
from routes.network_io import load_network, network_for
from tests.routes.conftest import HELSINKI_EPSG

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def graph(helsinki_db: tuple[str, object]) -> nx.Graph:
    """networkx's graph of the edges the service loads (the stored edges cut into pieces of at
    most 50 m, `routes.densify`; the shortest of parallel edges)."""
    from geo.db import connection

    g = nx.Graph()
    with connection.connect(helsinki_db[0]) as conn:
        for e in split_long_edges(load_network(conn)):
            if e.source != e.target and not (
                g.has_edge(e.source, e.target) and g[e.source][e.target]["w"] <= e.length_m
            ):
                g.add_edge(e.source, e.target, w=e.length_m)
    return g


def _main_nodes(net: StreetNetwork) -> np.ndarray:
    return net.node_ids[net.component == net.largest]


def test_shortest_paths_equal_networkx(helsinki: StreetNetwork, graph: nx.Graph) -> None:
    rng = np.random.default_rng(5)
    nodes = _main_nodes(helsinki)
    assert len(nodes) > 0.8 * helsinki.n_nodes
    for s, t in rng.choice(nodes, size=(150, 2)):
        s, t = int(s), int(t)
        path = shortest_path(helsinki, s, t)
        expected = nx.shortest_path_length(graph, s, t, weight="w")
        assert path.length_m == pytest.approx(expected, abs=1e-6)
        assert path.nodes[0] == s and path.nodes[-1] == t
        # The path is made of graph edges whose lengths add up; its line follows them.
        assert nx.path_weight(graph, path.nodes, "w") == pytest.approx(path.length_m, abs=1e-6)
        if s != t:
            lon, lat = zip(*path.coords, strict=True)
            assert GEOD.line_length(lon, lat) == pytest.approx(path.length_m, rel=1e-9)
            assert path.coords[0] == tuple(helsinki.lonlat[helsinki.index_of(s)])
            assert path.coords[-1] == tuple(helsinki.lonlat[helsinki.index_of(t)])


def test_paths_from_and_into_dead_ends_equal_networkx(
    helsinki: StreetNetwork, graph: nx.Graph
) -> None:
    """Nodes off the 2-core (cul-de-sacs, driveways) are walked, not searched: check them,
    and pairs inside one dead-end tree, against networkx."""
    one = helsinki._one_to_one
    main = helsinki.component == helsinki.largest
    pruned = np.flatnonzero(main & (one.root != np.arange(helsinki.n_nodes)))
    assert 0.1 * helsinki.n_nodes < len(pruned) < 0.5 * helsinki.n_nodes
    rng = np.random.default_rng(9)
    pairs = [tuple(p) for p in rng.choice(pruned, size=(40, 2))]
    roots = one.root[pruned]
    shared = [r for r in np.unique(roots) if (roots == r).sum() >= 3]
    assert shared
    for r in shared[:20]:  # two nodes of one tree, and a node with its own root
        members = pruned[roots == r]
        pairs += [(members[0], members[-1]), (members[1], r)]
    for s, t in pairs:
        s_id, t_id = int(helsinki.node_ids[s]), int(helsinki.node_ids[t])
        path = shortest_path(helsinki, s_id, t_id)
        expected = nx.shortest_path_length(graph, s_id, t_id, weight="w")
        assert path.length_m == pytest.approx(expected, abs=1e-6)
        assert nx.path_weight(graph, path.nodes, "w") == pytest.approx(path.length_m, abs=1e-6)


def test_distance_matrix_equals_networkx(helsinki: StreetNetwork, graph: nx.Graph) -> None:
    rng = np.random.default_rng(6)
    nodes = [int(n) for n in rng.choice(_main_nodes(helsinki), size=25, replace=False)]
    nodes.append(nodes[0])  # a repeated node is allowed
    d = distance_matrix(helsinki, nodes)
    assert d.shape == (26, 26)
    for i, s in enumerate(nodes[:8]):
        lengths = nx.single_source_dijkstra_path_length(graph, s, weight="w")
        assert d[i] == pytest.approx([lengths[t] for t in nodes], abs=1e-6)
    assert np.allclose(d, d.T, atol=1e-6)
    trees = shortest_paths(helsinki, nodes[:3])
    assert trees.path(nodes[0], nodes[5]).length_m == pytest.approx(d[0, 5], abs=1e-6)


def test_nearest_node_in_metres(helsinki: StreetNetwork) -> None:
    node = int(_main_nodes(helsinki)[100])
    lon, lat = helsinki.lonlat[helsinki.index_of(node)]
    # 30 m east of the node, measured on the ellipsoid.
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90, 30)
    found, dist = nearest_node(helsinki, lon2, lat2)
    xy = helsinki.xy[helsinki.index_of(found)]
    point = helsinki.to_metric(np.array([lon2]), np.array([lat2]))[0]
    assert dist == pytest.approx(float(np.hypot(*(xy - point))), abs=1e-6)
    assert dist <= 30.0 + 0.1
    ids, dists = nearest_nodes(helsinki, [(lon2, lat2), (float(lon), float(lat))])
    assert ids[1] == node and dists[1] == pytest.approx(0, abs=1e-6)


def test_unconnected_and_unknown_nodes(helsinki: StreetNetwork) -> None:
    small = np.flatnonzero(helsinki.component != helsinki.largest)
    assert len(small) > 0  # the extract's edge cuts some ways off
    main = int(_main_nodes(helsinki)[0])
    with pytest.raises(NoRoute, match="unconnected"):
        shortest_path(helsinki, main, int(helsinki.node_ids[small[0]]))
    with pytest.raises(UnknownNode):
        shortest_path(helsinki, main, -1)
    # Snapping ignores the pieces: the nearest node of a small piece's own position is elsewhere.
    lon, lat = helsinki.lonlat[small[0]]
    found, _ = nearest_node(helsinki, float(lon), float(lat))
    assert helsinki.component[helsinki.index_of(found)] == helsinki.largest
    found_any, d_any = nearest_node(helsinki, float(lon), float(lat), largest_component=False)
    assert found_any == int(helsinki.node_ids[small[0]]) and d_any == pytest.approx(0, abs=1e-6)


def test_network_for_an_area_without_streets_is_404(conn: psycopg.Connection) -> None:
    command = "nattvandring import osm FILE.osm.pbf --area orby-slott"
    with pytest.raises(NetworkNotImported, match=f"Inget gatunät är importerat.*{command}"):
        network_for(conn, "orby-slott")


def test_network_uses_the_requested_metric_crs(helsinki: StreetNetwork) -> None:
    assert helsinki.metric_epsg == HELSINKI_EPSG
    # Edge lengths are geodesic; the metric CRS only serves nearest-node look-ups, and in
    # ETRS-TM35FIN a straight edge's projected length is within 0.1 % of it.
    edge = max(helsinki.edges, key=lambda e: e.length_m if len(e.coords) == 2 else 0)
    line = shapely.LineString(edge.coords)
    xy = helsinki.to_metric(*np.asarray(line.coords).T)
    assert float(np.hypot(*(xy[1] - xy[0]))) == pytest.approx(edge.length_m, rel=1e-3)
