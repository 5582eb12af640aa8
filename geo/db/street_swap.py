"""A bulk load into an empty street network, on both CPUs: new tables built by parallel sessions,
then swapped in.

One transaction builds one thing at a time: a city's 1.2 million edges are ~12 s of PostgreSQL
work (COPY with the geometry checks, two GiST indexes, four B-trees, two foreign keys), most of it
on one CPU. Here the nodes and the edges are copied into new tables by two sessions at once
(frozen rows: each table is made in its session's transaction), their indexes are built by two
sessions from a queue (CREATE INDEX takes a lock that does not exclude another CREATE INDEX),
the keys are made from those indexes and the foreign keys checked in one transaction, and one
short transaction of the caller's connection drops the empty street tables and renames the new
ones, their indexes and constraints to migration 0004's names (tests/routes/test_import.py
compares the catalogue). Readers see the empty network or the whole new one, never a part.

It needs the caller's connection outside a transaction (other sessions' commits are not inside
it) and a session-level advisory lock, so that two bulk loads never build the same new tables;
`load_into_empty` answers None when either is missing, and the caller loads in its own
transaction instead. Whatever fails, the new tables are dropped and the street tables are as
they were.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from typing import TYPE_CHECKING

import psycopg
from psycopg import pq

from geo.db import street_copy

if TYPE_CHECKING:
    from geo.db.streets import EdgeColumns

logger = logging.getLogger(__name__)

# pg_advisory_lock's key for "a bulk load is building the new street tables".
_LOCK_KEY = 0x6E76_5354_5245_4554  # "nvSTREET"

_NODES, _EDGES = "nv_load_street_nodes", "nv_load_street_edges"

_SESSION_SETUP = "SET maintenance_work_mem = '256MB'"

# Longest first (measured on the 100 MB extract: the GiST indexes take 2–2.5 s, the B-trees
# 0.3–0.9 s), so that the two sessions end together.
_INDEXES = (
    f"CREATE INDEX {_EDGES}_geom_idx ON {_EDGES} USING gist (geom)",
    f"CREATE INDEX {_NODES}_geom_idx ON {_NODES} USING gist (geom)",
    f"CREATE UNIQUE INDEX {_EDGES}_osm_way_id_seq_key ON {_EDGES} (osm_way_id, seq)",
    f"CREATE INDEX {_EDGES}_source_idx ON {_EDGES} (source)",
    f"CREATE INDEX {_EDGES}_target_idx ON {_EDGES} (target)",
    f"CREATE UNIQUE INDEX {_EDGES}_pkey ON {_EDGES} (id)",
    f"CREATE UNIQUE INDEX {_NODES}_pkey ON {_NODES} (id)",
)
_KEYS = f"""
    ALTER TABLE {_NODES} ADD CONSTRAINT {_NODES}_pkey PRIMARY KEY USING INDEX {_NODES}_pkey;
    ALTER TABLE {_EDGES}
        ADD CONSTRAINT {_EDGES}_pkey PRIMARY KEY USING INDEX {_EDGES}_pkey,
        ADD CONSTRAINT {_EDGES}_osm_way_id_seq_key
            UNIQUE USING INDEX {_EDGES}_osm_way_id_seq_key,
        ADD CONSTRAINT {_EDGES}_source_fkey FOREIGN KEY (source) REFERENCES {_NODES} (id),
        ADD CONSTRAINT {_EDGES}_target_fkey FOREIGN KEY (target) REFERENCES {_NODES} (id);
