"""Police event notices (polisen.se/api/events): reading the feed and placing each notice by the
place names in its text.

The feed's ``location.gps`` is the centre of the municipality (59.329324,18.068581 for
"Stockholm"), never the place of the event, so it is not used. A notice is placed at the level
its text supports and never as a precise point:

- ``junction``: two streets of the imported network written as ``A/B`` or "korsningen (mellan)
  A och B" that meet: a circle of `JUNCTION_RADIUS_M` around where they meet;
- ``place``: a named place (a station, a school, a library, a stop with a name of more than one
  word, e.g. "Älvsjö station"): a circle of `PLACE_RADIUS_M` around it;
- ``street``: a street of the imported network: a band of `STREET_BAND_M` along it (within the
  districts the notice names, when it names any);
- ``district``: a district (stadsdel) of the districts file: its polygon (several: their union).

The headline (title and summary) is read first; the body only when the headline names nothing
(and, when the headline names only districts, for a junction, place or street inside them).
A notice of another location than the municipality (``Stockholms län``: a county round-up, or a
name that may be a place elsewhere in the county) and a notice that names nothing of the
gazetteer stay *unplaced*, with the reason. Pure: notices and a `Gazetteer` in, placements out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely import Geometry, MultiPolygon, Point, Polygon
from shapely.ops import nearest_points

from geo.errors import InvalidInput
from geo.geometry import SWEREF99TM, WGS84, transformer

PLACE_RADIUS_M = 200.0
JUNCTION_RADIUS_M = 150.0
STREET_BAND_M = 75.0
# Two streets "meet" when their lines come this close (a junction drawn a few metres apart).
JUNCTION_GAP_M = 30.0
MUNICIPALITY = "Stockholm"
POLISEN = "https://polisen.se"
LEVELS_SV = {
    "district": "stadsdel",
    "place": "namngiven plats",
    "junction": "korsning",
    "street": "gata",
}
_LOCATIVE = re.compile(
    r"(?<![\w-])(?:vid|på|i|utanför|nära|närheten\s+av|höjd\s+med|mellan)\s+$", re.IGNORECASE
)
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2}):(\d{2})\s*([+-]\d{2}):?(\d{2})"
)


@dataclass(frozen=True)
class Notice:
    """One notice of the feed (or of an archive of it)."""

    id: int
    occurred_at: datetime
    event_type: str
    name: str
    summary: str
    url: str
    location_name: str
    location_gps: str
    body_text: str = ""

    @property
    def headline(self) -> str:
        return f"{self.name}. {self.summary}"

    def content_sha256(self) -> str:
        """A digest of what the notice says (a changed notice is updated, an equal one not)."""
        text = json.dumps(
            [
                self.occurred_at.isoformat(),
                self.event_type,
                self.name,
                self.summary,
                self.url,
                self.location_name,
                self.location_gps,
                self.body_text,
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Gazetteer:
    """The names a notice may be placed by, with their geometries in ``epsg`` (metric).

    ``districts``: name → polygon; ``places``: name → point; ``streets``: name → lines.
    """

    districts: Mapping[str, Geometry]
    places: Mapping[str, Geometry] = field(default_factory=dict)
    streets: Mapping[str, Geometry] = field(default_factory=dict)
    epsg: int = SWEREF99TM

    def pattern(self) -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
        """One regular expression of every name (longest first, so "Örby slott" wins over
        "Örby" and "Älvsjö station" over "Älvsjö"), and lower-case name → (kind, name).
        A district's name shadows a place or street of the same name."""
        kinds: dict[str, tuple[str, str]] = {}
        for kind, names in (
            ("street", self.streets),
            ("place", self.places),
            ("district", self.districts),
        ):
            for name in names:
                kinds[name.casefold()] = (kind, name)
        alternatives = sorted(kinds, key=len, reverse=True)
        body = "|".join(re.escape(n) for n in alternatives) or r"(?!x)x"
        # Not inside a word nor a hyphenated name ("Hägersten-Älvsjö" is the district
        # administration area, not the district Älvsjö).
        return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE), kinds


