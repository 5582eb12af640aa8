"""``nattvandring walks import`` and ``nattvandring areas set-contacts`` as an operator runs
them (a real process on a database of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from geo.db import connection, migrate
from geo.db.demo import load_demo
from tests.conftest import DATA_DIR

CLI = str(Path(sys.executable).parent / "nattvandring")

LOG = (
    "Datum;Start;Slut;Förening;Vandrare;Anteckningar\n"
    "2024-09-06;21:00;01:00;Älvsjö AIK;6;Lugn kväll vid stationen\n"
    "7/9 2024;21.00;00.30;Kulturföreningen Solan;5;\n"
    "2024-09-13;21:00;01:00;Okänd förening;6;\n"
    "2024-09-14;21:00;01:00;Älvsjö AIK;många;\n"
)


@pytest.fixture(scope="module")
def cli_db(make_database) -> str:  # type: ignore[no-untyped-def]
    url: str = make_database("nv_cli_walks")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        load_demo(conn, DATA_DIR)
    return url


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATTVANDRING_")}
    env["NATTVANDRING_DATABASE_URL"] = url
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_walks_import_reports_taken_and_refused_and_stores_once(
    cli_db: str, tmp_path: Path
) -> None:
    log = tmp_path / "logg.csv"
    log.write_text(LOG, encoding="utf-8")
    done = run(cli_db, "walks", "import", str(log))
    assert done.returncode == 0, done.stderr
    assert "took 2 row(s): 2 walk(s) stored, 0 stored before; refused 2 row(s)" in done.stdout
    assert "line 4: no organisation 'Okänd förening'" in done.stdout
    assert "line 5: walkers 'många' is not a whole number" in done.stdout
    again = run(cli_db, "walks", "import", str(log))
    assert again.returncode == 0, again.stderr
    assert "0 walk(s) stored, 2 stored before" in again.stdout
    with psycopg.connect(cli_db) as conn:
        rows = conn.execute(
            "SELECT o.name, w.status, w.walkers, w.notes, w.source, a.slug FROM walks w "
            "JOIN organisations o ON o.id = w.organisation_id JOIN areas a ON a.id = w.area_id "
            "ORDER BY w.planned_start"
        ).fetchall()
    assert rows == [
        ("Älvsjö AIK", "reported", 6, "Lugn kväll vid stationen", "import", "solberga"),
        ("Kulturföreningen Solan", "reported", 5, "", "import", "solberga"),
    ]


def test_walks_import_of_a_file_without_the_columns_fails(cli_db: str, tmp_path: Path) -> None:
    log = tmp_path / "fel.csv"
    log.write_text("datum;förening\n2024-09-06;Älvsjö AIK\n", encoding="utf-8")
    done = run(cli_db, "walks", "import", str(log))
    assert done.returncode == 1
    assert done.stderr.startswith("error: the log has no column start, end, walkers")
    assert run(cli_db, "walks", "import", str(log), "--area", "ingenstans").returncode == 1


def test_areas_set_contacts(cli_db: str) -> None:
    done = run(cli_db, "areas", "set-contacts", "solberga", "--field-worker", "08-508 250 00")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "solberga: field worker 08-508 250 00, police 114 14, emergency 112"
    )
    bad = run(cli_db, "areas", "set-contacts", "solberga", "--police", "ring!")
    assert bad.returncode == 1 and "not a phone number" in bad.stderr
    with psycopg.connect(cli_db) as conn:
        row = conn.execute(
            "SELECT field_worker_phone, police_phone FROM areas WHERE slug = 'solberga'"
        ).fetchone()
    assert row == ("08-508 250 00", "114 14")
