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

import fcntl
import functools
import hashlib
import io
import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
from numpy.typing import NDArray
from pyproj import Geod

from geo.db.streets import EdgeColumns
from geo.errors import InvalidInput, NattvandringError
from routes import osm_pass
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
# fcntl's F_SETPIPE_SZ (Linux; Python 3.10 names it only on some builds).
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def is_walkable(tags: Mapping[str, str] | osmium.osm.TagList) -> bool:
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
    """The walkable edges of one OSM file (as columns; ``edges`` as objects) and what reading it
    found."""

    columns: EdgeColumns
    ways_read: int
    ways_walkable: int
    missing_locations: int
    zero_length_dropped: int

    @functools.cached_property
    def edges(self) -> list[Edge]:
        """The edges as `Edge` objects (a graph's input; the import writes the columns)."""
        c = self.columns
        offsets = c.offsets.tolist()
        return [
            Edge(a, b, m, c.coords[offsets[i] : offsets[i + 1]], w, q, h, n)
            for i, (a, b, m, w, q, h, n) in enumerate(
                zip(
                    c.source.tolist(),
                    c.target.tolist(),
                    c.length_m.tolist(),
                    c.osm_way_id.tolist(),
                    c.seq.tolist(),
                    c.highway,
                    c.name,
                    strict=True,
                )
            )
        ]


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_walkable_edges(
    path: str | Path, *, progress: Progress | None = None, progress_every: int = 100_000
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
    if progress:
        progress(f"reading {path.name}: the ways tagged highway, with their nodes' locations")
    # The walkable ways as flat columns (one entry a node reference): only the tags are read
    # way by way, the node references and locations of all the ways are parsed at once.
    way_ids: list[int] = []
    # Highway values and names as codes into `codes` (a name of -1: none).
    codes: dict[str, int] = {}
    highways: list[int] = []
    names: list[int] = []
    node_fields: list[bytes] = []
    read = 0
    for lines in _highway_lines(path):
        for line in lines:
            read += 1
            if progress and read % progress_every == 0:
                progress(f"{read:,} highway ways read, {len(way_ids):,} walkable")
            way, tag_field, node_field = line.split(b" ")
            tags = {k.decode(): _opl_text(v) for k, v in _OPL_TAGS.findall(tag_field)}
            if not is_walkable(tags):
                continue
            way_ids.append(int(way[1:]))
            highways.append(codes.setdefault(tags["highway"], len(codes)))
            name = tags.get("name")
            names.append(-1 if name is None else codes.setdefault(name, len(codes)))
            node_fields.append(node_field[1:])
    counts = np.fromiter((f.count(b",") + 1 if f else 0 for f in node_fields), np.int64)
    refs, lons, lats = _opl_nodes(b",".join(node_fields))
    if progress:
        progress(f"{read:,} highway ways read, {len(way_ids):,} walkable; splitting")
    network = _split(
        _Columns(
            np.array(way_ids, dtype=np.int64),
            np.array(highways, dtype=np.int32),
            np.array(names, dtype=np.int32),
            list(codes),
            counts,
            refs,
            lons,
            lats,
        ),
        read,
    )
    if progress:
        progress(
            f"{read:,} highway ways read, {network.ways_walkable:,} walkable, "
            f"{len(network.columns):,} edges"
        )
    return network


# The tags `is_walkable` and the import look at, from an OPL tag list ("Tk=v,k=v"; OPL escapes
# a comma, an equals sign, a space or a percent sign in a key or value, so "," and "=" split).
_OPL_TAGS = re.compile(rb"(?:^T|,)(highway|foot|access|area|sidewalk|name)=([^,]*)")
_OPL_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")


def _opl_text(value: bytes) -> str:
    """A key or value of OPL as text: UTF-8, with its %hex% escapes (code points) undone."""
    text = value.decode()
    if "%" in text:
        text = _OPL_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    return text


def _highway_lines(path: Path) -> Iterator[list[bytes]]:
    """The OPL lines of `routes.osm_pass` for ``path``, in batches as the pass writes them: the
    pass runs in a process of its own (it holds the GIL), so that reading the tags here goes on
    at the same time on the other CPU."""
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "routes.osm_pass", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert child.stdout is not None
        try:
            with suppress(OSError):  # a larger pipe: fewer switches between the processes
                fcntl.fcntl(child.stdout.fileno(), _F_SETPIPE_SZ, 1 << 20)
            rest = b""
            while chunk := child.stdout.read(1 << 22):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                yield [line for line in lines if line]
            status = child.wait()
            if rest and status == 0:  # a pass that ended early may have cut its last line
                yield [rest]
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        if status != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            if status == osm_pass.NOT_OSM:
                raise InvalidInput(f"{path.name} is not a readable OSM file: {message}")
            ended = f"signal {-status}" if status < 0 else f"status {status}"
            raise NattvandringError(
                f"reading {path.name} failed: libosmium's pass ended with {ended}"
                + (f" ({message})" if message else "")
            )


def _opl_nodes(
    field: bytes,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Node ids, longitudes and latitudes of OPL way nodes ("n12x18.01y59.27,n13xy": no
    location, NaN), parsed all at once by pandas' C reader."""
    if not field:
        empty = np.empty(0)
        return empty.astype(np.int64), empty, empty.copy()
    rows = field.translate(bytes.maketrans(b",xy", b"\n,,"), b"n")
    table = pd.read_csv(
        io.BytesIO(rows),
        header=None,
        names=["ref", "lon", "lat"],
        dtype={"ref": np.int64, "lon": np.float64, "lat": np.float64},
        engine="c",
    )
    return (
        table["ref"].to_numpy(np.int64),
        table["lon"].to_numpy(np.float64),
        table["lat"].to_numpy(np.float64),
    )


@dataclass(frozen=True)
class _Columns:
    """Walkable ways as read: per way its id, highway and name (codes into ``labels``; -1: no
    name) and number of node references; per reference the node id and lon/lat (NaN where the
    file has no location)."""

    way_ids: NDArray[np.int64]
    highways: NDArray[np.int32]
    names: NDArray[np.int32]
    labels: list[str]
    counts: NDArray[np.int64]
    refs: NDArray[np.int64]
    lons: NDArray[np.float64]
    lats: NDArray[np.float64]


def _split(ways: _Columns, read: int) -> OsmNetwork:
    """Split the ways into edges at shared nodes, way ends and missing locations, on whole
    arrays: ways in id order (the last of two with one id wins), pieces numbered along each."""
    n_ways = len(ways.way_ids)
    way_of = np.repeat(np.arange(n_ways), ways.counts)
    # The last version wins if a file holds a way twice; then ways in id order.
    order = np.lexsort((-np.arange(n_ways), ways.way_ids))
    keep_way = np.ones(n_ways, dtype=bool)
    if n_ways:
        dup = np.flatnonzero(ways.way_ids[order][1:] == ways.way_ids[order][:-1]) + 1
        keep_way[order[dup]] = False
    order = order[keep_way[order]]
    rank = np.empty(n_ways, dtype=np.int64)
    rank[order] = np.arange(len(order))
    starts = np.concatenate([[0], np.cumsum(ways.counts)[:-1]]).astype(np.int64)
    # Node references in the order of the sorted ways (no copy when the file's are in order).
    sizes = ways.counts[order]
    total = int(sizes.sum())
    begin = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    idx = np.arange(total, dtype=np.int64) + np.repeat(starts[order] - begin, sizes)
    refs, w_of = ways.refs[idx], rank[way_of[idx]]
    lon, lat = ways.lons[idx], ways.lats[idx]
    # A repeated node (an editing error) would make a zero-length segment.
    repeat = np.zeros(len(refs), dtype=bool)
    repeat[1:] = (refs[1:] == refs[:-1]) & (w_of[1:] == w_of[:-1])
    refs, w_of, lon, lat = refs[~repeat], w_of[~repeat], lon[~repeat], lat[~repeat]
    valid = ~np.isnan(lon)
    missing = int((~valid).sum())
    uses = np.zeros(len(refs), dtype=np.int64)
    if valid.any():
        _, inverse, counts = np.unique(refs[valid], return_inverse=True, return_counts=True)
        uses[valid] = counts[inverse]
    # Segment i joins reference i and i + 1 of one way, both located. A piece starts at a
    # segment whose first node starts a located run or is shared (used twice or more).
    seg = valid[:-1] & valid[1:] & (w_of[:-1] == w_of[1:])
    seg_i = np.flatnonzero(seg)
    if not len(seg_i):
        return OsmNetwork(EdgeColumns.of([]), read, len(order), missing, 0)
    first = np.ones(len(seg_i), dtype=bool)
    first[1:] = seg_i[1:] != seg_i[:-1] + 1
    new_piece = first | (uses[seg_i] >= 2)
    piece_first_seg = np.flatnonzero(new_piece)
    piece_last_seg = np.concatenate([piece_first_seg[1:] - 1, [len(seg_i) - 1]])
    p_start = seg_i[piece_first_seg]
    p_end = seg_i[piece_last_seg] + 1
    p_way = w_of[p_start]
    way_first_piece = np.searchsorted(p_way, p_way, side="left")
    p_seq = np.arange(len(p_way)) - way_first_piece
    _, _, seg_len = _GEOD.inv(lon[seg_i], lat[seg_i], lon[seg_i + 1], lat[seg_i + 1])
    lengths = np.add.reduceat(np.asarray(seg_len, dtype=np.float64), piece_first_seg)
    xy = np.column_stack([lon, lat])
    ids = ways.way_ids[order]
    positive = lengths > 0  # not two distinct nodes at one position
    dropped = int((~positive).sum())
    a, b, w = p_start[positive], p_end[positive], p_way[positive]
    # Each edge's line: its nodes a..b, gathered into one array.
    sizes = b - a + 1
    begin = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    take = np.arange(int(begin[-1]), dtype=np.int64) + np.repeat(a - begin[:-1], sizes)
    kept = order[w]  # the index of each edge's way as read
    columns = EdgeColumns(
        source=refs[a],
        target=refs[b],
        length_m=lengths[positive],
        osm_way_id=ids[w],
        seq=p_seq[positive].astype(np.int64),
        highway_code=ways.highways[kept],
        name_code=ways.names[kept],
        labels=ways.labels,
        offsets=begin,
        coords=xy[take],
    )
    if dropped:
        logger.warning("%d zero-length edges dropped (distinct nodes at one position)", dropped)
    return OsmNetwork(columns, read, len(order), missing, dropped)


def _geodesic_lengths(arrays: list[np.ndarray]) -> np.ndarray:
    """Geodesic length in metres of each lon/lat polyline, with one vectorised Geod call."""
    pts = np.concatenate(arrays)
    _, _, seg = _GEOD.inv(pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1])
    seg = np.asarray(seg, dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum([len(a) for a in arrays])[:-1]])
    # The segment from the last point of one polyline to the first of the next is not walked.
    seg[starts[1:] - 1] = 0.0
    return np.asarray(np.add.reduceat(seg, starts), dtype=np.float64)
