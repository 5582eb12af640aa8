"""Deviation reports in PostGIS: idempotent inserts (`geo.db.idempotent`), filtered reads,
status changes, and the columns that exports and analyses read.

Who sees what is decided here, in SQL, by the viewer's capabilities (`geo.capabilities`), so that
no code path can leak more: who reported only with ``SEE_REPORTERS`` (planners, admins);
descriptions with ``SEE_DESCRIPTIONS``, or of one's own organisation's reports with
``SEE_OWN_DESCRIPTIONS`` (walkers). A viewer without ``READ_REPORTS`` (partners) reads no single
report at all: `get_feature` and `list_features` refuse it.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from geo.analysis import PointSelection
from geo.capabilities import Capability, capabilities_of
from geo.db import areas
from geo.db.accounts import User
from geo.db.categories import category_codes, check_categories
from geo.db.idempotent import Expr, create_once
from geo.db.queries import feature_sql, unpack_float8
from geo.errors import (
    FarFromAreas,
    Forbidden,
    InvalidInput,
    InvalidParameter,
    LonLatSwapped,
    NotFound,
    UnknownCategory,
    WalkNotOngoing,
    Withdrawn,
)
from geo.geometry import BBox
from geo.inputs import DeviationReport, body_digest
from geo.privacy import Deviations

NEAR_AREA_M = 2000
WALK_AFTER_END = timedelta(hours=1)
"""How long after a walk's end a report observed then may still carry its ``walk_id``."""
WALK_BEFORE_START = timedelta(minutes=10)
"""How long before a walk's start (a phone's clock a little off) a report may carry it."""
MAX_LIMIT = 5000
DEFAULT_LIMIT = 1000
STATUSES = ("new", "confirmed", "dismissed")
MAX_SEARCH = 200
"""The longest text a search of the descriptions (``q``) may look for."""


@dataclass(frozen=True)
class Viewer:
    """Who is reading: their capabilities decide which properties a feature carries."""

    capabilities: frozenset[Capability]
    organisation_id: int | None

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.capabilities, user.organisation_id)

    @classmethod
    def of_role(cls, role: str, *, organisation_id: int | None = None) -> Viewer:
        """A viewer with the capabilities of ``role`` (for scripts and notebooks)."""
        return cls(capabilities_of(role), organisation_id)

    def require(self, capability: Capability, what: str) -> None:
        """`Forbidden` unless the viewer has ``capability`` (``what`` is refused)."""
        if capability not in self.capabilities:
            raise Forbidden(f"{what} needs the capability {capability}, which you do not have")


def _near_area(conn: psycopg.Connection, lon: float, lat: float) -> int | None:
    """The id of an area within 2 km of the point (the nearest), or None."""
    # Only the areas whose boxes come within 0.1° pay for geodesic distances (more than 2 km up
    # to 79° N: 2 km is 0.018° of latitude and 0.036° of longitude at 60° N).
    row = conn.execute(
        """
        WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS geom)
        SELECT a.id FROM areas a, pt
        WHERE a.geom && ST_Expand(pt.geom, 0.1)
          AND ST_DWithin(a.geom::geography, pt.geom::geography, %s)
        ORDER BY ST_Distance(a.geom::geography, pt.geom::geography), a.id
        LIMIT 1
        """,
        (lon, lat, NEAR_AREA_M),
    ).fetchone()
    return int(row[0]) if row else None


def check_report(
    conn: psycopg.Connection, report: DeviationReport, *, organisation_id: int | None = None
) -> int:
    """Checks that need the database; returns the id of the report's area.

    A report with ``walk_id`` is made during that walk: it must exist, be of the reporter's
    organisation (``organisation_id``) and be under way, or have ended within the hour.
    """
    props = report.properties
    area = check_place(conn, category=props.category, lon=report.lon, lat=report.lat)
    if props.walk_id is not None:
        _check_walk(conn, props.walk_id, organisation_id, props.observed_at)
    return area


