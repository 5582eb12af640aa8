"""The query parameters of the feature service, read strictly: OGC API – Features Part 1 asks
for a 400 for a parameter the server does not know and for a value it cannot read
(``/req/core/query-param-unknown``, ``/req/core/query-param-invalid``).

>>> parse_datetime("2025-01-01T00:00:00Z/..").end is None
True
>>> parse_datetime("2025-01-31").start.isoformat()  # a date: a day of Stockholm's clock
'2025-01-30T23:00:00+00:00'
>>> parse_limit("20000")
5000
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from geo.errors import NattvandringError
from geo.geometry import DEFAULT_TIME_ZONE

_LOCAL = ZoneInfo(DEFAULT_TIME_ZONE)
DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
"""The largest page: a larger ``limit`` is taken as this one, as Part 1 permits."""
COMMON_PARAMS = frozenset({"f"})
ITEMS_PARAMS = frozenset({"f", "bbox", "bbox-crs", "crs", "datetime", "limit", "offset"})


class BadQuery(NattvandringError):
    """A query parameter the service does not know, or a value it cannot read (400)."""

    code = "bad_query"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Interval:
    """A closed time interval; None at an open end. An instant has ``start == end``."""

    start: datetime | None
    end: datetime | None

    def until_exclusive(self) -> datetime | None:
        """The end as an exclusive bound (the store's ``until``), one microsecond after it."""
        return None if self.end is None else self.end + timedelta(microseconds=1)


def check_known(params: Iterable[str], allowed: Iterable[str]) -> None:
    """A 400 for the first parameter not in ``allowed``, naming those that are."""
    known = set(allowed)
    for name in params:
        if name not in known:
            raise BadQuery(
                f"unknown query parameter {name!r}; this resource takes "
                f"{', '.join(sorted(known)) or 'none'}",
                field=name,
            )


def single(params: Mapping[str, list[str]], name: str) -> str | None:
    """The one value of ``name`` (None without it); a 400 when it is given twice."""
    values = params.get(name) or []
    if len(values) > 1:
        raise BadQuery(f"{name} may be given once", field=name)
    return values[0] if values else None


def _instant(text: str, *, end: bool) -> datetime:
    """An RFC 3339 date-time (with a zone), or a date: its first (or, at an end, last) instant,
    a date being a day of the service's wall clock (`DEFAULT_TIME_ZONE`: Stockholm's), as the
    rest of the service counts days."""
    value = text.strip()
    try:
        if "T" not in value.upper() and len(value) == 10:
            day = datetime.fromisoformat(value).date()
            moment = datetime.combine(day, time.max if end else time.min, _LOCAL)
            return moment.astimezone(UTC)
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise BadQuery(
            f"datetime: {text!r} is not an RFC 3339 date-time (2025-01-31T20:00:00Z) or date",
            field="datetime",
        ) from None
    if moment.tzinfo is None:
        raise BadQuery("datetime: a date-time needs its zone (Z or +01:00)", field="datetime")
    return moment


def parse_datetime(text: str) -> Interval:
    """``datetime``: an instant, a date, or an interval ``start/end`` with ``..`` or nothing
    for an open end."""
    if "/" not in text:
        if len(text.strip()) == 10:  # a whole day
            return Interval(_instant(text, end=False), _instant(text, end=True))
        moment = _instant(text, end=False)
        return Interval(moment, moment)
    parts = text.split("/")
    if len(parts) != 2:
        raise BadQuery("datetime: an interval is start/end", field="datetime")
    lo, hi = (p.strip() for p in parts)
    start = None if lo in ("", "..") else _instant(lo, end=False)
    end = None if hi in ("", "..") else _instant(hi, end=True)
    if start is None and end is None:
        raise BadQuery("datetime: an interval needs at least one end", field="datetime")
    if start is not None and end is not None and start > end:
        raise BadQuery("datetime: the start must not be after the end", field="datetime")
    return Interval(start, end)


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise BadQuery(f"limit must be a whole number; got {text!r}", field="limit") from None
    if value < 1:
        raise BadQuery("limit must be at least 1", field="limit")
    return min(value, MAX_LIMIT)


def parse_offset(text: str | None) -> int:
    if text is None:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise BadQuery(f"offset must be a whole number; got {text!r}", field="offset") from None
    if value < 0:
        raise BadQuery("offset must not be negative", field="offset")
    return value


def parse_bbox_values(text: str) -> tuple[float, float, float, float]:
    """Four numbers (a 2D box; a 3D box of six is not offered)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise BadQuery(
            f"bbox must be four numbers (lower left, upper right); got {len(parts)}", field="bbox"
        )
    try:
        a, b, c, d = (float(p) for p in parts)
    except ValueError:
        raise BadQuery(f"bbox must be four numbers; got {text!r}", field="bbox") from None
    if not all(abs(v) < 1e8 for v in (a, b, c, d)):
        raise BadQuery("bbox must be finite numbers", field="bbox")
    if a > c or b > d:
        raise BadQuery("bbox: the lower corner must come before the upper one", field="bbox")
    return a, b, c, d
