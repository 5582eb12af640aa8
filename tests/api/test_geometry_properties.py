"""Geometry input, property-based (issue 18, item 8): a few hundred generated reports, routes and
zones through the API (`bench/fuzz.py` runs 10,000): never a 5xx, a refusal stores nothing, and
every stored geometry is valid, in range and within the documented rules."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from bench.fuzz import KINDS, fuzz_geometry

EXAMPLES = int(os.environ.get("NATTVANDRING_FUZZ_EXAMPLES", "100"))  # per kind


@pytest.mark.slow
def test_generated_geometries_are_refused_or_stored_valid(
    client: TestClient, conn: psycopg.Connection, signed_in: Callable[[str], dict[str, str]]
) -> None:
    headers = signed_in("planner")

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.post(path, json=body, headers=headers)

    report = fuzz_geometry(post, conn, examples=EXAMPLES)
    print(report.summary())
    assert sum(report.answers.values()) >= EXAMPLES * len(KINDS)  # and the explicit examples
    assert not report.failures, report.summary()
    # The strategies reach both sides of every rule: each kind is stored and refused often.
    for kind in KINDS:
        stored = sum(n for (k, code), n in report.answers.items() if k == kind and code < 300)
        refused = sum(n for (k, code), n in report.answers.items() if k == kind and code >= 400)
        assert stored >= EXAMPLES // 10 and refused >= EXAMPLES // 10, (kind, report.answers)
