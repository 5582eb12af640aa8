"""The `nattvandring` command as an operator runs it (real processes, real clusters)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from geo.db.accounts import authenticate
from geo.db.demo import LoadReport

CLI = str(Path(sys.executable).parent / "nattvandring")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture()
def home_env() -> Iterator[dict[str, str]]:
    home = Path(tempfile.mkdtemp(prefix="nv-cli-"))
    os.chmod(home, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATTVANDRING_")}
    env["NATTVANDRING_HOME"] = str(home)
    yield env
    run("db", "stop", env=env)
    shutil.rmtree(home, ignore_errors=True)


def test_db_start_status_url_migrate_stop(home_env: dict[str, str]) -> None:
    st = run("db", "status", env=home_env)
    assert st.returncode == 3 and "not created yet" in st.stdout
    assert run("db", "url", env=home_env).returncode == 1

    started = run("db", "start", env=home_env)
    assert started.returncode == 0, started.stderr
    assert "embedded PostGIS running" in started.stdout
    again = run("db", "start", env=home_env)
    assert again.returncode == 0 and "running" in again.stdout

    st = run("db", "status", env=home_env)
    assert st.returncode == 0 and "running" in st.stdout and "pid" in st.stdout

    url = run("db", "url", env=home_env).stdout.strip()
    migrated = run("db", "migrate", env=home_env)
    assert migrated.returncode == 0 and "applied 0001_init.sql" in migrated.stdout
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT postgis_lib_version(), count(*) FROM areas").fetchone()
    assert row is not None and row[0].startswith("3.") and row[1] == 0
    # psql accepts the same URL.
    if shutil.which("psql"):
        out = subprocess.run(["psql", url, "-tAc", "SELECT 42"], capture_output=True, text=True)
        assert out.stdout.strip() == "42"

    stopped = run("db", "stop", env=home_env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    st = run("db", "status", env=home_env)
    assert st.returncode == 3 and "stopped" in st.stdout


def test_errors_are_one_line_and_exit_non_zero(home_env: dict[str, str]) -> None:
    home_env["NATTVANDRING_PG_BINDIR"] = "/nonexistent/bin"
    out = run("db", "start", env=home_env)
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr


def test_with_a_database_url_no_cluster_is_started(
    db_url: str, demo_report: LoadReport, home_env: dict[str, str]
) -> None:
    home_env["NATTVANDRING_DATABASE_URL"] = db_url
    out = run("db", "start", env=home_env)
    assert out.returncode == 0 and "no embedded cluster is started" in out.stdout
    assert not (Path(home_env["NATTVANDRING_HOME"]) / "pgdata").exists()
    assert run("db", "status", env=home_env).returncode == 0
    assert run("db", "url", env=home_env).stdout.strip() == db_url
    assert not (Path(home_env["NATTVANDRING_HOME"]) / "pgdata").exists()


def test_demo_load_shows_the_demo_users_passwords_once(
    home_env: dict[str, str], make_database
) -> None:  # type: ignore[no-untyped-def]
    url = make_database("nv_demo_users")
    home_env["NATTVANDRING_DATABASE_URL"] = url
    first = run("demo", "load", env=home_env)
    assert first.returncode == 0, first.stderr
    shown = dict(re.findall(r"(\S+@demo\.nattvandring\.example)  password: (\S+)", first.stdout))
    assert len(shown) == 4
    with psycopg.connect(url) as conn:
        roles = {
            email: authenticate(conn, email, password, address="192.0.2.1").role
            for email, password in shown.items()
        }
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM users")]
    assert sorted(roles.values()) == ["admin", "partner", "planner", "walker"]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for p in shown.values() for h in hashes)
    assert "street network" in first.stdout  # the OSM extract of western Solberga/Långbro
    second = run("demo", "load", env=home_env)
    assert second.returncode == 0 and "nothing changed" in second.stdout
    assert not (Path(home_env["NATTVANDRING_HOME"]) / "pgdata").exists()
    assert "password:" not in second.stdout and "users password EMAIL" in second.stdout
    # A forgotten demo password can be replaced (read from stdin, never from argv).
    email = next(iter(shown))
    reset = subprocess.run(
        [CLI, "users", "password", email],
        env=home_env,
        input="ett nytt långt lösenord\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reset.returncode == 0, reset.stderr
    with psycopg.connect(url) as conn:
        assert (
            authenticate(conn, email, "ett nytt långt lösenord", address="192.0.2.1").email == email
        )


def test_users_add_list_disable(home_env: dict[str, str], make_database) -> None:  # type: ignore[no-untyped-def]
    home_env["NATTVANDRING_DATABASE_URL"] = make_database("nv_users")

    def add(email: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "users", "add", email, "--role", "walker", "--org", "Nya klubben"],
            env=home_env,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    added = add("ny@example.org", "ett långt lösenord")
    assert added.returncode == 0, added.stderr
    assert "ny@example.org (walker, Nya klubben)" in added.stdout
    short = add("kort@example.org", "kort")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    listed = run("users", "list", env=home_env)
    assert "ny@example.org\twalker\tNya klubben" in listed.stdout
    assert "kort@example.org" not in listed.stdout
    assert run("users", "disable", "ny@example.org", env=home_env).returncode == 0
    assert "(disabled)" in run("users", "list", env=home_env).stdout
    with psycopg.connect(home_env["NATTVANDRING_DATABASE_URL"]) as conn:
        row = conn.execute("SELECT password_hash FROM users").fetchone()
    assert row is not None and row[0].startswith("$argon2id$")
