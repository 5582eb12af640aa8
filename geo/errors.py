"""Exceptions of the geo package; ``api/errors.py`` alone maps them to HTTP status codes."""

from __future__ import annotations


class NattvandringError(Exception):
    """Base class of every error nattvandring raises on purpose."""


class NotFound(NattvandringError):
    """A named thing (area, zone, place, deviation…) does not exist."""


class InvalidInput(NattvandringError):
    """Input that the caller can fix; the message says how."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidGeometry(InvalidInput):
    """A geometry that is invalid, out of range, in the wrong CRS or too large."""


class InvalidParameter(InvalidInput):
    """A query parameter that is malformed or out of range."""


class DatabaseError(NattvandringError):
    """The database cannot be reached, set up or migrated; the message says what to do."""


class ClusterError(DatabaseError):
    """The embedded PostgreSQL cluster cannot be created, started or stopped."""


class MigrationError(DatabaseError):
    """The schema cannot be brought up to date (for example an applied migration was edited)."""
