"""The one Feature builder: what PostGIS makes of it, and that no layer writes Features by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from geo.db.queries import GEOJSON_DECIMALS, feature_sql

ROOT = Path(__file__).resolve().parents[3]


def test_a_feature_from_postgis(conn: psycopg.Connection) -> None:
    query = sql.SQL(
        "SELECT {}::text FROM (SELECT {} AS geom, 7 AS n, NULL::text AS t) AS x"
    ).format(
        feature_sql(
            id="x.n",
            geometry="x.geom",
            properties={
                "n": "x.n",
                "lit": sql.SQL("CASE WHEN x.n = {} THEN {} END").format(
                    sql.Literal(7), sql.Literal("{a}'b")
                ),
                "t": "x.t",
                "braces": "'{}'::text",
            },
        ),
        sql.SQL("ST_SetSRID(ST_MakePoint(18.01234567891, 59.2786123456), 4326)"),
    )
    row = conn.execute(query).fetchone()
    assert row is not None
    feature = json.loads(row[0])
    assert feature == {
        "type": "Feature",
        "id": 7,
        "geometry": {"type": "Point", "coordinates": [18.012346, 59.278612]},
        "properties": {"n": 7, "lit": "{a}'b", "t": None, "braces": "{}"},
    }
    stripped = sql.SQL("SELECT {}::text FROM (SELECT {} AS geom, NULL::text AS t) AS x").format(
        feature_sql(geometry="x.geom", properties={"t": "x.t"}, strip_nulls=True),
        sql.SQL("ST_SetSRID(ST_MakePoint(18, 59), 4326)"),
    )
    row = conn.execute(stripped).fetchone()
    assert row is not None
    assert json.loads(row[0]) == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18, 59]},
        "properties": {},
    }
    with pytest.raises(ValueError, match="property name"):
        feature_sql(geometry="g", properties={"a'); DROP TABLE x; --": "1"})


def test_layers_use_the_builder_and_one_precision() -> None:
    assert GEOJSON_DECIMALS == 6
    hand_made = re.compile(r"'type',\s*'Feature'|ST_AsGeoJSON\(")
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("geo", "api", "maps", "routes")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT) != Path("geo/db/queries.py")
        and hand_made.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