def check_place(
    conn: psycopg.Connection,
    *,
    category: str,
    lon: float,
    lat: float,
    category_field: str = "properties.category",
) -> int:
    """The id of the area a report of ``category`` at ``(lon, lat)`` belongs to: the area it
    lies in, else the nearest within 2 km. `UnknownCategory` for a category that is not active,
    `LonLatSwapped` or `FarFromAreas` for a point too far from every area."""
    # One round trip for the usual case: the category is known and the point lies inside an
    # area (a point-in-polygon test through the GiST index).
    row = conn.execute(
        """
        SELECT EXISTS (SELECT 1 FROM deviation_categories WHERE code = %(category)s AND active),
               (SELECT a.id FROM areas a
                WHERE ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
                ORDER BY a.id LIMIT 1)
        """,
        {"category": category, "lon": lon, "lat": lat},
    ).fetchone()
    assert row is not None
    known, area = row
    if not known:
        codes = category_codes(conn)
        raise UnknownCategory(
            f"unknown category {category!r}: use one of {', '.join(codes)}",
            field=category_field,
        )
    if area is None:
        area = _near_area(conn, lon, lat)
    if area is None:
        if -90 <= lon <= 90 and _near_area(conn, lat, lon) is not None:
            raise LonLatSwapped(
                f"the coordinates [{lon}, {lat}] look swapped: GeoJSON order is "
                f"[longitude, latitude], so send [{lat}, {lon}]",
                field="geometry",
            )
        raise FarFromAreas(
            f"the point [{lon}, {lat}] is farther than {NEAR_AREA_M / 1000:g} km "
            "from every known area; check the position (GeoJSON order is [longitude, latitude])",
            field="geometry",
        )
    return int(area)


def _check_walk(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    organisation_id: int | None,
    observed_at: datetime,
) -> None:
    """A report carries a walk only if it was observed during that walk of the reporter's club:
    from its start (`WALK_BEFORE_START` earlier, for a phone's clock) to `WALK_AFTER_END` after
    its end (now, while it is under way).

    The rule looks at the report's own time, not the time it arrives, so a report that waited
    in a phone's queue for hours is still taken when it is sent at last (and a retry of it is
    answered as before: it is never refused for being late).
    """
    row = conn.execute(
        """
        SELECT organisation_id,
               started_at IS NOT NULL AND status <> 'cancelled'
               AND %(observed)s >= started_at - %(before)s
               AND %(observed)s <= coalesce(ended_at, now()) + %(after)s
        FROM walks WHERE id = %(walk)s
        """,
        {
            "observed": observed_at,
            "before": WALK_BEFORE_START,
            "after": WALK_AFTER_END,
            "walk": walk_id,
        },
    ).fetchone()
    if row is None:
        raise InvalidInput(f"no walk {walk_id}", field="properties.walk_id")
    if organisation_id is not None and row[0] != organisation_id:
        raise WalkNotOngoing(
            f"walk {walk_id} is another organisation's: report during your own club's walk",
            field="properties.walk_id",
        )
    if not row[1]:
        raise WalkNotOngoing(
            f"walk {walk_id} was not under way when this was observed: a report carries a walk "
            "only from its start to an hour after its end",
            field="properties.walk_id",
        )


def insert_report(
    conn: psycopg.Connection,
    report: DeviationReport,
    *,
    reporter_id: int,
    organisation_id: int,
    viewer: Viewer,
) -> tuple[str, bool]:
    """Store a report once; return its Feature (as the reporter sees it) and whether it is new.

    The report's own UUID is its key (`geo.db.idempotent`): the same id with the same content
    returns the stored report; with other content, or from another reporter, it is a conflict.
    """
    area_id = check_report(conn, report, organisation_id=organisation_id)
    props = report.properties
    with conn.transaction():
        # The key's lock (`create_once` takes it again: advisory locks nest in a transaction),
        # so that a resend racing the withdrawal sees its tombstone.
        lock_report(conn, props.id)
        if is_withdrawn(conn, props.id):
            raise Withdrawn(
                f"report {props.id} was withdrawn by its reporter: it is not stored again "
                "(drop it from the queue)"
            )
        return _insert_report(
            conn,
            report,
            area_id=area_id,
            reporter_id=reporter_id,
            organisation_id=organisation_id,
            viewer=viewer,
        )


def lock_report(conn: psycopg.Connection, report_id: uuid.UUID) -> None:
    """Take the report's key lock for this transaction (inserts, withdrawals and corrections
    of one report take turns)."""
    # The same key as `geo.db.idempotent.create_once` takes for the table "deviations".
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"deviations:{report_id}",)
    )


def is_withdrawn(conn: psycopg.Connection, report_id: uuid.UUID) -> bool:
    """Whether the report's id is kept as withdrawn (`geo.db.own_reports.withdraw_report`)."""
    row = conn.execute("SELECT 1 FROM withdrawn_deviations WHERE id = %s", (report_id,))
    return row.fetchone() is not None


