"""The street network in PostGIS: import from an OSM file, load as edges, cache as graphs.

Tables (migration 0004): ``street_nodes`` (OSM node id, point), ``street_edges`` (one row per
piece of a way between two nodes, keyed by ``(osm_way_id, seq)``) and ``network_imports``.

An import adds new edges and nodes and updates changed ones, comparing before it writes, so
importing the same file again touches no row. It never deletes ways that are missing from the
file (a file may be a partial extract), only pieces of an imported way that the way no longer
has (its ``seq`` beyond the way's new number of pieces).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from geo.geometry import SWEREF99TM, BBox, LonLat
from geo.store import area_id
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
class ImportReport:
    """What an import read and changed.

    ``ways_read`` counts the file's ways tagged ``highway``, ``ways_walkable`` those kept;
    ``edges_in_file`` the pieces they split into, of which ``edges_outside_area`` were beyond
    the area's 500 m buffer. ``import_id`` is the ``network_imports`` row written, or None when
    this file was imported before and nothing changed.
    """

    file_name: str
    sha256: str
    area: str | None
    ways_read: int
    ways_walkable: int
    edges_in_file: int
    edges_outside_area: int
    nodes_added: int
    nodes_updated: int
    edges_added: int
    edges_updated: int
    edges_unchanged: int
    edges_removed: int
    import_id: int | None

    @property
    def changed(self) -> bool:
        return bool(
            self.nodes_added
            or self.nodes_updated
            or self.edges_added
            or self.edges_updated
            or self.edges_removed
        )


def _area_row(conn: psycopg.Connection, area: str) -> tuple[int, int]:
    """The id and metric SRID of area ``area`` (`NotFound` if unknown)."""
    aid = area_id(conn, area)
    row = conn.execute("SELECT metric_srid FROM areas WHERE id = %s", (aid,)).fetchone()
    assert row is not None
    return aid, int(row[0])


# The area buffered in its metric CRS (metres), back in WGS 84 for the GiST-indexed test.
_BUFFERED_AREA = sql.SQL(
    "SELECT ST_Transform(ST_Buffer(ST_Transform(a.geom, a.metric_srid), %s), 4326) AS geom "
    "FROM areas a WHERE a.id = %s"
)


def import_osm(
    conn: psycopg.Connection,
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
    aid = _area_row(conn, area)[0] if area is not None else None
    osm = read_walkable_edges(path, progress=progress)
    sha = file_sha256(path)
    edges = osm.edges
    pieces: dict[int, int] = {}
    for e in edges:
        pieces[e.osm_way_id] = max(pieces.get(e.osm_way_id, 0), e.seq + 1)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            """
            DROP TABLE IF EXISTS pg_temp.nv_stage_edges, pg_temp.nv_stage_nodes;
            CREATE TEMP TABLE nv_stage_edges (
                osm_way_id bigint, seq integer, n_pieces integer, source bigint, target bigint,
                highway text, name text, length_m double precision,
                geom geometry(LineString, 4326)
            ) ON COMMIT DROP;
            CREATE TEMP TABLE nv_stage_nodes (id bigint, geom geometry(Point, 4326))
                ON COMMIT DROP;
            """
        )
        if progress:
            progress(f"staging {len(edges):,} edges")
        _copy_edges(cur, edges, pieces)
        outside = 0
        if aid is not None:
            cur.execute(
                sql.SQL(
                    "DELETE FROM nv_stage_edges s USING ({}) a "
                    "WHERE NOT ST_Intersects(s.geom, a.geom)"
                ).format(_BUFFERED_AREA),
                (AREA_BUFFER_M, aid),
            )
            outside = cur.rowcount
        if progress:
            progress("writing nodes and edges")
        nodes_added, nodes_updated = _counts(cur, _UPSERT_NODES)
        edges_added, edges_updated = _counts(cur, _UPSERT_EDGES)
        cur.execute(
            """
            DELETE FROM street_edges e
            USING (SELECT DISTINCT osm_way_id, n_pieces FROM nv_stage_edges) w
            WHERE e.osm_way_id = w.osm_way_id AND e.seq >= w.n_pieces
            """
        )
        removed = cur.rowcount
        staged = len(edges) - outside
        counts = {
            "ways_walkable": osm.ways_walkable,
            "nodes_added": nodes_added,
            "nodes_updated": nodes_updated,
            "edges_added": edges_added,
            "edges_updated": edges_updated,
            "edges_unchanged": staged - edges_added - edges_updated,
            "edges_removed": removed,
        }
        changed = nodes_added or nodes_updated or edges_added or edges_updated or removed
        seen = cur.execute(
            "SELECT 1 FROM network_imports WHERE sha256 = %s AND area_id IS NOT DISTINCT FROM %s",
            (sha, aid),
        ).fetchone()
        import_id = None
        if changed or seen is None:
            row = cur.execute(
                sql.SQL(
                    "INSERT INTO network_imports (file_name, sha256, area_id, {}) "
                    "VALUES (%s, %s, %s, {}) RETURNING id"
                ).format(
                    sql.SQL(", ").join(map(sql.Identifier, counts)),
                    sql.SQL(", ").join(sql.Placeholder() * len(counts)),
                ),
                (path.name, sha, aid, *counts.values()),
            ).fetchone()
            assert row is not None
            import_id = int(row[0])
        cur.execute("DROP TABLE pg_temp.nv_stage_edges, pg_temp.nv_stage_nodes")
    report = ImportReport(
        file_name=path.name,
        sha256=sha,
        area=area,
        ways_read=osm.ways_read,
        ways_walkable=osm.ways_walkable,
        edges_in_file=len(edges),
        edges_outside_area=outside,
        nodes_added=nodes_added,
        nodes_updated=nodes_updated,
        edges_added=edges_added,
        edges_updated=edges_updated,
        edges_unchanged=counts["edges_unchanged"],
        edges_removed=removed,
        import_id=import_id,
    )
    logger.info("imported %s: %s", path.name, report)
    return report


def _copy_edges(cur: psycopg.Cursor[Any], edges: list[Edge], pieces: dict[int, int]) -> None:
    """COPY the edges and their end nodes into the staging tables (hex EWKB geometries)."""
    if not edges:
        return
    sizes = np.array([len(e.coords) for e in edges])
    lines = shapely.linestrings(
        np.concatenate([e.coords for e in edges]), indices=np.repeat(np.arange(len(edges)), sizes)
    )
    hex_lines = shapely.to_wkb(shapely.set_srid(lines, 4326), hex=True, include_srid=True)
    with cur.copy(
        "COPY nv_stage_edges (osm_way_id, seq, n_pieces, source, target, highway, name, "
        "length_m, geom) FROM STDIN"
    ) as copy:
        for e, g in zip(edges, hex_lines, strict=True):
            name = e.name.strip() if e.name else None
            copy.write_row(
                (
                    e.osm_way_id,
                    e.seq,
                    pieces[e.osm_way_id],
                    e.source,
                    e.target,
                    e.highway,
                    name or None,
                    e.length_m,
                    g,
                )
            )
    ends: dict[int, tuple[float, float]] = {}
    for e in edges:
        ends[e.source] = (float(e.coords[0, 0]), float(e.coords[0, 1]))
        ends[e.target] = (float(e.coords[-1, 0]), float(e.coords[-1, 1]))
    ids = list(ends)
    points = shapely.set_srid(shapely.points(np.array([ends[i] for i in ids])), 4326)
    hex_points = shapely.to_wkb(points, hex=True, include_srid=True)
    with cur.copy("COPY nv_stage_nodes (id, geom) FROM STDIN") as copy:
        for i, g in zip(ids, hex_points, strict=True):
            copy.write_row((i, g))


def _counts(cur: psycopg.Cursor[Any], statement: sql.SQL) -> tuple[int, int]:
    """Rows inserted and rows updated by an upsert that returns ``(xmax = 0)`` per row."""
    row = cur.execute(
        sql.SQL(
            "WITH w AS ({}) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w"
        ).format(statement)
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# Only nodes that a staged edge ends at (some may have been cut by the area filter); a row is
# rewritten only if its position changed. xmax = 0 marks a freshly inserted row.
_UPSERT_NODES = sql.SQL("""
    INSERT INTO street_nodes AS n (id, geom)
    SELECT s.id, s.geom FROM nv_stage_nodes s
    WHERE s.id IN (SELECT source FROM nv_stage_edges UNION SELECT target FROM nv_stage_edges)
    ON CONFLICT (id) DO UPDATE SET geom = EXCLUDED.geom
        WHERE NOT ST_OrderingEquals(n.geom, EXCLUDED.geom)
    RETURNING (n.xmax = 0) AS inserted
