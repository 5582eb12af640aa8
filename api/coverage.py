"""Coverage of the hot spots by the walks, for an area and period: shared by
``GET /api/v1/coverage`` and the meeting report (`api.meeting`), so both give the same figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from geo.analysis import HotspotParams, PointSelection, Window
from geo.coverage import Coverage, HotCell, coverage, significant_cells
from geo.db import deviations, place_names
from geo.db.coverage import walk_tracks
from geo.geometry import to_wgs84

HOT = HotspotParams()


def hot_spot_groups(cells: list[HotCell]) -> list[list[int]]:
    """The cells as hot spots: groups of cells that touch (edge or corner), as indexes."""
    parent = list(range(len(cells)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    polys = np.array([c.polygon for c in cells], dtype=object)
    tree = shapely.STRtree(polys)
    for i, j in zip(*tree.query(polys, predicate="intersects"), strict=True):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(cells)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def named_cells(conn: Any, cells: list[HotCell], *, epsg: int) -> list[HotCell]:
    """The cells with the name of their hot spot (touching cells are one), from the nearest
    place and street of its centre (`geo.db.place_names`)."""
    if not cells:
        return []
    groups = hot_spot_groups(cells)
    centres = to_wgs84(
        shapely.centroid(
            np.array([shapely.union_all([cells[i].polygon for i in g]) for g in groups])
        ),
        epsg,
    )
    labels = place_names.place_labels(conn, [(float(p.x), float(p.y)) for p in centres])
    name = {i: label for g, label in zip(groups, labels, strict=True) for i in g}
    return [HotCell(c.cell, c.polygon, c.cls, name[k]) for k, c in enumerate(cells)]


def compute(
    conn: Any, *, area: str, window: Window, selection: PointSelection | None = None
) -> tuple[Coverage, list[HotCell]]:
    """The coverage of the window's significant hot-spot cells (95 %) by the walks planned to
    start in it, and the named cells. ``selection`` (the reports the hot spots come from) is
    read when not given; the partner profile passes its own (cells of at least 3 reports)."""
    if selection is None:
        selection = deviations.select_points(
            conn, area=area, since=window.since, until=window.until
        )
    cells = named_cells(conn, significant_cells(selection, window, HOT), epsg=selection.epsg)
    walks = walk_tracks(conn, area=area, since=window.since, until=window.until)
    return coverage(cells, walks), cells


def coverage_json(cov: Coverage, cells: list[HotCell], *, epsg: int) -> dict[str, Any]:
    """The figures and every cell with its name, class, centre (lon/lat) and whether a walk
    reached it (for the planners' map)."""
    out = cov.describe()
    centres = (
        to_wgs84(shapely.centroid(np.array([c.polygon for c in cells])), epsg) if cells else []
    )
    out["hotspots"] = [
        {
            "cell": c.cell,
            "name": c.name,
            "class": c.cls,
            "reached": c.cell in cov.reached,
            "lon": round(float(p.x), 6),
            "lat": round(float(p.y), 6),
        }
        for c, p in zip(cells, centres, strict=True)
    ]
    return out
