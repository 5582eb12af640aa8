"""Exceptions of the geo package: what went wrong, in the domain's words.

An error names the field it is about (``properties.category``, ``bbox``, ``Idempotency-Key``) and
never where that field travelled in a request: ``api/errors.py`` alone decides the HTTP status and
whether a field was part of the body, the query or a header. ``code`` names the kind of error for
programs (the API sends it, and the pages show a Swedish text for it); ``ctx`` holds the figures
that text needs. The sign-in errors live with the accounts (`geo.db.accounts`).
"""

from __future__ import annotations

from typing import Any


class NattvandringError(Exception):
    """Base class of every error nattvandring raises on purpose."""

    code: str | None = None

    @property
    def ctx(self) -> dict[str, Any]:
        return {}


class NotFound(NattvandringError):
    """A named thing (area, zone, place, deviation…) does not exist."""


class InvalidInput(NattvandringError):
    """Input that the caller can fix; the message says how.

    ``field`` is the field's name or dotted path inside its document (``properties.category``);
    ``code`` overrides the class's code for one error.
    """

    code = "value_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        if code is not None:
            self.code = code


class InvalidGeometry(InvalidInput):
    """A geometry that is invalid, out of range, in the wrong CRS or too large."""


class InvalidParameter(InvalidInput):
    """An option (a filter, a cell size, a period…) that is malformed or out of range."""


class LonLatSwapped(InvalidGeometry):
    """Coordinates sent as [latitude, longitude]: swapped, they would lie in a known area."""

    code = "lonlat_swapped"


class FarFromAreas(InvalidGeometry):
    """A position farther than the allowed distance from every known area."""

    code = "far_from_areas"


class UnknownCategory(InvalidInput):
    """A deviation category code that does not exist (or is no longer active)."""

    code = "unknown_category"


class DatabaseError(NattvandringError):
    """The database cannot be reached, set up or migrated; the message says what to do."""


class DatabaseUnavailable(DatabaseError):
    """The database does not answer right now (down, restarting, or every connection busy): try
    again after ``retry_after_s`` seconds."""

    code = "database_unavailable"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ClusterError(DatabaseError):
    """The embedded PostgreSQL cluster cannot be created, started or stopped."""


class MigrationError(DatabaseError):
    """The schema cannot be brought up to date (for example an applied migration was edited)."""


class Conflict(NattvandringError):
    """The request clashes with what is stored (e.g. a report id reused with another body)."""


class Forbidden(NattvandringError):
    """Signed in, but the user's role may not do this."""


class PayloadTooLarge(NattvandringError):
    """A request body over the size limit."""

    code = "too_large"


class UnsupportedMediaType(NattvandringError):
    """A request body in a format the operation does not read (form data sent for JSON, say)."""

    code = "unsupported_media_type"


class NotAcceptable(NattvandringError):
    """A response format (``f``, ``Accept``) that the operation does not give (406)."""

    code = "not_acceptable"


class NotYourClub(Forbidden):
    """A walker acting on a walk of another club (sign-up, start, track, report)."""

    code = "not_your_club"


class WalkCancelled(Conflict):
    """A cancelled walk takes no report, track or start."""

    code = "walk_cancelled"


class ReportExists(Conflict):
    """A second report back for a walk that has one (correct it with a PATCH instead)."""

    code = "report_exists"


class Withdrawn(NattvandringError):
    """A deviation report that its reporter withdrew: its id stays reserved (a resend is refused
    and stores nothing)."""

    code = "withdrawn"


class TooLateToWithdraw(Conflict):
    """Withdrawing a report after its window (`geo.db.own_reports.WITHDRAW_WITHIN`)."""

    code = "too_late_to_withdraw"


class TooLateToCorrect(Conflict):
    """Correcting one's own report after its window (`geo.db.own_reports.CORRECT_WITHIN`)."""

    code = "too_late_to_correct"


class AlreadyTriaged(Conflict):
    """Correcting one's own report after a planner confirmed or dismissed it: the planner
    decided on what it said, so it is not changed under them."""

    code = "already_triaged"


class WalkNotOngoing(InvalidInput):
    """A deviation names a walk that is not under way (or of another club)."""

    code = "walk_not_ongoing"


# -- organisations and agreements (issue 13) -----------------------------------------------------


class StaleVersion(Conflict):
    """A change sent with a version that is no longer the stored one (optimistic concurrency)."""

    code = "stale_version"


class NameTaken(Conflict):
    """A name that another organisation or agreement has already."""

    code = "name_taken"


class UnknownOrganisation(InvalidInput):
    """A party, ``part_of`` or filter that names no organisation."""

    code = "unknown_organisation"

    def __init__(self, message: str, *, name: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.name = name

    @property
    def ctx(self) -> dict[str, Any]:
        return {"name": self.name}


class AgreementOverlap(Conflict):
    """Two agreements of one kind that share a party (or its parent) and overlap in time."""

    code = "agreement_overlap"

    def __init__(self, message: str, *, other: str) -> None:
        super().__init__(message)
        self.other = other

    @property
    def ctx(self) -> dict[str, Any]:
        return {"other": self.other}


class GrantReportExists(Conflict):
    """A second report (another id) for a reporting date that has one."""

    code = "grant_report_exists"


# -- approval and the ledger (issue 13) -----------------------------------------------------------


class NotReported(Conflict):
    """Only a reported walk can be approved or rejected (planned, ongoing, rejected…)."""

    code = "not_reported"


class OwnWalk(Forbidden):
    """Four eyes: the approver reported the walk."""

    code = "own_walk"


class OwnClub(Forbidden):
    """Four eyes: the approver belongs to the walk's organisation (or the one it is part of)."""

    code = "own_club"


class AgreementDoesNotCover(InvalidInput):
    """An agreement named for an approval whose period or parties do not cover the walk."""

    code = "agreement_does_not_cover"


class NotApproved(Conflict):
    """Withdrawing an approval of a walk that is not approved."""

    code = "not_approved"
