"""A seeded generator of SYNTHETIC deviation histories for demos and tests.

Real deviation reports are personal data and never public, so the demo uses made-up reports
clustered around real places. Every generated report has ``synthetic=True`` and a description
that starts with ``SYNTETISK``, so it can never be mistaken for a real one.

The generator is pure: the same seed, clusters, polygon and end time give the same reports, with
the same UUIDs (UUID 5 of the seed and the report's index).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from shapely import Geometry, Point, contains_xy

from geo.geometry import DEFAULT_TIME_ZONE, SWEREF99TM, to_metric, transformer

STOCKHOLM = ZoneInfo(DEFAULT_TIME_ZONE)
SYNTHETIC_NAMESPACE = uuid.UUID("5f0c3a52-8d0e-4c36-9a8e-6e61747476a1")
SYNTHETIC_PREFIX = "SYNTETISK"
DESCRIPTION = f"{SYNTHETIC_PREFIX} demoavvikelse (genererad, inte en verklig rapport)"

# Relative frequency by weekday (Monday first): Friday and Saturday evenings peak.
WEEKDAY_WEIGHTS = np.array([0.7, 0.7, 0.8, 0.9, 1.9, 2.2, 0.9])
# Relative frequency by local hour: evenings and the hours after midnight.
HOUR_WEIGHTS = np.array(
    [
        2.2,
        1.6,
        1.0,
        0.5,
        0.2,
        0.1,
        0.1,
        0.2,
        0.3,
        0.3,
        0.3,
        0.4,
        0.5,
        0.5,
        0.6,
        0.8,
        1.0,
        1.2,
        1.6,
        2.2,
        3.0,
        3.4,
        3.4,
        2.8,
    ]
)
SEVERITY_WEIGHTS = np.array([0.6, 0.3, 0.1])


@dataclass(frozen=True)
class Cluster:
    """A place where synthetic reports concentrate.

    ``weight`` is the cluster's share relative to the others, ``spread_m`` the standard deviation
    of the distance from the centre in metres, ``categories`` the mix of category codes.
    """

    name: str
    lon: float
    lat: float
    weight: float
    spread_m: float
    categories: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SyntheticDeviation:
    id: uuid.UUID
    category: str
    observed_at: datetime
    reported_at: datetime
    severity: int
    status: str
    description: str
    lon: float
    lat: float


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return str(keys[int(rng.choice(len(keys), p=p / p.sum()))])


def _random_point_in(
    rng: np.random.Generator, polygon_m: Geometry, centre: tuple[float, float], spread_m: float
) -> tuple[float, float]:
    """A point around ``centre`` (Gaussian, metres) inside ``polygon_m``, or uniform when
    ``spread_m`` is 0."""
    minx, miny, maxx, maxy = polygon_m.bounds
    for _ in range(1000):
        if spread_m > 0:
            x, y = rng.normal(centre[0], spread_m), rng.normal(centre[1], spread_m)
        else:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if contains_xy(polygon_m, x, y):
            return float(x), float(y)
    raise ValueError(f"cannot place a point near {centre} inside the polygon")


def generate_deviations(
    clusters: list[Cluster],
    polygon: Geometry,
    *,
    end: datetime,
    days: int = 730,
    count: int = 3000,
    background_share: float = 0.12,
    background_categories: dict[str, float] | None = None,
    seed: int = 20230929,
) -> list[SyntheticDeviation]:
    """Generate ``count`` synthetic deviations over the ``days`` days before ``end``.

    Parameters
    ----------
    clusters
        Where reports concentrate; a report picks a cluster by its weight.
    polygon
        WGS 84 (multi)polygon that every report falls inside (e.g. the demo's districts).
    end
        The end of the history (timezone-aware); nothing is generated after it.
    background_share
        The share of reports spread uniformly over ``polygon`` instead of near a cluster.
    seed
        Seeds both the random numbers and the UUIDs: the same inputs give the same reports.
    """
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    rng = np.random.default_rng(seed)
    polygon_m = to_metric(polygon, SWEREF99TM)
    to_lonlat = transformer(SWEREF99TM, 4326)
    centres = [to_metric(Point(c.lon, c.lat), SWEREF99TM) for c in clusters]
    cluster_p = np.array([c.weight for c in clusters], dtype=float)
    cluster_p /= cluster_p.sum()
    background = background_categories or {"ovrigt": 1.0}

    # Day weights: the weekday pattern times a mild seasonal swing (more in summer and autumn).
    end_local = end.astimezone(STOCKHOLM)
    first_day = end_local.date() - timedelta(days=days)
    day_list = [first_day + timedelta(days=i) for i in range(days + 1)]
    day_w = np.array(
        [
            WEEKDAY_WEIGHTS[d.weekday()] * (1 + 0.3 * np.sin((d.timetuple().tm_yday - 100) / 58.1))
            for d in day_list
        ]
    )
    day_w /= day_w.sum()
    hour_p = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()

    out: list[SyntheticDeviation] = []
    i = 0
    while len(out) < count:
        i += 1
        day: date = day_list[int(rng.choice(len(day_list), p=day_w))]
        hour = int(rng.choice(24, p=hour_p))
        minute = int(rng.integers(0, 60))
        local = datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM)
        observed = local.astimezone(UTC)
        if rng.random() < background_share:
            x, y = _random_point_in(rng, polygon_m, (0.0, 0.0), 0.0)
            category = _pick(rng, background)
        else:
            k = int(rng.choice(len(clusters), p=cluster_p))
            c = clusters[k]
            x, y = _random_point_in(rng, polygon_m, (centres[k].x, centres[k].y), c.spread_m)
            category = _pick(rng, c.categories or background)
        severity = int(rng.choice(3, p=SEVERITY_WEIGHTS)) + 1
        if category == "hot_vald":
            severity = max(severity, 2)
        reported = observed + timedelta(minutes=int(rng.integers(1, 90)))
        if observed > end:
            continue  # the last day's evening may lie after `end`; draw again
        age_days = (end - observed).total_seconds() / 86400
        status = "new" if age_days < 7 else ("dismissed" if rng.random() < 0.06 else "confirmed")
        lon, lat = to_lonlat.transform(x, y)
        out.append(
            SyntheticDeviation(
                id=uuid.uuid5(SYNTHETIC_NAMESPACE, f"{seed}:{len(out)}"),
                category=category,
                observed_at=observed,
                reported_at=min(reported, end),
                severity=severity,
                status=status,
                description=DESCRIPTION,
                lon=round(float(lon), 7),
                lat=round(float(lat), 7),
            )
        )
    out.sort(key=lambda d: d.observed_at)
    return out
