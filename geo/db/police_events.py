"""Police event notices in PostGIS: the gazetteer they are placed by, the idempotent import,
and the counts and lists the API and the meeting report show (`geo.police` places them).

Notices are public context, never deviation reports: they are counted per district and type,
listed with their links to polisen.se, and drawn only as the area of the level their text
supports (a district, a circle around a named place or junction, a band along a street).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import shapely
from psycopg.rows import dict_row
from shapely.geometry import shape

from geo.db import areas
from geo.geometry import SWEREF99TM, display_name, to_metric
from geo.police import LEVELS_SV, Gazetteer, Notice, Placement, place_notice

DISTRICTS_FILE = "stockholm_stadsdelar.geojson"
SOURCE_SV = "Händelser: Polisen (polisen.se)"
# Place kinds whose names are specific enough to place a notice by (a stop must also have a
# name of more than one word: "Älvsjö station", "Solberga park"; one-word stops are often
# street names or common words such as "Terrassen").
PLACE_KINDS = ("station", "school", "library")


@dataclass
class ImportCounts:
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    placed: int = 0
    unplaced: int = 0


def gazetteer(conn: psycopg.Connection, data_dir: Path) -> Gazetteer:
    """The districts of the districts file (all of Stockholm's, or the areas when the file is
    not there), the named places and the streets of the imported network, in SWEREF 99 TM."""
    districts: dict[str, Any] = {}
    path = data_dir / DISTRICTS_FILE
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for f in json.load(fh)["features"]:
                districts[display_name(f["properties"]["name"])] = to_metric(shape(f["geometry"]))
    for name, wkb in conn.execute(
        "SELECT name, ST_AsBinary(geom) FROM areas WHERE kind = 'stadsdel' ORDER BY name"
    ):
        districts.setdefault(str(name), to_metric(shapely.from_wkb(bytes(wkb))))
    places = {
        str(name): to_metric(shapely.Point(x, y))
        for name, x, y in conn.execute(
            "SELECT DISTINCT ON (name) name, ST_X(geom), ST_Y(geom) FROM places "
            "WHERE kind = ANY(%s) OR (kind = 'stop' AND name ~ ' ') "
            "ORDER BY name, kind = 'station' DESC, id",
            (list(PLACE_KINDS),),
        )
    }
    streets = {
        str(name): to_metric(shapely.from_wkb(bytes(wkb)))
        for name, wkb in conn.execute(
            "SELECT name, ST_AsBinary(ST_Collect(geom)) FROM street_edges "
            "WHERE name IS NOT NULL GROUP BY name"
        )
    }
    return Gazetteer(districts=districts, places=places, streets=streets, epsg=SWEREF99TM)


def _digest(n: Notice, p: Placement) -> str:
    """The notice's content and its placement: a notice placed anew (a network imported
    since) is updated, an unchanged one is not written."""
    geom = p.geometry.wkb_hex if p.geometry is not None else None
    text = json.dumps([n.content_sha256(), p.level, p.label, list(p.districts), geom])
    return hashlib.sha256(text.encode()).hexdigest()


def import_notices(
    conn: psycopg.Connection, notices: Sequence[Notice], gaz: Gazetteer, *, source: str = "feed"
) -> ImportCounts:
    """Place and store ``notices`` keyed by the feed's id: a notice stored already with the
    same content and placement is left as it is (importing a file twice stores it once)."""
    counts = ImportCounts(read=len(notices))
    with conn.transaction():
        for n in notices:
            p = place_notice(n, gaz)
            counts.placed += p.placed
            counts.unplaced += not p.placed
            row = conn.execute(
                """
                INSERT INTO police_events AS e (id, occurred_at, event_type, name, summary, url,
                    location_name, location_gps, body_text, level, place_label, districts,
                    unplaced_reason, geom, source, content_sha256)
                VALUES (%(id)s, %(at)s, %(type)s, %(name)s, %(summary)s, %(url)s, %(loc)s,
                    %(gps)s, %(body)s, %(level)s, %(label)s, %(districts)s, %(reason)s,
                    ST_SetSRID(ST_GeomFromWKB(%(wkb)s::bytea), 4326), %(source)s, %(sha)s)
                ON CONFLICT (id) DO UPDATE SET
                    occurred_at = EXCLUDED.occurred_at, event_type = EXCLUDED.event_type,
                    name = EXCLUDED.name, summary = EXCLUDED.summary, url = EXCLUDED.url,
                    location_name = EXCLUDED.location_name,
                    location_gps = EXCLUDED.location_gps,
                    body_text = CASE WHEN EXCLUDED.body_text <> '' THEN EXCLUDED.body_text
                                     ELSE e.body_text END,
                    level = EXCLUDED.level, place_label = EXCLUDED.place_label,
                    districts = EXCLUDED.districts, unplaced_reason = EXCLUDED.unplaced_reason,
                    geom = EXCLUDED.geom, content_sha256 = EXCLUDED.content_sha256,
                    updated_at = now()
                WHERE e.content_sha256 <> EXCLUDED.content_sha256
                RETURNING (xmax = 0) AS inserted
                """,
                {
                    "id": n.id,
                    "at": n.occurred_at,
                    "type": n.event_type,
                    "name": n.name,
                    "summary": n.summary,
                    "url": n.url,
                    "loc": n.location_name,
                    "gps": n.location_gps,
                    "body": n.body_text,
                    "level": p.level,
                    "label": p.label,
                    "districts": list(p.districts),
                    "reason": p.reason,
                    "wkb": p.geometry.wkb if p.geometry is not None else None,
                    "source": source,
                    "sha": _digest(n, p),
                },
            ).fetchone()
            if row is None:
                counts.unchanged += 1
            elif row[0]:
                counts.added += 1
            else:
                counts.updated += 1
    return counts


def _area_filter(conn: psycopg.Connection, area: str | None) -> tuple[str, list[Any]]:
    """SQL and values that keep the notices of ``area``: those naming it or placed in it."""
    if area is None:
        return "TRUE", []
    name, _ = areas.area_outline(conn, area)
    return (
        "(%s = ANY(e.districts) OR (e.level <> 'district' AND "
        "ST_Intersects(e.geom, (SELECT geom FROM areas WHERE slug = %s))))",
        [name, area],
    )


def list_events(
    conn: psycopg.Connection,
    *,
    since: datetime,
    until: datetime,
    area: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Notices of ``[since, until)`` (of ``area`` when given), newest first: id, time, type,
    title, summary, link, level and what was matched; no geometry."""
    where, values = _area_filter(conn, area)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"""
            SELECT e.id, e.occurred_at, e.event_type, e.name, e.summary, e.url, e.level,
                   e.place_label, e.districts, e.unplaced_reason
            FROM police_events e
            WHERE e.occurred_at >= %s AND e.occurred_at < %s AND {where}
            ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s
            """,  # noqa: S608 (a constant filter; the values are parameters)
            [since, until, *values, limit],
        ).fetchall()
    for r in rows:
        r["level_sv"] = LEVELS_SV.get(r["level"]) if r["level"] else "ej placerad"
        r["districts"] = list(r["districts"])
    return rows


