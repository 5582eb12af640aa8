"""The street network's tables in PostGIS: staged COPY of imported edges, upserts that touch only
what changed, and the edges of an area or box read back as arrays.

Tables (migration 0004): ``street_nodes`` (OSM node id, point), ``street_edges`` (one row per
piece of a way between two nodes, keyed by ``(osm_way_id, seq)``) and ``network_imports``.
Building graphs from these rows is `routes.network_io`'s; this module only moves rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray
from psycopg import pq, sql

from geo.db import street_copy, street_swap
from geo.db.areas import area_id
from geo.geometry import BBox


class EdgeLike(Protocol):
    """What an edge to store carries (`routes.network.Edge` is one)."""

    @property
    def source(self) -> int: ...
    @property
    def target(self) -> int: ...
    @property
    def length_m(self) -> float: ...
    @property
    def coords(self) -> NDArray[np.float64]: ...
    @property
    def osm_way_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def highway(self) -> str: ...
    @property
    def name(self) -> str | None: ...


@dataclass(frozen=True)
class WriteCounts:
    """Rows an import added, changed, left alone and removed, and the ``network_imports`` row
    written (None when this file was imported before and nothing changed)."""

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


@dataclass(frozen=True)
class EdgeColumns:
    """Edges as columns, one entry an edge (what a city's import carries instead of an object
    per edge): edge ``i``'s lon/lat line is ``coords[offsets[i]:offsets[i + 1]]``, its highway
    ``labels[highway_code[i]]`` and its name ``labels[name_code[i]]`` (-1: no name)."""

    source: NDArray[np.int64]
    target: NDArray[np.int64]
    length_m: NDArray[np.float64]
    osm_way_id: NDArray[np.int64]
    seq: NDArray[np.int64]
    highway_code: NDArray[np.int32]
    name_code: NDArray[np.int32]
    labels: list[str]
    offsets: NDArray[np.int64]
    coords: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.source)

    @property
    def highway(self) -> list[str]:
        """Each edge's highway value."""
        return [self.labels[i] for i in self.highway_code.tolist()]

    @property
    def name(self) -> list[str | None]:
        """Each edge's name (None when it has none)."""
        return [self.labels[i] if i >= 0 else None for i in self.name_code.tolist()]

    @classmethod
    def of(cls, edges: Sequence[EdgeLike]) -> EdgeColumns:
        """The columns of a sequence of edge objects."""
        sizes = np.array([len(e.coords) for e in edges], dtype=np.int64)
        codes: dict[str, int] = {}
        return cls(
            np.array([e.source for e in edges], dtype=np.int64),
            np.array([e.target for e in edges], dtype=np.int64),
            np.array([e.length_m for e in edges], dtype=np.float64),
            np.array([e.osm_way_id for e in edges], dtype=np.int64),
            np.array([e.seq for e in edges], dtype=np.int64),
            np.array([codes.setdefault(e.highway, len(codes)) for e in edges], dtype=np.int32),
            np.array(
                [-1 if e.name is None else codes.setdefault(e.name, len(codes)) for e in edges],
                dtype=np.int32,
            ),
            list(codes),
            np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            (
                np.concatenate([e.coords for e in edges])
                if edges
                else np.zeros((0, 2), dtype=np.float64)
            ),
        )


