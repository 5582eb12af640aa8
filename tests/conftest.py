"""Test fixtures on a real PostGIS.

The server is ``NATTVANDRING_TEST_DATABASE_URL`` when set, otherwise an embedded cluster in
``NATTVANDRING_TEST_HOME`` (default ``<tmp>/nattvandring-test-<uid>``, reused between runs). Each
test session gets its own database with the migrations applied and the demo data loaded; each
test runs inside a transaction that is rolled back, and the API client shares that connection.

A skipped test fails the run (set NATTVANDRING_ALLOW_SKIP=1 to allow skips locally).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_conn, get_db
from api.heavy import shutdown_processes
from api.server_process import served
from api.settings import AppSettings
from geo.db import connection, migrate
from geo.db.accounts import add_user
from geo.db.demo import LoadReport, load_demo
from geo.db.embedded import EmbeddedCluster
from geo.db.guarded import Single
from geo.settings import DatabaseSettings

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "data"


def cluster_home() -> Path:
    configured = os.environ.get("NATTVANDRING_TEST_HOME")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"nattvandring-test-{os.getuid()}"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n 2``), the controller starts the embedded cluster once, before the
    workers exist, and hands its URL to them through the environment they inherit; it stops the
    cluster at the end if it started it. Each worker still makes databases of its own."""
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        return
    if not getattr(config.option, "numprocesses", None) or os.environ.get(_URL_VARIABLE):
        return
    cluster = EmbeddedCluster(cluster_home())
    was_running = cluster.status().running
    os.environ[_URL_VARIABLE] = cluster.start()
    config.stash[_STARTED] = None if was_running else cluster


def pytest_unconfigure(config: pytest.Config) -> None:
    cluster = config.stash.get(_STARTED, None)
    if cluster is not None:
        cluster.stop()


_URL_VARIABLE = "NATTVANDRING_TEST_DATABASE_URL"
_STARTED = pytest.StashKey[EmbeddedCluster | None]()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of the PostGIS server the tests use (not of the test database).

    An embedded cluster that the session had to start is stopped at its end.
    """
    url = os.environ.get(_URL_VARIABLE)
    if url:
        yield url
        return
    cluster = EmbeddedCluster(cluster_home())
    was_running = cluster.status().running
    yield cluster.start()
    if not was_running:
        cluster.stop()


@pytest.fixture(scope="session")
def make_database(server_url: str) -> Iterator[object]:
    """A factory of fresh, empty databases on the test server, dropped at the end."""
    made: list[str] = []

    def make(prefix: str = "nv_test") -> str:
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        connection.ensure_database(server_url, name)
        made.append(name)
        return connection.server_url(server_url, name)

    yield make
    for name in made:
        connection.drop_database(server_url, name)


@pytest.fixture(scope="session")
def db_url(make_database) -> str:  # type: ignore[no-untyped-def]
    """The session's test database: migrated, with the demo data loaded and committed."""
    url: str = make_database()
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    return url


@pytest.fixture(scope="session")
def demo_report(db_url: str) -> LoadReport:
    """The report of the first demo load into the session database."""
    with connection.connect(db_url, autocommit=True) as conn:
        return load_demo(conn, DATA_DIR)


@pytest.fixture()
def conn(db_url: str, demo_report: LoadReport) -> Iterator[psycopg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with connection.connect(db_url, autocommit=True) as c:
        with c.transaction(force_rollback=True):
            yield c


@pytest.fixture()
def settings(db_url: str) -> AppSettings:
    return AppSettings(db=DatabaseSettings(database_url=db_url), data_dir=DATA_DIR)


@pytest.fixture()
def client(conn: psycopg.Connection, settings: AppSettings) -> Iterator[TestClient]:
    """The API over the test's own connection (so the test's rollback undoes the requests)."""
    app = create_app(settings)

    def same_conn() -> Iterator[psycopg.Connection]:
        with conn.transaction():
            yield conn

    app.dependency_overrides[get_conn] = same_conn
    app.dependency_overrides[get_db] = lambda: Single(conn)
    # Not entered as a context manager: the lifespan (pool, migrations) is exercised by the
    # tests that run `nattvandring serve` over real HTTP.
    yield TestClient(app)


@pytest.fixture(scope="session")
def live_db_url(make_database) -> str:  # type: ignore[no-untyped-def]
    """A database of its own for the live server (migrated, demo loaded): what the browser
    tests commit there never reaches the session database the other tests share."""
    url: str = make_database("nv_live")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        load_demo(conn, DATA_DIR)
    return url


@pytest.fixture(scope="session")
def live_server(live_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``nattvandring serve`` on a free port over `live_db_url`, as a user starts it.

    Its output goes to a file (a pipe nobody reads would fill up and stall the server).
    """
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as out:
        try:
            # A generous in-flight limit and pool: these tests send bursts (20 concurrent
            # approvals, a phone's queue on reconnect) on a shared, slow machine, where a new
            # pooled connection may take longer than the 0.8 s a request waits for one by
            # default; shedding and the fast 503 have their own tests.
            env = {
                "NATTVANDRING_MAX_IN_FLIGHT": "64",
                "NATTVANDRING_POOL_MIN_SIZE": "4",
                "NATTVANDRING_POOL_TIMEOUT_S": "10",
            }
            with served(live_db_url, log=out, env=env) as base:
                yield base
        except RuntimeError as exc:
            raise AssertionError(f"{exc}:\n{log.read_text()}") from None


@pytest.fixture(scope="session")
def web_users(live_db_url: str) -> dict[str, tuple[str, str]]:
    """Committed users for the live server, one per role: role → (e-mail, password)."""
    made = {}
    with connection.connect(live_db_url, autocommit=True) as conn:
        for role, org in (
            ("walker", "Älvsjö AIK"),
            ("planner", "Hägersten-Älvsjö stadsdelsförvaltning"),
            ("partner", "Polisen"),
        ):
            email = f"web-{role}-{secrets.token_hex(3)}@example.org"
            password = secrets.token_urlsafe(12)
            add_user(conn, email, password, role=role, organisation=org)
            made[role] = (email, password)
    return made


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Route plans ran in a process pool: stop it and its forkserver, or they outlive the run.
    shutdown_processes()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and not os.environ.get("NATTVANDRING_ALLOW_SKIP"):
        if reporter:
            reporter.ensure_newline()
            reporter.write_line(
                f"FAILED: {skipped} test(s) skipped; every test must run (PostGIS, browser)",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
