"""One way to create idempotently: the same four answers for reports, walk routes and zones."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from geo.db.accounts import add_user
from geo.inputs import DeviationReport, WalkRoute, Zone

PASSWORD = "correct horse battery"
RING = [[17.980, 59.282], [17.985, 59.282], [17.985, 59.285], [17.980, 59.282]]


@dataclass(frozen=True)
class Kind:
    """How one kind of row is created with a client key, and how its rows are counted."""

    path: str
    role: str
    body: Callable[[str], dict[str, Any]]  # the body for a name
    header_key: bool  # the key travels in Idempotency-Key (else it is the body's own id)
    count: str  # SQL counting the rows for the name (%s)


def _report(name: str) -> dict[str, Any]:
    # The description carries the name: the same name and id is the same report.
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18.0104, 59.2786]},
        "properties": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "report")),
            "category": "brand",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=2)).isoformat(),
            "severity": 2,
            "description": name,
        },
    }


KINDS = {
    "deviation": Kind(
        "/api/v1/deviations",
        "walker",
        _report,
        header_key=False,
        count="SELECT count(*) FROM deviations WHERE id = %s",
    ),
    "route": Kind(
        "/api/v1/routes",
        "planner",
        lambda name: {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[17.9837465, 59.2838017], [17.9840781, 59.2833519]],
            },
            "properties": {"name": name},
        },
        header_key=True,
        count="SELECT count(*) FROM walk_routes WHERE client_id = %s",
    ),
    "zone": Kind(
        "/api/v1/zones",
        "planner",
        lambda name: {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [RING]},
            "properties": {"name": name},
        },
        header_key=True,
        count="SELECT count(*) FROM zones WHERE client_id = %s",
    ),
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_first_retry_other_body_and_one_row(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Callable[[str], dict[str, str]],
    name: str,
) -> None:
    kind = KINDS[name]
    headers = signed_in(kind.role)
    key = uuid.uuid4()
    body = kind.body("Första gången")
    if kind.header_key:
        headers["Idempotency-Key"] = str(key)
    else:
        body["properties"]["id"] = str(key)
    first = client.post(kind.path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    # The same body again, its members in another order and a coordinate with more digits
    # than are stored: the same content, so the stored row comes back.
    retry = copy.deepcopy(body)
    retry["properties"] = dict(reversed(list(retry["properties"].items())))
    coords = retry["geometry"]["coordinates"]
    if isinstance(coords[0], float):
        coords[0] += 1e-9
    again = client.post(kind.path, json=retry, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    other = kind.body("Något annat")
    other["properties"].update({k: v for k, v in body["properties"].items() if k == "id"})
    if "observed_at" in body["properties"]:
        other["properties"]["observed_at"] = body["properties"]["observed_at"]
    clash = client.post(kind.path, json=other, headers=headers)
    assert clash.status_code == 409, clash.text
    assert clash.json()["code"] == "key_reused"
    assert conn.execute(kind.count, (key,)).fetchone() == (1,)


def test_another_reporter_cannot_replay_a_report(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    body = _report("Samma")
    body["properties"].update(
        id=str(uuid.uuid4()), observed_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    )
    first = client.post("/api/v1/deviations", json=body, headers=signed_in("walker"))
    assert first.status_code == 201
    r = client.post("/api/v1/deviations", json=body, headers=signed_in("planner"))
    assert r.status_code == 409 and r.json()["code"] == "key_reused"


@pytest.mark.parametrize("name", sorted(KINDS))
def test_concurrent_retries_store_one_row(db_url: str, demo_report: object, name: str) -> None:
    """Eight connections store the same body under one key at once: one row, seven replays."""
    from geo.db import areas, connection, deviations, walk_routes

    kind, key = KINDS[name], uuid.uuid4()
    body = kind.body(f"Samtidig {key.hex[:6]}")
    with connection.connect(db_url, autocommit=True) as conn:
        user = add_user(
            conn, f"c{key.hex[:8]}@example.org", PASSWORD, role=kind.role, organisation="Polisen"
        )

    def store(_: int) -> tuple[str, bool]:
        with connection.connect(db_url, autocommit=True) as c:
            if name == "deviation":
                report = DeviationReport.model_validate(body)
                return deviations.insert_report(
                    c,
                    report,
                    reporter_id=user.id,
                    organisation_id=user.organisation_id,
                    viewer=deviations.Viewer.of(user),
                )
            if name == "route":
                route = WalkRoute.model_validate(body)
                return walk_routes.create_route(c, route, user_id=user.id, client_id=key)
            zone = Zone.model_validate(body)
            return areas.create_zone(c, zone, user_id=user.id, client_id=key)

    if name == "deviation":  # one report, validated once: the same observed_at for all
        body["properties"].update(id=str(key), observed_at=datetime.now(UTC).isoformat())
    table = {"deviation": "deviations", "route": "walk_routes", "zone": "zones"}[name]
    column = "id" if name == "deviation" else "client_id"
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(store, range(8)))
        assert [created for _, created in results].count(True) == 1
        assert len({stored for stored, _ in results}) == 1
        with connection.connect(db_url, autocommit=True) as conn:
            assert conn.execute(kind.count, (key,)).fetchone() == (1,)
    finally:  # committed rows: leave the session's database as it was, whatever happened
        with connection.connect(db_url, autocommit=True) as conn:
            conn.execute(f"DELETE FROM {table} WHERE {column} = %s", (key,))  # noqa: S608
            conn.execute("DELETE FROM users WHERE id = %s", (user.id,))
