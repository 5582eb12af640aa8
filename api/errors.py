"""The one place where nattvandring's exceptions become HTTP status codes and locations.

422 bodies have FastAPI's own shape (``{"detail": [{"loc", "msg", "type", "ctx"}]}``), both for
what pydantic refuses in a body model and for our own `InvalidInput` errors, so a client sees one
format for every validation error; ``type`` is the error's code (``value_error``,
``lonlat_swapped``, ``not_near_network``, ``walk_not_ongoing``…) and ``ctx`` its figures.
Other errors are ``{"detail": "message"}``, with ``"code"`` when the error has one (``key_reused``,
``report_exists``, ``walk_cancelled``, ``not_your_club``…).

What reaches the database although no check refused it is still the client's error, not ours:
a value PostgreSQL cannot take (``psycopg.DataError``: a number out of range, text it cannot
hold) is a 422 ``invalid_value``, a unique key taken meanwhile by a concurrent request a 409
``conflict``, a CHECK constraint a 422 (`_database_refused`); each is logged as a warning, as a
check the API should have made earlier. Anything else is a 500 in the same JSON shape, logged
with its traceback.

Errors below the API name a field only (``properties.category``, ``bbox``); whether that field
came in the body, the query, a header or the path is decided here, from the parameters the
operation declares (`_location`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.heavy import JobRunning, ServerBusy
from geo.db.accounts import TooManyAttempts, Unauthorized
from geo.errors import (
    Conflict,
    DatabaseError,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NattvandringError,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    Withdrawn,
)

logger = logging.getLogger(__name__)


def _declared(dependant: Dependant) -> dict[str, set[str]]:
    """The names (and aliases) of an operation's header, query and path parameters and whether
    it has body parameters, through all its dependencies."""
    found: dict[str, set[str]] = {"header": set(), "query": set(), "path": set(), "body": set()}
    todo = [dependant]
    while todo:
        d = todo.pop()
        for where, params in (
            ("header", d.header_params),
            ("query", d.query_params),
            ("path", d.path_params),
            ("body", d.body_params),
        ):
            for p in params:
                found[where] |= {p.name.lower(), p.alias.lower().replace("-", "_")}
        todo.extend(d.dependencies)
    return found


def _location(request: Request, field: str | None) -> list[str | int]:
    """``loc`` of an error about ``field``: where the operation declares it, else the body (or,
    for an operation without a body, the query: an option derived from query parameters)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return ["body", *(field.split(".") if field else [])]
    declared = _declared(route.dependant)
    if field:
        name = field.lower().replace("-", "_")
        for where in ("header", "query", "path"):
            if name in declared[where]:
                return [where, field]
    if declared["body"] or (route.openapi_extra and "requestBody" in route.openapi_extra):
        return ["body", *(field.split(".") if field else [])]
    return ["query", *([field] if field else [])]


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    item: dict[str, Any] = {
        "loc": _location(request, exc.field),
        "msg": str(exc),
        "type": exc.code,
    }
    if exc.ctx:
        item["ctx"] = exc.ctx
    return JSONResponse(status_code=422, content={"detail": [item]})


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """What pydantic refused, in the same shape as `_invalid` (without echoing the input)."""
    assert isinstance(exc, RequestValidationError)
    items = []
    for error in exc.errors():
        item: dict[str, Any] = {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg", ""),
            "type": error.get("type", "value_error"),
        }
        ctx = error.get("ctx")
        if item["type"] == "json_invalid":
            item["loc"] = ["body"]
            item["msg"] = (
                "the body is not valid JSON (a GeoJSON Feature, or the object this operation "
                f"describes): {ctx.get('error') if ctx else 'cannot be read'}"
            )
        if ctx:
            item["ctx"] = {k: _plain(v) for k, v in ctx.items()}
            # A rule across a body's fields names the field to fix in ``ctx.field``
            # (`geo.inputs.walks`): the location ends there.
            named = ctx.get("field")
            if isinstance(named, str) and item["loc"] == ["body"]:
                item["loc"] = ["body", *named.split(".")]
        items.append(item)
    return JSONResponse(status_code=422, content={"detail": items})


def _body(exc: Exception) -> dict[str, Any]:
    code = exc.code if isinstance(exc, NattvandringError) else None
    body: dict[str, Any] = {"detail": str(exc), **({"code": code} if code else {})}
    # The figures a page's Swedish text needs (the other agreement of an `agreement_overlap`).
    if isinstance(exc, NattvandringError) and exc.ctx:
        body["ctx"] = exc.ctx
    return body


