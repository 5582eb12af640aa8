"""Request bodies read whole, with a size limit, before anything else of a request runs.

`BodyRoute` is the route class of the routers that take bodies. It reads the body before FastAPI
parses it and before any dependency is solved, for two reasons:

- an oversized upload is refused (413) as soon as it passes the operation's limit (a declared
  Content-Length over the limit at once), before JSON parsing and before it is held in memory
  whole;
- a client sending its body slowly (a phone on a weak network) holds no pooled database
  connection meanwhile: the connection (`api.deps.get_conn`) is taken only once the whole body
  is here. (FastAPI reads body parameters before it solves dependencies too; reading here keeps
  that true for the GPX upload, whose body is not a parameter, and is checked by a test.)

An operation's limit is ``openapi_extra={"x-max-body-bytes": …}`` (`limit`), so the OpenAPI
document states it; without one it is 64 KB.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from geo.errors import PayloadTooLarge, UnsupportedMediaType
from geo.inputs import MAX_BODY_BYTES

LIMIT_KEY = "x-max-body-bytes"
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def limit(max_bytes: int, **extra: Any) -> dict[str, Any]:
    """``openapi_extra`` of an operation whose body may have up to ``max_bytes`` bytes."""
    return {LIMIT_KEY: max_bytes, **extra}


def _size(limit_bytes: int) -> str:
    if limit_bytes < 1024 * 1024:
        return f"{limit_bytes // 1024:,} KB"
    return f"{limit_bytes // (1024 * 1024)} MB"


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes.

    The body is kept on the request, where FastAPI (and `Request.body`) read it from.
    """
    too_large = PayloadTooLarge(f"the body is over {_size(limit)}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    request._body = body  # Starlette's cache of the body: `await request.body()` returns it
    return body


def _json_content_type(value: str | None) -> bool:
    if not value:
        return True  # read as JSON (the routers are not strict about a missing type)
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class BodyRoute(APIRoute):
    """A route that reads its body first, within its limit (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        extra = self.openapi_extra or {}
        max_bytes = int(extra.get(LIMIT_KEY, MAX_BODY_BYTES))
        # A JSON body parameter: anything but JSON would reach pydantic as bytes, with a
        # message about "a valid dictionary" that helps nobody.
        wants_json = self.body_field is not None

        async def read_first(request: Request) -> Response:
            if request.method in _WITH_BODY:
                body = await read_body(request, limit=max_bytes)
                content_type = request.headers.get("content-type")
                if wants_json and body and not _json_content_type(content_type):
                    raise UnsupportedMediaType(
                        f"the body must be JSON (Content-Type: application/json or "
                        f"application/geo+json), not {content_type}"
                    )
            return await handler(request)

        return read_first


async def raw_body(request: Request) -> bytes:
    """The body as bytes (read already by `BodyRoute`), for uploads that are not JSON."""
    return await request.body()
