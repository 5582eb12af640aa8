"""What coverage (`geo.coverage`) reads: the walked tracks of an area and period with their
timed points, the club and the local month of each walk, in the area's metric CRS."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import psycopg
import shapely

from geo.coverage import WalkTrack
from geo.db import areas
from geo.geometry import to_metric


def walk_tracks(
    conn: psycopg.Connection, *, area: str, since: datetime, until: datetime
) -> list[WalkTrack]:
    """Walks reported or approved, planned to start in ``[since, until)``, with a track, of
    the area (by the walk's area or a track that meets it), in SWEREF 99 TM."""
    aid, srid = areas.area_id(conn, area), None
    row = conn.execute("SELECT metric_srid FROM areas WHERE id = %s", (aid,)).fetchone()
    assert row is not None
    srid = int(row[0])
    rows = conn.execute(
        """
        SELECT w.id::text, o.name,
               to_char(w.planned_start AT TIME ZONE a.time_zone, 'YYYY-MM'),
               ST_AsBinary(w.track),
               coalesce(array_agg(extract(epoch FROM p.recorded_at)::float8
                                  ORDER BY p.recorded_at) FILTER (WHERE p.walk_id IS NOT NULL),
                        '{}'),
               coalesce(array_agg(ST_X(p.geom) ORDER BY p.recorded_at)
                        FILTER (WHERE p.walk_id IS NOT NULL), '{}'),
               coalesce(array_agg(ST_Y(p.geom) ORDER BY p.recorded_at)
                        FILTER (WHERE p.walk_id IS NOT NULL), '{}')
        FROM walks w JOIN organisations o ON o.id = w.organisation_id
             CROSS JOIN (SELECT geom, time_zone FROM areas WHERE id = %(aid)s) a
             LEFT JOIN walk_track_points p ON p.walk_id = w.id
        WHERE w.track IS NOT NULL AND w.status IN ('reported', 'approved')
          AND w.planned_start >= %(since)s AND w.planned_start < %(until)s
          AND (w.area_id = %(aid)s OR ST_Intersects(w.track, a.geom))
        GROUP BY w.id, o.name, a.time_zone, a.geom
        ORDER BY w.planned_start, w.id
        """,
        {"aid": aid, "since": since, "until": until},
    ).fetchall()
    out = []
    for walk_id, club, month, wkb, ts, lons, lats in rows:
        line = to_metric(shapely.from_wkb(bytes(wkb)), srid)
        if len(ts):
            pts = to_metric(shapely.multipoints(np.column_stack([lons, lats])), srid)
            xy = shapely.get_coordinates(pts)
        else:
            xy = np.zeros((0, 2))
        out.append(
            WalkTrack(
                walk_id=walk_id,
                club=str(club),
                month=str(month),
                line=line,
                t_s=np.asarray(ts, dtype=np.float64),
                x_m=xy[:, 0],
                y_m=xy[:, 1],
            )
        )
    return out
