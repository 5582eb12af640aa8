"""The embedded PostGIS cluster: create, start, stop, restart, crash recovery and clear errors.

These run the real initdb/pg_ctl (as root through an unprivileged user, as in CI) in fresh
data directories under the system's temporary directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from geo.db import connection
from geo.db.embedded import EmbeddedCluster, find_bindir
from geo.errors import ClusterError


@pytest.fixture()
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nv-cluster-"))
    os.chmod(path, 0o755)
    yield path
    cluster = EmbeddedCluster(path)
    if cluster.initialised:
        cluster.stop()
    shutil.rmtree(path, ignore_errors=True)


def _postgis_version(url: str) -> str:
    connection.ensure_database(url, "nattvandring")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        row = conn.execute("SELECT postgis_lib_version()").fetchone()
    assert row is not None
    return str(row[0])


def test_start_creates_a_private_cluster_with_postgis(home: Path) -> None:
    cluster = EmbeddedCluster(home)
    assert not cluster.status().initialised
    url = cluster.start()
    st = cluster.status()
    assert st.initialised and st.running and st.pid
    assert _postgis_version(url).startswith("3.")
    # The password is required: the same URL without it is refused.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url.replace(url.split("@")[0].split(":")[-1] + "@", "@", 1)).close()
    assert oct((home / "cluster.json").stat().st_mode & 0o777) == "0o600"
    if os.geteuid() == 0:
        # As root the server runs as the unprivileged user that owns the data directory.
        owner = (home / "pgdata").stat().st_uid
        assert owner != 0
        ps = subprocess.run(["ps", "-o", "uid=", "-p", str(st.pid)], capture_output=True, text=True)
        assert int(ps.stdout.strip()) == owner


def test_second_start_is_harmless_and_stop_restart_work(home: Path) -> None:
    cluster = EmbeddedCluster(home)
    url = cluster.start()
    pid = cluster.status().pid
    assert cluster.start() == url
    assert cluster.status().pid == pid
    assert cluster.stop() is True
    assert not cluster.status().running
    assert cluster.stop() is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3).close()
    assert cluster.start() == url
    assert cluster.status().running
    assert _postgis_version(url)


def test_stale_pid_file_after_a_crash_is_recovered(home: Path) -> None:
    cluster = EmbeddedCluster(home)
    cluster.start()
    pid = cluster.status().pid
    assert pid is not None
    # A crash: the postmaster and its children die at once, leaving postmaster.pid behind.
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    for p in [pid, *map(int, children.split())]:
        os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
    assert (home / "pgdata" / "postmaster.pid").exists()
    url = cluster.start()
    assert cluster.status().running and cluster.status().pid != pid
    assert _postgis_version(url)


def test_pid_file_naming_another_live_process_is_stale(home: Path) -> None:
    cluster = EmbeddedCluster(home)
    cluster.start()
    cluster.stop()
    # After a reboot the old PID may belong to an unrelated process (here: this test).
    pidfile = home / "pgdata" / "postmaster.pid"
    pidfile.write_text(f"{os.getpid()}\n{home / 'pgdata'}\n")
    assert not cluster.status().running
    url = cluster.start()
    assert cluster.status().running
    assert _postgis_version(url)


def test_port_in_use_is_one_clear_error(home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ClusterError, match=f"port {port} .* in use.*NATTVANDRING_DB_PORT"):
            EmbeddedCluster(home, port=port).start()


def test_unwritable_data_directory_is_one_clear_error() -> None:
    parent = Path(tempfile.mkdtemp(prefix="nv-ro-"))
    try:
        if os.geteuid() == 0:
            # Root writes anywhere, but the cluster's unprivileged user cannot enter a 0700 dir.
            os.chmod(parent, 0o700)
            expected = "cannot enter .*NATTVANDRING_HOME"
        else:
            os.chmod(parent, 0o500)
            expected = "cannot write the data directory .*NATTVANDRING_HOME"
        with pytest.raises(ClusterError, match=expected):
            EmbeddedCluster(parent / "home").start()
    finally:
        os.chmod(parent, 0o700)
        shutil.rmtree(parent)


def test_postgis_missing_is_one_clear_error(tmp_path: Path) -> None:
    # A PostgreSQL installation without PostGIS: the real initdb, in a directory whose
    # share/extension has no connection.control.
    bindir = tmp_path / "17" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "initdb").symlink_to(find_bindir() / "initdb")
    with pytest.raises(ClusterError, match="PostGIS is not installed.*postgis-3"):
        EmbeddedCluster(tmp_path / "home", bindir=bindir).start()
