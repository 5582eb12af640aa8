"""The street network's I/O: import an OSM file into PostGIS, load an area's edges back as a
graph, and keep the graphs in a small cache that an import refreshes.

The rows themselves are read and written by `geo.db.streets`; this module turns them into
`StreetNetwork` graphs (nodes at least every 50 m, `routes.densify`).

An import adds new edges and nodes and updates changed ones, comparing before it writes, so
importing the same file again touches no row. It never deletes ways that are missing from the
file (a file may be a partial extract), only pieces of an imported way that the way no longer
has (its ``seq`` beyond the way's new number of pieces).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo.db import Connection, streets
from geo.geometry import SWEREF99TM, BBox, LonLat
from routes.densify import split_long_edges
from routes.errors import NetworkNotImported
from routes.network import Edge, StreetNetwork
from routes.osm import Progress, file_sha256, read_walkable_edges

logger = logging.getLogger(__name__)

AREA_BUFFER_M = 500.0
# A walk's start, end or must-visit place up to this far outside its area grows the network to
# cover it; one farther away is left outside (and the plan says how far it is from the streets).
AROUND_MAX_M = 5000.0
_CACHE_SIZE = 8


@dataclass(frozen=True)
class ImportReport(streets.WriteCounts):
    """What an import read and changed: the counts of `geo.db.streets.WriteCounts` and the file.

    ``ways_read`` counts the file's ways tagged ``highway``, ``ways_walkable`` those kept;
    ``edges_in_file`` the pieces they split into, of which ``edges_outside_area`` were beyond
    the area's 500 m buffer.
    """

    file_name: str
    sha256: str
    area: str | None
    ways_read: int
    ways_walkable: int
    edges_in_file: int


def import_osm(
    conn: Connection,
    path: str | Path,
    *,
    area: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the walkable streets of an .osm/.osm.pbf file into ``street_nodes`` and
    ``street_edges`` (rules in `routes.osm`).

    Parameters
    ----------
    conn
        A connection; the import runs in one transaction (a savepoint inside an open one).
    path
        The OSM file.
    area
        An area slug: keep only edges meeting the area buffered by 500 m (`NotFound` if unknown).
    progress
        Called with short progress messages (counts of ways read, then each database step).
    """
    path = Path(path)
    aid = streets.area_srid(conn, area)[0] if area is not None else None
    # The file's digest is taken by a thread while the file is read.
    with ThreadPoolExecutor(1) as digest:
        sha_of = digest.submit(file_sha256, path)
        osm = read_walkable_edges(path, progress=progress)
        sha = sha_of.result()
    counts = streets.write_edges(
        conn,
        osm.columns,
        file_name=path.name,
        sha256=sha,
        ways_walkable=osm.ways_walkable,
        area_id=aid,
        area_buffer_m=AREA_BUFFER_M,
        progress=progress,
    )
    report = ImportReport(
        file_name=path.name,
        sha256=sha,
        area=area,
        ways_read=osm.ways_read,
        ways_walkable=osm.ways_walkable,
        edges_in_file=len(osm.columns),
        **dataclasses.asdict(counts),
    )
    logger.info("imported %s: %s", path.name, report)
    return report


def load_network(
    conn: Connection,
    *,
    area: str | None = None,
    bbox: BBox | None = None,
    buffer_m: float = AREA_BUFFER_M,
) -> list[Edge]:
    """The stored edges meeting ``area`` (buffered by ``buffer_m`` metres) and ``bbox``; all
    edges if neither is given. `NotFound` for an unknown area."""
    return [
        Edge(*row) for row in streets.select_edges(conn, area=area, bbox=bbox, buffer_m=buffer_m)
    ]


_cache: OrderedDict[tuple[Any, ...], StreetNetwork] = OrderedDict()
_cache_lock = threading.Lock()


def network_for(
    conn: Connection,
    area: str | None = None,
    *,
    bbox: BBox | None = None,
    metric_epsg: int | None = None,
) -> StreetNetwork:
    """The street graph of ``area`` (and/or ``bbox``), from a cache that an import refreshes.

    Graphs are cached per database, area, box, metric CRS and import generation, so after an
    import the next call loads the new network. The metric CRS is the area's own (SWEREF 99 TM,
    EPSG:3006, without an area) unless ``metric_epsg`` is given. `NetworkNotImported` when no
    edge is stored there.
    """
    srid = metric_epsg
    if area is not None:
        srid = srid or streets.area_srid(conn, area)[1]
    srid = srid or SWEREF99TM
    info = conn.info
    key = (info.host, info.port, info.dbname, area, bbox, srid, streets.network_generation(conn))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    edges = load_network(conn, area=area, bbox=bbox)
    if not edges:
        raise NetworkNotImported(not_imported_message(area, bbox is not None))
    # Nodes every 50 m at most, so that stops and meeting points snap close to where they are.
    network = StreetNetwork(split_long_edges(edges), metric_epsg=srid)
    with _cache_lock:
        _cache[key] = network
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return network


def not_imported_message(area: str | None, box: bool = False) -> str:
    """The Swedish answer when no street is imported where a plan was asked, with the command
    that imports an OpenStreetMap extract (the page shows it as it is)."""
    where = f"området {area}" if area else "den här delen av kartan" if box else "databasen"
    option = f" --area {area}" if area else ""
    return (
        f"Inget gatunät är importerat för {where}. Importera ett OpenStreetMap-utdrag som "
        f"täcker det: nattvandring import osm FILE.osm.pbf{option}"
    )


def network_around(conn: Connection, area: str, points: Sequence[LonLat]) -> StreetNetwork:
    """The street graph of ``area``, grown to cover ``points`` that lie outside it.

    A walk's meeting point is often just outside the district the walk is for (a station or a
    school across the border): the streets around it and between it and the area are then part
    of the walk. Points within `AREA_BUFFER_M` of the area give `network_for` ``(area)``; others
    up to `AROUND_MAX_M` away give the graph of the box around the buffered area and buffered
    points (in the area's metric CRS).
    """
    own = network_for(conn, area)  # an area without streets of its own is NetworkNotImported
    aid, srid = streets.area_srid(conn, area)
    outside, box = streets.box_around(conn, aid, points, buffer_m=AREA_BUFFER_M, max_m=AROUND_MAX_M)
    if box is None:
        return own
    logger.info("network for %s grown to %s for %d point(s) outside it", area, box, outside)
    return network_for(conn, bbox=box, metric_epsg=srid)


def clear_network_cache() -> None:
    """Forget every cached graph (tests; or after editing ``street_edges`` by hand)."""
    with _cache_lock:
        _cache.clear()
