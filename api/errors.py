"""The one place where nattvandring's exceptions become HTTP status codes.

422 bodies have FastAPI's own shape (``{"detail": [{"loc", "msg", "type"}]}``), so a client sees
one format for every validation error; other errors are ``{"detail": "message"}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from geo.errors import DatabaseError, InvalidInput, NattvandringError, NotFound

logger = logging.getLogger(__name__)


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    loc = ["query", exc.field] if exc.field else ["body"]
    return JSONResponse(
        status_code=422,
        content={"detail": [{"loc": loc, "msg": str(exc), "type": "value_error"}]},
    )


def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", exc)
    return JSONResponse(status_code=503, content={"detail": str(exc)})


def _other(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=400, content={"detail": str(exc)})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidInput, _invalid)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(DatabaseError, _unavailable)
    app.add_exception_handler(NattvandringError, _other)
