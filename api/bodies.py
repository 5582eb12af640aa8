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

It also decodes the body, once, into what PostgreSQL and the models can hold (`decode_json`,
`check_text`): JSON integers within 64 bits, nesting at most `MAX_JSON_DEPTH` deep, and text
without NUL characters or lone surrogates (PostgreSQL's text cannot hold a NUL, and a lone
surrogate cannot be encoded as UTF-8), in JSON bodies, form fields, query and path parameters
alike (`plain_parameters`). What is refused is a 422 that names the field, never a 500 from
deep inside a query.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from geo.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from geo.inputs import MAX_BODY_BYTES

LIMIT_KEY = "x-max-body-bytes"
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# A GeoJSON MultiPolygon Feature is 7 levels deep; no body of ours needs more than a dozen.
MAX_JSON_DEPTH = 32
# PostgreSQL's bigint, the widest integer column: a larger JSON integer can fit nowhere.
MAX_INT = 2**63 - 1


def _where(path: list[str | int]) -> str | None:
    return ".".join(str(p) for p in path) or None


def check_text(value: str, *, field: str | None) -> None:
    """Refuse text that PostgreSQL cannot store: a NUL character or a lone surrogate.

    >>> check_text("Älvsjö", field="name")
    >>> check_text("a" + chr(0), field="name")
    Traceback (most recent call last):
    ...
    geo.errors.InvalidInput: name contains a NUL character (U+0000), which text cannot hold
    """
    if "\x00" in value:
        raise InvalidInput(
            f"{field or 'the text'} contains a NUL character (U+0000), which text cannot hold",
            field=field,
            code="nul_character",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{field or 'the text'} contains a lone surrogate (an unpaired \\ud800-\\udfff "
            "escape), which is not a character: send text as valid UTF-8",
            field=field,
            code="invalid_unicode",
        ) from None


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_INT:
        raise InvalidInput(
            f"the integer {text[:30]}{'…' if len(text) > 30 else ''} is too large: integers "
            f"must lie within ±{MAX_INT} (64 bits)",
            code="integer_too_large",
        )
    return value


def _constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a JSON number: send a finite number", code="value_error")


def _check_tree(value: Any, path: list[str | int]) -> None:
    """Walk the decoded body: the depth limit, and `check_text` on every key and string."""
    stack: list[tuple[Any, list[str | int]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            check_text(item, field=_where(where))
        elif isinstance(item, dict | list):
            if len(where) >= MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(item, dict):
                for key, member in item.items():
                    check_text(key, field=_where([*where, key]))
                    stack.append((member, [*where, key]))
            else:
                stack.extend((member, [*where, i]) for i, member in enumerate(item))


def _too_deep() -> InvalidInput:
    return InvalidInput(
        f"the JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels of arrays and objects",
        code="json_too_deep",
    )


def decode_json(body: bytes) -> Any:
    """The JSON document in ``body``, refused (`InvalidInput`, 422) when it holds what cannot be
    stored: integers beyond 64 bits, ``NaN``/``Infinity``, nesting deeper than
    `MAX_JSON_DEPTH`, NUL characters or lone surrogates. Text that is not JSON at all raises
    `json.JSONDecodeError`, as `json.loads` does (FastAPI's ``json_invalid``).

    >>> decode_json('{"n": 1, "s": "Älvsjö"}'.encode())
    {'n': 1, 's': 'Älvsjö'}
    >>> decode_json(b'{"n": 99999999999999999999}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InvalidInput: the integer 99999999999999999999 is too large: ...
    """
    try:
        value = json.loads(body, parse_int=_int, parse_constant=_constant)
    except RecursionError:
        raise _too_deep() from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the body is not valid UTF-8 text: {exc.reason} at byte {exc.start}",
            code="invalid_unicode",
        ) from None
    _check_tree(value, [])
    return value


async def plain_parameters(request: Request) -> None:
    """An app-wide dependency: `check_text` on every query and path parameter."""
    for name, value in request.query_params.multi_items():
        check_text(name, field=name)
        check_text(value, field=name)
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, field=name)


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
        form = self.body_field is not None and isinstance(self.body_field.field_info, params.Form)
        wants_json = self.body_field is not None and not form

        async def read_first(request: Request) -> Response:
            if request.method in _WITH_BODY:
                body = await read_body(request, limit=max_bytes)
                content_type = request.headers.get("content-type")
                if wants_json and body and not _json_content_type(content_type):
                    raise UnsupportedMediaType(
                        f"the body must be JSON (Content-Type: application/json or "
                        f"application/geo+json), not {content_type}"
                    )
                if wants_json and body:
                    try:
                        # Starlette's cache of `Request.json`, which FastAPI reads the body from.
                        request._json = decode_json(body)
                    except json.JSONDecodeError:
                        pass  # FastAPI's own `json_invalid` 422 says where
                if form and body:
                    # Parsed once: FastAPI reads the cached form.
                    for name, value in (await request.form()).multi_items():
                        if not isinstance(value, UploadFile):
                            check_text(name, field=name)
                            check_text(value, field=name)
            return await handler(request)

        return read_first


async def raw_body(request: Request) -> bytes:
    """The body as bytes (read already by `BodyRoute`), for uploads that are not JSON."""
    return await request.body()
