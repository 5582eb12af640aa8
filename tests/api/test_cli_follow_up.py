"""``nattvandring follow-up`` as an operator runs it (a real process on a database of its own):
CSV on standard output, a PDF and the summary to files, every file audited."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from geo.db import connection, migrate
from geo.db.accounts import add_user
from tests.api.follow_up_data import load_programme
from tests.api.test_cli_walks import run
from tests.api.test_follow_up import pdf_text


@pytest.fixture(scope="module")
def cli_db(make_database) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    url: str = make_database("nv_cli_follow")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        with conn.transaction():
            prog = load_programme(conn)
        add_user(
            conn,
            "cli-planner@example.org",
            "correct horse 7",
            role="planner",
            organisation="Kommunen",
        )
        add_user(
            conn, "cli-walker@example.org", "correct horse 7", role="walker", organisation="Klubben"
        )
    return url, prog


def _audits(url: str) -> list[tuple[Any, ...]]:
    with connection.connect(url) as conn:
        return conn.execute(
            "SELECT user_id, details FROM audit_log WHERE action = 'follow_up.export' ORDER BY id"
        ).fetchall()


def test_csv_on_stdout_and_a_pdf_to_a_file(
    cli_db: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, prog = cli_db
    done = run(url, "follow-up", "--area", prog["area"], "--by", "month", "--format", "csv",
               "--since", "2024-10-01", "--until", "2024-11-30")  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["month"], r["walks_approved"], r["cost_sek"]) for r in table] == [
        ("2024-10", "25", "42500"),
        ("2024-11", "1", "1700"),
        ("total", "26", "44200"),
    ]
    out = tmp_path / "uppfoljning.pdf"
    done = run(url, "follow-up", "--area", prog["area"], "--format", "pdf", "--output", str(out),
               "--user", "cli-planner@example.org")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout and "audit row" in done.stdout
    assert "178 500 kr" in pdf_text(out.read_bytes(), tmp_path)
    summary = tmp_path / "s.json"
    done = run(url, "follow-up", "--summary", "--area", prog["area"], "--output", str(summary))
    assert done.returncode == 0, done.stderr
    assert json.loads(summary.read_text())["totals"]["iop"]["cost_sek"] == 112_200
    audits = _audits(url)
    assert [a[1]["format"] for a in audits[-3:]] == ["csv", "pdf", "json"]
    assert [a[1]["via"] for a in audits[-3:]] == ["cli"] * 3
    assert audits[-3][0] is None and audits[-2][0] is not None  # --user names the account


def test_bad_options_are_refused_with_nothing_audited(cli_db: tuple[str, dict[str, Any]]) -> None:
    url, prog = cli_db
    before = len(_audits(url))
    walker = run(url, "follow-up", "--area", prog["area"], "--user", "cli-walker@example.org")
    assert walker.returncode != 0 and "may not read the follow-up" in walker.stderr
    pdf = run(url, "follow-up", "--format", "pdf")
    assert pdf.returncode != 0 and "--output" in pdf.stderr
    bad = run(url, "follow-up", "--since", "2024-10-01", "--until", "2024-09-01")
    assert bad.returncode == 1 and "until is before since" in bad.stderr
    assert len(_audits(url)) == before
