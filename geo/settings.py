"""Database settings, read from ``NATTVANDRING_*`` environment variables when constructed."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """The per-user data directory of nattvandring.

    ``$XDG_DATA_HOME/nattvandring`` (``~/.local/share/nattvandring``) for a normal user. As root the
    embedded cluster runs as an unprivileged OS user, which cannot enter ``/root`` (mode 0700), so
    root's default is ``/var/lib/nattvandring``.
    """
    if os.geteuid() == 0:
        return Path("/var/lib/nattvandring")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "nattvandring"


class DatabaseSettings(BaseSettings):
    """Where the PostGIS database is.

    With ``database_url`` set, that server is used and no cluster is ever started. Without it,
    the embedded cluster in ``home`` is used (created and started on demand).
    """

    model_config = SettingsConfigDict(env_prefix="NATTVANDRING_", extra="ignore")

    database_url: str | None = None
    home: Path | None = None
    db_port: int | None = None
    """Loopback port of the embedded cluster; chosen free at creation when unset."""
    db_os_user: str = "postgres"
    """OS user that runs the embedded cluster when nattvandring runs as root."""
    pg_bindir: Path | None = None
    """Directory of initdb/pg_ctl; the newest /usr/lib/postgresql/*/bin when unset."""
    pool_min_size: int = 1
    pool_max_size: int = 16
    pool_timeout_s: float = 0.8
    """How long a request waits for a pooled connection before a 503 (``Retry-After``)."""
    probe_interval_s: float = 0.5
    """While the database is down, how often it is probed (requests get a 503 at once)."""

    @property
    def home_dir(self) -> Path:
        return self.home if self.home is not None else default_home()

    @property
    def embedded(self) -> bool:
        return not self.database_url