""")

_UPSERT_EDGES = sql.SQL("""
    INSERT INTO street_edges AS e
        (osm_way_id, seq, source, target, highway, name, length_m, geom)
    SELECT osm_way_id, seq, source, target, highway, name, length_m, geom
    FROM nv_stage_edges ORDER BY osm_way_id, seq
    ON CONFLICT (osm_way_id, seq) DO UPDATE
        SET source = EXCLUDED.source, target = EXCLUDED.target, highway = EXCLUDED.highway,
            name = EXCLUDED.name, length_m = EXCLUDED.length_m, geom = EXCLUDED.geom
        WHERE (e.source, e.target, e.highway, e.name, e.length_m)
                  IS DISTINCT FROM (EXCLUDED.source, EXCLUDED.target, EXCLUDED.highway,
                                    EXCLUDED.name, EXCLUDED.length_m)
           OR NOT ST_OrderingEquals(e.geom, EXCLUDED.geom)
    RETURNING (e.xmax = 0) AS inserted
""")


def load_network(
    conn: psycopg.Connection,
    *,
    area: str | None = None,
    bbox: BBox | None = None,
    buffer_m: float = AREA_BUFFER_M,
) -> list[Edge]:
    """The stored edges meeting ``area`` (buffered by ``buffer_m`` metres) and ``bbox``; all
    edges if neither is given. `NotFound` for an unknown area."""
    where: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    if area is not None:
        aid = area_id(conn, area)
        where.append(sql.SQL("ST_Intersects(e.geom, ({}))").format(_BUFFERED_AREA))
        params += [buffer_m, aid]
    if bbox is not None:
        where.append(sql.SQL("ST_Intersects(e.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"))
        params += list(bbox.as_tuple())
    rows = conn.execute(
        sql.SQL(
            "SELECT e.source, e.target, e.length_m, ST_AsBinary(e.geom), e.osm_way_id, e.seq, "
            "e.highway, e.name FROM street_edges e WHERE {} ORDER BY e.osm_way_id, e.seq"
        ).format(sql.SQL(" AND ").join(where)),
        params,
    ).fetchall()
    if not rows:
        return []
    lines = shapely.from_wkb([bytes(r[3]) for r in rows])
    coords, index = shapely.get_coordinates(lines, return_index=True)
    splits = np.split(coords, np.flatnonzero(np.diff(index)) + 1)
    return [
        Edge(int(r[0]), int(r[1]), float(r[2]), xy, int(r[4]), int(r[5]), str(r[6]), r[7])
        for r, xy in zip(rows, splits, strict=True)
    ]


def network_generation(conn: psycopg.Connection) -> int:
    """The id of the latest import that changed the network (0 before any import)."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM network_imports").fetchone()
    assert row is not None
    return int(row[0])


