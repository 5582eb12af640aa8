"""Exceptions of the geo package; ``api/errors.py`` alone maps them to HTTP status codes."""

from __future__ import annotations

from typing import Any


class NattvandringError(Exception):
    """Base class of every error nattvandring raises on purpose.

    ``code`` names the kind of error for programs (the API sends it, and the pages show a
    Swedish text for it); ``ctx`` holds the figures that text needs.
    """

    code: str | None = None

    @property
    def ctx(self) -> dict[str, Any]:
        return {}


class NotFound(NattvandringError):
    """A named thing (area, zone, place, deviation…) does not exist."""


class InvalidInput(NattvandringError):
    """Input that the caller can fix; the message says how."""

    location = "body"
    code = "value_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidGeometry(InvalidInput):
    """A geometry that is invalid, out of range, in the wrong CRS or too large."""


class InvalidParameter(InvalidInput):
    """A query parameter that is malformed or out of range."""

    location = "query"


class InvalidHeader(InvalidInput):
    """A request header that is malformed (an Idempotency-Key that is not a UUID, say)."""

    location = "header"


class DatabaseError(NattvandringError):
    """The database cannot be reached, set up or migrated; the message says what to do."""


class ClusterError(DatabaseError):
    """The embedded PostgreSQL cluster cannot be created, started or stopped."""


class MigrationError(DatabaseError):
    """The schema cannot be brought up to date (for example an applied migration was edited)."""


class Conflict(NattvandringError):
    """The request clashes with what is stored (e.g. a report id reused with another body)."""


class Unauthorized(NattvandringError):
    """No valid sign-in (missing, wrong or expired credentials)."""


class Forbidden(NattvandringError):
    """Signed in, but the user's role may not do this."""


class TooManyAttempts(NattvandringError):
    """Too many failed sign-ins for an account; try again after ``retry_after_s`` seconds."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PayloadTooLarge(NattvandringError):
    """A request body over the size limit."""
