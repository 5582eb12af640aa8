"""Layers as GeoDataFrames (`geo.db.frames`) on the session's PostGIS with the demo loaded: the
same rows as the API for the same filters, and the API's viewer rules."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from geo.db import frames
from geo.db.accounts import User, add_user
from geo.db.demo import LoadReport
from geo.db.deviations import Viewer
from geo.errors import Forbidden, InvalidParameter, NotFound
from geo.geometry import BBox

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)
SINCE = NOW - timedelta(days=60)
UNTIL = NOW + timedelta(days=1)
OWN_TEXT = "Klotter på perrongen, Kanariefågeln såg det"
OTHER_TEXT = "Trasig lampa vid Solbergaskolan, Anna Andersson ringde"


@pytest.fixture()
def users(conn: psycopg.Connection) -> dict[str, User]:
    return {
        "walker": add_user(
            conn, "f-walker@example.org", PASSWORD, role="walker", organisation="Älvsjö AIK"
        ),
        "other": add_user(
            conn, "f-other@example.org", PASSWORD, role="walker", organisation="Södra Folkparken"
        ),
        "planner": add_user(
            conn, "f-planner@example.org", PASSWORD, role="planner", organisation="Stadsdelen"
        ),
        "partner": add_user(
            conn, "f-partner@example.org", PASSWORD, role="partner", organisation="Polisen"
        ),
    }


@pytest.fixture()
def headers(client: TestClient, users: dict[str, User]) -> Callable[[str], dict[str, str]]:
    def of(who: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/auth/token", data={"username": users[who].email, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return of


@pytest.fixture()
def reported(client: TestClient, headers: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """Two reports by walkers of two clubs, with descriptions; who → report id."""
    ids = {}
    for who, text, lonlat in (
        ("walker", OWN_TEXT, [18.0104, 59.2786]),
        ("other", OTHER_TEXT, [18.0062, 59.2903]),
    ):
        ids[who] = str(uuid.uuid4())
        body = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": lonlat},
            "properties": {
                "id": ids[who],
                "category": "skadegorelse",
                "observed_at": (NOW - timedelta(hours=2)).isoformat(),
                "severity": 2,
                "description": text,
            },
        }
        r = client.post("/api/v1/deviations", json=body, headers=headers(who))
        assert r.status_code == 201, r.text
    return ids


def _viewer(user: User) -> Viewer:
    return Viewer.of(user)


def _api_list(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/v1/deviations", params={**params, "limit": 5000}, headers=headers)
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["numberMatched"] == fc["numberReturned"]  # the whole list on one page
    return list(fc["features"])


def _same_rows(frame: pd.DataFrame, features: list[dict[str, Any]], columns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """The frame holds the features' properties row by row, in order, and their geometries."""
    assert len(frame) == len(features)
    for (_, row), feature in zip(frame.iterrows(), features, strict=True):
        props = feature["properties"]
        assert set(props) <= set(columns)  # no property of the API's is missing from the frame
        for name in columns:
            value, expected = row[name], props.get(name)
            if expected is None:
                assert value is None or pd.isna(value), (name, value)
            elif name.endswith("_at"):
                assert value == pd.Timestamp(expected), name
            elif isinstance(expected, float):
                assert math.isclose(value, expected), name
            else:
                assert value == expected, (name, value, expected)
        assert row.geometry.equals_exact(shapely.geometry.shape(feature["geometry"]), 1e-9)


def test_deviation_frame_rows_equal_the_api_list(
    conn: psycopg.Connection,
    client: TestClient,
    users: dict[str, User],
    headers: Callable[[str], dict[str, str]],
    reported: dict[str, str],
) -> None:
    for who in ("planner", "walker"):
        params = {"area": "solberga", "since": SINCE, "until": UNTIL}
        frame = frames.deviations(conn, viewer=_viewer(users[who]), **params)
        api = _api_list(
            client,
            headers(who),
            area="solberga",
            since=SINCE.isoformat(),
            until=UNTIL.isoformat(),
        )
        assert len(api) > 50  # the demo's synthetic history and the two reports
        assert frame["id"].tolist() == [f["id"] for f in api]
        _same_rows(frame, api, frames.DEVIATION_COLUMNS)

    # More filters: categories, statuses and a box, as the API takes them.
    box = BBox(17.99, 59.27, 18.02, 59.29)
    frame = frames.deviations(
        conn,
        viewer=_viewer(users["planner"]),
        categories=["skadegorelse", "narkotika"],
        statuses=["new"],
        bbox=box,
        since=SINCE,
    )
    api = _api_list(
        client,
        headers("planner"),
        category=["skadegorelse", "narkotika"],
        status="new",
        bbox="17.99,59.27,18.02,59.29",
        since=SINCE.isoformat(),
    )
    assert 0 < len(frame) < 5000 and frame["id"].tolist() == [f["id"] for f in api]
    assert set(frame["category"]) <= {"skadegorelse", "narkotika"}
    assert shapely.box(*box.as_tuple()).contains(frame.geometry).all()


def test_deviation_frame_types_and_crs(conn: psycopg.Connection, users: dict[str, User]) -> None:
    frame = frames.deviations(conn, viewer=_viewer(users["planner"]), area="solberga", since=SINCE)
    assert frame.crs.to_epsg() == 4326 and (frame.geom_type == "Point").all()
    assert list(frame.columns) == [*frames.DEVIATION_COLUMNS, "geometry"]
    assert str(frame["observed_at"].dtype).startswith("datetime64") and frame["observed_at"].dt.tz
    assert (frame["observed_at"] >= SINCE).all()
    assert frame["observed_at"].is_monotonic_decreasing  # newest first, as the API
    assert str(frame["severity"].dtype) == "Int64" and frame["severity"].between(1, 3).all()
    assert frame["synthetic"].any()  # the demo's reports say they are synthetic


