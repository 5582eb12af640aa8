"""The seeded generator of synthetic deviations (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from shapely import Point

from geo.geometry import to_metric, to_wgs84
from geo.synthetic import Cluster, generate_deviations

SQUARE = to_wgs84(to_metric(Point(18.0, 59.28)).buffer(2000, cap_style="square"))
CLUSTERS = [
    Cluster("a", 18.0, 59.28, 3.0, 100, {"narkotika": 1}),
    Cluster("b", 18.01, 59.285, 1.0, 100, {"skadegorelse": 1}),
]
END = datetime(2026, 11, 1, tzinfo=UTC)


def test_same_seed_same_reports_other_seed_other_reports() -> None:
    a = generate_deviations(CLUSTERS, SQUARE, end=END, count=200, seed=1)
    b = generate_deviations(CLUSTERS, SQUARE, end=END, count=200, seed=1)
    c = generate_deviations(CLUSTERS, SQUARE, end=END, count=200, seed=2)
    assert a == b
    assert {d.id for d in a}.isdisjoint({d.id for d in c})


def test_reports_fall_inside_the_polygon_and_period() -> None:
    devs = generate_deviations(CLUSTERS, SQUARE, end=END, days=30, count=300, seed=3)
    assert len(devs) == 300
    assert all(SQUARE.contains(Point(d.lon, d.lat)) for d in devs)
    assert all(0 <= (END - d.observed_at).days <= 31 for d in devs)
    assert all(d.observed_at <= d.reported_at <= END for d in devs)


def test_clusters_get_reports_by_weight() -> None:
    devs = generate_deviations(CLUSTERS, SQUARE, end=END, count=2000, background_share=0, seed=4)
    a = sum(1 for d in devs if d.category == "narkotika")
    b = sum(1 for d in devs if d.category == "skadegorelse")
    assert a + b == 2000
    assert 2.4 < a / b < 3.7  # weights 3:1
