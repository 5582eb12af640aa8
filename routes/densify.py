"""Street edges cut into short pieces, so that a stop snapped to the nearest node moves little.

OSM splits ways only where they meet: a footpath or cycleway can run 200–500 m between
junctions, and a hot spot or a meeting point beside its middle would snap to a node at one of its
ends. `split_long_edges` adds nodes along such edges (at most `MAX_EDGE_M` apart), so that the
nearest node is never more than half that along the street from the nearest point on it.
Pure: edges in, edges out; the cut points lie on the edge's line and the pieces' geodesic
lengths add up to the edge's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pyproj import Geod

from routes.network import Edge

MAX_EDGE_M = 50.0
# New nodes get negative ids (OSM's are positive): -(edge index × _PIECES_PER_EDGE + piece).
_PIECES_PER_EDGE = 1_000_000
_GEOD = Geod(ellps="WGS84")


def split_long_edges(edges: Sequence[Edge], *, max_m: float = MAX_EDGE_M) -> list[Edge]:
    """``edges`` with every edge longer than ``max_m`` metres cut into equal pieces.

    A piece keeps its edge's way id, sequence number, highway and name; the cut points are
    interpolated along the edge's line. Edges of at most ``max_m`` are returned as they are.

    >>> e = Edge(1, 2, 111.2, np.array([[18.0, 59.0], [18.0, 59.001]]))
    >>> [(p.source, p.target, round(p.length_m, 1)) for p in split_long_edges([e])]
    [(1, -1, 37.1), (-1, -2, 37.1), (-2, 2, 37.1)]
    """
    if not max_m > 0:
        raise ValueError(f"max_m must be above 0; got {max_m!r}")
    out: list[Edge] = []
    for i, edge in enumerate(edges):
        pieces = math.ceil(edge.length_m / max_m - 1e-9)
        if pieces <= 1 or len(edge.coords) < 2:
            out.append(edge)
            continue
        if pieces >= _PIECES_PER_EDGE:
            raise ValueError(f"edge {i} is too long to split into pieces of {max_m:g} m")
        lon, lat = edge.coords[:, 0], edge.coords[:, 1]
        azimuth, _, seg = _GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
        along = np.concatenate([[0.0], np.cumsum(seg)])
        total = float(along[-1])
        if total <= 0.0:
            out.append(edge)
            continue
        cuts = total * np.arange(1, pieces) / pieces
        # Each cut point on the geodesic of its segment, so the pieces' geodesic lengths add up
        # to the segment's exactly.
        j = np.clip(np.searchsorted(along, cuts, side="right") - 1, 0, len(seg) - 1)
        cut_lon, cut_lat, _ = _GEOD.fwd(lon[j], lat[j], azimuth[j], cuts - along[j])
        cut_xy = np.column_stack([cut_lon, cut_lat])
        bounds = np.concatenate([[0.0], cuts, [total]])
        starts = [edge.coords[0], *cut_xy]
        ends = [*cut_xy, edge.coords[-1]]
        ids = [edge.source, *(-(i * _PIECES_PER_EDGE + k) for k in range(1, pieces)), edge.target]
        for k in range(pieces):
            inner = edge.coords[(along > bounds[k]) & (along < bounds[k + 1])]
            coords = np.vstack([starts[k], inner, ends[k]])
            length_m = float(_GEOD.line_length(coords[:, 0], coords[:, 1]))
            out.append(
                Edge(
                    ids[k],
                    ids[k + 1],
                    length_m,
                    coords,
                    edge.osm_way_id,
                    edge.seq,
                    edge.highway,
                    edge.name,
                )
            )
    return out
