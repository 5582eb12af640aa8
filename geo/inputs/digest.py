"""The one canonical digest of a request body, for idempotent creation.

Two bodies that mean the same (members in another order, a coordinate written with more digits
than a float holds, a time in another zone) have the same digest: it is taken of the validated
model, not of the bytes sent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

DECIMALS = 7  # ≈ 1 cm, the precision positions are stored and given back with


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def body_digest(model: BaseModel, **options: Any) -> str:
    """sha256 of the model's canonical JSON: sorted keys, floats rounded to 7 decimals.

    ``options`` are what else of the request decides what is stored (``snap=True``, say).

    >>> from geo.inputs.geojson import PointGeometry
    >>> a = PointGeometry.model_validate({"type": "Point", "coordinates": [18.01040000001, 59.28]})
    >>> b = PointGeometry.model_validate({"coordinates": [18.0104, 59.28], "type": "Point"})
    >>> body_digest(a) == body_digest(b), body_digest(a) == body_digest(a, snap=True)
    (True, False)
    """
    canonical = _rounded(model.model_dump(mode="json"))
    if options:
        canonical = {"body": canonical, "options": _rounded(options)}
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
