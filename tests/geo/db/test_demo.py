"""The Solberga/Älvsjö demo data: real outlines, illustrative zones, synthetic history."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg

from geo.db.demo import LoadReport, load_demo
from geo.synthetic import SYNTHETIC_PREFIX
from tests.conftest import DATA_DIR

TABLES = [
    "areas",
    "zones",
    "places",
    "organisations",
    "agreements",
    "agreement_parties",
    "agreement_areas",
    "deviations",
]


def _snapshot(conn: psycopg.Connection) -> dict[str, set[tuple[str, str]]]:
    """Every row's identity and xmin: an UPDATE or INSERT of any row changes it."""
    return {
        t: {(str(r[0]), str(r[1])) for r in conn.execute(f"SELECT ctid, xmin FROM {t}")}  # noqa: S608
        for t in TABLES
    }


def test_first_load_reports_what_it_added(demo_report: LoadReport) -> None:
    assert demo_report.changed["areas"] == 23  # 21 around Solberga, Sätra and Vårberg
    assert demo_report.changed["zones"] == 3
    assert demo_report.changed["deviations"] == 3000
    assert demo_report.changed["places"] > 250


def test_a_second_load_changes_nothing(conn: psycopg.Connection) -> None:
    before = _snapshot(conn)
    report = load_demo(conn, DATA_DIR)
    assert not any(report.changed.values()), report.changed
    assert _snapshot(conn) == before


def test_real_district_outlines(conn: psycopg.Connection) -> None:
    rows = dict(
        conn.execute(
            "SELECT slug, ST_Area(ST_Transform(geom, metric_srid)) / 1e6 FROM areas"
        ).fetchall()
    )
    assert {"solberga", "alvsjo", "langbro", "liseberg", "orby-slott"} <= set(rows)
    # Solberga is about 2.3 km² and Älvsjö about 2.7 km² (Stockholms stad's Stadskarta).
    assert 1.5 < rows["solberga"] < 3.5
    assert 1.5 < rows["alvsjo"] < 4.0
    station = conn.execute(
        "SELECT a.slug FROM places p JOIN areas a ON a.id = p.area_id WHERE p.name = %s",
        ("Älvsjö station",),
    ).fetchall()
    assert ("solberga",) in station


def test_places_zones_and_agreements(conn: psycopg.Connection) -> None:
    kinds = dict(conn.execute("SELECT kind, count(*) FROM places GROUP BY kind").fetchall())
    for kind in ("station", "stop", "school", "playground", "library", "shop"):
        assert kinds.get(kind, 0) > 0, kind
    zones = conn.execute("SELECT slug, illustrative, description FROM zones").fetchall()
    assert len(zones) == 3
    assert all(z[1] and "Illustrativ" in z[2] for z in zones)
    periods = conn.execute(
        "SELECT starts_on::text, ends_on::text, rate_sek FROM agreements "
        "WHERE compensation = 'per_walk' ORDER BY starts_on"
    ).fetchall()
    assert periods[0] == ("2023-09-29", "2023-12-30", 1700)
    assert periods[-1] == ("2025-09-05", "2025-12-20", 1700)
    summer = conn.execute(
        "SELECT array_agg(o.name ORDER BY o.name) FROM agreements a "
        "JOIN agreement_parties p ON p.agreement_id = a.id "
        "JOIN organisations o ON o.id = p.organisation_id WHERE a.starts_on = '2024-05-24'"
    ).fetchone()
    assert summer == (["Södra Folkparken", "Älvsjö AIK"],)


def test_synthetic_history_is_labelled_clustered_and_peaks_on_weekend_evenings(
    conn: psycopg.Connection,
) -> None:
    rows = conn.execute(
        "SELECT observed_at, synthetic, description, "
        "       ST_Distance(ST_Transform(geom, 3006), "
        "           ST_Transform(ST_SetSRID(ST_MakePoint(18.010451, 59.278549), 4326), 3006)),"
        "       (SELECT slug FROM areas a WHERE a.id = d.area_id) "
        "FROM deviations d"
    ).fetchall()
    assert len(rows) == 3000
    assert all(r[1] and r[2].startswith(SYNTHETIC_PREFIX) for r in rows)
    span_days = (max(r[0] for r in rows) - min(r[0] for r in rows)).days
    assert 700 <= span_days <= 731
    assert max(r[0] for r in rows) <= datetime.now(UTC)
    # Clustered: far more reports within 300 m of Älvsjö station than its share of the area.
    near_station = sum(1 for r in rows if r[3] < 300) / len(rows)
    assert near_station > 0.25
    assert {r[4] for r in rows} <= {"solberga", "alvsjo", "langbro"}
    # Friday and Saturday evenings (18–02 local time) peak.
    local = [r[0].astimezone(ZoneInfo("Europe/Stockholm")) for r in rows]
    weekend = sum(1 for t in local if t.weekday() in (4, 5)) / len(local)
    assert weekend > 0.4  # two days of seven would be 0.29
    evening = sum(1 for t in local if t.hour >= 18 or t.hour < 2) / len(local)
    assert evening > 0.55


def test_refresh_moves_the_history_to_end_now(conn: psycopg.Connection) -> None:
    end = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    report = load_demo(conn, DATA_DIR, now=end, refresh_deviations=True)
    assert report.changed["deviations_removed"] == 3000
    assert report.changed["deviations"] == 3000
    latest = conn.execute("SELECT max(observed_at) FROM deviations").fetchone()
    assert latest is not None and latest[0] <= end
    assert (end - latest[0]).days < 3