@dataclass(frozen=True)
class Placement:
    """Where a notice is placed: ``level`` and ``geometry`` (WGS 84 lon/lat), or neither and
    a ``reason``. ``districts`` are those it names (or, for a place or street named without a
    district, the district it lies in); ``label`` says what was matched ("Solberga",
    "Älvsjö station", "Armbandsvägen/Älvsjövägen")."""

    level: str | None
    geometry: MultiPolygon | None
    districts: tuple[str, ...]
    label: str | None
    reason: str | None = None

    @property
    def placed(self) -> bool:
        return self.level is not None


# -- reading the feed ------------------------------------------------------------------------


def parse_datetime(text: str) -> datetime:
    """The feed's ``datetime`` (``2023-03-27 7:27:57 +02:00``: the hour may lack its zero).

    >>> parse_datetime("2023-03-27 7:27:57 +02:00").isoformat()
    '2023-03-27T07:27:57+02:00'
    """
    m = _DATETIME.fullmatch(text.strip())
    if not m:
        raise InvalidInput(f"datetime {text!r} is not like 2023-03-27 07:27:57 +02:00")
    y, mo, d, h, mi, s, oh, om = m.groups()
    return datetime.fromisoformat(f"{y}-{mo}-{d}T{int(h):02d}:{mi}:{s}{oh}:{om}")


def _absolute_url(url: str) -> str:
    """The notice's page on polisen.se (the live feed gives a path, the archive a URL)."""
    url = url.strip()
    if url.startswith("/"):
        url = POLISEN + url
    if not url.startswith(POLISEN + "/"):
        raise InvalidInput(f"url {url!r} is not a page on polisen.se")
    return url


