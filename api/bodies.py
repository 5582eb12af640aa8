"""Request bodies read with a size limit, so that an oversized upload is refused early (413)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request

from geo.deviations import MAX_BODY_BYTES
from geo.errors import InvalidInput, PayloadTooLarge


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES, parse: bool = True) -> Any:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (a declared
    Content-Length over the limit is refused before reading); parsed as JSON when ``parse``."""
    too_large = PayloadTooLarge(
        f"the body is over {limit // 1024:,} KB"
        if limit < 1024 * 1024
        else f"the body is over {limit // (1024 * 1024)} MB"
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    if not parse:
        return body
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not valid JSON (a GeoJSON Feature)") from None


def body_of(limit: int = MAX_BODY_BYTES, *, parse: bool = True) -> Callable[..., Any]:
    """A dependency that reads the body. Declared before the connection and the signed-in user,
    it is read before a pooled database connection is taken, so that a client sending its body
    slowly (a phone on a weak network) holds no connection meanwhile."""

    async def dependency(request: Request) -> Any:
        return await read_body(request, limit=limit, parse=parse)

    return dependency