def write_edges(
    conn: psycopg.Connection,
    edges: Sequence[EdgeLike] | EdgeColumns,
    *,
    file_name: str,
    sha256: str,
    ways_walkable: int,
    area_id: int | None = None,
    area_buffer_m: float = 500.0,
    progress: Callable[[str], None] | None = None,
    bulk_min_edges: int = 20_000,
) -> WriteCounts:
    """Stage ``edges`` with COPY and upsert them into ``street_nodes``/``street_edges``, in one
    transaction (a savepoint inside an open one).

    With ``area_id`` only edges meeting the area buffered by ``area_buffer_m`` are kept. An
    import never deletes ways missing from the file (a file may be a partial extract), only
    pieces of an imported way beyond its new number of pieces.

    At least ``bulk_min_edges`` edges into a network of fewer than half as many are a bulk load:
    the foreign keys and the indexes other than the keys are dropped for the writes and made
    again after them, in the same transaction (which holds the street tables locked until it
    commits).
    """
    cols = edges if isinstance(edges, EdgeColumns) else EdgeColumns.of(edges)
    if (
        area_id is None
        and len(cols) >= bulk_min_edges
        and conn.autocommit
        and conn.info.transaction_status == pq.TransactionStatus.IDLE
    ):
        with conn.cursor() as cur:
            empty = not _stored_edges(cur, 1)
        if empty:
            swapped = _load_into_empty(
                conn,
                cols,
                file_name=file_name,
                sha256=sha256,
                ways_walkable=ways_walkable,
                progress=progress,
            )
            if swapped is not None:
                return swapped
    with conn.transaction(), conn.cursor() as cur:
        if area_id is None and len(cols) >= bulk_min_edges and not _stored_edges(cur, 1):
            # Into an empty network: straight into the street tables, nothing to compare.
            if progress:
                progress(
                    f"bulk load of {len(cols):,} edges into an empty network: rows first, "
                    "then indexes and foreign keys"
                )
            cur.execute(_BULK_MEMORY + _DROP_FOR_BULK + _DROP_KEYS)
            nodes_added = _copy_edges(cur, cols, staged=False)
            if progress:
                progress("building indexes and checking keys and foreign keys")
            cur.execute(_RESTORE_KEYS + _RESTORE_AFTER_BULK)
            outside = nodes_updated = edges_updated = removed = 0
            edges_added = staged = len(cols)
        else:
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
                progress(f"staging {len(cols):,} edges")
            _copy_edges(cur, cols, staged=True)
            outside = 0
            if area_id is not None:
                cur.execute(
                    sql.SQL(
                        "DELETE FROM nv_stage_edges s USING ({}) a "
                        "WHERE NOT ST_Intersects(s.geom, a.geom)"
                    ).format(_BUFFERED_AREA),
                    (area_buffer_m, area_id),
                )
                outside = cur.rowcount
            staged = len(cols) - outside
            # A bulk load (a city into an empty or much smaller network) writes faster without the
            # foreign keys and the geometry and node indexes, built again once afterwards (one
            # set-based check instead of two lookups per row; migration 0004's definitions).
            bulk = staged >= bulk_min_edges and _stored_edges(cur, staged) < staged // 2
            if bulk:
                if progress:
                    progress("bulk load: foreign keys and indexes are built after the rows")
                cur.execute(_BULK_MEMORY + _DROP_FOR_BULK)
            if progress:
                progress("writing nodes and edges")
            nodes_added, nodes_updated = _counts(cur, _UPSERT_NODES)
            edges_added, edges_updated = _counts(cur, _UPSERT_EDGES)
            if bulk:
                if progress:
                    progress("building indexes and checking foreign keys")
                cur.execute(_RESTORE_AFTER_BULK)
            cur.execute(
                """
                DELETE FROM street_edges e
                USING (SELECT DISTINCT osm_way_id, n_pieces FROM nv_stage_edges) w
                WHERE e.osm_way_id = w.osm_way_id AND e.seq >= w.n_pieces
                """
            )
            removed = cur.rowcount
        counts = {
            "ways_walkable": ways_walkable,
            "nodes_added": nodes_added,
            "nodes_updated": nodes_updated,
            "edges_added": edges_added,
            "edges_updated": edges_updated,
            "edges_unchanged": staged - edges_added - edges_updated,
            "edges_removed": removed,
        }
        import_id = _record_import(cur, file_name, sha256, area_id, counts)
        cur.execute("DROP TABLE IF EXISTS pg_temp.nv_stage_edges, pg_temp.nv_stage_nodes")
    return WriteCounts(
        edges_outside_area=outside,
        nodes_added=nodes_added,
        nodes_updated=nodes_updated,
        edges_added=edges_added,
        edges_updated=edges_updated,
        edges_unchanged=counts["edges_unchanged"],
        edges_removed=removed,
        import_id=import_id,
    )


def _load_into_empty(
    conn: psycopg.Connection,
    cols: EdgeColumns,
    *,
    file_name: str,
    sha256: str,
    ways_walkable: int,
    progress: Callable[[str], None] | None,
) -> WriteCounts | None:
    """A bulk load into the empty network by `street_swap` (new tables built on both CPUs and
    swapped in), or None if that way is not open now (nothing written then)."""
    counts = {
        "ways_walkable": ways_walkable,
        "nodes_added": 0,
        "nodes_updated": 0,
        "edges_added": len(cols),
        "edges_updated": 0,
        "edges_unchanged": 0,
        "edges_removed": 0,
    }
    import_ids: list[int | None] = []

    def record(cur: psycopg.Cursor[Any]) -> None:
        (nodes,) = cur.execute("SELECT count(*) FROM street_nodes").fetchone() or (0,)
        counts["nodes_added"] = int(nodes)
        import_ids.append(_record_import(cur, file_name, sha256, None, counts))

    if street_swap.load_into_empty(conn, cols, record=record, progress=progress) is None:
        return None
    return WriteCounts(
        edges_outside_area=0,
        nodes_added=counts["nodes_added"],
        nodes_updated=0,
        edges_added=len(cols),
        edges_updated=0,
        edges_unchanged=0,
        edges_removed=0,
        import_id=import_ids[0],
    )


