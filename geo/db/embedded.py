"""The embedded PostGIS: a private PostgreSQL cluster that nattvandring creates and starts itself.

The cluster lives in ``<home>/pgdata`` and listens on a loopback TCP port only (no Unix socket, so
the path length of ``home`` does not matter). Its superuser ``nattvandring`` has a random password
kept in ``<home>/cluster.json`` (mode 0600), so other users of the machine cannot connect.

``initdb`` refuses to run as root: when nattvandring runs as root, every server command runs as an
unprivileged OS user (``postgres`` by default) through ``runuser``, and that user owns ``pgdata``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from geo.errors import ClusterError
from geo.settings import DatabaseSettings

logger = logging.getLogger(__name__)

SUPERUSER = "nattvandring"
DATABASE = "nattvandring"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class ClusterStatus:
    """What ``nattvandring db status`` reports about the embedded cluster."""

    data_dir: Path
    initialised: bool
    running: bool
    pid: int | None
    port: int | None
    version: str | None


def find_bindir(configured: Path | None = None) -> Path:
    """The directory with ``initdb`` and ``pg_ctl``: the configured one or the newest installed."""
    if configured is not None:
        if not (configured / "initdb").exists():
            raise ClusterError(f"NATTVANDRING_PG_BINDIR={configured} has no initdb in it")
        return configured
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise ClusterError(
        "PostgreSQL server is not installed (no initdb found): run `make setup`, or "
        "`sudo apt-get install postgresql postgresql-<version>-postgis-3`, "
        "or set NATTVANDRING_DATABASE_URL to use an existing server"
    )


def _sharedir(bindir: Path) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path("/usr/share/postgresql") / bindir.parent.name


def check_postgis(bindir: Path) -> None:
    """Raise a `ClusterError` that says what to install when PostGIS is missing."""
    control = _sharedir(bindir) / "extension" / "postgis.control"
    if not control.exists():
        major = bindir.parent.name
        raise ClusterError(
            f"PostGIS is not installed for PostgreSQL {major} ({control} is missing): run "
            f"`make setup` or `sudo apt-get install postgresql-{major}-postgis-3`"
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pid_is_our_postmaster(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a live postgres process serving ``data_dir`` (not a reused PID)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust that a live PID is ours, as pg_ctl does
    args = [a.decode(errors="replace") for a in cmdline if a]
    if not args or "postgres" not in Path(args[0]).name:
        return False
    return any(Path(a) == data_dir or a == str(data_dir) for a in args[1:])


class EmbeddedCluster:
    """A private PostgreSQL cluster with PostGIS under ``home``.

    Parameters
    ----------
    home
        The nattvandring data directory; the cluster lives in ``home/pgdata``.
    port
        Loopback port; when None, the port chosen at creation (a free one) is kept.
    os_user
        The unprivileged user that runs the server when the program runs as root.
    bindir
        PostgreSQL's binaries; the newest installed version when None.
    """

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        os_user: str = "postgres",
        bindir: Path | None = None,
    ) -> None:
        self.home = Path(home).absolute()
        self.data_dir = self.home / "pgdata"
        self.log_dir = self.home / "log"
        self.state_file = self.home / "cluster.json"
        self._port = port
        self._os_user = os_user
        self._bindir = bindir

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> EmbeddedCluster:
        return cls(
            settings.home_dir,
            port=settings.db_port,
            os_user=settings.db_os_user,
            bindir=settings.pg_bindir,
        )

    # -- state ---------------------------------------------------------------------------------

    def _read_state(self) -> dict[str, object]:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ClusterError(f"cannot read {self.state_file}: {exc}") from exc

    def _write_state(self, state: dict[str, object]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh, indent=2)
        os.replace(tmp, self.state_file)

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.state_file.exists()

    def url(self) -> str:
        """A ``postgresql://`` URL of the cluster's database that psql and psycopg accept."""
        state = self._read_state()
        if not state or not self.initialised:
            raise ClusterError(
                f"there is no embedded cluster in {self.home} yet: run `nattvandring db start`"
            )
        port = self._port or int(str(state["port"]))
        password = quote(str(state["password"]), safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}"

    # -- processes -----------------------------------------------------------------------------

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", self._os_user, "--"] if self._as_root else []

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = self._prefix() + args
        logger.debug("running %s", cmd)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise ClusterError(
                f"{Path(args[0]).name} failed: {detail[-1] if detail else proc.returncode}"
            )
        return proc

    def _bin(self, name: str) -> str:
        return str(find_bindir(self._bindir) / name)

    def _owner_ids(self) -> tuple[int, int]:
        if not self._as_root:
            return os.getuid(), os.getgid()
        try:
            pw = pwd.getpwnam(self._os_user)
        except KeyError as exc:
            raise ClusterError(
                f"running as root, the cluster must run as an unprivileged user, but user "
                f"'{self._os_user}' does not exist: install PostgreSQL (it creates 'postgres') "
                "or set NATTVANDRING_DB_OS_USER"
            ) from exc
        return pw.pw_uid, pw.pw_gid

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise start/stop between processes (two `serve`s, a test run and a `db stop`)."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.home / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ClusterError(
                f"cannot write the data directory {self.home} ({exc.strerror}): set "
                "NATTVANDRING_HOME to a directory you can write, or fix its permissions"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _pid(self) -> int | None:
        """PID of the running postmaster; a stale postmaster.pid (after a crash) is removed."""
        pidfile = self.data_dir / "postmaster.pid"
        try:
            first = pidfile.read_text().splitlines()[0].strip()
        except (FileNotFoundError, IndexError):
            return None
        except PermissionError as exc:
            raise ClusterError(f"cannot read {pidfile}: {exc.strerror}") from exc
        pid = int(first) if first.isdigit() else None
        if pid is not None and _pid_is_our_postmaster(pid, self.data_dir):
            return pid
        logger.warning("removing stale %s (PID %s does not run this cluster)", pidfile, first)
        with contextlib.suppress(FileNotFoundError):
            pidfile.unlink()
        return None

    # -- commands ------------------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        initialised = self.initialised
        pid = self._pid() if initialised else None
        state = self._read_state() if initialised else {}
        port = self._port or (int(str(state["port"])) if state.get("port") else None)
        version = None
        if initialised:
            version = (self.data_dir / "PG_VERSION").read_text().strip()
        return ClusterStatus(self.data_dir, initialised, pid is not None, pid, port, version)

    def start(self) -> str:
        """Create the cluster if needed, start it if it is not running, and return its URL.

        Starting a running cluster does nothing; a stale pid file left by a crash is removed.
        """
        bindir = find_bindir(self._bindir)
        check_postgis(bindir)
        with self._locked():
            if not self.initialised:
                self._init(bindir)
            state = self._read_state()
            port = self._port or int(str(state["port"]))
            if self._pid() is None:
                self._start_server(bindir, port)
            if state.get("port") != port:
                state["port"] = port
                self._write_state(state)
        return self.url()

    def stop(self, *, mode: str = "fast") -> bool:
        """Stop the cluster: ``fast`` ends the sessions and loses nothing; ``immediate`` is a
        crash (the next start recovers from the WAL), for the fault tests.

        Returns whether it was running.
        """
        if mode not in ("smart", "fast", "immediate"):
            raise ClusterError(f"unknown shutdown mode {mode!r}")
        with self._locked():
            if not self.initialised or self._pid() is None:
                return False
            self._run([self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-w"])
            return True

    # -- internals -----------------------------------------------------------------------------

    def _init(self, bindir: Path) -> None:
        uid, gid = self._owner_ids()
        if self._as_root:
            probe = subprocess.run(
                ["runuser", "-u", self._os_user, "--", "test", "-x", str(self.home)],
                capture_output=True,
            )
            if probe.returncode != 0:
                raise ClusterError(
                    f"the cluster runs as '{self._os_user}', who cannot enter {self.home}: "
                    "set NATTVANDRING_HOME to a directory under /var/lib or /srv"
                )
        if self.data_dir.exists():
            # A half-made cluster from an interrupted initdb: start again from scratch.
            shutil.rmtree(self.data_dir)
        for d in (self.data_dir, self.log_dir):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chown(d, uid, gid)
        os.chmod(self.home, 0o755)
        password = secrets.token_urlsafe(24)
        port = self._port or free_port()
        logger.info("creating the embedded PostgreSQL cluster in %s", self.data_dir)
        with tempfile.NamedTemporaryFile("w", dir=self.log_dir, delete=False) as pw:
            pw.write(password + "\n")
        os.chown(pw.name, uid, gid)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pw.name}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        except ClusterError:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        finally:
            os.unlink(pw.name)
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# nattvandring: loopback TCP only, no Unix socket\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 50\n"
                "shared_buffers = 128MB\n"
            )
        self._write_state({"port": port, "password": password, "user": SUPERUSER})

    def _start_server(self, bindir: Path, port: int) -> None:
        if port_in_use(port):
            raise ClusterError(
                f"port {port} on 127.0.0.1 is in use by another program: stop it, or set "
                "NATTVANDRING_DB_PORT to a free port"
            )
        logfile = self.log_dir / "postgres.log"
        logger.info("starting the embedded PostgreSQL cluster on 127.0.0.1:%d", port)
        proc = self._run(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(logfile),
                "-o",
                f"-p {port}",
                "-w",
                "-t",
                str(START_TIMEOUT_S),
            ],
            check=False,
        )
        if proc.returncode != 0:
            tail = ""
            with contextlib.suppress(OSError):
                tail = logfile.read_text(errors="replace").strip().splitlines()[-1]
            raise ClusterError(
                f"the embedded PostgreSQL did not start ({tail or proc.stderr.strip()}); "
                f"see {logfile}"
            )
