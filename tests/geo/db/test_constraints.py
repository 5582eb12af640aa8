"""CHECK constraints: a row that bypasses the API still cannot be wrong."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors

BOWTIE = "POLYGON((18.00 59.28, 18.01 59.29, 18.01 59.28, 18.00 59.29, 18.00 59.28))"
SQUARE = "POLYGON((18.00 59.28, 18.01 59.28, 18.01 59.29, 18.00 59.29, 18.00 59.28))"


def _insert_area(conn: psycopg.Connection, wkt: str, srid: int = 4326) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO areas (slug, name, geom) "
            "VALUES ('test-area', 'Test', ST_Multi(ST_GeomFromText(%s, %s)))",
            (wkt, srid),
        )


def _insert_place(conn: psycopg.Connection, lon: float, lat: float, srid: int = 4326) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO places (source_key, name, kind, geom) "
            "VALUES (%s, 'Test', 'other', ST_SetSRID(ST_MakePoint(%s, %s), %s))",
            (f"test:{uuid.uuid4()}", lon, lat, srid),
        )


def test_a_valid_polygon_is_stored(conn: psycopg.Connection) -> None:
    _insert_area(conn, SQUARE)
    row = conn.execute("SELECT ST_IsValid(geom) FROM areas WHERE slug = 'test-area'").fetchone()
    assert row == (True,)


def test_self_intersecting_polygon_is_rejected(conn: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation, match="areas_geom_check"):
        _insert_area(conn, BOWTIE)


def test_empty_geometry_is_rejected(conn: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation):
        _insert_area(conn, "POLYGON EMPTY")


@pytest.mark.parametrize(("lon", "lat"), [(18.0, 100.0), (18.0, -90.5), (181.0, 59.3)])
def test_out_of_range_coordinates_are_rejected(
    conn: psycopg.Connection, lon: float, lat: float
) -> None:
    with pytest.raises(errors.CheckViolation, match="places_geom_check"):
        _insert_place(conn, lon, lat)


def test_wrong_srid_is_rejected(conn: psycopg.Connection) -> None:
    # Älvsjö station in SWEREF 99 TM metres: right place, wrong CRS for the column.
    with pytest.raises(psycopg.Error, match="SRID"):
        _insert_place(conn, 671517.5, 6574949.9, srid=3006)
    with pytest.raises(psycopg.Error, match="SRID"):
        _insert_area(conn, SQUARE, srid=3006)


def test_deviation_rules_hold_in_sql(conn: psycopg.Connection) -> None:
    def insert(**over: object) -> None:
        row = {
            "id": uuid.uuid4(),
            "category": "skadegorelse",
            "severity": 2,
            "lat": 59.28,
            "description": None,
            **over,
        }
        with conn.transaction():
            conn.execute(
                "INSERT INTO deviations (id, category, observed_at, severity, description, geom) "
                "VALUES (%(id)s, %(category)s, now(), %(severity)s, %(description)s, "
                "ST_SetSRID(ST_MakePoint(18.01, %(lat)s), 4326))",
                row,
            )

    insert()
    with pytest.raises(errors.CheckViolation):
        insert(severity=4)
    with pytest.raises(errors.ForeignKeyViolation):
        insert(category="okand")
    with pytest.raises(errors.CheckViolation):
        insert(description="x" * 2001)
    with pytest.raises(errors.CheckViolation):
        insert(lat=91.0)
    same = uuid.uuid4()
    insert(id=same)
    with pytest.raises(errors.UniqueViolation):
        insert(id=same)


def test_agreement_period_must_not_end_before_it_starts(conn: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation), conn.transaction():
        conn.execute(
            "INSERT INTO agreements (name, kind, starts_on, ends_on, rate_sek) "
            "VALUES ('bad', 'iop', '2025-06-28', '2025-01-03', 1700)"
        )
