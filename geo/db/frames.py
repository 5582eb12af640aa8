"""Layers as GeoDataFrames for analysts: deviations, areas, zones, places and walk routes.

Each function takes a connection and returns a `geopandas.GeoDataFrame` in EPSG:4326 with one
row per feature that the API returns for the same filters, in the API's order and with its
property names as columns. The rows come from the store functions the API calls
(`geo.db.deviations.list_features`, `geo.db.areas.zones_geojson`, …), so the filters, the errors
for unknown areas or categories and, for deviations, the viewer rules are the API's: nothing
here writes SQL of its own. Times are pandas timestamps in UTC. The README's "Layers as
GeoDataFrames" has an example.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg

# The modules under private names: this module's public functions take their names.
from geo.db import areas as _areas
from geo.db import deviations as _deviations
from geo.db import walk_routes as _walk_routes
from geo.db.deviations import Viewer
from geo.geometry import BBox

CRS = "EPSG:4326"
# The properties of `deviations.list_features` for a list (``reporters=False``): who
# reported and their organisation are personal data that a frame never carries (the API gives
# them to planners only on request, with an audit row). ``description`` follows the viewer
# rules: planners and admins see all, walkers their own organisation's; partners read no single
# report (`Forbidden`).
DEVIATION_COLUMNS = (
    "id",
    "category",
    "category_sv",
    "colour",
    "observed_at",
    "reported_at",
    "severity",
    "status",
    "area",
    "accuracy_m",
    "walk_id",
    "synthetic",
    "description",
)
AREA_COLUMNS = ("slug", "name", "kind", "metric_crs", "time_zone", "area_km2", "source")
ZONE_COLUMNS = ("slug", "name", "area", "description", "illustrative", "version")
PLACE_COLUMNS = ("id", "name", "kind", "area", "source", "opens", "closes", "hours_source")
WALK_ROUTE_COLUMNS = (
    "id",
    "name",
    "area",
    "notes",
    "version",
    "source",
    "length_m",
    "plan",
    "waypoints",
    "created_at",
    "updated_at",
)
# Column dtypes where the JSON values alone would not say (nullable where the column may be
# null); the rest stay as pandas infers them.
_DTYPES: dict[str, str] = {
    "severity": "Int64",
    "accuracy_m": "Float64",
    "synthetic": "boolean",
    "illustrative": "boolean",
    "version": "Int64",
    "area_km2": "Float64",
    "length_m": "Float64",
}
_TIMES = ("observed_at", "reported_at", "created_at", "updated_at")


def _frame(features: list[dict[str, Any]], columns: Sequence[str]) -> gpd.GeoDataFrame:
    """GeoJSON Features as a GeoDataFrame with exactly ``columns`` and ``geometry``, also when
    there are no features (a property left out of a Feature is a missing value)."""
    frame = gpd.GeoDataFrame.from_features(features, crs=CRS, columns=[*columns, "geometry"])
    for name in columns:
        if name in _TIMES:
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
        elif name in _DTYPES:
            frame[name] = frame[name].astype(_DTYPES[name])
    return frame


def _collection(text: str, columns: Sequence[str]) -> gpd.GeoDataFrame:
    return _frame(json.loads(text)["features"], columns)


def deviations(
    conn: psycopg.Connection,
    *,
    viewer: Viewer,
    area: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    categories: list[str] | None = None,
    statuses: list[str] | None = None,
    bbox: BBox | None = None,
) -> gpd.GeoDataFrame:
    """Deviation reports as ``viewer`` may see them, newest first: ``GET /api/v1/deviations``
    with the same filters, every match on one frame (no paging).

    Parameters
    ----------
    viewer
        Who reads (role and organisation): decides ``description``, as in the API.
    area
        An area slug; `geo.errors.NotFound` when there is none.
    since, until
        Observed in ``[since, until)``; timezone-aware.
    categories, statuses
        Category codes and statuses (``new``, ``confirmed``, ``dismissed``) to keep.
    bbox
        Reports inside this box (lon/lat).

    Returns
    -------
    geopandas.GeoDataFrame
        `DEVIATION_COLUMNS` and the point ``geometry`` (EPSG:4326); never a reporter.
    """
    page = _deviations.list_features(
        conn,
        viewer=viewer,
        reporters=False,
        bbox=bbox,
        area=area,
        since=since,
        until=until,
        categories=categories,
        statuses=statuses,
        limit=None,
    )
    return _frame(json.loads(page.geojson)["features"], DEVIATION_COLUMNS)


def areas(conn: psycopg.Connection, *, bbox: BBox | None = None) -> gpd.GeoDataFrame:
    """Districts (``GET /api/v1/areas``): `AREA_COLUMNS` and the outline, by name."""
    return _collection(_areas.areas_geojson(conn, bbox=bbox), AREA_COLUMNS)


def zones(
    conn: psycopg.Connection, *, area: str | None = None, bbox: BBox | None = None
) -> gpd.GeoDataFrame:
    """Collaboration zones (``GET /api/v1/zones``): `ZONE_COLUMNS` and the polygon, by name."""
    return _collection(_areas.zones_geojson(conn, bbox=bbox, area=area), ZONE_COLUMNS)


def places(
    conn: psycopg.Connection,
    *,
    area: str | None = None,
    kinds: list[str] | None = None,
    bbox: BBox | None = None,
) -> gpd.GeoDataFrame:
    """Places (``GET /api/v1/places``): `PLACE_COLUMNS` and the point, by kind and name."""
    return _collection(
        _areas.places_geojson(conn, bbox=bbox, area=area, kinds=kinds), PLACE_COLUMNS
    )


def walk_routes(conn: psycopg.Connection, *, area: str | None = None) -> gpd.GeoDataFrame:
    """Walk routes (``GET /api/v1/routes``): `WALK_ROUTE_COLUMNS` and the line, by name."""
    return _collection(_walk_routes.list_routes(conn, area=area), WALK_ROUTE_COLUMNS)