def _record_import(
    cur: psycopg.Cursor[Any],
    file_name: str,
    sha256: str,
    area_id: int | None,
    counts: dict[str, int],
) -> int | None:
    """The import's row in ``network_imports`` (its id), written if the import changed something
    or brought a file not imported before (into the same area)."""
    changed = any(v for k, v in counts.items() if k not in ("ways_walkable", "edges_unchanged"))
    seen = cur.execute(
        "SELECT 1 FROM network_imports WHERE sha256 = %s AND area_id IS NOT DISTINCT FROM %s",
        (sha256, area_id),
    ).fetchone()
    if not changed and seen is not None:
        return None
    row = cur.execute(
        sql.SQL(
            "INSERT INTO network_imports (file_name, sha256, area_id, {}) "
            "VALUES (%s, %s, %s, {}) RETURNING id"
        ).format(
            sql.SQL(", ").join(map(sql.Identifier, counts)),
            sql.SQL(", ").join(sql.Placeholder() * len(counts)),
        ),
        (file_name, sha256, area_id, *counts.values()),
    ).fetchone()
    assert row is not None
    return int(row[0])


EdgeRow = tuple[int, int, float, NDArray[np.float64], int, int, str, str | None]


def select_edges(
    conn: psycopg.Connection,
    *,
    area: str | None = None,
    bbox: BBox | None = None,
    buffer_m: float = 500.0,
) -> list[EdgeRow]:
    """The stored edges meeting ``area`` (buffered by ``buffer_m`` metres) and ``bbox``; all
    edges if neither is given, ordered by way and piece. Each row is ``(source, target,
    length_m, coords, osm_way_id, seq, highway, name)`` with ``coords`` a ``(k, 2)`` lon/lat
    array. `NotFound` for an unknown area."""
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
        (int(r[0]), int(r[1]), float(r[2]), xy, int(r[4]), int(r[5]), str(r[6]), r[7])
        for r, xy in zip(rows, splits, strict=True)
    ]


def box_around(
    conn: psycopg.Connection,
    area_id: int,
    points: Sequence[tuple[float, float]],
    *,
    buffer_m: float,
    max_m: float,
) -> tuple[int, BBox | None]:
    """How many ``points`` lie more than ``buffer_m`` but at most ``max_m`` from the area, and
    the lon/lat box around the buffered area and those buffered points (None when none does).
    Buffers are taken in the area's metric CRS."""
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
        {"aid": area_id, "lons": lons, "lats": lats, "buffer": buffer_m, "max": max_m},
    ).fetchone()
    assert row is not None
    if not row[0]:
        return 0, None
    return int(row[0]), BBox(*(round(float(v), 6) for v in row[1:]))


def street_lines(conn: psycopg.Connection, *, area: str, buffer_m: float = 300.0) -> list[Any]:
    """The imported streets within ``buffer_m`` of the area (for a map's base), lon/lat."""
    aid = area_id(conn, area)
    rows = conn.execute(
        """
        SELECT ST_AsBinary(e.geom) FROM street_edges e, areas a
        WHERE a.id = %s AND e.geom && ST_Expand(a.geom, %s / 50000.0)
          AND ST_DWithin(e.geom::geography, a.geom::geography, %s)
        """,
        (aid, buffer_m, buffer_m),
    ).fetchall()
    return list(shapely.from_wkb([bytes(r[0]) for r in rows])) if rows else []


class AreaCoverage(NamedTuple):
    """An area and the share of it (0–1) that the imported street network covers."""

    slug: str
    name: str
    share: float


COVERAGE_CELL_M = 50.0
COVERAGE_REACH_M = 50.0


def area_coverage(
    conn: psycopg.Connection,
    *,
    cell_m: float = COVERAGE_CELL_M,
    reach_m: float = COVERAGE_REACH_M,
) -> list[AreaCoverage]:
    """Every area, by name, with the share of it the imported network covers: the area is cut
    into ``cell_m`` squares in its metric CRS, and a square counts as covered when its centre
    lies within ``reach_m`` metres (geodesic) of a street edge. The squares whose centre lies
    inside the area are counted (an area smaller than one square: its point on surface)."""
    rows = conn.execute(
        """
        WITH a AS (
            SELECT id, slug, name, ST_Transform(geom, metric_srid) AS g FROM areas
        ),
        c AS (
            SELECT a.id, ST_Transform(ST_Centroid(s.geom), 4326) AS p
            FROM a, LATERAL ST_SquareGrid(%(cell)s, a.g) AS s
            WHERE ST_Intersects(a.g, ST_Centroid(s.geom))
            UNION ALL
            SELECT a.id, ST_Transform(ST_PointOnSurface(a.g), 4326) FROM a
            WHERE ST_Area(a.g) < %(cell)s * %(cell)s
        ),
        covered AS (
            SELECT c.id, EXISTS (
                SELECT 1 FROM street_edges e
                WHERE e.geom && ST_Expand(c.p, %(reach)s / (100000.0 * cos(radians(ST_Y(c.p)))),
                                          %(reach)s / 100000.0)
                  AND ST_DWithin(e.geom::geography, c.p::geography, %(reach)s)
            ) AS near
            FROM c
        )
        SELECT a.slug, a.name,
               coalesce(avg(covered.near::int), 0)::float8
        FROM a LEFT JOIN covered ON covered.id = a.id
        GROUP BY a.id, a.slug, a.name ORDER BY a.name
        """,
        {"cell": cell_m, "reach": reach_m},
    ).fetchall()
    return [AreaCoverage(str(r[0]), str(r[1]), float(r[2])) for r in rows]


