"""Read the walkable street network from an OpenStreetMap file (.osm XML or .osm.pbf).

Which ways a walker may use (tag meanings from the OSM wiki: Key:highway, Key:access, Key:foot,
Key:sidewalk and "OSM tags for routing/Access restrictions"):

1. ``highway`` is one of `WALKABLE_HIGHWAYS`: paths and footways, pedestrian streets, steps,
   tracks and every road class from ``living_street`` up to ``primary`` (and their ``_link``),
   plus ``road`` (a road of unknown class).
   Values outside this list are not walked: ``construction``/``proposed`` (not built), ``platform``
   (a public-transport platform, drawn as an area or along the kerb), ``bus_guideway``,
   ``raceway``, ``bridleway``, ``corridor`` (indoors) and non-standard values.
2. ``motorway``/``motorway_link`` never: pedestrians are banned from motorways by law.
3. ``trunk``/``trunk_link`` and ``cycleway`` only with an explicit ``foot=yes|designated|
   permissive``: Swedish trunk roads are often *motortrafikled* (no pedestrians), and the
   worldwide default of the access-restrictions table is ``foot=no`` on a cycleway (a Swedish
   *gång- och cykelväg* is tagged ``foot=designated``).
4. ``primary``/``secondary``/``tertiary`` (and links) with ``sidewalk=no|none`` and no explicit
   foot permission are dropped: a main road without a pavement is no place for a night walk.
   Every other road is walkable whether or not its sidewalks are mapped.
5. ``foot=no|private|use_sidepath`` drops a way (``use_sidepath``: walkers must use the separately
   mapped pavement); ``access=no|private`` drops it unless ``foot=yes|designated|permissive``.
6. ``area=yes`` drops it: a pedestrian square drawn as a polygon is not a line to walk along.

Ways are split into edges at every node that two walkable ways share (or one way visits twice)
and at way ends. Nodes whose location is missing (a way cut at the extract's boundary) end the
piece; edges are numbered ``seq`` 0, 1, … along each way. Lengths are geodesic (WGS 84 ellipsoid,
`pyproj.Geod`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from pyproj import Geod

from geo.errors import InvalidInput
from geo.geometry import LonLat
from routes.network import Edge

logger = logging.getLogger(__name__)

WALKABLE_HIGHWAYS = frozenset(
    "footway path pedestrian steps track living_street residential service unclassified road "
    "tertiary tertiary_link secondary secondary_link primary primary_link trunk trunk_link "
    "cycleway".split()
)
NEVER = frozenset({"motorway", "motorway_link"})
NEEDS_FOOT_PERMISSION = frozenset({"trunk", "trunk_link", "cycleway"})
MAJOR_ROADS = frozenset(
    "primary primary_link secondary secondary_link tertiary tertiary_link".split()
)
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
ACCESS_FORBIDDEN = frozenset({"no", "private"})
NO_SIDEWALK = frozenset({"no", "none"})

Progress = Callable[[str], None]
_GEOD = Geod(ellps="WGS84")


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these OSM tags may be walked (the rules in the module docstring).

    >>> is_walkable({"highway": "residential", "oneway": "yes"})
    True
    >>> is_walkable({"highway": "cycleway"}), is_walkable({"highway": "cycleway", "foot": "yes"})
    (False, True)
    >>> is_walkable({"highway": "service", "access": "private"})
    False
    >>> is_walkable({"highway": "motorway", "foot": "yes"})
    False
    """
    highway = tags.get("highway")
    if highway not in WALKABLE_HIGHWAYS or highway in NEVER:
        return False
    foot = tags.get("foot", "")
    foot_allowed = foot in FOOT_ALLOWED
    if foot in FOOT_FORBIDDEN or tags.get("area") == "yes":
        return False
    if tags.get("access") in ACCESS_FORBIDDEN and not foot_allowed:
        return False
    if highway in NEEDS_FOOT_PERMISSION and not foot_allowed:
        return False
    return not (highway in MAJOR_ROADS and tags.get("sidewalk") in NO_SIDEWALK and not foot_allowed)


@dataclass(frozen=True)
class OsmNetwork:
    """The walkable edges of one OSM file and what reading it found."""

    edges: list[Edge]
    ways_read: int
    ways_walkable: int
    missing_locations: int
    zero_length_dropped: int