def counts(
    conn: psycopg.Connection,
    *,
    since: datetime,
    until: datetime,
    time_zone: str,
    area: str | None = None,
    bucket: str = "month",
) -> list[dict[str, Any]]:
    """Notices per district, type and month (or week) of the local calendar: a notice naming
    two districts counts in each; unplaced notices have the district None."""
    unit = "week" if bucket == "week" else "month"
    where, values = _area_filter(conn, area)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"""
            SELECT d.district, e.event_type,
                   date_trunc(%s, e.occurred_at AT TIME ZONE %s)::date AS period_start,
                   count(*)::int AS count
            FROM police_events e
                 LEFT JOIN LATERAL unnest(CASE WHEN e.districts = '{{}}' THEN ARRAY[NULL]::text[]
                                               ELSE e.districts END) AS d(district) ON TRUE
            WHERE e.occurred_at >= %s AND e.occurred_at < %s AND {where}
            GROUP BY 1, 2, 3 ORDER BY 3, 1 NULLS LAST, 2
            """,  # noqa: S608 (a constant filter; the values are parameters)
            [unit, time_zone, since, until, *values],
        ).fetchall()
    for r in rows:
        r["period_start"] = r["period_start"].isoformat()
    return rows


def deviation_counts(
    conn: psycopg.Connection,
    *,
    area: str,
    since: datetime,
    until: datetime,
    time_zone: str,
    bucket: str = "month",
) -> list[dict[str, Any]]:
    """Our deviation reports of ``area`` per month (or week), dismissed ones left out: the
    numbers the notices are shown beside."""
    unit = "week" if bucket == "week" else "month"
    aid = areas.area_id(conn, area)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            SELECT date_trunc(%s, d.observed_at AT TIME ZONE %s)::date AS period_start,
                   count(*)::int AS count
            FROM deviations d
            WHERE d.area_id = %s AND d.observed_at >= %s AND d.observed_at < %s
              AND d.status <> 'dismissed'
            GROUP BY 1 ORDER BY 1
            """,
            [unit, time_zone, aid, since, until],
        ).fetchall()
    for r in rows:
        r["period_start"] = r["period_start"].isoformat()
    return rows
