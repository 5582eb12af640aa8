"""Loads the Solberga/Älvsjö demo data from ``data/`` into PostGIS.

Real data: district polygons (Stockholms stad; Sätra and Vårberg for Skärholmen's "127-trygghet"),
public-transport stops (Trafiklab), points of interest (OpenStreetMap), the organisations and the
agreements of Solberga (the district's documents), see ``data/SOURCES.md``. Illustrative: the
collaboration zones; assumed: the period and first reporting dates of "127-trygghet".
Synthetic: the deviation history (`geo.synthetic`), generated with a fixed seed.

Loading is idempotent: rows are keyed by slug, name or source key (deviations by their seeded
UUIDs), and a second load with the same files changes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from shapely import Point, unary_union
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.db import areas
from geo.geometry import SWEREF99TM, display_name, slugify, to_metric, to_wgs84
from geo.inputs.agreements import AgreementIn
from geo.inputs.walks import parse
from geo.synthetic import Cluster, generate_deviations

logger = logging.getLogger(__name__)

AREAS_FILE = "stadsdelar_solberga_alvsjo.geojson"
# Skärholmen's districts of the IOP "127-trygghet" (a second programme in the demo).
MORE_AREA_FILES = ("stadsdelar_satra_varberg.geojson",)
STOPS_FILE = "sl_stops_solberga_alvsjo.geojson"
POIS_FILE = "osm_pois_solberga_alvsjo_2026.geojson"
DEMO_FILE = "demo_solberga.json"
# Real public notices of the police (not synthetic): context for the meeting report.
POLICE_FILE = "polisen_events_hagersten_alvsjo_2023_2025.json"

AREA_SOURCE = "Stockholms stad, Stadskarta (CC0), via KTHHealthData/stockholm-stadsdelar"
STOP_SOURCE = "Trafiklab GTFS Sweden 3 (CC0), via Stockholms Puls (CC BY 4.0)"
POI_SOURCE = "© OpenStreetMap contributors (ODbL)"

POI_KINDS = {
    "playground": "playground",
    "library": "library",
    "supermarket": "shop",
    "alcohol": "shop",
    "pharmacy": "shop",
    "restaurant": "food",
    "fast_food": "food",
    "cafe": "food",
    "fitness_centre": "sport",
    "fitness_station": "sport",
    "doctor": "health",
    "dentist": "health",
    "physiotherapist": "health",
}


@dataclass
class LoadReport:
    """What a demo load inserted or changed, per table (0 everywhere on a second load)."""

    changed: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.changed[table] = self.changed.get(table, 0) + n


def _read_geojson(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return list(json.load(fh)["features"])


def read_places(data_dir: Path) -> list[dict[str, Any]]:
    """Places from the stop and POI files, as dicts for `geo.db.areas.upsert_places`."""
    places: list[dict[str, Any]] = []
    for f in _read_geojson(data_dir / STOPS_FILE):
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"][:2]
        rail = p["mode"] == "rail"
        places.append(
            {
                "source_key": f"sl:{p['mode']}:{p['stop_area_id']}",
                "name": f"{p['name']} station" if rail else p["name"],
                "kind": "station" if rail else "stop",
                "source": STOP_SOURCE,
                "attributes": {"stop_area_id": p["stop_area_id"], "mode": p["mode"]},
                "point": Point(lon, lat),
            }
        )
        if p["name"].endswith("skolan") and not rail:
            # The POI file has no schools; the stop named after a school marks where it is.
            places.append(
                {
                    "source_key": f"school-by-stop:{p['stop_area_id']}",
                    "name": p["name"],
                    "kind": "school",
                    "source": STOP_SOURCE,
                    "attributes": {"position": "busshållplatsen med skolans namn"},
                    "point": Point(lon, lat),
                }
            )
    for f in _read_geojson(data_dir / POIS_FILE):
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"][:2]
        places.append(
            {
                "source_key": f"osm-poi:{p['osm_type']}:{lon:.7f}:{lat:.7f}",
                "name": p["name"] or p["category_sv"] or p["osm_type"],
                "kind": POI_KINDS.get(p["osm_type"], "other"),
                "source": POI_SOURCE,
                "attributes": {
                    k: p[k]
                    for k in ("osm_type", "category_sv", "street", "housenumber")
                    if p.get(k)
                },
                "point": Point(lon, lat),
            }
        )
    return places


def _circle(lon: float, lat: float, radius_m: float) -> BaseGeometry:
    # Buffer in metres in SWEREF 99 TM, not in degrees (a degree of longitude is ~57 km here).
    return to_wgs84(to_metric(Point(lon, lat), SWEREF99TM).buffer(radius_m, quad_segs=16))


def _load_organisations(conn: psycopg.Connection, demo: dict[str, Any], report: LoadReport) -> None:
    """Organisations by name (kind, notes, then ``part_of`` once all exist) and agreements by
    name, each checked as the API checks one (`geo.inputs.agreements.AgreementIn`), with their
    parties and areas made exactly those of the file (a party the file no longer names goes)."""
    for org in demo["organisations"]:
        cur = conn.execute(
            """
            INSERT INTO organisations (name, kind, notes) VALUES (%s, %s, %s)
            ON CONFLICT (name) DO UPDATE
                SET kind = EXCLUDED.kind, notes = EXCLUDED.notes,
                    version = organisations.version + 1, updated_at = now()
                WHERE (organisations.kind, organisations.notes)
                      IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.notes)
            """,
            (org["name"], org["kind"], org.get("notes", "")),
        )
        report.add("organisations", cur.rowcount)
    for org in demo["organisations"]:
        cur = conn.execute(
            """
            UPDATE organisations o
            SET part_of_id = (SELECT p.id FROM organisations p WHERE p.name = %(part_of)s),
                version = o.version + 1, updated_at = now()
            WHERE o.name = %(name)s AND o.part_of_id IS DISTINCT FROM
                  (SELECT p.id FROM organisations p WHERE p.name = %(part_of)s)
            """,
            {"name": org["name"], "part_of": org.get("part_of")},
        )
        report.add("organisations", cur.rowcount)
    for spec in demo["agreements"]:
        ag = parse(AgreementIn, spec)
        values = ag.model_dump(exclude={"parties", "areas"})
        cur = conn.execute(
            """
            INSERT INTO agreements (name, kind, compensation, rate_sek, budget_sek, starts_on,
                                    ends_on, decided_on, signed_on, walkers_per_walk,
                                    reporting_dates, notes, extends_id)
            VALUES (%(name)s, %(kind)s, %(compensation)s, %(rate_sek)s, %(budget_sek)s,
                    %(starts_on)s, %(ends_on)s, %(decided_on)s, %(signed_on)s,
                    %(walkers_per_walk)s, %(reporting_dates)s, %(notes)s,
                    (SELECT id FROM agreements WHERE name = %(extends)s))
            ON CONFLICT (name) DO UPDATE
                SET kind = EXCLUDED.kind, compensation = EXCLUDED.compensation,
                    rate_sek = EXCLUDED.rate_sek, budget_sek = EXCLUDED.budget_sek,
                    starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on,
                    decided_on = EXCLUDED.decided_on, signed_on = EXCLUDED.signed_on,
                    walkers_per_walk = EXCLUDED.walkers_per_walk,
                    reporting_dates = EXCLUDED.reporting_dates, notes = EXCLUDED.notes,
                    extends_id = EXCLUDED.extends_id,
                    version = agreements.version + 1, updated_at = now()
                WHERE (agreements.kind, agreements.compensation, agreements.rate_sek,
                       agreements.budget_sek, agreements.starts_on, agreements.ends_on,
                       agreements.decided_on, agreements.signed_on, agreements.walkers_per_walk,
                       agreements.reporting_dates, agreements.notes, agreements.extends_id)
                      IS DISTINCT FROM
                      (EXCLUDED.kind, EXCLUDED.compensation, EXCLUDED.rate_sek,
                       EXCLUDED.budget_sek, EXCLUDED.starts_on, EXCLUDED.ends_on,
                       EXCLUDED.decided_on, EXCLUDED.signed_on, EXCLUDED.walkers_per_walk,
                       EXCLUDED.reporting_dates, EXCLUDED.notes, EXCLUDED.extends_id)
            """,
            values,
        )
        report.add("agreements", cur.rowcount)
        for table, column, source, key, names in (
            ("agreement_parties", "organisation_id", "organisations", "name", ag.parties),
            ("agreement_areas", "area_id", "areas", "slug", ag.areas),
        ):
            params = {"agreement": ag.name, "names": names}
            cur = conn.execute(
                sql.SQL(
                    """
                    INSERT INTO {table} (agreement_id, {column})
                    SELECT a.id, s.id FROM agreements a, {source} s
                    WHERE a.name = %(agreement)s AND s.{key} = ANY(%(names)s)
                    ON CONFLICT DO NOTHING
                    """
                ).format(
                    table=sql.Identifier(table),
                    column=sql.Identifier(column),
                    source=sql.Identifier(source),
                    key=sql.Identifier(key),
                ),
                params,
            )
            report.add(table, cur.rowcount)
            cur = conn.execute(
                sql.SQL(
                    """
                    DELETE FROM {table} t USING agreements a, {source} s
                    WHERE t.agreement_id = a.id AND a.name = %(agreement)s
                      AND t.{column} = s.id AND NOT (s.{key} = ANY(%(names)s))
                    """
                ).format(
                    table=sql.Identifier(table),
                    column=sql.Identifier(column),
                    source=sql.Identifier(source),
                    key=sql.Identifier(key),
                ),
                params,
            )
            report.add(f"{table}_removed", cur.rowcount)


def _load_deviations(
    conn: psycopg.Connection,
    spec: dict[str, Any],
    polygon: BaseGeometry,
    *,
    end: datetime,
    report: LoadReport,
) -> None:
    clusters = [Cluster(**c) for c in spec["clusters"]]
    devs = generate_deviations(
        clusters,
        polygon,
        end=end,
        days=spec["days"],
        count=spec["count"],
        background_share=spec["background_share"],
        background_categories=spec["background_categories"],
        seed=spec["seed"],
    )
    # Dropped at commit; dropped here too, for a second load in the same transaction.
    conn.execute("DROP TABLE IF EXISTS pg_temp.demo_deviations")
    conn.execute(
        """
        CREATE TEMPORARY TABLE demo_deviations (
            id uuid, category text, observed_at timestamptz, reported_at timestamptz,
            severity smallint, status text, description text, lon double precision,
            lat double precision
        ) ON COMMIT DROP
        """
    )
    with conn.cursor().copy(
        "COPY demo_deviations (id, category, observed_at, reported_at, severity, status, "
        "description, lon, lat) FROM STDIN"
    ) as copy:
        for d in devs:
            copy.write_row(
                (
                    d.id,
                    d.category,
                    d.observed_at,
                    d.reported_at,
                    d.severity,
                    d.status,
                    d.description,
                    d.lon,
                    d.lat,
                )
            )
    cur = conn.execute(
        """
        INSERT INTO deviations (id, category, observed_at, reported_at, severity, status,
                                description, synthetic, area_id, geom)
        SELECT d.id, d.category, d.observed_at, d.reported_at, d.severity, d.status,
               d.description, true,
               (SELECT a.id FROM areas a WHERE ST_Intersects(a.geom, pt.geom)
                ORDER BY a.id LIMIT 1),
               pt.geom
        FROM demo_deviations d
        CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(d.lon, d.lat), 4326) AS geom) pt
        ON CONFLICT (id) DO NOTHING
        """
    )
    report.add("deviations", cur.rowcount)


def load_demo(
    conn: psycopg.Connection,
    data_dir: Path,
    *,
    now: datetime | None = None,
    refresh_deviations: bool = False,
) -> LoadReport:
    """Load (or update) the demo data in one transaction and report what changed.

    Parameters
    ----------
    data_dir
        The folder with the demo files (the repository's ``data/``).
    now
        The end of the synthetic history; the current time when None.
    refresh_deviations
        Replace the synthetic deviations with a history that ends ``now`` (a plain load keeps
        the ones already stored, so a second load changes nothing).
    """
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    with (data_dir / DEMO_FILE).open(encoding="utf-8") as fh:
        demo = json.load(fh)
    report = LoadReport()
    with conn.transaction():
        area_geoms: dict[str, BaseGeometry] = {}
        features = [
            f for name in (AREAS_FILE, *MORE_AREA_FILES) for f in _read_geojson(data_dir / name)
        ]
        for f in features:
            name = f["properties"]["name"]
            geom = shape(f["geometry"])
            slug = slugify(name)
            _, changed = areas.upsert_area(
                conn,
                slug=slug,
                name=display_name(name),
                geom=geom,
                metric_srid=SWEREF99TM,
                source=AREA_SOURCE,
            )
            report.add("areas", int(changed))
            area_geoms[slug] = geom
        _load_organisations(conn, demo, report)
        report.add("places", areas.upsert_places(conn, read_places(data_dir)))
        for z in demo["zones"]:
            geom = _circle(z["centre"][0], z["centre"][1], z["radius_m"])
            area_slug = next(
                (s for s, g in area_geoms.items() if g.contains(Point(z["centre"]))), "solberga"
            )
            _, changed = areas.upsert_zone(
                conn,
                slug=z["slug"],
                name=z["name"],
                area_slug=area_slug,
                description=z["description"],
                illustrative=True,
                geom=geom,
            )
            report.add("zones", int(changed))
        if refresh_deviations:
            cur = conn.execute("DELETE FROM deviations WHERE synthetic")
            report.add("deviations_removed", cur.rowcount)
        focus = unary_union([area_geoms[s] for s in demo["focus_areas"]])
        _load_deviations(conn, demo["synthetic_deviations"], focus, end=end, report=report)
        load_demo_police(conn, data_dir, report=report)
    return report


def load_demo_police(
    conn: psycopg.Connection, data_dir: Path, *, report: LoadReport | None = None
) -> LoadReport:
    """The archive of real police notices of the area (`POLICE_FILE`), placed by the names in
    their text against what is loaded now (placed anew after a street network is imported)."""
    from geo.db.police_events import gazetteer, import_notices
    from geo.police import parse_notices

    report = report or LoadReport()
    path = data_dir / POLICE_FILE
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            notices = parse_notices(json.load(fh))
        c = import_notices(conn, notices, gazetteer(conn, data_dir), source="archive")
        report.add("police_events", c.added + c.updated)
    return report
