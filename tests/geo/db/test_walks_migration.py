"""Migration 0008 on a database at version 7 that has walks of the old statuses."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from geo.db import connection, migrate


def test_old_statuses_are_mapped(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("nv_mig8")
    with connection.connect(url, autocommit=True) as conn:
        for mig in migrate.load_migrations():
            if mig.version >= 8:
                break
            conn.execute(mig.sql.encode())
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for mig in migrate.load_migrations():
            if mig.version < 8:
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, sha256) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, mig.sha256),
                )
        org = conn.execute(
            "INSERT INTO organisations (name, kind) VALUES ('Älvsjö AIK', 'club') RETURNING id"
        ).fetchone()
        assert org is not None
        ids = {status: uuid.uuid4() for status in ("planned", "completed", "approved", "cancelled")}
        for status, wid in ids.items():
            conn.execute(
                "INSERT INTO walks (id, organisation_id, planned_start, status, walkers) "
                "VALUES (%s, %s, now(), %s, 6)",
                (wid, org[0], status),
            )
        assert migrate.migrate(conn)[0] == "0008_walks.sql"
        rows = {
            r[0]: (r[1], r[2])
            for r in conn.execute("SELECT id, status, cancel_reason IS NOT NULL FROM walks")
        }
        assert rows[ids["completed"]] == ("reported", False)
        assert rows[ids["planned"]] == ("planned", False)
        assert rows[ids["approved"]] == ("approved", False)
        assert rows[ids["cancelled"]] == ("cancelled", True)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE walks SET status = 'completed' WHERE id = %s", (ids["planned"],))
        # The new tables hold their rules too.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO walk_track_points (walk_id, recorded_at, accuracy_m, geom) "
                "VALUES (%s, now(), 80, ST_SetSRID(ST_MakePoint(18, 59.3), 4326))",
                (ids["planned"],),
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO walk_track_points (walk_id, recorded_at, geom) "
                "VALUES (%s, now(), ST_SetSRID(ST_MakePoint(18, 91), 4326))",
                (ids["planned"],),
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO areas (slug, name, geom, police_phone) VALUES ('x', 'X', "
                "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(18, 59.3), 4326), 0.01)), 'ring')"
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO users (email, password_hash, role, organisation_id, display_name) "
                "VALUES ('a@b.c', 'x', 'walker', %s, ' ')",
                (org[0],),
            )
