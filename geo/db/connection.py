"""Connections to PostGIS: the database URL, single connections and the pool.

The database is either the server named by ``NATTVANDRING_DATABASE_URL`` or the embedded cluster
(`geo.db.embedded`), which `database_url` starts on demand.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from geo.db.embedded import DATABASE, EmbeddedCluster
from geo.db.guarded import GuardedPool
from geo.errors import DatabaseError
from geo.settings import DatabaseSettings

logger = logging.getLogger(__name__)


def database_url(settings: DatabaseSettings, *, start: bool = True) -> str:
    """The URL of the database to use; starts the embedded cluster when it is the one and
    ``start`` is true (it is created on first use)."""
    if settings.database_url:
        return settings.database_url
    cluster = EmbeddedCluster.from_settings(settings)
    if not start:
        return cluster.url()
    url = cluster.start()
    ensure_database(url, DATABASE)
    return url


def server_url(url: str, dbname: str) -> str:
    """The same server and credentials as ``url``, but database ``dbname``."""
    return make_conninfo(url, dbname=dbname)


def ensure_database(url: str, dbname: str) -> None:
    """Create database ``dbname`` on the server of ``url`` unless it exists."""
    with connect(server_url(url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if row is None:
            logger.info("creating database %s", dbname)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop_database(url: str, dbname: str) -> None:
    with connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def describe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    params = conninfo_to_dict(url)
    if params.get("password"):
        params["password"] = "***"
    host = params.get("host", "localhost")
    port = params.get("port", "5432")
    return f"postgresql://{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}"


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A connection, or a `DatabaseError` that says which server could not be reached."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(
            f"cannot connect to the database at {describe_url(url)}: {first}. Check "
            "NATTVANDRING_DATABASE_URL, or unset it to use the embedded PostGIS"
        ) from exc


def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 8,
    timeout_s: float = 0.8,
    probe_interval_s: float = 0.5,
) -> GuardedPool:
    """The app's connection pool behind a circuit breaker (`geo.db.guarded`); the caller opens
    and closes it (the app does so in its lifespan)."""
    return GuardedPool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout_s=timeout_s,
        probe_interval_s=probe_interval_s,
    )


# -- migrations ----------------------------------------------------------------------------------


def database_health(conn: psycopg.Connection) -> dict[str, str]:
    """Server and PostGIS versions and the schema version, read from the live database."""
    row = conn.execute(
        "SELECT current_setting('server_version'), postgis_lib_version(), "
        "(SELECT max(version) FROM schema_migrations)"
    ).fetchone()
    assert row is not None
    return {"postgresql": str(row[0]), "postgis": str(row[1]), "schema_version": str(row[2])}