"""
# The names of the new tables' indexes and constraints after the swap: their own with the
# prefix taken off (ALTER INDEX renames a key's constraint with its index).
_RENAMES = (
    [
        f"ALTER INDEX {_NODES}_{suffix} RENAME TO street_nodes_{suffix}"
        for suffix in ("pkey", "geom_idx")
    ]
    + [
        f"ALTER INDEX {_EDGES}_{suffix} RENAME TO street_edges_{suffix}"
        for suffix in ("pkey", "osm_way_id_seq_key", "geom_idx", "source_idx", "target_idx")
    ]
    + [
        f"ALTER TABLE street_edges RENAME CONSTRAINT {_EDGES}_{end}_fkey TO street_edges_{end}_fkey"
        for end in ("source", "target")
    ]
)
_SWAP = [
    "LOCK TABLE street_edges, street_nodes IN ACCESS EXCLUSIVE MODE",
    # The edges' ids keep coming from migration 0004's sequence, which goes with its table.
    f"ALTER SEQUENCE street_edges_id_seq OWNED BY {_EDGES}.id",
    "DROP TABLE street_edges, street_nodes",
    f"ALTER TABLE {_NODES} RENAME TO street_nodes",
    f"ALTER TABLE {_EDGES} RENAME TO street_edges",
] + _RENAMES
_DROP_NEW = f"DROP TABLE IF EXISTS {_EDGES}, {_NODES}"


class NotEmpty(Exception):
    """Edges were stored while the new tables were built: the caller loads the ordinary way."""


def load_into_empty(
    conn: psycopg.Connection,
    edges: EdgeColumns,
    *,
    record: Callable[[psycopg.Cursor], None],
    progress: Callable[[str], None] | None = None,
) -> int | None:
    """Bulk-load ``edges`` and their end nodes into the empty street network with parallel
    sessions and swap them in; ``record`` writes the import's row in the swap's transaction.
    The number of nodes written, or None if this way is not open (``conn`` in a transaction,
    another bulk load running, or edges stored meanwhile): nothing was written then."""
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        return None
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()
    if not (row and row[0]):
        return None
    try:
        with ExitStack() as stack:
            a, b = (stack.enter_context(_session(conn)) for _ in range(2))
            # Left by a bulk load that was killed (none runs: the lock is ours).
            a.execute(_DROP_NEW)
            stack.callback(_drop_new, conn)
            if progress:
                progress(
                    f"bulk load of {len(edges):,} edges into an empty network: rows first, "
                    "then indexes and foreign keys, in two sessions"
                )
            with ThreadPoolExecutor(2) as pool:
                nodes_job = pool.submit(_copy_nodes, a, edges)
                edges_job = pool.submit(_copy_edges, b, edges)
                nodes = nodes_job.result()
                edges_job.result()
            if progress:
                progress("building indexes and checking keys and foreign keys")
            _in_parallel([a, b], _INDEXES)
            a.execute(_KEYS)
            _in_parallel([a, b], [f"ANALYZE {_NODES}", f"ANALYZE {_EDGES}"])
            with conn.transaction(), conn.cursor() as cur:
                for statement in _SWAP[:1]:
                    cur.execute(statement)
                if cur.execute("SELECT EXISTS (SELECT FROM street_edges)").fetchone() != (False,):
                    raise NotEmpty
                for statement in _SWAP[1:]:
                    cur.execute(statement)
                record(cur)
            return nodes
    except NotEmpty:
        return None
    finally:
        # A broken connection has lost the lock with its session.
        with suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


@contextmanager
def _session(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Another session as ``conn``'s user on its server and database, in autocommit."""
    with psycopg.connect(
        conn.info.dsn, password=conn.info.password, autocommit=True, connect_timeout=10
    ) as other:
        other.execute(_SESSION_SETUP)
        yield other


def _copy_nodes(session: psycopg.Connection, edges: EdgeColumns) -> int:
    with session.transaction(), session.cursor() as cur:
        cur.execute(f"CREATE TABLE {_NODES} (LIKE street_nodes INCLUDING ALL EXCLUDING INDEXES)")
        return street_copy.copy_node_rows(cur, edges, table=_NODES, freeze=True)


def _copy_edges(session: psycopg.Connection, edges: EdgeColumns) -> None:
    with session.transaction(), session.cursor() as cur:
        cur.execute(f"CREATE TABLE {_EDGES} (LIKE street_edges INCLUDING ALL EXCLUDING INDEXES)")
        street_copy.copy_edge_rows(cur, edges, table=_EDGES, n_pieces=False, freeze=True)


def _in_parallel(
    sessions: list[psycopg.Connection], statements: tuple[str, ...] | list[str]
) -> None:
    """Run ``statements`` (each its own transaction) on ``sessions``, each session taking the
    next one from a queue; the first error is raised once all have stopped."""
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for statement in statements:
        todo.put(statement)
    failed: list[BaseException] = []
    stop = threading.Event()

    def work(session: psycopg.Connection) -> None:
        while not stop.is_set():
            try:
                statement = todo.get_nowait()
            except queue.Empty:
                return
            try:
                session.execute(statement)  # type: ignore[call-overload]
            except BaseException as exc:
                failed.append(exc)
                stop.set()

    with ThreadPoolExecutor(len(sessions)) as pool:
        list(pool.map(work, sessions))
    if failed:
        raise failed[0]


def _drop_new(conn: psycopg.Connection) -> None:
    """Drop the new tables unless they were swapped in (then they are gone under these names)."""
    try:
        with _session(conn) as session:
            session.execute(_DROP_NEW)
    except psycopg.Error as exc:  # the next bulk load drops them
        logger.warning("the new street tables of a failed bulk load were not dropped: %s", exc)
