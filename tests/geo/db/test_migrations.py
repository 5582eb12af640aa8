"""Schema migrations from an empty database, on a real PostGIS."""

from __future__ import annotations

import pytest

from geo.db import connection, migrate
from geo.errors import MigrationError

TABLES = {
    "areas",
    "zones",
    "places",
    "deviation_categories",
    "deviations",
    "walk_routes",
    "walks",
    "organisations",
    "agreements",
    "agreement_parties",
    "users",
    "audit_log",
    "schema_migrations",
}


def test_migrations_from_empty_create_every_table_with_typed_geometries(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("nv_mig")
    with connection.connect(url, autocommit=True) as conn:
        applied = migrate.migrate(conn)
        assert applied == [m.name for m in migrate.load_migrations()]
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        assert TABLES <= tables
        geoms = {
            (r[0], r[1]): (r[2], r[3])
            for r in conn.execute(
                "SELECT f_table_name, f_geometry_column, srid, type FROM geometry_columns"
            )
        }
        assert geoms[("areas", "geom")] == (4326, "MULTIPOLYGON")
        assert geoms[("zones", "geom")] == (4326, "MULTIPOLYGON")
        assert geoms[("places", "geom")] == (4326, "POINT")
        assert geoms[("deviations", "geom")] == (4326, "POINT")
        assert geoms[("walk_routes", "geom")] == (4326, "LINESTRING")
        assert geoms[("walks", "track")] == (4326, "MULTILINESTRING")
        gist = {
            r[0]
            for r in conn.execute("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%gist%'")
        }
        assert {
            "areas_geom_idx",
            "zones_geom_idx",
            "places_geom_idx",
            "deviations_geom_idx",
            "walk_routes_geom_idx",
        } <= gist
        id_type = conn.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'deviations' AND column_name = 'id'"
        ).fetchone()
        assert id_type == ("uuid",)
        categories = conn.execute("SELECT count(*) FROM deviation_categories").fetchone()
        assert categories is not None and categories[0] >= 9
        # A second run applies nothing and changes nothing.
        assert migrate.migrate(conn) == []
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [m.version for m in migrate.load_migrations()]


def test_an_edited_applied_migration_is_refused(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("nv_mig")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        conn.execute("UPDATE schema_migrations SET sha256 = 'edited' WHERE version = 1")
        with pytest.raises(MigrationError, match="never be edited"):
            migrate.migrate(conn)


def test_a_database_newer_than_the_code_is_refused(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("nv_mig")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, sha256) "
            "VALUES (9999, '9999_future.sql', 'x')"
        )
        with pytest.raises(MigrationError, match="upgrade nattvandring"):
            migrate.migrate(conn)
