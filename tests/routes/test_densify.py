"""Long street edges cut into pieces of at most 50 m, on the real Långbro extract (no database)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import shapely

from routes.densify import MAX_EDGE_M, split_long_edges
from routes.network import Edge, StreetNetwork, distance_matrix, nearest_nodes
from routes.osm import read_walkable_edges
from tests.routes.conftest import LANGBRO

JOHAN_SKYTTESKOLAN = (17.981114, 59.277368)  # the bus stop; a cycleway passes 9 m away


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return read_walkable_edges(LANGBRO).edges


def test_pieces_are_short_chain_up_and_keep_length_and_line(edges: list[Edge]) -> None:
    pieces = split_long_edges(edges)
    assert max(p.length_m for p in pieces) <= MAX_EDGE_M + 1e-6
    assert any(e.length_m > 2 * MAX_EDGE_M for e in edges)  # there was something to cut
    new_ids = {n for p in pieces for n in (p.source, p.target) if n < 0}
    by_way: dict[tuple[int, int], list[Edge]] = defaultdict(list)
    for p in pieces:
        by_way[(p.osm_way_id, p.seq)].append(p)
    n_new = 0
    for e in edges:
        mine = [p for p in by_way[(e.osm_way_id, e.seq)] if p.source == e.source or p.source < 0]
        chain = [mine[0]]
        while chain[-1].target != e.target:
            chain.append(next(p for p in mine if p.source == chain[-1].target))
        assert chain[0].source == e.source
        assert sum(p.length_m for p in chain) == pytest.approx(e.length_m, rel=1e-9)
        original = shapely.LineString(e.coords)
        rebuilt = shapely.LineString(
            np.vstack([chain[0].coords] + [p.coords[1:] for p in chain[1:]])
        )
        assert original.hausdorff_distance(rebuilt) < 1e-7  # degrees: about a centimetre
        n_new += len(chain) - 1
    assert len(new_ids) == n_new  # every new node is its own


def test_distances_between_street_corners_do_not_change(edges: list[Edge]) -> None:
    raw = StreetNetwork(edges)
    dense = StreetNetwork(split_long_edges(edges))
    rng = np.random.default_rng(3)
    corners = [
        int(n)
        for n in rng.choice(raw.node_ids[raw.component == raw.largest], size=12, replace=False)
    ]
    assert np.allclose(distance_matrix(dense, corners), distance_matrix(raw, corners), atol=1e-6)
    assert dense.total_length_m == pytest.approx(raw.total_length_m, rel=1e-9)


def test_a_meeting_point_beside_a_long_path_snaps_close(edges: list[Edge]) -> None:
    _, far = nearest_nodes(StreetNetwork(edges), [JOHAN_SKYTTESKOLAN])
    _, near = nearest_nodes(StreetNetwork(split_long_edges(edges)), [JOHAN_SKYTTESKOLAN])
    assert far[0] > 90 and near[0] < MAX_EDGE_M / 2 + 10


def test_the_piece_length_must_be_positive(edges: list[Edge]) -> None:
    with pytest.raises(ValueError, match="max_m"):
        split_long_edges(edges, max_m=0)
