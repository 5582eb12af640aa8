"""Schemathesis over the OpenAPI document, in process with a token per role (issue 18): a bounded
number of examples per operation here; `bench/schemathesis_run.py` runs many against a live
server. 0 server errors, 0 answers that break the schema, only documented status codes."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import schemathesis
from fastapi.testclient import TestClient

from bench.schemathesis_run import ROLES, fuzz_schema

EXAMPLES = int(os.environ.get("NATTVANDRING_SCHEMATHESIS_EXAMPLES", "4"))


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    client: TestClient,
    signed_in: Callable[[str], dict[str, str]],
    auth: Callable[[str], dict[str, str]],
) -> None:
    # `auth` makes users of Polisen, `signed_in` of Älvsjö AIK.
    headers = {name: (auth if org == "Polisen" else signed_in)(name) for name, org in ROLES.items()}
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    report = fuzz_schema(
        schema, headers, max_examples=EXAMPLES, call=lambda case, h: case.call(headers=h)
    )
    print(report.summary())
    assert len(report.requests) >= 60, report.requests  # every operation was called
    assert sum(report.requests.values()) >= len(report.requests) * len(ROLES) * 2
    assert not report.failures, report.summary()