def _insert_report(
    conn: psycopg.Connection,
    report: DeviationReport,
    *,
    area_id: int,
    reporter_id: int,
    organisation_id: int,
    viewer: Viewer,
) -> tuple[str, bool]:
    props = report.properties
    report_id, created = create_once(
        conn,
        "deviations",
        key=props.id,
        key_column="id",
        digest=body_digest(report),
        same={"reporter_id": reporter_id},
        values={
            "category": props.category,
            "observed_at": props.observed_at,
            "severity": props.severity,
            "description": props.description,
            "accuracy_m": props.accuracy_m,
            "reporter_id": reporter_id,
            "organisation_id": organisation_id,
            "walk_id": props.walk_id,
            "area_id": area_id,
            "geom": Expr("ST_SetSRID(ST_MakePoint(%s, %s), 4326)", report.lon, report.lat),
        },
        conflict=f"a different report with id {props.id} exists already: make a new UUID "
        "for a new report (resend only exactly the same report)",
    )
    return get_feature(conn, report_id, viewer=viewer), created


@functools.lru_cache(maxsize=256)
def _feature_sql(viewer: Viewer, *, reporters: bool = True) -> sql.Composed:
    """The Feature of a report as ``viewer`` may see it; ``reporters=False`` leaves out who
    reported even for planners (lists for maps need no personal data).

    Cached per viewer: composing the template costs about 0.25 ms, a tenth of a report's POST.
    """
    caps = viewer.capabilities
    hidden = sql.SQL("NULL::text")
    if Capability.SEE_DESCRIPTIONS in caps:
        description: sql.Composable = sql.SQL("d.description")
    elif Capability.SEE_OWN_DESCRIPTIONS in caps and viewer.organisation_id is not None:
        description = sql.SQL("CASE WHEN d.organisation_id = {} THEN d.description END").format(
            sql.Literal(viewer.organisation_id)
        )
    else:
        description = hidden
    who = reporters and Capability.SEE_REPORTERS in caps
    return feature_sql(
        id="d.id",
        geometry="d.geom",
        properties={
            "id": "d.id",
            "category": "d.category",
            "category_sv": "c.name_sv",
            "colour": "c.colour",
            "observed_at": "d.observed_at",
            "reported_at": "d.reported_at",
            "severity": "d.severity",
            "status": "d.status",
            "area": "a.slug",
            "accuracy_m": "d.accuracy_m",
            "walk_id": "d.walk_id",
            "synthetic": "d.synthetic",
            "description": description,
            "reporter": sql.SQL("u.email") if who else hidden,
            "organisation": sql.SQL("o.name") if who else hidden,
        },
        # A property the viewer may not see is absent, not null.
        strip_nulls=True,
    )


_JOINS = sql.SQL(
    """
    JOIN deviation_categories c ON c.code = d.category
    LEFT JOIN areas a ON a.id = d.area_id
    LEFT JOIN users u ON u.id = d.reporter_id
    LEFT JOIN organisations o ON o.id = d.organisation_id
    """
)
_FROM = sql.SQL("FROM deviations d {}").format(_JOINS)


@dataclass(frozen=True)
class FeaturePage:
    """A page of reports: the FeatureCollection as JSON text, and its two counts."""

    geojson: str
    number_matched: int
    number_returned: int


