"""The feature service's own API definition: OpenAPI **3.0** (the ``oas30`` conformance class of
OGC API – Features Part 1, ``/req/oas30/oas-definition-1``), made from the app's OpenAPI 3.1
document (FastAPI's ``/openapi.json``) by keeping the ``/ogc`` operations and writing their
schemas as OpenAPI 3.0 says them.

QGIS's OAPIF provider follows the landing page's ``service-desc`` link only when its type is
``application/vnd.oai.openapi+json;version=3.0``, and reads the page size it may ask for from
``components.parameters.limit`` (its ``default`` and ``maximum``), so that parameter is there.

>>> to_30({"anyOf": [{"type": "string"}, {"type": "null"}], "title": "X"})
{'type': 'string', 'title': 'X', 'nullable': True}
>>> to_30({"const": "a", "examples": ["a"]})
{'enum': ['a'], 'example': 'a'}
"""

from __future__ import annotations

import copy
from typing import Any

VERSION = "3.0.3"
PREFIX = "/ogc"


def to_30(node: Any) -> Any:
    """A JSON Schema (or any part of an OpenAPI 3.1 document) in OpenAPI 3.0's dialect:
    ``anyOf``/``oneOf`` with ``{"type": "null"}`` as ``nullable``, a list ``type`` with
    ``"null"`` the same, ``const`` as a one-value ``enum``, ``examples`` as one ``example``, and
    numeric ``exclusiveMinimum``/``exclusiveMaximum`` as 3.0's boolean form."""
    if isinstance(node, list):
        return [to_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    nullable = False
    for key, value in node.items():
        if key in ("anyOf", "oneOf") and isinstance(value, list):
            rest = [v for v in value if v != {"type": "null"}]
            nullable = nullable or len(rest) < len(value)
            if len(rest) == 1 and isinstance(rest[0], dict):
                inner = to_30(rest[0])
                if "$ref" in inner:  # 3.0 ignores siblings of $ref: keep it in an allOf
                    out["allOf"] = [inner]
                else:
                    out.update(inner)
            elif rest:
                out[key] = to_30(rest)
        elif key == "type" and isinstance(value, list):
            kinds = [v for v in value if v != "null"]
            nullable = nullable or len(kinds) < len(value)
            if len(kinds) == 1:
                out["type"] = kinds[0]
            elif kinds:
                out["anyOf"] = [{"type": k} for k in kinds]
        elif key == "const":
            out["enum"] = [value]
        elif key == "examples" and isinstance(value, list):
            if value:
                out["example"] = to_30(value[0])
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key in ("properties", "patternProperties", "responses", "paths", "content"):
            out[key] = {k: to_30(v) for k, v in value.items()}
        else:
            out[key] = to_30(value)
    if nullable:
        out["nullable"] = True
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def service_description(
    app_doc: dict[str, Any], app_base: str, *, parameters: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the ``/ogc`` operations of ``app_doc`` (the app's 3.1
    document), with the schemas they refer to, the security schemes and ``parameters`` (Part
    1's query parameters by name) as ``components.parameters``."""
    paths = {p: copy.deepcopy(ops) for p, ops in app_doc["paths"].items() if p.startswith(PREFIX)}
    components = app_doc.get("components", {})
    schemas = components.get("schemas", {})
    wanted: set[str] = set()
    _refs(paths, wanted)
    done: set[str] = set()
    while wanted - done:  # schemas that refer to further schemas
        name = sorted(wanted - done)[0]
        done.add(name)
        _refs(schemas.get(name, {}), wanted)
    info = app_doc.get("info", {})
    doc: dict[str, Any] = {
        "openapi": VERSION,
        "info": {
            "title": f"{info.get('title', 'nattvandring')} – OGC API Features",
            "version": info.get("version", "0"),
            "description": "The OGC API – Features service of nattvandring (Part 1 Core and "
            "GeoJSON, Part 2 CRS by reference). The whole API: /openapi.json (OpenAPI 3.1).",
        },
        "servers": [{"url": app_base}],
        "paths": to_30(paths),
        "components": {
            "schemas": {name: to_30(schemas[name]) for name in sorted(done) if name in schemas},
            "parameters": copy.deepcopy(parameters),
        },
    }
    if "securitySchemes" in components:
        doc["components"]["securitySchemes"] = copy.deepcopy(components["securitySchemes"])
    return doc
