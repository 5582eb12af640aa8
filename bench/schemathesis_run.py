"""Schemathesis over the OpenAPI document, with a token per role (issue 18, "checks to keep").

Every operation of ``/openapi.json`` gets generated requests, valid ones and (with
``--negative``, the default here) ones that break its schema, sent once per role (admin,
planner, walker, partner). Each answer is checked: no 5xx, a status code the operation documents,
a documented content type, and a body that matches the documented response schema. The figures
printed are the requests sent, the failures per check and the time; the goal is 0 failures.

``fuzz_schema`` is the one runner: the CI test (`tests/api/test_schemathesis.py`) calls it on
the app in process with a few examples per operation; this command runs it against a live
server (``nattvandring serve`` over a database of its own, dropped at the end) with many.

    .venv/bin/python bench/schemathesis_run.py [--examples 100]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

# Each role's user and the organisation it belongs to (partners: the police).
ROLES = {
    "admin": "Älvsjö AIK",
    "planner": "Hägersten-Älvsjö stadsdelsförvaltning",
    "walker": "Älvsjö AIK",
    "partner": "Polisen",
}
# Operations whose work is heavy by design (a PDF, a route plan with its solver time limit):
# fewer examples, so a run stays bounded; they are still checked.
HEAVY = ("/api/v1/exports/meeting", "/api/v1/route-plans")
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


@dataclass
class Report:
    """What a run found: requests per operation, failures as ``(operation, check, message)``."""

    requests: Counter[str] = field(default_factory=Counter)
    seconds_per_operation: dict[str, float] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"{sum(self.requests.values()):,} requests to {len(self.requests)} operations in "
            f"{self.seconds:.1f} s; {len(self.failures)} failures"
        ]
        slowest = sorted(self.seconds_per_operation.items(), key=lambda kv: -kv[1])[:5]
        lines.append("slowest: " + ", ".join(f"{op} {s:.1f} s" for op, s in slowest))
        for (op, check), n in Counter((op, check) for op, check, _ in self.failures).items():
            lines.append(f"  {op}: {check} × {n}")
        for op, check, message in self.failures[:20]:
            lines.append(f"--- {op} [{check}]\n{message[:1500]}")
        return "\n".join(lines)


def _check_name(exc: BaseException) -> str:
    names = {type(e).__name__ for e in getattr(exc, "exceptions", [exc])}
    return ",".join(sorted(names))


def fuzz_schema(
    schema: Any,
    headers: dict[str, dict[str, str]],
    *,
    max_examples: int,
    call: Callable[[Any, dict[str, str]], Any],
    modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    seed: int | None = 18,
) -> Report:
    """Send generated requests to every operation of ``schema`` once per role of ``headers``.

    ``call(case, headers)`` sends one case and returns the response; it is checked with
    `CHECKS`. Hypothesis does not shrink (a failure is recorded, not re-raised), so a run takes
    the time its examples take.
    """
    report = Report()
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        n = max(2, max_examples // 5) if operation.path.startswith(HEAVY) else max_examples
        began = time.perf_counter()
        # An operation anyone may call is called once per example, without a token.
        secured = bool(operation.definition.raw.get("security"))
        callers = headers if secured else {"anyone": {}}
        for mode in modes:
            _run_operation(operation, label, mode, n, callers, call, report, seed)
        report.seconds_per_operation[label] = time.perf_counter() - began
    report.seconds = time.perf_counter() - started
    return report


def _run_operation(
    operation: Any,
    label: str,
    mode: GenerationMode,
    n: int,
    headers: dict[str, dict[str, str]],
    call: Callable[[Any, dict[str, str]], Any],
    report: Report,
    seed: int | None,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=seed is not None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        for role, role_headers in headers.items():
            report.requests[label] += 1
            try:
                response = call(case, role_headers)
                case.validate_response(response, checks=CHECKS, headers=role_headers)
            except (Exception, BaseExceptionGroup) as exc:  # each failure is recorded
                report.failures.append((label, _check_name(exc), f"{role} {mode.value}: {exc}"))

    try:
        run()
    except Unsatisfiable:
        pass  # no invalid request exists (an operation without parameters, in negative mode)


def _tokens(base: str, users: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    import httpx

    out = {}
    for role, (email, password) in users.items():
        r = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": password})
        r.raise_for_status()
        out[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return out


def main(argv: list[str] | None = None) -> int:
    from api.server_process import served
    from bench.common import scratch_demo_database
    from geo.db import connection
    from geo.db.accounts import add_user

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per operation, mode")
    args = parser.parse_args(argv)

    with scratch_demo_database("nv_schemathesis") as url:
        users = {}
        with connection.connect(url, autocommit=True) as conn:
            for name, organisation in ROLES.items():
                email, password = f"fuzz-{name}@example.org", secrets.token_urlsafe(12)
                add_user(conn, email, password, role=name, organisation=organisation)
                users[name] = (email, password)
        with served(url) as base:
            schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
            report = fuzz_schema(
                schema,
                _tokens(base, users),
                max_examples=args.examples,
                call=lambda case, h: case.call(base_url=base, headers=h, timeout=120),
            )
    print(report.summary())
    total = sum(report.requests.values())
    print(
        f"[schemathesis] {total:,} requests, {len(report.failures)} failures "
        f"(goal: 0; server errors, undocumented status codes and content types, bodies that "
        f"break the schema); ratio {len(report.failures) / max(total, 1):.4f}"
    )
    return 0 if not report.failures else 1


if __name__ == "__main__":
    # Run as a script, sys.path[0] is bench/, whose routes.py would shadow the routes package.
    if Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
        sys.path[0] = str(Path(__file__).resolve().parent.parent)
    sys.exit(main())
