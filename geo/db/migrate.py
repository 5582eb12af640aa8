"""The versioned schema migrations in ``geo/db/migrations`` (``NNNN_name.sql``), each applied once
and recorded with its checksum in ``schema_migrations``."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from geo.errors import MigrationError

logger = logging.getLogger(__name__)


# Any constant: serialises concurrent `migrate` runs (two servers starting at once).
_MIGRATION_LOCK = 0x6E617474


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The migrations shipped in ``geo/db/migrations``, ordered by version (``NNNN_name.sql``)."""
    found = []
    for entry in resources.files("geo.db.migrations").iterdir():
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


def schema_version(conn: psycopg.Connection) -> int:
    """The highest applied migration's version (0 before any)."""
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
