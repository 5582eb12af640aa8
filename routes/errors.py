"""Exceptions of the routes package, subclasses of `geo.errors` so that the API's one mapping of
error classes to status codes covers them (`InvalidInput` → 422, `NotFound` → 404)."""

from __future__ import annotations

import math
from typing import Any

from geo.errors import InvalidInput, NotFound


class NotNearNetwork(InvalidInput):
    """A point (start, end, a drawn vertex) is too far from the walkable street network."""

    code = "not_near_network"

    def __init__(self, message: str, *, distance_m: float, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.distance_m = distance_m

    @property
    def ctx(self) -> dict[str, Any]:
        return {"distance_m": round(self.distance_m)}


class BudgetTooShort(InvalidInput):
    """The time budget cannot hold the must-visit stops (or the walk from start to end)."""

    code = "budget_too_short"

    def __init__(self, message: str, *, shortfall_s: float, field: str | None = "budget_s") -> None:
        super().__init__(message, field=field)
        self.shortfall_s = shortfall_s

    @property
    def ctx(self) -> dict[str, Any]:
        return {"shortfall_min": math.ceil(self.shortfall_s / 60 - 1e-9)}


class ClosedDuringWalk(InvalidInput):
    """A must-visit stop whose opening hours do not meet the walk's time (or cannot be met)."""

    code = "closed_during_walk"


class NoRoute(InvalidInput):
    """Two points are on pieces of the street network that no walkable street connects."""

    code = "no_route"


class InvalidGpx(InvalidInput):
    """A GPX file that is not well-formed XML, has no points, or is too large."""

    code = "invalid_gpx"


class UnknownNode(NotFound):
    """A street node id that is not in the loaded network."""


class NetworkNotImported(NotFound):
    """No street network has been imported for the requested area or box."""

    code = "network_not_imported"