def get_feature(conn: psycopg.Connection, deviation_id: uuid.UUID, *, viewer: Viewer) -> str:
    """One report as a Feature (JSON text) as ``viewer`` may see it; `Forbidden` without
    ``READ_REPORTS``, `NotFound` when there is none."""
    viewer.require(Capability.READ_REPORTS, "reading a single report")
    row = conn.execute(
        sql.SQL("SELECT {}::text {} WHERE d.id = %s").format(_feature_sql(viewer), _FROM),
        (deviation_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no deviation {deviation_id}")
    return str(row[0])


def list_features(
    conn: psycopg.Connection,
    *,
    viewer: Viewer,
    reporters: bool = False,
    bbox: BBox | None = None,
    area: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    categories: list[str] | None = None,
    statuses: list[str] | None = None,
    zone: str | None = None,
    text: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    reporter_id: int | None = None,
) -> FeaturePage:
    """A FeatureCollection page, newest first, with ``numberMatched`` and ``numberReturned``.

    ``limit=None`` returns every match (``LIMIT NULL``), for `geo.db.frames`; the API caps it.
    ``reporter_id``: only that user's reports (a walker's own list, `GET /api/v1/me/deviations`).
    ``zone``: the reports inside that collaboration zone (its slug; `NotFound` when unknown).
    ``text``: the reports whose description holds it (any case; at most `MAX_SEARCH` characters),
    for viewers with ``SEE_DESCRIPTIONS`` only (a search would reveal text one may not read).
    `Forbidden` for a viewer without ``READ_REPORTS`` (partners: they read aggregates only), and
    for ``reporters=True`` without ``SEE_REPORTERS``.
    """
    viewer.require(Capability.READ_REPORTS, "reading single reports")
    if reporters:
        viewer.require(Capability.SEE_REPORTERS, "seeing who reported")
    if text is not None:
        viewer.require(Capability.SEE_DESCRIPTIONS, "searching the descriptions")
        text = text.strip()
        if not text or len(text) > MAX_SEARCH:
            raise InvalidParameter(
                f"q must be 1 to {MAX_SEARCH} characters of text to look for", field="q"
            )
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidParameter(f"{name} needs a time zone (e.g. Z or +01:00)", field=name)
    if since and until and since >= until:
        raise InvalidParameter("since must be before until", field="since")
    where: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    if bbox is not None:
        where.append(sql.SQL("ST_Intersects(d.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"))
        params += list(bbox.as_tuple())
    if reporter_id is not None:
        where.append(sql.SQL("d.reporter_id = %s"))
        params.append(reporter_id)
    if area is not None:
        where.append(sql.SQL("d.area_id = %s"))
        params.append(areas.area_id(conn, area))
    if since is not None:
        where.append(sql.SQL("d.observed_at >= %s"))
        params.append(since)
    if until is not None:
        where.append(sql.SQL("d.observed_at < %s"))
        params.append(until)
    if categories:
        check_categories(conn, categories)
        where.append(sql.SQL("d.category = ANY(%s)"))
        params.append(categories)
    if statuses:
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise InvalidParameter(
                f"unknown status {bad[0]!r}: use one of {', '.join(STATUSES)}", field="status"
            )
        where.append(sql.SQL("d.status = ANY(%s)"))
        params.append(statuses)
    if zone is not None:
        where.append(sql.SQL("ST_Intersects(d.geom, %s::geometry)"))
        params.append(_zone_geom(conn, zone))
    if text is not None:
        # A substring, not a pattern: LIKE's own characters are escaped.
        where.append(sql.SQL("d.description ILIKE %s ESCAPE '\\'"))
        params.append("%" + re.sub(r"([\\%_])", r"\\\1", text) + "%")
    cond = sql.SQL(" AND ").join(where)
    # The fast path: PostgreSQL writes the page as JSON text and it goes to the client as it is.
    # Measured on 100,000 reports (one area, 14 days: 2,381 features, 1.1 MB; in-process median
    # of 25): 42 ms passed through, 61-64 ms when the text is parsed and dumped again (what this
    # did before), 60-67 ms from typed rows (dict_row) with the Features built in Python.
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(json_agg(f.feature), '[]'::json)::text FROM ("
            "SELECT {} AS feature {} WHERE {} ORDER BY d.observed_at DESC, d.id "
            "LIMIT %s OFFSET %s) f"
        ).format(_feature_sql(viewer, reporters=reporters), _FROM, cond),
        [*params, limit, offset],
    ).fetchone()
    assert row is not None
    returned, features = int(row[0]), str(row[1])
    if (returned > 0 and (limit is None or returned < limit)) or (returned == 0 and offset == 0):
        # A short page is the last one: no count needed (the situation map's usual case).
        total = offset + returned
    else:
        total_row = conn.execute(
            sql.SQL("SELECT count(*) {} WHERE {}").format(_FROM, cond), params
        ).fetchone()
        total = int(total_row[0]) if total_row else 0
    text = (
        f'{{"type": "FeatureCollection", "numberMatched": {total}, '
        f'"numberReturned": {returned}, "features": {features}}}'
    )
    return FeaturePage(text, total, returned)


def _zone_geom(conn: psycopg.Connection, zone: str) -> str:
    """A zone's outline (EWKB hex) to filter by: the GiST index on the reports then does the
    work, as it does for a bbox (a join to ``zones`` would hide the outline from the planner)."""
    row = conn.execute("SELECT geom::text FROM zones WHERE slug = %s", (zone,)).fetchone()
    if row is None:
        raise NotFound(f"no zone with slug {zone!r}; GET /api/v1/zones lists the zones")
    return str(row[0])


def any_synthetic(
    conn: psycopg.Connection, *, area: str, since: datetime | None, until: datetime | None
) -> bool:
    """Whether a report of ``area`` observed in ``[since, until)`` is synthetic demo data (so
    that what is computed from them says so)."""
    row = conn.execute(
        """
        SELECT EXISTS (SELECT 1 FROM deviations d JOIN areas a ON a.id = d.area_id
                       WHERE a.slug = %s AND d.synthetic
                         AND (%s::timestamptz IS NULL OR d.observed_at >= %s)
                         AND (%s::timestamptz IS NULL OR d.observed_at < %s))
        """,
        (area, since, since, until, until),
    ).fetchone()
    return bool(row and row[0])


def list_version(
    conn: psycopg.Connection, *, area: str | None = None, bbox: BBox | None = None
) -> int | None:
    """A number that changes whenever the answer of `list_features` with this ``area`` or
    ``bbox`` may change (any report of those areas, a category's name or colour, the area's
    slug): the situation map's ETag is made from it. None for an unknown area.

    Read it *before* the list: a change committed in between then gives the client newer data
    under an older version (one needless full answer later), never older data under a newer one.
    """
    # The triggers of migration 0010 bump an area's version to the next value of one sequence;
    # versions never fall and rows are never deleted, so the sum over a set of areas grows with
    # every committed change in any of them (a maximum would miss a change committed after a
    # larger one).
    if area is not None:
        row = conn.execute(
            "SELECT coalesce(v.version, 0) FROM areas a "
            "LEFT JOIN deviation_versions v ON v.area_id = a.id WHERE a.slug = %s",
            (area,),
        ).fetchone()
        return int(row[0]) if row else None
    if bbox is not None:
        # A report belongs to an area within 2 km (`NEAR_AREA_M`), so it may lie outside that
        # area's outline: the areas whose box, widened by 0.1° (more than 2 km up to 79° N),
        # meets the bbox; and the reports without an area (0).
        row = conn.execute(
            """
            SELECT coalesce(sum(v.version), 0)::bigint FROM deviation_versions v
            WHERE v.area_id = 0 OR v.area_id IN (
                SELECT id FROM areas
                WHERE ST_Expand(geom, 0.1) && ST_MakeEnvelope(%s, %s, %s, %s, 4326))
            """,
            bbox.as_tuple(),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT coalesce(sum(version), 0)::bigint FROM deviation_versions"
        ).fetchone()
    assert row is not None
    return int(row[0])


def set_status(
    conn: psycopg.Connection, deviation_id: uuid.UUID, status: str, *, user_id: int
) -> None:
    """Change a report's status and write an audit row."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    with conn.transaction():
        row = conn.execute(
            "UPDATE deviations SET status = %s WHERE id = %s RETURNING id",
            (status, deviation_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"no deviation {deviation_id}")
        conn.execute(
            "INSERT INTO audit_log (user_id, action, subject, details) "
            "VALUES (%s, 'deviation.status', %s, %s::jsonb)",
            (user_id, str(deviation_id), json.dumps({"status": status})),
        )


# -- points for heat maps and hot spots ----------------------------------------------------------


def select_points(
    conn: psycopg.Connection,
    *,
    area: str,
    zone: str | None = None,
    since: datetime,
    until: datetime,
    categories: list[str] | None = None,
    margin_m: float = 0.0,
) -> PointSelection:
    """The deviations observed in ``[since, until)`` inside the area (or one of its zones),
    widened by ``margin_m`` so that a kernel sees the reports just outside the boundary too.

    Dismissed reports are left out. Unknown area, zone or category: `NotFound` /
    `InvalidParameter`.
    """
    areas.area_id(conn, area)
    if categories:
        check_categories(conn, categories)
    if zone is not None:
        region_row = conn.execute(
            "SELECT ST_AsBinary(ST_Transform(z.geom, a.metric_srid)), a.metric_srid, a.name, "
            "z.name FROM zones z JOIN areas a ON a.slug = %s WHERE z.slug = %s",
            (area, zone),
        ).fetchone()
        if region_row is None:
            raise NotFound(f"no zone with slug {zone!r}; GET /api/v1/zones lists the zones")
    else:
        region_row = conn.execute(
            "SELECT ST_AsBinary(ST_Transform(geom, metric_srid)), metric_srid, name, name "
            "FROM areas WHERE slug = %s",
            (area,),
        ).fetchone()
    assert region_row is not None
    region = shapely.from_wkb(bytes(region_row[0]))
    epsg = int(region_row[1])
    # One row of packed big-endian float8 columns (all aggregates of one query see the rows in
    # the same order): far cheaper for 100,000 points than 100,000 rows or arrays of numbers,
    # which psycopg would turn into Python objects one by one. The filter is the
    # region's box widened by the margin, through the GiST index; what lies outside the region
    # itself the computations clip (a heat map's mask, a hot-spot grid's cells).
    row = conn.execute(
        """
        WITH box AS (
                SELECT ST_Transform(ST_Expand(ST_GeomFromWKB(%(wkb)s, %(srid)s), %(margin)s),
                                    4326) AS geom),
             pts AS (
                SELECT ST_Transform(d.geom, %(srid)s) AS g, d.observed_at, d.severity,
                       c.weight, d.category
                FROM deviations d JOIN deviation_categories c ON c.code = d.category, box
                WHERE d.geom && box.geom
                  AND d.observed_at >= %(since)s AND d.observed_at < %(until)s
                  AND d.status <> 'dismissed'
                  AND (%(categories)s::text[] IS NULL OR d.category = ANY(%(categories)s)))
        SELECT coalesce(string_agg(float8send(ST_X(p.g)), ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(ST_Y(p.g)), ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(extract(epoch FROM p.observed_at)::float8),
                                   ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(p.severity::float8), ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(p.weight), ''::bytea), ''::bytea),
               coalesce(string_agg(p.category, ','), '')
        FROM pts p
        """,
        {
            "wkb": shapely.envelope(region).wkb,
            "srid": epsg,
            "margin": margin_m,
            "since": since,
            "until": until,
            "categories": categories or None,
        },
    ).fetchone()
    assert row is not None
    floats = unpack_float8
    epoch_s = floats(row[2])
    return PointSelection(
        area=area,
        area_name=str(region_row[2]),
        epsg=epsg,
        region=region,
        region_name=str(region_row[3]),
        x_m=floats(row[0]),
        y_m=floats(row[1]),
        observed_at=(epoch_s * 1e6).astype("datetime64[us]"),
        severity=floats(row[3]),
        weight=floats(row[4]),
        category=np.array(row[5].split(",") if row[5] else [], dtype=object),
    )


def export_deviations(
    conn: psycopg.Connection,
    *,
    area: str,
    since: datetime,
    until: datetime,
    with_descriptions: bool = False,
) -> Deviations:
    """The area's reports observed in ``[since, until)``, dismissed ones left out, as columns
    for an export.

    Reports leave the database here without reporter or organisation (the columns are never
    selected), and descriptions only when the caller asks for them (the detail profile with
    ``include_descriptions``).
    """
    area_id = areas.area_id(conn, area)
    description = "d.description" if with_descriptions else "NULL::text"
    # Packed float8 columns and one text per column (see `deviations.select_points`).
    row = conn.execute(
        f"""
        SELECT coalesce(string_agg(float8send(ST_X(d.geom)), ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(ST_Y(d.geom)), ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(extract(epoch FROM d.observed_at)::float8),
                                   ''::bytea), ''::bytea),
               coalesce(string_agg(float8send(d.severity::float8), ''::bytea), ''::bytea),
               coalesce(json_agg(d.category), '[]'), coalesce(json_agg(d.id), '[]'),
               coalesce(json_agg({description}), '[]')
        FROM deviations d
        WHERE d.area_id = %s AND d.observed_at >= %s AND d.observed_at < %s
          AND d.status <> 'dismissed'
        """,  # noqa: S608 (a constant column choice; the values are parameters)
        (area_id, since, until),
    ).fetchone()
    assert row is not None
    floats = unpack_float8
    epoch = floats(row[2])
    return Deviations(
        lon=floats(row[0]),
        lat=floats(row[1]),
        category=np.array(row[4], dtype=object),
        observed_at=(epoch * 1e6).astype("datetime64[us]"),
        severity=floats(row[3]).astype(np.int64),
        description=np.array(row[6], dtype=object) if with_descriptions else None,
        id=np.array(row[5], dtype=object),
    )