_cache: OrderedDict[tuple[Any, ...], StreetNetwork] = OrderedDict()
_cache_lock = threading.Lock()


def network_for(
    conn: psycopg.Connection,
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
        srid = srid or _area_row(conn, area)[1]
    srid = srid or SWEREF99TM
    info = conn.info
    key = (info.host, info.port, info.dbname, area, bbox, srid, network_generation(conn))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    edges = load_network(conn, area=area, bbox=bbox)
    if not edges:
        where = f"area {area!r}" if area else "this box" if bbox else "the database"
        raise NetworkNotImported(
            f"no street network is imported for {where}; import an OpenStreetMap extract "
            "(.osm or .osm.pbf) that covers it first"
        )
    # Nodes every 50 m at most, so that stops and meeting points snap close to where they are.
    network = StreetNetwork(split_long_edges(edges), metric_epsg=srid)
    with _cache_lock:
        _cache[key] = network
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return network


def network_around(conn: psycopg.Connection, area: str, points: Sequence[LonLat]) -> StreetNetwork:
    """The street graph of ``area``, grown to cover ``points`` that lie outside it.

    A walk's meeting point is often just outside the district the walk is for (a station or a
    school across the border): the streets around it and between it and the area are then part
    of the walk. Points within `AREA_BUFFER_M` of the area give `network_for` ``(area)``; others
    up to `AROUND_MAX_M` away give the graph of the box around the buffered area and buffered
    points (in the area's metric CRS).
    """
    own = network_for(conn, area)  # an area without streets of its own is NetworkNotImported
    aid, srid = _area_row(conn, area)
    lons = [float(p[0]) for p in points]
    lats = [float(p[1]) for p in points]
    row = conn.execute(
        """
        WITH a AS (SELECT geom, metric_srid FROM areas WHERE id = %(aid)s),
        p AS (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom
              FROM unnest(%(lons)s::float8[], %(lats)s::float8[]) AS t(x, y)),
        outside AS (SELECT p.geom FROM p, a
                    WHERE NOT ST_DWithin(a.geom::geography, p.geom::geography, %(buffer)s)
                      AND ST_DWithin(a.geom::geography, p.geom::geography, %(max)s)),
        box AS (SELECT ST_Extent(ST_Transform(ST_Buffer(ST_Transform(g, a.metric_srid),
                                                        %(buffer)s), 4326)) AS e
                FROM a, (SELECT geom AS g FROM a UNION ALL SELECT geom FROM outside) AS u)
        SELECT (SELECT count(*) FROM outside), ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
        FROM box
        """,
        {"aid": aid, "lons": lons, "lats": lats, "buffer": AREA_BUFFER_M, "max": AROUND_MAX_M},
    ).fetchone()
    assert row is not None
    if not row[0]:
        return own
    box = BBox(*(round(float(v), 6) for v in row[1:]))
    logger.info("network for %s grown to %s for %d point(s) outside it", area, box, row[0])
    return network_for(conn, bbox=box, metric_epsg=srid)


def clear_network_cache() -> None:
    """Forget every cached graph (tests; or after editing ``street_edges`` by hand)."""
    with _cache_lock:
        _cache.clear()
