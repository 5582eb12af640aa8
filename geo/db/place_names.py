"""Names for places on a map: a hot spot is "vid Älvsjö station / Götalandsvägen", from the
nearest named place and the nearest street, not from its coordinates.

The street comes from the imported network (`street_edges.name`); where the network does not
reach, from a stop named after its street (many bus stops are: "Götalandsvägen"). The place is
the nearest station, school, library, stop or other named place within `PLACE_WITHIN_M`, a
station or school winning over a nearer stop (people give directions by them).
"""

from __future__ import annotations

import re

import psycopg

PLACE_WITHIN_M = 300.0
STREET_WITHIN_M = 150.0
# Names of streets, squares and paths: a stop named so names its street, not a place.
STREET_NAME = r"(vägen|väg|gatan|gata|gränd|leden|backen|stigen|plan|torg|allén|vägen nedre)$"
# Names the POI file gives where OSM has none (its category): no help for finding a place.
GENERIC = ("Lekplats", "Utegym", "Restaurang", "Snabbmat", "Café", "Kafé")


def name_text(place: str | None, street: str | None, lon: float, lat: float) -> str:
    """``vid Älvsjö station / Götalandsvägen``, ``vid Älvsjö station``, ``vid Götalandsvägen``,
    or the coordinates when nothing is near.

    >>> name_text("Älvsjö station", "Götalandsvägen", 18.0, 59.27)
    'vid Älvsjö station / Götalandsvägen'
    >>> name_text(None, None, 18.00741, 59.27779)
    'ruta vid 59.2778 N, 18.0074 Ö'
    """
    if place and street and place.casefold() != street.casefold():
        return f"vid {place} / {street}"
    if place or street:
        return f"vid {place or street}"
    return f"ruta vid {lat:.4f} N, {lon:.4f} Ö"


def nearest_names(
    conn: psycopg.Connection, points: list[tuple[float, float]]
) -> list[tuple[str | None, str | None]]:
    """The nearest named place and street of each lon/lat point (None where none is near)."""
    out: list[tuple[str | None, str | None]] = []
    for lon, lat in points:
        pt = {
            "lon": lon,
            "lat": lat,
            "pw": PLACE_WITHIN_M,
            "sw": STREET_WITHIN_M,
            "street": STREET_NAME,
            "generic": list(GENERIC),
        }
        place = conn.execute(
            """
            SELECT name FROM places,
                 LATERAL (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography) q(g)
            WHERE ST_DWithin(geom::geography, q.g, %(pw)s) AND kind <> 'meeting_point'
              AND NOT (kind = 'stop' AND name ~* %(street)s) AND NOT name = ANY(%(generic)s)
            ORDER BY ST_Distance(geom::geography, q.g)
                     - CASE kind WHEN 'station' THEN 150 WHEN 'school' THEN 100
                                 WHEN 'library' THEN 100 WHEN 'stop' THEN 60
                                 WHEN 'playground' THEN 20 WHEN 'sport' THEN 20 ELSE 0 END, id
            LIMIT 1
            """,
            pt,
        ).fetchone()
        street = conn.execute(
            """
            SELECT name FROM (
                SELECT e.name, ST_Distance(e.geom::geography, q.g) AS d, 0 AS pref
                FROM street_edges e,
                     LATERAL (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)
                              ::geography) q(g)
                WHERE e.name IS NOT NULL
                  -- The GiST index first: 0.004° is more than 150 m in any direction here.
                  AND e.geom && ST_Expand(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 0.004)
                  AND ST_DWithin(e.geom::geography, q.g, %(sw)s)
                UNION ALL
                SELECT p.name, ST_Distance(p.geom::geography, q.g), 1
                FROM places p,
                     LATERAL (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)
                              ::geography) q(g)
                WHERE p.kind = 'stop' AND p.name ~* %(street)s
                  AND ST_DWithin(p.geom::geography, q.g, %(pw)s)
            ) s ORDER BY pref, d LIMIT 1
            """,
            pt,
        ).fetchone()
        out.append((str(place[0]) if place else None, str(street[0]) if street else None))
    return out


def place_labels(conn: psycopg.Connection, points: list[tuple[float, float]]) -> list[str]:
    """`name_text` of each lon/lat point: the names of hot spots in the report and the API."""
    return [
        name_text(p, s, lon, lat)
        for (p, s), (lon, lat) in zip(nearest_names(conn, points), points, strict=True)
    ]


def street_like(name: str) -> bool:
    """Whether a name is a street's (``Götalandsvägen``) rather than a place's.

    >>> street_like("Götalandsvägen"), street_like("Älvsjö station")
    (True, False)
    """
    return re.search(STREET_NAME, name, re.IGNORECASE) is not None
