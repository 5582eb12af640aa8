"""Police notices: placed by the place names of their text, stored once per feed id.

The expected districts below were written by reading each of the archive's 119 notices (title,
summary and, where the headline names no place, the body), not by running the matcher.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import shapely
from click.testing import CliRunner

from api.cli import main
from geo.db.police_events import counts, gazetteer, import_notices, list_events
from geo.geometry import to_metric
from geo.police import Gazetteer, Notice, parse_notices, place_notice

DATA = Path(__file__).resolve().parents[3] / "data"
ARCHIVE = DATA / "polisen_events_hagersten_alvsjo_2023_2025.json"

# Notice id -> the districts its text names (the headline first, the body when the headline
# names none). "Hägersten-Älvsjö" is the district administration area, not a district.
EXPECTED: dict[int, tuple[str, ...]] = {
    411263: ("Solberga",), 411418: ("Västberga",), 411360: ("Örby",), 420182: ("Älvsjö",),
    420225: ("Gubbängen",), 420790: ("Västberga",), 421690: ("Långbro",), 421754: ("Örby",),
    422986: ("Västberga",), 423407: ("Solberga",), 423720: ("Örby slott",),
    425138: ("Västberga",), 425820: ("Örby slott",), 426390: ("Västberga",),
    426938: ("Älvsjö",), 427175: ("Västberga",), 429213: ("Västberga",),
    429684: ("Västberga",), 429897: ("Solberga",), 430215: ("Örby",),
    431605: ("Hägerstensåsen",), 433122: ("Östberga", "Solberga"), 437721: ("Västberga",),
    437977: ("Älvsjö",), 440611: ("Solberga",), 442644: ("Älvsjö",), 452069: ("Älvsjö",),
    461778: ("Västberga",), 462196: ("Solberga",), 466942: ("Västberga",),
    469570: ("Älvsjö",), 470753: ("Hägerstensåsen",), 471521: ("Västberga",),
    471815: ("Älvsjö",), 471961: ("Långsjö",), 473573: ("Hägerstensåsen",),
    477923: ("Örby",), 478333: ("Västberga",), 481671: ("Västberga",),
    482979: ("Västberga",), 498181: ("Örby slott",), 501539: ("Västberga",),
    505450: ("Långbro",), 505547: ("Solberga",), 507071: ("Västberga",),
    509962: ("Västberga",), 514332: ("Västberga",), 518587: ("Långbro",),
    518984: ("Älvsjö",), 520546: ("Älvsjö",), 522151: ("Västberga",), 523415: ("Älvsjö",),
    526308: ("Älvsjö",), 526843: ("Örby",), 534003: ("Västberga",), 536040: ("Västberga",),
    540721: ("Örby",), 542701: ("Solberga",), 542804: ("Västberga",), 546762: ("Långbro",),
    546880: ("Västberga",), 548641: ("Liseberg", "Västberga"), 548988: ("Liseberg",),
    551823: ("Västberga",), 553602: ("Västberga",), 555073: ("Västberga",),
    556252: ("Älvsjö",), 556322: ("Älvsjö",), 557480: ("Solberga",), 559224: ("Långbro",),
    559910: ("Västberga",), 563646: ("Västberga",), 564174: ("Solberga",),
    568694: ("Hägerstensåsen",), 569017: ("Älvsjö",), 569592: ("Liseberg", "Långbro"),
    569668: ("Årsta",), 572916: ("Örby",), 573544: ("Solberga",), 576002: ("Hägerstensåsen",),
    578300: ("Västberga",), 581513: ("Älvsjö",), 581729: ("Hägerstensåsen",),
    581789: ("Solberga",), 581876: ("Älvsjö",), 582155: ("Västberga",),
    582475: ("Västertorp",), 582832: ("Västberga",), 586126: ("Älvsjö",),
    592995: ("Västberga",), 594849: ("Västberga",), 595391: ("Västberga",),
    595503: ("Örby",), 598384: ("Västberga",), 598958: ("Solberga",), 599590: ("Solberga",),
    599738: ("Älvsjö",), 600050: ("Farsta strand", "Älvsjö"), 600229: ("Örby",),
    600516: ("Hägerstensåsen",), 600582: ("Västberga",), 600493: ("Solberga",),
    601587: ("Solberga",), 610363: ("Örby",), 612878: ("Västberga",),
    614300: ("Västberga",), 617051: ("Solberga",), 617282: ("Älvsjö",),
    618077: ("Älvsjö",),
}  # fmt: skip
# Named places: the notices that say "vid/i närheten av Älvsjö station" (in Solberga).
# 520546 and 526308 name Älvsjö in the headline and "(på torget) vid Älvsjö station" in the body;
# 556322 stays a district notice: its body has the police go "till Älvsjö station" (to hear a
# witness), which is not where it happened.
AT_PLACE = {
    429897: "Älvsjö station",
    505547: "Älvsjö station",
    520546: "Älvsjö station",
    526308: "Älvsjö station",
}
# County notices ("Stockholms län": round-ups, or a name that may be another place of the
# county) and notices that name no district, place or street of the gazetteer.
UNPLACED = {
    421133, 446945, 474284, 478866, 576248, 604404,  # Stockholms län
    421402,  # only "stadsdelsområde Hägersten-Älvsjö"
    443197,  # Sjättenovembervägen/Älvsjövägen: streets not in the imported network
    533789,  # Huddingevägen at Älvsjömässan: neither in the gazetteer
    592389,  # Älvsjövägen "i södra Stockholm"
}  # fmt: skip


@pytest.fixture()
def notices() -> list[Notice]:
    with ARCHIVE.open(encoding="utf-8") as fh:
        return parse_notices(json.load(fh))


def test_every_real_notice_is_placed_in_the_districts_it_names(
    conn: psycopg.Connection, notices: list[Notice]
) -> None:
    assert len(notices) == 119
    assert set(EXPECTED) | UNPLACED == {n.id for n in notices}
    assert not set(EXPECTED) & UNPLACED
    gaz = gazetteer(conn, DATA)
    got = {n.id: place_notice(n, gaz) for n in notices}
    wrong = {
        i: (p.districts, p.reason)
        for i, p in got.items()
        if (p.districts if p.placed else None) != EXPECTED.get(i)
    }
    assert wrong == {}
    assert {i for i, p in got.items() if not p.placed} == UNPLACED
    finer = {i: (p.level, p.label) for i, p in got.items() if p.level not in ("district", None)}
    assert finer == {i: ("place", name) for i, name in AT_PLACE.items()}
    # A district notice carries the district's polygon; a place notice a circle of 200 m
    # around the place (never a point); an unplaced one nothing, with its reason.
    solberga = gaz.districts["Solberga"]  # the gazetteer is in SWEREF 99 TM already
    area = to_metric(got[411263].geometry).area
    assert area == pytest.approx(solberga.area, rel=0.01)
    circle = to_metric(got[505547].geometry)
    assert circle.area == pytest.approx(3.1416 * 200**2, rel=0.02)
    assert circle.contains(gaz.places["Älvsjö station"])
    assert got[474284].geometry is None and "Stockholms län" in (got[474284].reason or "")


def test_streets_and_junctions_of_the_network_place_a_notice_more_precisely() -> None:
    """A gazetteer with two streets that cross inside a district (metres, EPSG:3006)."""
    district = shapely.box(0, 0, 1000, 1000)
    gaz = Gazetteer(
        districts={"Solberga": district, "Östberga": shapely.box(2000, 0, 3000, 1000)},
        streets={
            "Armbandsvägen": shapely.LineString([(500, 0), (500, 1000)]),
            "Älvsjövägen": shapely.LineString([(0, 400), (1000, 400)]),
        },
    )
    at = datetime(2024, 5, 1, tzinfo=UTC)

    def notice(summary: str, body: str = "") -> Notice:
        return Notice(1, at, "Trafikkontroll", "1 maj, Stockholm", summary,
                      "https://polisen.se/x/", "Stockholm", "", body)  # fmt: skip

    p = place_notice(
        notice("Kontroller i Östberga och Solberga.", "Vid Armbandsvägen/Älvsjövägen i Solberga."),
        gaz,
    )
    assert (p.level, p.label, p.districts) == (
        "junction",
        "Armbandsvägen/Älvsjövägen",
        ("Östberga", "Solberga"),
    )
    centre = to_metric(p.geometry).centroid
    assert centre.distance(shapely.Point(500, 400)) < 2
    p = place_notice(notice("I korsningen mellan Armbandsvägen och Älvsjövägen."), gaz)
    assert (p.level, p.districts) == ("junction", ("Solberga",))
    p = place_notice(notice("En bil på Älvsjövägen."), gaz)
    assert p.level == "street" and p.districts == ("Solberga",)
    assert to_metric(p.geometry).area == pytest.approx(1000 * 150 + 3.1416 * 75**2, rel=0.02)
    # Lower case is no proper noun; a hyphenated name is another name.
    assert not place_notice(notice("i solberga och Hägersten-Solberga"), gaz).placed


def test_importing_twice_stores_each_notice_once(
    conn: psycopg.Connection, notices: list[Notice]
) -> None:
    # The demo load imported the archive already: again changes nothing.
    gaz = gazetteer(conn, DATA)
    again = import_notices(conn, notices, gaz, source="archive")
    assert (again.read, again.added, again.updated, again.unchanged) == (119, 0, 0, 119)
    assert conn.execute("SELECT count(*) FROM police_events").fetchone() == (119,)
    conn.execute("DELETE FROM police_events")
    first = import_notices(conn, notices, gaz, source="archive")
    second = import_notices(conn, notices, gaz, source="archive")
    assert (first.added, second.added, second.updated, second.unchanged) == (119, 0, 0, 119)
    assert (first.placed, first.unplaced) == (119 - len(UNPLACED), len(UNPLACED))
    assert conn.execute("SELECT count(*) FROM police_events").fetchone() == (119,)


def test_counts_per_district_type_and_month_and_the_list(
    conn: psycopg.Connection, notices: list[Notice]
) -> None:
    since, until = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    rows = counts(conn, since=since, until=until, time_zone="Europe/Stockholm")
    in_2025 = [n for n in notices if since <= n.occurred_at < until]
    expected = {n.id for n in in_2025 if "Solberga" in EXPECTED.get(n.id, ())}
    assert len(expected) >= 5
    listed = list_events(conn, since=since, until=until, area="solberga")
    assert {e["id"] for e in listed} == expected
    assert sum(r["count"] for r in rows if r["district"] == "Solberga") == len(expected)
    assert all(e["url"].startswith("https://polisen.se/") for e in listed)
    # Per type and month: the Solberga notices of 2025 by type add up the same way.
    by_type: dict[str, int] = {}
    for n in in_2025:
        if n.id in expected:
            by_type[n.event_type] = by_type.get(n.event_type, 0) + 1
    got: dict[str, int] = {}
    for r in rows:
        if r["district"] == "Solberga":
            got[r["event_type"]] = got.get(r["event_type"], 0) + r["count"]
    assert got == by_type
    unplaced = {n.id for n in in_2025 if n.id in UNPLACED}
    assert sum(r["count"] for r in rows if r["district"] is None) == len(unplaced)


def test_cli_imports_a_file_once_and_says_so_offline(
    db_url: str, demo_report: object, tmp_path: Path
) -> None:
    env = {"NATTVANDRING_DATABASE_URL": db_url, "NATTVANDRING_DATA_DIR": str(DATA)}
    r = CliRunner().invoke(main, ["import", "police-events", str(ARCHIVE)], env=env)
    assert r.exit_code == 0, r.output
    assert "119 notice(s): 0 added, 0 updated, 119 unchanged" in r.output
    r = CliRunner().invoke(
        main,
        ["import", "police-events", "--url", "http://127.0.0.1:9/api/events", "--timeout", "2"],
        env=env,
    )
    assert r.exit_code != 0
    assert "could not be read" in r.output and "import a saved file" in r.output
