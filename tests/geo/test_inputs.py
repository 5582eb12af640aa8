"""The input models on their own: no database, no HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from geo.errors import InvalidInput
from geo.inputs import (
    MAX_VERTICES,
    DeviationReport,
    PlanRequest,
    WalkRoute,
    Zone,
    body_digest,
    route_from_points,
)

NOW = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)


def report(**props: Any) -> dict[str, Any]:
    coords = props.pop("coordinates", [18.0104, 59.2786])
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": {
            "id": "0b8f5a52-7c1e-4f7e-9d55-3d1c2f6a9e10",
            "category": "brand",
            "observed_at": "2026-11-20T22:15:00+01:00",
            "severity": 2,
            **props,
        },
    }


def error(model: Any, data: Any, **context: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data, context=context or None)
    first: dict[str, Any] = info.value.errors()[0]
    return first


def test_a_report_is_normalised() -> None:
    r = DeviationReport.model_validate(
        report(description="  Krossad ruta  ", accuracy_m=5), context={"now": NOW}
    )
    assert r.properties.observed_at == datetime(2026, 11, 20, 21, 15, tzinfo=UTC)
    assert r.properties.description == "Krossad ruta" and r.properties.accuracy_m == 5.0
    assert (r.lon, r.lat) == (18.0104, 59.2786)
    assert r.properties.id == uuid.UUID("0b8f5a52-7c1e-4f7e-9d55-3d1c2f6a9e10")


@pytest.mark.parametrize(
    ("change", "code", "loc", "fragment"),
    [
        ({"observed_at": "2026-11-20T23:00:00+01:00"}, "time_in_future", "observed_at", "clock"),
        ({"observed_at": "2026-10-01T22:00:00+01:00"}, "time_too_old", "observed_at", "30 days"),
        ({"description": "é" * 2001}, "too_long", "description", "2001 characters"),
        ({"coordinates": [59.2786, 95.0]}, "lonlat_swapped", "geometry", "[latitude, longitude]"),
        ({"coordinates": [200.0, 95.0]}, "value_error", "geometry", "out of range"),
        ({"coordinates": [18.0, True]}, "value_error", "geometry", "[longitude, latitude]"),
        ({"severity": True}, "value_error", "severity", "1, 2 or 3"),
        ({"walk_id": "walk-1"}, "value_error", "walk_id", "UUID"),
        ({"colour": "red"}, "value_error", "properties", "unknown properties ['colour']"),
    ],
)
def test_report_errors(change: dict[str, Any], code: str, loc: str, fragment: str) -> None:
    e = error(DeviationReport, report(**change), now=NOW)
    assert e["type"] == code and e["loc"][-1] == loc and fragment in e["msg"], e


def test_a_feature_is_needed() -> None:
    for body in ({"type": "Point"}, [], "Feature"):
        e = error(DeviationReport, body)
        assert "GeoJSON Feature" in e["msg"] and e["loc"] == ()
    e = error(DeviationReport, {**report(), "crs": {"type": "name"}}, now=NOW)
    assert "unknown member(s) ['crs']" in e["msg"]
    point_crs = report()
    point_crs["geometry"]["crs"] = {"type": "name"}
    assert "without a 'crs'" in error(DeviationReport, point_crs, now=NOW)["msg"]


def line(coords: list[list[float]], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"name": "Kvällsrundan", **props},
    }


def test_routes() -> None:
    r = WalkRoute.model_validate(
        line([[17.98, 59.28, 12.0], [17.99, 59.28]], notes=None, id=7, length_m=3)
    )
    assert r.coords == [(17.98, 59.28), (17.99, 59.28)] and r.notes == "" and r.source() == "drawn"
    assert "id" not in r.properties.model_dump()  # read-only members are ignored
    too_many = [[17.98 + i * 1e-6, 59.28] for i in range(MAX_VERTICES + 1)]
    assert "at most 10,000 positions" in error(WalkRoute, line(too_many))["msg"]
    assert "no length" in error(WalkRoute, line([[17.98, 59.28], [17.98, 59.28]]))["msg"]
    assert "position 1" in error(WalkRoute, line([[17.98, 59.28], [17.98, 95.0]]))["msg"]
    assert error(WalkRoute, line([[17.98, 59.28], [17.99, 59.28]], source="fax"))["loc"] == (
        "properties",
        "source",
    )
    with pytest.raises(InvalidInput) as info:
        route_from_points([(17.98, 59.28)], name="GPX", area=None, source="gpx")
    assert info.value.field == "geometry" and "two positions" in str(info.value)


def test_zones() -> None:
    ring = [[17.98, 59.282], [17.985, 59.282], [17.985, 59.285], [17.98, 59.282]]
    z = Zone.model_validate(
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": " Zon "},
        }
    )
    assert z.properties.name == "Zon" and z.shape.geom_type == "Polygon"
    bowtie = [[17.98, 59.282], [17.985, 59.285], [17.985, 59.282], [17.98, 59.285], [17.98, 59.282]]
    e = error(
        Zone,
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [bowtie]},
            "properties": {"name": "x"},
        },
    )
    assert "not valid" in e["msg"] and e["loc"] == ("geometry",)


def test_plan_requests() -> None:
    base = {"area": "solberga", "start": {"place_id": 3}}
    assert PlanRequest.model_validate({**base, "duration_min": 90}).budget_min == 90
    window = {"start_at": "2026-11-27T20:00:00+01:00", "end_at": "2026-11-27T23:00:00+01:00"}
    assert PlanRequest.model_validate({**base, **window}).budget_min == 180
    assert (
        "time zone"
        in error(PlanRequest, {**base, "duration_min": 9, "since": "2026-01-01T00:00"})["msg"]
    )
    assert (
        "between 1900 and 2200"
        in error(PlanRequest, {**base, "duration_min": 9, "until": "0001-01-02T00:00Z"})["msg"]
    )


def test_the_digest_is_of_the_content() -> None:
    a = DeviationReport.model_validate(report(), context={"now": NOW})
    same = report(coordinates=[18.01040000004, 59.2786])
    same["properties"] = dict(reversed(list(same["properties"].items())))
    same["properties"]["observed_at"] = "2026-11-20T21:15:00Z"  # the same time, in UTC
    b = DeviationReport.model_validate(same, context={"now": NOW})
    assert body_digest(a) == body_digest(b)
    c = DeviationReport.model_validate(report(severity=3), context={"now": NOW})
    assert body_digest(a) != body_digest(c)
    assert len(body_digest(a)) == 64
    # Members that are ignored do not count.
    r1 = WalkRoute.model_validate(line([[17.98, 59.28], [17.99, 59.28]]))
    r2 = WalkRoute.model_validate(line([[17.98, 59.28], [17.99, 59.28]], id=3, version=2))
    assert body_digest(r1) == body_digest(r2)


def test_the_clock_is_checked_against_now() -> None:
    old = report(observed_at=(datetime.now(UTC) - timedelta(days=31)).isoformat())
    assert error(DeviationReport, old)["type"] == "time_too_old"
