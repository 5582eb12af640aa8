"""Partner counts come from whole time buckets only (DESIGN.md decision 8): two periods that
differ by a day inside a week (or a night cut at midnight) give the same counts, so nothing can
be subtracted to find one report's day, category and cell. Through the real HTTP API on a real
PostGIS: ``/api/v1/deviation-aggregates``, the OGC count collections with ``datetime``, their
vector tiles and the partner export; the detail profile still counts exactly the days asked."""

from __future__ import annotations

import io
import subprocess
import uuid
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pyogrio
import pytest
from fastapi.testclient import TestClient

from tests.api.test_tiles import decode, tile_of

Headers = Callable[[str], dict[str, str]]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
STATION = (18.0104, 59.2786)  # in the zone "Älvsjö station och centrum"
ZONE = "alvsjo-station-centrum"
CATEGORY = "narkotika"
# ISO week 2021-W05: Monday 1 to Sunday 7 February 2021, a quiet period (no demo report).
MONDAY, TUESDAY, WEDNESDAY, THURSDAY = "2021-02-01", "2021-02-02", "2021-02-03", "2021-02-04"
SATURDAY, SUNDAY = "2021-02-06", "2021-02-07"
REPORTS = [
    datetime(2021, 2, 1, 20, 0),  # the one report of the Monday
    # Wednesday's night (12:00–12:00): one report in the evening, three in the small hours.
    datetime(2021, 2, 3, 22, 0),
    datetime(2021, 2, 4, 0, 30),
    datetime(2021, 2, 4, 1, 30),
    datetime(2021, 2, 4, 2, 30),
    # Friday's night: three in the evening.
    datetime(2021, 2, 5, 22, 0),
    datetime(2021, 2, 5, 22, 10),
    datetime(2021, 2, 5, 22, 20),
    datetime(2021, 2, 7, 20, 0),  # the one report of the Sunday
]
WEEK_TOTAL = len(REPORTS)  # 9


@pytest.fixture()
def week(conn: psycopg.Connection) -> None:
    """The reports above, all by the station (one zone, one 250 m cell), of one category."""
    for at in REPORTS:
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, description, area_id, "
            "geom) VALUES (%s, %s, %s, 2, NULL, (SELECT id FROM areas WHERE slug = 'solberga'), "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (uuid.uuid4(), CATEGORY, at.replace(tzinfo=STOCKHOLM), *STATION),
        )


