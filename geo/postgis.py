"""Connections to PostGIS and the versioned schema migrations.

The database is either the server named by ``NATTVANDRING_DATABASE_URL`` or the embedded cluster
(`geo.cluster`), which `database_url` starts on demand.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from geo.cluster import DATABASE, EmbeddedCluster
from geo.errors import DatabaseError, MigrationError
from geo.settings import DatabaseSettings

logger = logging.getLogger(__name__)

# Any constant: serialises concurrent `migrate` runs (two servers starting at once).
_MIGRATION_LOCK = 0x6E617474


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


def open_pool(url: str, *, min_size: int = 1, max_size: int = 8) -> ConnectionPool:
    """A connection pool; the caller opens and closes it (the app does so in its lifespan)."""
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"connect_timeout": 10},
        # A connection the server dropped (restart, idle timeout) is replaced, not handed out.
        check=ConnectionPool.check_connection,
        name="nattvandring",
    )


# -- migrations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The migrations shipped in ``geo/migrations``, ordered by version (``NNNN_name.sql``)."""
    found = []
    for entry in resources.files("geo.migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version number: {versions}")
    return found


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the pending migrations, each in its own transaction, and return their names.

    Applied migrations are recorded in ``schema_migrations`` with a SHA-256 of their text; a
    recorded migration whose text has since changed is an error (never edit an applied one).
    """
    migrations = load_migrations()
    conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        with conn.transaction():
            conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     integer PRIMARY KEY,
                    name        text NOT NULL,
                    sha256      text NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            rows = conn.execute("SELECT version, name, sha256 FROM schema_migrations").fetchall()
        applied = {version: (name, digest) for version, name, digest in rows}
        known = {mig.version: mig for mig in migrations}
        for version, (name, digest) in sorted(applied.items()):
            mig = known.get(version)
            if mig is None:
                raise MigrationError(
                    f"the database has migration {name}, which this version of nattvandring "
                    "does not know: upgrade nattvandring, or use another database"
                )
            if mig.sha256 != digest:
                raise MigrationError(
                    f"migration {mig.name} was changed after it was applied to this database; "
                    "an applied migration must never be edited: restore it and add a new one"
                )
        done = []
        for mig in migrations:
            if mig.version in applied:
                continue
            logger.info("applying migration %s", mig.name)
            with conn.transaction():
                conn.execute(mig.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, sha256) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, mig.sha256),
                )
            done.append(mig.name)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