def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content=_body(exc))


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After``: the database is down or busy (the breaker in `geo.db.guarded`
    logs when it goes down and comes back, so a refused request is not logged again)."""
    retry_after_s = getattr(exc, "retry_after_s", 1)
    if isinstance(exc, DatabaseUnavailable):
        logger.debug("database unavailable: %s", exc)
    else:
        logger.error("database unavailable: %s", exc)
    return JSONResponse(
        status_code=503,
        content={"detail": str(exc), "code": "database_unavailable"},
        headers={"Retry-After": str(retry_after_s)},
    )


def _other(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=400, content=_body(exc))


def _status(code: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(request: Request, exc: Exception) -> JSONResponse:
        headers = {}
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        retry_after_s = getattr(exc, "retry_after_s", None)
        if retry_after_s is not None:  # TooManyAttempts, `api.heavy`'s limits
            headers["Retry-After"] = str(retry_after_s)
        return JSONResponse(status_code=code, content=_body(exc), headers=headers)

    return handler


def _database_refused(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refused (see the module's docstring): 409 or 422, never a 500."""
    what = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
    logger.warning("%s %s: the database refused a value: %s", request.method, request.url, what)
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return JSONResponse(
            status_code=409,
            content={
                "detail": "the value was taken meanwhile by another request (a name, a key or "
                "an id that must be unique): reload and try again",
                "code": "conflict",
            },
        )
    if isinstance(exc, psycopg.errors.CheckViolation):
        message = "a value breaks one of the database's rules (a range, a position, a form)"
    elif "NUL" in what:
        message = "a text contains a NUL character (U+0000), which text cannot hold"
    else:
        message = f"a value cannot be stored: {what}"
    item = {"loc": ["body" if request.method in ("POST", "PUT", "PATCH") else "query"]}
    return JSONResponse(
        status_code=422,
        content={"detail": [{**item, "msg": message, "type": "invalid_value"}]},
    )


def _unencodable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("%s %s: text not in UTF-8 reached the database", request.method, request.url)
    return JSONResponse(
        status_code=422,
        content={
            "detail": [
                {
                    "loc": ["body" if request.method in ("POST", "PUT", "PATCH") else "query"],
                    "msg": "a text contains a lone surrogate, which is not a character: send "
                    "text as valid UTF-8",
                    "type": "invalid_unicode",
                }
            ]
        },
    )


def _internal(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's ServerErrorMiddleware re-raises after this answer: the server logs the traceback.
    return JSONResponse(
        status_code=500,
        content={"detail": "internal error: the service failed; it is logged", "code": "internal"},
    )


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, and what to do"},
        "code": {"type": "string", "description": "The kind of error, for programs"},
        "ctx": {"type": "object", "description": "The figures the message names"},
    },
    "required": ["detail"],
}
_ERRORS = {
    "400": "The request cannot be carried out as sent",
    "401": "Not signed in, or the token has expired (`unauthorized`)",
    "403": "The signed-in role may not do this",
    "404": "A named thing (area, zone, route, walk…) does not exist",
    "406": "The format asked for (`f`, `Accept`) is not one this operation gives",
    "409": "A conflict: a key used for another body, a stale version, a value taken meanwhile",
    "410": "Gone: a report its reporter withdrew (`withdrawn`); its id stays reserved",
    "413": "The body is over the operation's `x-max-body-bytes` (`too_large`)",
    "415": "The body is not of a type this operation reads (`unsupported_media_type`)",
    "429": "Too many requests or attempts: wait `Retry-After` seconds",
    "503": "The database (or the service) is not available now: retry after `Retry-After`",
}


def _errors_of(method: str, path: str, op: dict[str, Any]) -> list[str]:
    """The error status codes an operation can answer, from what it takes and who may call it."""
    codes = ["400", "404", "422", "503"]
    if op.get("security") or path == "/api/v1/auth/token":
        codes += ["401", "403", "429"]
    if method in ("post", "put", "patch", "delete"):
        codes.append("409")
    if (path.startswith("/api/v1/deviations") and method in ("post", "delete")) or (
        path.startswith("/api/v1/me/deviations/") and method == "patch"
    ):
        codes.append("410")  # a withdrawn report's id (`geo.db.own_reports.withdraw_report`)
    if "requestBody" in op or method in ("post", "put", "patch"):
        codes += ["413", "415"]
    return codes


def document_errors(app: FastAPI) -> None:
    """Add to the OpenAPI document the error answers of every operation (`_errors_of`), in the
    shapes this module gives them, so that a client (and schemathesis) knows every status code
    it can get; a 500 is never documented: it must not happen."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = build()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Error", _ERROR_SCHEMA)
        json_of: Callable[[str], dict[str, Any]] = lambda name: {  # noqa: E731
            "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
        }
        for path, ops in spec.get("paths", {}).items():
            for method, op in ops.items():
                responses = op.setdefault("responses", {})
                for code in _errors_of(method, path, op):
                    if code == "422":
                        responses.setdefault(
                            code,
                            {
                                "description": "Validation Error",
                                "content": json_of("HTTPValidationError"),
                            },
                        )
                    else:
                        responses.setdefault(
                            code, {"description": _ERRORS[code], "content": json_of("Error")}
                        )
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(InvalidInput, _invalid)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Unauthorized, _status(401))
    app.add_exception_handler(Forbidden, _status(403))
    app.add_exception_handler(Conflict, _status(409))
    app.add_exception_handler(NotAcceptable, _status(406))
    app.add_exception_handler(Withdrawn, _status(410))
    app.add_exception_handler(PayloadTooLarge, _status(413))
    app.add_exception_handler(UnsupportedMediaType, _status(415))
    app.add_exception_handler(TooManyAttempts, _status(429))
    app.add_exception_handler(JobRunning, _status(429))
    app.add_exception_handler(ServerBusy, _status(503))
    app.add_exception_handler(DatabaseError, _unavailable)
    app.add_exception_handler(NattvandringError, _other)
    app.add_exception_handler(psycopg.DataError, _database_refused)
    app.add_exception_handler(psycopg.errors.UniqueViolation, _database_refused)
    app.add_exception_handler(psycopg.errors.CheckViolation, _database_refused)
    app.add_exception_handler(UnicodeEncodeError, _unencodable)
    app.add_exception_handler(Exception, _internal)
