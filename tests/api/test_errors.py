"""Errors through the API: a code the pages can match, a location that names the field, and a
4xx (never a 500) for input that reaches the pure computations."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient


def report(coordinates: list[float] | None = None, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coordinates or [18.0104, 59.2786]},
        "properties": {
            "id": str(uuid.uuid4()),
            "category": "brand",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "severity": 2,
            **props,
        },
    }


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("body", "code", "loc"),
    [
        # Swapped, found by the database: [lat, lon] of Älvsjö lies in no area, [lon, lat] does.
        (report([59.2786, 18.0104]), "lonlat_swapped", ["body", "geometry"]),
        # Swapped, found by range alone: no latitude is 95.
        (report([18.01, 95.0]), "lonlat_swapped", ["body", "geometry"]),
        (report([11.97, 57.70]), "far_from_areas", ["body", "geometry"]),
        (
            report(observed_at=(NOW + timedelta(hours=1)).isoformat()),
            "time_in_future",
            ["body", "properties", "observed_at"],
        ),
        (
            report(observed_at=(NOW - timedelta(days=40)).isoformat()),
            "time_too_old",
            ["body", "properties", "observed_at"],
        ),
        (report(category="ufo"), "unknown_category", ["body", "properties", "category"]),
        (report(description="x" * 2001), "too_long", ["body", "properties", "description"]),
        (report(severity=7), "value_error", ["body", "properties", "severity"]),
    ],
)
def test_report_errors_carry_the_code_the_pages_match(
    client: TestClient,
    signed_in: Callable[[str], dict[str, str]],
    body: dict[str, Any],
    code: str,
    loc: list[str],
) -> None:
    r = client.post("/api/v1/deviations", json=body, headers=signed_in("walker"))
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert (item["type"], item["loc"]) == (code, loc)
    assert item["msg"] and "input" not in item
    if code == "too_long":
        assert item["ctx"] == {"max_length": 2000, "length": 2001}


def test_route_and_zone_errors_name_their_field(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    h = signed_in("planner")
    far = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[11.97, 57.70], [11.98, 57.70]]},
        "properties": {"name": "Göteborg"},
    }
    r = client.post("/api/v1/routes", json=far, headers=h)
    item = r.json()["detail"][0]
    assert r.status_code == 422 and (item["type"], item["loc"]) == (
        "far_from_areas",
        ["body", "geometry"],
    )
    long_name = {**far, "properties": {"name": "x" * 201}}
    item = client.post("/api/v1/routes", json=long_name, headers=h).json()["detail"][0]
    assert (item["type"], item["loc"]) == ("too_long", ["body", "properties", "name"])
    # A PUT without the version it changes.
    near = {
        **far,
        "geometry": {"type": "LineString", "coordinates": [[17.9837, 59.2838], [17.984, 59.2833]]},
    }
    created = client.post("/api/v1/routes", json=near, headers=h).json()
    item = client.put(f"/api/v1/routes/{created['id']}", json=near, headers=h).json()["detail"][0]
    assert item["loc"] == ["body", "properties", "version"]
    # The header, the query and the path are named as such.
    item = client.post("/api/v1/zones", json=near, headers={**h, "Idempotency-Key": "x"}).json()[
        "detail"
    ][0]
    assert item["loc"] == ["header", "Idempotency-Key"]
    item = client.get("/api/v1/deviations", params={"category": "ufo"}, headers=h).json()
    assert item["detail"][0]["loc"] == ["query", "category"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        # The previous period of one starting in year 1 would start before datetime's year 1.
        (
            "/api/v1/heatmap",
            {
                "since": "0001-01-01T00:00:00Z",
                "until": "0001-06-01T00:00:00Z",
                "compare": "previous",
            },
        ),
        (
            "/api/v1/hotspots",
            {
                "since": "0001-01-01T00:00:00Z",
                "until": "0001-06-01T00:00:00Z",
                "compare": "previous",
            },
        ),
        ("/api/v1/heatmap", {"since": "9999-12-01T00:00:00Z", "until": "9999-12-31T00:00:00Z"}),
        # The day after the last one would be in year 10000.
        ("/api/v1/exports/meeting", {"since": "9999-12-01", "until": "9999-12-31"}),
        ("/api/v1/exports/meeting/preview", {"since": "9999-12-01", "until": "9999-12-31"}),
        ("/api/v1/heatmap", {"hours": "25-3"}),
        ("/api/v1/heatmap", {"cell_m": "nan"}),
        ("/api/v1/deviations", {"bbox": "nan,nan,nan,nan"}),
    ],
)
def test_odd_queries_are_a_4xx(
    client: TestClient,
    signed_in: Callable[[str], dict[str, str]],
    path: str,
    params: dict[str, str],
) -> None:
    r = client.get(path, params=params, headers=signed_in("planner"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize(
    "change",
    [
        {"until": "0001-01-02T00:00:00Z"},  # the default period starts 90 days before
        {"start_at": "9999-12-31T22:00:00Z", "end_at": "9999-12-31T23:30:00Z"},
        {"start": {"type": "Point", "coordinates": [1e308, 1e308]}},
        {"days": "someday"},
    ],
)
def test_odd_plan_requests_are_a_4xx(
    client: TestClient, signed_in: Callable[[str], dict[str, str]], change: dict[str, Any]
) -> None:
    body = {
        "area": "solberga",
        "start": {"type": "Point", "coordinates": [18.0104, 59.2786]},
        "duration_min": 60,
        **change,
    }
    r = client.post("/api/v1/route-plans", json=body, headers=signed_in("planner"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "body"