def area_srid(conn: psycopg.Connection, area: str) -> tuple[int, int]:
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


def _copy_edges(cur: psycopg.Cursor[Any], edges: EdgeColumns, *, staged: bool) -> int:
    """COPY the edges and their end nodes into the staging tables (``staged``) or straight into
    ``street_edges`` and ``street_nodes``. The number of nodes copied."""
    if not len(edges):
        return 0
    street_copy.copy_edge_rows(
        cur,
        edges,
        table="nv_stage_edges" if staged else "street_edges",
        n_pieces=staged,
        freeze=not staged,
    )
    return street_copy.copy_node_rows(
        cur, edges, table="nv_stage_nodes" if staged else "street_nodes", freeze=not staged
    )


def _stored_edges(cur: psycopg.Cursor[Any], limit: int) -> int:
    """How many edges are stored, counted up to ``limit``."""
    row = cur.execute(
        "SELECT count(*) FROM (SELECT 1 FROM street_edges LIMIT %s) AS e", (limit,)
    ).fetchone()
    assert row is not None
    return int(row[0])


# A bulk load sorts a city's keys in memory (the default of 64 MB spills them to disk) and may
# build a B-tree with parallel workers; for this transaction only.
_BULK_MEMORY = "SET LOCAL maintenance_work_mem = '256MB';"

# What a bulk load drops and makes again: exactly migration 0004's foreign keys and indexes
# (tests/routes/test_import.py compares the catalogue before and after).
_DROP_FOR_BULK = """
    ALTER TABLE street_edges DROP CONSTRAINT street_edges_source_fkey,
                             DROP CONSTRAINT street_edges_target_fkey;
    DROP INDEX street_edges_geom_idx, street_edges_source_idx, street_edges_target_idx,
               street_nodes_geom_idx;
"""
_RESTORE_AFTER_BULK = """
    CREATE INDEX street_nodes_geom_idx ON street_nodes USING gist (geom);
    CREATE INDEX street_edges_geom_idx ON street_edges USING gist (geom);
    CREATE INDEX street_edges_source_idx ON street_edges (source);
    CREATE INDEX street_edges_target_idx ON street_edges (target);
    ALTER TABLE street_edges
        ADD CONSTRAINT street_edges_source_fkey FOREIGN KEY (source) REFERENCES street_nodes (id),
        ADD CONSTRAINT street_edges_target_fkey FOREIGN KEY (target) REFERENCES street_nodes (id);
    ANALYZE street_nodes, street_edges;
"""

# Into an empty network nothing is upserted, so the keys go too (built once, sorted, instead of
# one index insertion per row); what refers to them (the foreign keys) is gone by then. The
# tables are truncated in the transaction (no edges; a node is only ever an edge's end), so that
# COPY may write frozen rows (`street_copy.copy_edge_rows`).
_DROP_KEYS = """
    TRUNCATE street_edges, street_nodes;
    ALTER TABLE street_edges DROP CONSTRAINT street_edges_osm_way_id_seq_key,
                             DROP CONSTRAINT street_edges_pkey;
    ALTER TABLE street_nodes DROP CONSTRAINT street_nodes_pkey;
"""
_RESTORE_KEYS = """
    ALTER TABLE street_nodes ADD CONSTRAINT street_nodes_pkey PRIMARY KEY (id);
    ALTER TABLE street_edges ADD CONSTRAINT street_edges_pkey PRIMARY KEY (id),
                             ADD CONSTRAINT street_edges_osm_way_id_seq_key
                                 UNIQUE (osm_way_id, seq);
"""


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


def network_generation(conn: psycopg.Connection) -> int:
    """The id of the latest import that changed the network (0 before any import)."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM network_imports").fetchone()
    assert row is not None
    return int(row[0])
