"""The demo's meeting report for Solberga, read page by page as a person reads it.

The demo as `nattvandring demo load` makes it: the districts, places and synthetic reports
(the session's load), the street network, the walk season with its tracks, the earlier seasons'
walk log and the police's notices placed again against the network. "Last quarter" is the
three months up to yesterday; a second report, for the last quarter of 2025, has police
notices in its period (the archive ends in 2025).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import add_demo_users
from geo.db.demo import load_demo_police
from geo.db.demo_history import load_demo_history
from geo.db.demo_season import load_demo_season
from routes.network_io import import_osm
from tests.conftest import DATA_DIR

Headers = Callable[[str], dict[str, str]]
NOW = datetime.now(UTC)


@pytest.fixture()
def demo(conn: psycopg.Connection) -> None:
    import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")
    add_demo_users(conn)
    load_demo_season(conn, DATA_DIR, now=NOW)
    load_demo_history(conn, DATA_DIR)
    load_demo_police(conn, DATA_DIR)


def pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page (pdftotext), after checking that pdftoppm renders each to PNG."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    count = int(next(x for x in info.stdout.splitlines() if x.startswith("Pages:")).split()[1])
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) == count
    return [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(path), "-"],
            capture_output=True, text=True, check=True,
        ).stdout
        for i in range(1, count + 1)
    ]  # fmt: skip


def report(
    client: TestClient, headers: dict[str, str], since: date, until: date, **kw: str
) -> bytes:
    r = client.get(
        "/api/v1/exports/meeting",
        params={"area": "solberga", "since": since.isoformat(), "until": until.isoformat(),
                "format": "pdf", **kw},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return r.content


def test_the_demo_report_of_the_last_quarter_page_by_page(
    client: TestClient, auth: Headers, demo: None, tmp_path: Path
) -> None:
    until = date.today() - timedelta(days=1)
    since = until - timedelta(days=90)
    pdf = report(client, auth("partner"), since, until)
    text = pages(pdf, tmp_path)
    assert len(text) >= 4
    for i, page in enumerate(text, 1):
        assert "SYNTETISKA DEMODATA" in page, f"page {i} lacks the demo mark"
    first = " ".join(text[0].split())
    assert "Sammanfattning" in first and "jämfört med föregående period" in first
    assert "Kategorier som förändrats mest" in first and "Nattvandringarna" in first
    assert "Sedan förra mötets underlag" in first
    everything = " ".join(" ".join(text).split())
    for section in (
        "Trender: rapporter och pass per vecka",
        "Täckning: gick vandringarna dit det behövdes?",
        "Hot spots som ingen vandring nådde",
        "Polisens händelsenotiser",
        "Händelser: Polisen",
        "Källa: Brå",
        "Utanför zonerna",
        "Hela området",
    ):
        assert section in everything, section
    # Hot spots by name, not by coordinates.
    assert "Ruta vid" not in everything and " N, " not in everything
    assert "vid " in everything.split("Hot spots: nya, kvarstående")[1][:3000]
    # The partner profile has no annex of single reports.
    assert "Bilaga: enskilda rapporter" not in everything
    # The file's metadata says so too.
    meta = subprocess.run(
        ["pdfinfo", str(tmp_path / "report.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert "SYNTETISKA DEMODATA" in meta
    # And so does the HTML map of the same period (its heading and its metadata).
    r = client.get(
        "/api/v1/exports/meeting",
        params={"area": "solberga", "since": since.isoformat(), "until": until.isoformat(),
                "format": "html"},
        headers=auth("partner"),
    )  # fmt: skip
    assert r.status_code == 200 and r.text.count("SYNTETISKA DEMODATA") >= 2


def test_the_detail_profile_differs_and_lists_police_notices_with_links(
    client: TestClient, auth: Headers, demo: None, tmp_path: Path
) -> None:
    pdf = report(client, auth("planner"), date(2025, 10, 1), date(2025, 12, 31), profile="detail")
    everything = " ".join(" ".join(pages(pdf, tmp_path)).split())
    assert "Bilaga: enskilda rapporter (detaljprofil)" in everything
    assert "Händelser i perioden" in everything
    assert b"https://polisen.se/aktuellt/handelser/2025/" in pdf  # the links
    assert "Solberga (stadsdel)" in everything
