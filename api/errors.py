"""The one place where nattvandring's exceptions become HTTP status codes.

422 bodies have FastAPI's own shape (``{"detail": [{"loc", "msg", "type", "ctx"}]}``), so a client
sees one format for every validation error; ``type`` is our error's code (``value_error``,
``not_near_network``, ``budget_too_short``…) and ``ctx`` its figures. Other errors are
``{"detail": "message"}``, with ``"code"`` when the error has one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from geo.errors import (
    Conflict,
    DatabaseError,
    Forbidden,
    InvalidInput,
    NattvandringError,
    NotFound,
    PayloadTooLarge,
    TooManyAttempts,
    Unauthorized,
)

logger = logging.getLogger(__name__)


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    loc = [exc.location, exc.field] if exc.field else [exc.location]
    item: dict[str, Any] = {"loc": loc, "msg": str(exc), "type": exc.code}
    if exc.ctx:
        item["ctx"] = exc.ctx
    return JSONResponse(status_code=422, content={"detail": [item]})


def _body(exc: Exception) -> dict[str, Any]:
    code = exc.code if isinstance(exc, NattvandringError) else None
    return {"detail": str(exc), **({"code": code} if code else {})}


def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content=_body(exc))


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", exc)
    return JSONResponse(status_code=503, content={"detail": str(exc)})


def _other(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=400, content=_body(exc))


def _status(code: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(request: Request, exc: Exception) -> JSONResponse:
        headers = {}
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after_s)
        return JSONResponse(status_code=code, content=_body(exc), headers=headers)

    return handler


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidInput, _invalid)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Unauthorized, _status(401))
    app.add_exception_handler(Forbidden, _status(403))
    app.add_exception_handler(Conflict, _status(409))
    app.add_exception_handler(PayloadTooLarge, _status(413))
    app.add_exception_handler(TooManyAttempts, _status(429))
    app.add_exception_handler(DatabaseError, _unavailable)
    app.add_exception_handler(NattvandringError, _other)