def parse_notices(data: Any) -> list[Notice]:
    """The notices of a feed document: the feed's list, or an archive's ``{"events": [...]}``
    (its ``api_location`` is the feed's ``location``; ``body_text`` is kept when present)."""
    events = data.get("events") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise InvalidInput("the file holds no list of events (the feed's format: a JSON list)")
    out = []
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            raise InvalidInput(f"event {i} is not an object")
        try:
            loc = e.get("location") or e.get("api_location") or {}
            out.append(
                Notice(
                    id=int(e["id"]),
                    occurred_at=parse_datetime(str(e["datetime"])),
                    event_type=str(e["type"]).strip(),
                    name=str(e.get("name") or "").strip(),
                    summary=str(e.get("summary") or "").strip(),
                    url=_absolute_url(str(e["url"])),
                    location_name=str(loc.get("name") or "").strip(),
                    location_gps=str(loc.get("gps") or "").strip(),
                    body_text=str(e.get("body_text") or "").strip(),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"event {i} lacks a field or has a bad value: {exc}") from None
    return out


# -- placing a notice ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    districts: list[str]
    places: list[str]
    streets: list[str]
    junctions: list[tuple[str, str]]

    @property
    def any(self) -> bool:
        return bool(self.districts or self.places or self.streets)


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _find(text: str, pattern: re.Pattern[str], kinds: dict[str, tuple[str, str]]) -> _Found:
    hits = []
    for m in pattern.finditer(text):
        if not m.group(0)[0].isupper():
            continue  # a proper noun starts with a capital letter
        kind, name = kinds[m.group(0).casefold()]
        hits.append((m.start(), m.end(), kind, name, bool(_LOCATIVE.search(text[: m.start()]))))
    streets = [h for h in hits if h[2] == "street"]
    junctions = []
    for a, b in zip(streets, streets[1:], strict=False):
        between = text[a[1] : b[0]]
        if a[4] and (
            re.fullmatch(r"\s*/\s*", between)
            or (re.fullmatch(r"\s+och\s+", between) and text[: a[0]].rstrip().endswith("mellan"))
        ):
            junctions.append((a[3], b[3]))
    return _Found(
        districts=_unique(h[3] for h in hits if h[2] == "district"),
        # A place or street says where only after a word of place ("vid Älvsjö station", "på
        # Älvsjövägen"), not after one of motion ("polisen åker till Älvsjö station").
        places=_unique(h[3] for h in hits if h[2] == "place" and h[4]),
        streets=_unique(h[3] for h in streets if h[4]),
        junctions=junctions,
    )


def _junction(gaz: Gazetteer, a: str, b: str) -> Geometry | None:
    la, lb = gaz.streets[a], gaz.streets[b]
    if shapely.distance(la, lb) > JUNCTION_GAP_M:
        return None
    pa, pb = nearest_points(la, lb)
    mid = Point((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)
    return mid.buffer(JUNCTION_RADIUS_M, 32)


def _refine(gaz: Gazetteer, found: _Found, within: Geometry | None) -> tuple[str, Geometry, str]:
    """The most precise level of what was found (junction, place, street), inside ``within``
    when given; raises LookupError when there is none."""
    near = within.buffer(100.0) if within is not None else None

    def inside(g: Geometry) -> bool:
        return near is None or bool(g.intersects(near))

    parts = [
        (f"{a}/{b}", g)
        for a, b in found.junctions
        if (g := _junction(gaz, a, b)) is not None and inside(g)
    ]
    if parts:
        return "junction", shapely.union_all([g for _, g in parts]), ", ".join(n for n, _ in parts)
    places = [(n, gaz.places[n]) for n in found.places if inside(gaz.places[n])]
    if places:
        geom = shapely.union_all([p.buffer(PLACE_RADIUS_M, 32) for _, p in places])
        return "place", geom, ", ".join(n for n, _ in places)
    streets = [(n, gaz.streets[n]) for n in found.streets if inside(gaz.streets[n])]
    if streets:
        band = shapely.union_all([s.buffer(STREET_BAND_M) for _, s in streets])
        if within is not None and not (clipped := band.intersection(within)).is_empty:
            band = clipped
        return "street", band, ", ".join(n for n, _ in streets)
    raise LookupError


def _multipolygon(geom: Geometry, epsg: int) -> MultiPolygon:
    lonlat = shapely.transform(
        geom, transformer(epsg, WGS84).transform, interleaved=False
    ).simplify(0.00001)
    polys = [g for g in shapely.get_parts(lonlat) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(polys)


def place_notice(notice: Notice, gaz: Gazetteer) -> Placement:
    """Where ``notice`` is placed, by the place names of its text (see the module's doc)."""
    if notice.location_name != MUNICIPALITY:
        return Placement(
            None,
            None,
            (),
            None,
            f"händelse för {notice.location_name or 'okänd plats'}, inte Stockholms kommun: "
            "ett ortnamn kan avse en annan plats i länet",
        )
    pattern, kinds = gaz.pattern()
    head = _find(notice.headline, pattern, kinds)
    body = _find(notice.body_text, pattern, kinds)
    found = head if head.any else body
    districts = found.districts
    within = shapely.union_all([gaz.districts[d] for d in districts]) if districts else None
    try:
        level, geom, label = _refine(gaz, found, within)
    except LookupError:
        try:
            if not (districts and found is head):
                raise
            # The headline names only districts: the body may say where in them.
            level, geom, label = _refine(gaz, body, within)
        except LookupError:
            if within is None:
                return Placement(
                    None, None, (), None, "texten nämner ingen stadsdel, plats eller gata"
                )
            level, geom, label = "district", within, ", ".join(districts)
    if not districts:
        centre = geom.representative_point()
        districts = [d for d, g in gaz.districts.items() if g.contains(centre)]
    return Placement(level, _multipolygon(geom, gaz.epsg), tuple(districts), label)