def aggregates(
    client: TestClient, h: dict[str, str], since: str, until: str, bucket: str = "week"
) -> dict[str, Any]:
    r = client.get(
        "/api/v1/deviation-aggregates",
        params={"area": "solberga", "since": since, "until": until, "bucket": bucket},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def counts(fc: dict[str, Any]) -> dict[tuple[str, str, str], int]:
    """(place, category, bucket) → count, of zones and cells."""
    out = {}
    for f in fc["features"]:
        p = f["properties"]
        place = f"zone:{p['zone']}" if p["layer"] == "zone" else f"cell:{p['cell']}"
        out[(place, p["category"], p["period"])] = p["count"]
    return out


def zone_count(fc: dict[str, Any], period: str) -> int | None:
    return counts(fc).get((f"zone:{ZONE}", CATEGORY, period))


def test_the_differencing_attack_on_weeks_gets_nothing_from_the_api(
    client: TestClient, auth: Headers, week: None
) -> None:
    """since=Monday against since=Tuesday (and until=Sunday against until=Saturday) of one
    week: counted over the days asked, 9 against 8 would tell that one report lies on that
    Monday (or Sunday), with its category and cell. Counted in whole weeks, they are the same."""
    h = auth("partner")
    whole = aggregates(client, h, MONDAY, SUNDAY)
    assert zone_count(whole, "2021-W05") == WEEK_TOTAL
    assert sum(n for (place, _, _), n in counts(whole).items() if place.startswith("cell:")) == 9
    for since, until in ((TUESDAY, SUNDAY), (MONDAY, SATURDAY), (TUESDAY, SATURDAY)):
        cut = aggregates(client, h, since, until)
        assert counts(cut) == counts(whole), (since, until)
        assert cut["features"] == whole["features"], (since, until)
        # The answer says what it counted: the whole week, and what was asked.
        assert (cut["since"], cut["until"]) == (MONDAY, SUNDAY)
        assert cut["counted_from"] == "2021-02-01T00:00:00+01:00"
        assert cut["counted_until"] == "2021-02-08T00:00:00+01:00"
        assert (cut["asked_since"], cut["asked_until"]) == (since, until)
    # A period inside the week, one day long, counts that whole week too.
    one_day = aggregates(client, h, WEDNESDAY, WEDNESDAY)
    assert zone_count(one_day, "2021-W05") == WEEK_TOTAL
    # A period of the next week does not see this one.
    assert aggregates(client, h, "2021-02-08", "2021-02-09")["features"] == []


def test_a_night_cut_at_midnight_is_counted_whole_or_not_at_all(
    client: TestClient, auth: Headers, week: None
) -> None:
    """A night runs 12:00–12:00 and is named by the day it starts. Counted from midnight, a
    period starting on Thursday would count Wednesday's night's small hours (3) and one ending
    on Wednesday its evening (1): against the whole night (4) that tells when each report was
    made. Now a period counts the nights whose own date lies in it, whole."""
    h = auth("partner")
    whole = aggregates(client, h, MONDAY, SUNDAY, bucket="night")
    assert zone_count(whole, WEDNESDAY) == 4 and zone_count(whole, "2021-02-05") == 3
    assert zone_count(whole, MONDAY) is None and zone_count(whole, SUNDAY) is None  # 1 each
    assert (whole["since"], whole["until"]) == (MONDAY, SUNDAY)
    assert whole["counted_from"] == "2021-02-01T12:00:00+01:00"
    assert whole["counted_until"] == "2021-02-08T12:00:00+01:00"
    # Ending on Wednesday: Wednesday's night whole, up to Thursday 12:00.
    until_wednesday = aggregates(client, h, MONDAY, WEDNESDAY, bucket="night")
    assert zone_count(until_wednesday, WEDNESDAY) == 4
    assert until_wednesday["counted_until"] == "2021-02-04T12:00:00+01:00"
    # Starting on Thursday: not Wednesday's night at all (not its small hours), Friday's whole.
    from_thursday = aggregates(client, h, THURSDAY, SUNDAY, bucket="night")
    assert zone_count(from_thursday, WEDNESDAY) is None
    assert {k[2] for k in counts(from_thursday)} == {"2021-02-05"}
    # Every night both answers count has the same count, whatever the period's ends.
    for cut in (until_wednesday, from_thursday, aggregates(client, h, TUESDAY, SATURDAY, "night")):
        both = set(counts(cut)) & set(counts(whole))
        assert both and all(counts(cut)[k] == counts(whole)[k] for k in both)
        assert set(counts(cut)) <= set(counts(whole))


def ogc_zone(client: TestClient, h: dict[str, str], when: str) -> dict[str, Any]:
    r = client.get(
        "/ogc/collections/deviation-zones/items",
        params={"datetime": when, "area": "solberga"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    fc: dict[str, Any] = r.json()
    found = [f for f in fc["features"] if f["id"] == ZONE]
    assert len(found) == 1, fc
    return found[0]


def test_the_ogc_count_collections_and_their_tiles_count_whole_weeks(
    client: TestClient, auth: Headers, week: None
) -> None:
    """``datetime`` on deviation-zones (and deviation-cells, and their tiles): an interval that
    starts or ends inside a week counts that whole week, and says so in period_fran and
    period_till."""
    h = auth("partner")
    monday_to_sunday = "2021-02-01T00:00:00+01:00/2021-02-07T23:59:59+01:00"
    cuts = (
        "2021-02-02T00:00:00+01:00/2021-02-07T23:59:59+01:00",  # from Tuesday
        "2021-02-01T00:00:00+01:00/2021-02-06T23:59:59+01:00",  # to Saturday
        "2021-02-03T21:00:00Z/2021-02-04T03:00:00Z",  # a few hours of Wednesday's night
    )
    whole = ogc_zone(client, h, monday_to_sunday)
    props = whole["properties"]
    assert props[f"antal_{CATEGORY}"] == props["antal_totalt"] == WEEK_TOTAL
    assert (props["period_fran"], props["period_till"]) == (MONDAY, SUNDAY)
    for when in cuts:
        assert ogc_zone(client, h, when) == whole, when
    # Dates are days of Stockholm's clock: Monday to Sunday is that week, not the next one too.
    assert ogc_zone(client, h, f"{MONDAY}/{SUNDAY}") == whole
    # The same as the API's week count for the same days.
    api = aggregates(client, h, TUESDAY, SATURDAY)
    assert zone_count(api, "2021-W05") == props["antal_totalt"]
    # deviation-cells alike.
    cells = [
        client.get(
            "/ogc/collections/deviation-cells/items",
            params={"datetime": when, "area": "solberga"},
            headers=h,
        ).json()["features"]
        for when in (monday_to_sunday, *cuts)
    ]
    assert sum(f["properties"]["antal_totalt"] for f in cells[0]) == WEEK_TOTAL
    assert all(c == cells[0] for c in cells[1:])
    # The tiles of the count collections: the same features for every cut of the week.
    z, x, y = tile_of(*STATION, 13)
    tiles = []
    for layer in ("deviation-zones", "deviation-cells"):
        for when in (monday_to_sunday, *cuts):
            r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params={"datetime": when}, headers=h)
            assert r.status_code == 200, r.text
            tiles.append((layer, decode(r.content)[layer]["features"]))
    for layer in ("deviation-zones", "deviation-cells"):
        found = [features for name, features in tiles if name == layer]
        assert sum(f["properties"]["antal_totalt"] for f in found[0]) >= WEEK_TOTAL
        assert all(features == found[0] for features in found[1:]), layer
        assert {f["properties"]["period_fran"] for f in found[0]} == {MONDAY}


def export(client: TestClient, h: dict[str, str], since: str, until: str, **kw: str) -> Any:
    r = client.get(
        "/api/v1/exports/meeting",
        params={"area": "solberga", "since": since, "until": until, **kw},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return r


def test_the_partner_export_counts_and_names_whole_weeks(
    client: TestClient, auth: Headers, week: None, tmp_path: Path
) -> None:
    h = auth("partner")
    r = export(client, h, TUESDAY, SATURDAY, format="gpkg")
    assert f"samverkan-solberga-{MONDAY}-{SUNDAY}-partner.gpkg" in r.headers["content-disposition"]
    path = tmp_path / "partner.gpkg"
    path.write_bytes(r.content)
    zones = pyogrio.read_dataframe(path, layer="avvikelser_zon")
    row = zones[zones["zon"] == ZONE].iloc[0]
    assert int(row[f"antal_{CATEGORY}"]) == WEEK_TOTAL
    assert (str(row["period_fran"])[:10], str(row["period_till"])[:10]) == (MONDAY, SUNDAY)
    weekly = pyogrio.read_dataframe(path, layer="avvikelser_zon_vecka")
    assert int(weekly[weekly["zon"] == ZONE].iloc[0][f"antal_{CATEGORY}"]) == WEEK_TOTAL
    meta = dict(pyogrio.read_dataframe(path, layer="export_metadata")[["key", "value"]].values)
    assert (meta["period_fran"], meta["period_till"]) == (MONDAY, SUNDAY)
    assert meta["begard_period"] == f"{TUESDAY} – {SATURDAY}"
    assert meta["period_omfattar"].startswith("hela veckor")
    # The CSV of the same days holds the same counts as that of the whole week.
    csv_cut = export(client, h, TUESDAY, SATURDAY, format="csv").content
    csv_whole = export(client, h, MONDAY, SUNDAY, format="csv").content
    assert csv_cut == csv_whole and str(WEEK_TOTAL).encode() in csv_cut
    # The preview says which period it counts.
    preview = client.get(
        "/api/v1/exports/meeting/preview",
        params={"area": "solberga", "since": TUESDAY, "until": SATURDAY},
        headers=h,
    ).json()
    assert (preview["since"], preview["until"]) == (MONDAY, SUNDAY)
    assert (preview["asked_since"], preview["asked_until"]) == (TUESDAY, SATURDAY)


def test_the_detail_profile_counts_exactly_the_days_asked(
    client: TestClient, auth: Headers, week: None, tmp_path: Path
) -> None:
    """Planners' single reports: the days asked, midnight to midnight, not widened."""
    h = auth("planner")
    expected = {
        (MONDAY, SUNDAY): WEEK_TOTAL,
        (TUESDAY, SUNDAY): WEEK_TOTAL - 1,  # not the Monday's
        (MONDAY, SATURDAY): WEEK_TOTAL - 1,  # not the Sunday's
        (THURSDAY, THURSDAY): 3,  # the small hours of Wednesday's night
    }
    for (since, until), n in expected.items():
        preview = client.get(
            "/api/v1/exports/meeting/preview",
            params={"area": "solberga", "since": since, "until": until, "profile": "detail"},
            headers=h,
        ).json()
        assert preview["reports"] == n, (since, until)
        rows = {layer["name"]: layer["rows"] for layer in preview["layers"]}
        assert rows["avvikelser"] == n, (since, until)
        assert (preview["since"], preview["until"]) == (since, until)
        assert preview["counted_from"] == f"{since}T00:00:00+01:00"
    r = export(client, h, TUESDAY, SATURDAY, format="geojson", profile="detail")
    assert f"samverkan-solberga-{TUESDAY}-{SATURDAY}-detail" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        readme = zf.read("README.txt").decode("utf-8")
    assert f"period_fran: {TUESDAY}" in readme and f"period_till: {SATURDAY}" in readme
    assert "begard_period" not in readme


def test_the_partners_hot_spots_say_which_weeks_they_come_from(
    client: TestClient, auth: Headers, week: None
) -> None:
    r = client.get(
        "/api/v1/deviation-aggregates/hotspots",
        params={"area": "solberga", "since": TUESDAY, "until": SATURDAY},
        headers=auth("partner"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["since"], body["until"]) == (MONDAY, SUNDAY)
    assert (body["asked_since"], body["asked_until"]) == (TUESDAY, SATURDAY)


def test_the_partners_heat_map_takes_its_cells_of_three_from_whole_weeks(
    client: TestClient, auth: Headers, conn: psycopg.Connection
) -> None:
    """A 250 m cell with 3 reports in the week, one of them on the Monday: the partner heat
    map is drawn from cells of at least 3 reports, and over Tuesday–Sunday alone the cell
    would hold 2 and the map would be empty, telling that one of the 3 lies on the Monday.
    Counted in whole weeks, the map is the same whichever day the period starts."""
    for day in (1, 3, 5):  # Monday, Wednesday, Friday
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, area_id, geom) "
            "VALUES (%s, 'brand', %s, 2, (SELECT id FROM areas WHERE slug = 'solberga'), "
            "ST_SetSRID(ST_MakePoint(17.995, 59.285), 4326))",
            (uuid.uuid4(), datetime(2021, 2, day, 20, 0, tzinfo=STOCKHOLM)),
        )
    h = auth("partner")
    layers = []
    for since in (MONDAY, TUESDAY):
        preview = client.get(
            "/api/v1/exports/meeting/preview",
            params={"area": "solberga", "since": since, "until": SUNDAY},
            headers=h,
        ).json()
        layers.append({layer["name"]: layer["rows"] for layer in preview["layers"]})
    assert layers[0]["varmekarta"] > 0
    assert layers[1] == layers[0]
    files = [
        export(client, h, since, SUNDAY, format="geojson").content for since in (MONDAY, TUESDAY)
    ]
    maps = []
    for content in files:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            name = next(n for n in zf.namelist() if "varmekarta" in n)
            maps.append(zf.read(name))
    assert maps[0] == maps[1] and b"Polygon" in maps[0]


def test_our_reports_beside_the_police_notices_are_whole_months_for_partners(
    client: TestClient, auth: Headers, week: None
) -> None:
    """``/api/v1/police-events/counts`` shows partners our reports per month (or week): those
    too are counted in whole buckets, so since=1 February against since=2 February gives the
    same month; planners get the days asked (8 without the Monday's report)."""

    def ours(role: str, since: str, until: str, bucket: str) -> dict[str, Any]:
        r = client.get(
            "/api/v1/police-events/counts",
            params={"area": "solberga", "since": since, "until": until, "bucket": bucket},
            headers=auth(role),
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    for bucket, first, last in (("month", MONDAY, "2021-02-28"), ("week", MONDAY, SUNDAY)):
        whole = ours("partner", MONDAY, SUNDAY, bucket)
        assert whole["deviations"] == [{"period_start": MONDAY, "count": WEEK_TOTAL}], bucket
        for since, until in ((TUESDAY, SUNDAY), (TUESDAY, SATURDAY), (WEDNESDAY, WEDNESDAY)):
            cut = ours("partner", since, until, bucket)
            assert cut["deviations"] == whole["deviations"], (bucket, since, until)
            assert (cut["deviations_since"], cut["deviations_until"]) == (first, last)
            assert (cut["since"], cut["until"]) == (since, until)  # the notices: days asked
    planner = ours("planner", TUESDAY, SUNDAY, "month")
    assert planner["deviations"] == [{"period_start": MONDAY, "count": WEEK_TOTAL - 1}]
    assert (planner["deviations_since"], planner["deviations_until"]) == (TUESDAY, SUNDAY)


def _report_text(
    client: TestClient, h: dict[str, str], since: str, until: str, tmp: Path, **kw: str
) -> str:
    """The meeting report's text (pdftotext), whitespace squeezed."""
    r = client.get(
        "/api/v1/exports/meeting",
        params={"area": "solberga", "since": since, "until": until, "format": "pdf", **kw},
        headers=h,
    )
    assert r.status_code == 200, r.text
    path = tmp / f"report-{since}-{until}.pdf"
    path.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return " ".join(text.split())


def test_the_partner_report_counts_only_weeks_that_may_be_shown(
    client: TestClient, auth: Headers, week: None, conn: psycopg.Connection, tmp_path: Path
) -> None:
    """Periods a whole week apart: week 5 has 9 reports of the category, week 6 one more. The
    partner's meeting report of weeks 5-6 counts the same 9 as that of week 5 alone (a week's
    1 is not counted: subtracting the two would find it), in the summary, the table per zone
    and the area's total; the detail profile counts the 10th."""
    conn.execute(
        "INSERT INTO deviations (id, category, observed_at, severity, description, area_id, "
        "geom) VALUES (%s, %s, %s, 2, NULL, (SELECT id FROM areas WHERE slug = 'solberga'), "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (uuid.uuid4(), CATEGORY, datetime(2021, 2, 10, 21, 0, tzinfo=STOCKHOLM), *STATION),
    )
    weeks = {"5": (MONDAY, SUNDAY), "5-6": (MONDAY, "2021-02-14")}
    for label, (since, until) in weeks.items():
        text = _report_text(client, auth("partner"), since, until, tmp_path)
        assert f"Rapporter i perioden {since} – {until}: 9 " in text, label
        assert "Narkotika Älvsjö station och centrum 9 0 ny" in text, label
        assert "Narkotika Hela området 9 0 ny" in text, label
        assert "veckor med färre räknas inte" in text
    detail = _report_text(client, auth("planner"), MONDAY, "2021-02-14", tmp_path, profile="detail")
    assert f"Rapporter i perioden {MONDAY} – 2021-02-14: 10 " in detail
    assert "Narkotika Hela området 10 0" in detail
    assert "veckor med färre räknas inte" not in detail