def test_walker_frame_has_no_reporter_and_no_other_clubs_descriptions(
    conn: psycopg.Connection, users: dict[str, User], reported: dict[str, str]
) -> None:
    walker = frames.deviations(conn, viewer=_viewer(users["walker"]), since=SINCE)
    assert not {"reporter", "organisation"} & set(walker.columns)
    by_id = walker.set_index("id")["description"]
    assert by_id[reported["walker"]] == OWN_TEXT  # the walker's own club's report
    assert pd.isna(by_id[reported["other"]])  # another club's report: no description
    text = walker.to_csv()
    assert OTHER_TEXT not in text and "f-other@example.org" not in text
    assert "f-walker@example.org" not in text and "Södra Folkparken" not in text

    planner = frames.deviations(conn, viewer=_viewer(users["planner"]), since=SINCE)
    described = planner.set_index("id")["description"]
    assert described[reported["other"]] == OTHER_TEXT  # planners read every description …
    assert "f-other@example.org" not in planner.to_csv()  # … but a frame names no reporter

    # Partners read aggregates only (DESIGN.md decision 8), in a frame as in the API.
    with pytest.raises(Forbidden):
        frames.deviations(conn, viewer=_viewer(users["partner"]), since=SINCE)


def test_deviation_frame_refuses_what_the_api_refuses(
    conn: psycopg.Connection, users: dict[str, User]
) -> None:
    viewer = _viewer(users["planner"])
    with pytest.raises(NotFound):
        frames.deviations(conn, viewer=viewer, area="atlantis")
    with pytest.raises(InvalidParameter) as info:
        frames.deviations(conn, viewer=viewer, categories=["ufo"])
    assert info.value.field == "category"
    with pytest.raises(InvalidParameter) as info:
        frames.deviations(conn, viewer=viewer, since=datetime(2026, 1, 1))
    assert info.value.field == "since"
    with pytest.raises(InvalidParameter) as info:
        frames.deviations(conn, viewer=viewer, since=UNTIL, until=SINCE)
    assert info.value.field == "since"


def test_an_empty_deviation_frame_keeps_its_columns(
    conn: psycopg.Connection, users: dict[str, User]
) -> None:
    frame = frames.deviations(
        conn, viewer=_viewer(users["walker"]), since=NOW + timedelta(days=400)
    )
    assert frame.empty and list(frame.columns) == [*frames.DEVIATION_COLUMNS, "geometry"]
    assert frame.crs.to_epsg() == 4326


@pytest.mark.parametrize(
    ("function", "path", "columns", "params"),
    [
        (frames.areas, "/api/v1/areas", frames.AREA_COLUMNS, {}),
        (frames.zones, "/api/v1/zones", frames.ZONE_COLUMNS, {"area": "solberga"}),
        (frames.places, "/api/v1/places", frames.PLACE_COLUMNS, {"area": "solberga"}),
        (frames.places, "/api/v1/places", frames.PLACE_COLUMNS, {"kinds": ["school"]}),
    ],
)
def test_layer_frames_equal_the_api_layers(
    conn: psycopg.Connection,
    client: TestClient,
    function: Callable[..., pd.DataFrame],
    path: str,
    columns: tuple[str, ...],
    params: dict[str, Any],
) -> None:
    frame = function(conn, **params)
    query = {"kind" if k == "kinds" else k: v for k, v in params.items()}
    features = client.get(path, params=query).json()["features"]
    assert features and list(frame.columns) == [*columns, "geometry"]
    assert set(features[0]["properties"]) == set(columns)  # every property, nothing more
    _same_rows(frame, features, columns)


def test_walk_route_frame_equals_the_api_list(
    conn: psycopg.Connection,
    client: TestClient,
    users: dict[str, User],
    headers: Callable[[str], dict[str, str]],
) -> None:
    line = {"type": "LineString", "coordinates": [[18.0080, 59.2780], [18.0104, 59.2786]]}
    body = {"type": "Feature", "geometry": line, "properties": {"name": "Stationsrundan"}}
    r = client.post("/api/v1/routes", json=body, headers=headers("planner"))
    assert r.status_code == 201, r.text
    frame = frames.walk_routes(conn, area="solberga")
    features = client.get(
        "/api/v1/routes", params={"area": "solberga"}, headers=headers("planner")
    ).json()["features"]
    assert "Stationsrundan" in set(frame["name"])
    assert set(features[0]["properties"]) == set(frames.WALK_ROUTE_COLUMNS)
    _same_rows(frame, features, frames.WALK_ROUTE_COLUMNS)
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert frame["length_m"].iloc[0] > 100


def test_a_layer_frame_of_nothing_keeps_its_columns(conn: psycopg.Connection) -> None:
    frame = frames.places(conn, kinds=["no-such-kind"])
    assert frame.empty and list(frame.columns) == [*frames.PLACE_COLUMNS, "geometry"]
    with pytest.raises(NotFound):
        frames.zones(conn, area="atlantis")


def test_the_readme_example_runs(db_url: str, demo_report: LoadReport) -> None:
    """The README's example, as a user runs it, against the session's database (demo loaded)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layers as GeoDataFrames", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "NATTVANDRING_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "Skadegörelse" in done.stdout and "count" in done.stdout