@dataclass
class _Way:
    way_id: int
    highway: str
    name: str | None
    refs: list[int]
    coords: list[LonLat | None]


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_walkable_edges(
    path: str | Path, *, progress: Progress | None = None, progress_every: int = 20_000
) -> OsmNetwork:
    """The walkable edges of an .osm or .osm.pbf file, split at intersections.

    Parameters
    ----------
    path
        An OSM XML (``.osm``) or PBF (``.osm.pbf``) file.
    progress
        Called with a short message every ``progress_every`` highway ways and at the end.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no OSM file at {path}")
    ways: dict[int, _Way] = {}
    read = 0
    # Node locations are cached by pyosmium (all nodes are read); only ways tagged highway reach
    # Python, which keeps a country extract's millions of nodes and buildings out of the loop.
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        for way in processor:
            if not isinstance(way, osmium.osm.Way):
                continue
            read += 1
            if progress and read % progress_every == 0:
                progress(f"{read:,} highway ways read, {len(ways):,} walkable")
            tags = {t.k: t.v for t in way.tags}
            if not is_walkable(tags):
                continue
            refs: list[int] = []
            coords: list[LonLat | None] = []
            for nd in way.nodes:
                # A repeated node (an editing error) would make a zero-length segment.
                if refs and nd.ref == refs[-1]:
                    continue
                refs.append(nd.ref)
                loc = nd.location
                coords.append((loc.lon, loc.lat) if loc.valid() else None)
            # The last version wins if a file holds a way twice.
            ways[way.id] = _Way(way.id, tags["highway"], tags.get("name"), refs, coords)
    except RuntimeError as exc:
        raise InvalidInput(f"{path.name} is not a readable OSM file: {exc}") from exc
    network = _split(sorted(ways.values(), key=lambda w: w.way_id), read)
    if progress:
        progress(
            f"{read:,} highway ways read, {network.ways_walkable:,} walkable, "
            f"{len(network.edges):,} edges"
        )
    return network


def _split(ways: list[_Way], read: int) -> OsmNetwork:
    uses: Counter[int] = Counter()
    for w in ways:
        uses.update(r for r, c in zip(w.refs, w.coords, strict=True) if c is not None)
    missing = sum(c is None for w in ways for c in w.coords)
    pieces: list[tuple[_Way, int, list[int], list[LonLat]]] = []
    for w in ways:
        seq = 0
        refs: list[int] = []
        pts: list[LonLat] = []
        for ref, c in zip(w.refs, w.coords, strict=True):
            if c is None:  # the way leaves the extract: end the piece here
                if len(refs) >= 2:
                    pieces.append((w, seq, refs, pts))
                    seq += 1
                refs, pts = [], []
                continue
            refs.append(ref)
            pts.append(c)
            if len(refs) >= 2 and uses[ref] >= 2:
                pieces.append((w, seq, refs, pts))
                seq += 1
                refs, pts = [ref], [c]
        if len(refs) >= 2:
            pieces.append((w, seq, refs, pts))
    if not pieces:
        return OsmNetwork([], read, len(ways), missing, 0)
    arrays = [np.asarray(p[3], dtype=np.float64) for p in pieces]
    lengths = _geodesic_lengths(arrays)
    edges: list[Edge] = []
    dropped = 0
    for (w, seq, refs, _), xy, length_m in zip(pieces, arrays, lengths, strict=True):
        if not length_m > 0:  # two distinct nodes at one position
            dropped += 1
            continue
        edges.append(Edge(refs[0], refs[-1], float(length_m), xy, w.way_id, seq, w.highway, w.name))
    if dropped:
        logger.warning("%d zero-length edges dropped (distinct nodes at one position)", dropped)
    return OsmNetwork(edges, read, len(ways), missing, dropped)


def _geodesic_lengths(arrays: list[np.ndarray]) -> np.ndarray:
    """Geodesic length in metres of each lon/lat polyline, with one vectorised Geod call."""
    pts = np.concatenate(arrays)
    _, _, seg = _GEOD.inv(pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1])
    seg = np.asarray(seg, dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum([len(a) for a in arrays])[:-1]])
    # The segment from the last point of one polyline to the first of the next is not walked.
    seg[starts[1:] - 1] = 0.0
    return np.asarray(np.add.reduceat(seg, starts), dtype=np.float64)
