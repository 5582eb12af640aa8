"""What each role may do: one table of capabilities per role (DESIGN.md decisions 5, 8 and 9).

Endpoints, pages and SQL ask for a `Capability`, never for a role, so that a rule such as
"partners see aggregates only" is decided here once: a partner has no `READ_REPORTS`, so no
path that reads single reports lets a partner through. Roles are the strings stored in
``users.role``; every role has an entry, and an unknown role has no capability at all.

>>> Capability.READ_REPORTS in ROLE_CAPABILITIES["partner"]
False
>>> sorted(roles_with(Capability.READ_AGGREGATES))
['admin', 'partner', 'planner']
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Capability(enum.StrEnum):
    """One thing a signed-in user may do or see."""

    REPORT = "report"
    """Report a deviation (``POST /api/v1/deviations``)."""
    READ_REPORTS = "read_reports"
    """Read single reports with their point and time (lists, one report, the map's points)."""
    READ_AGGREGATES = "read_aggregates"
    """Read the partner profile's counts per zone and 250 m cell (k ≥ 3)."""
    SEE_REPORTERS = "see_reporters"
    """See who reported and their organisation (personal data: every read is audited)."""
    SEE_DESCRIPTIONS = "see_descriptions"
    """See the free text of every report."""
    SEE_OWN_DESCRIPTIONS = "see_own_descriptions"
    """See the free text of the reports of one's own organisation."""
    ANALYSE = "analyse"
    """Heat maps and hot spots (which show where single reports lie)."""
    PLAN_ROUTES = "plan_routes"
    """Ask for a route plan along the streets."""
    DRAW = "draw"
    """Draw, change and delete walk routes and collaboration zones."""
    TRIAGE = "triage"
    """Change a report's status (new / confirmed / dismissed)."""
    EXPORT_DETAIL = "export_detail"
    """Export single reports (the detail profile; audited)."""
    EXPORT_PARTNER = "export_partner"
    """Export the partner profile (aggregates only; audited)."""
    READ_AUDIT = "read_audit"
    """Read the audit trail."""
    APPROVE_WALK = "approve_walk"
    """Approve a walk report (the unit an agreement pays for)."""
    SCHEDULE_WALKS = "schedule_walks"
    """Create, change and cancel walks and series; see every walk's sign-ups, tracks and flags."""
    TAKE_PART = "take_part"
    """Sign up for, start, end, record and report back the walks of one's own club."""
    READ_WALKS = "read_walks"
    """Read single walks (when, where, who leads; sign-ups by name within the club only)."""
    READ_WALK_COUNTS = "read_walk_counts"
    """Read how many walks there are per status (what partners see of the schedule)."""
    FOLLOW_UP = "follow_up"
    """Read organisations, agreements, the ledger and the follow-up of walks and costs."""
    ADMINISTER = "administer"
    """Accounts, organisations, agreements, categories and area settings; withdrawing an
    approval (a reversal in the ledger)."""


C = Capability
_STAFF = frozenset(
    {
        C.REPORT,
        C.READ_REPORTS,
        C.READ_AGGREGATES,
        C.SEE_REPORTERS,
        C.SEE_DESCRIPTIONS,
        C.SEE_OWN_DESCRIPTIONS,
        C.ANALYSE,
        C.PLAN_ROUTES,
        C.DRAW,
        C.TRIAGE,
        C.EXPORT_DETAIL,
        C.EXPORT_PARTNER,
        C.READ_AUDIT,
        C.APPROVE_WALK,
        C.SCHEDULE_WALKS,
        C.READ_WALKS,
        C.READ_WALK_COUNTS,
        C.FOLLOW_UP,
    }
)

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "admin": _STAFF | {C.ADMINISTER},
    "planner": _STAFF,
    # Walkers report and read the situation map; descriptions of their own organisation only,
    # never who reported (DESIGN.md decision 9).
    "walker": frozenset(
        {
            C.REPORT,
            C.READ_REPORTS,
            C.SEE_OWN_DESCRIPTIONS,
            C.ANALYSE,
            C.PLAN_ROUTES,
            C.TAKE_PART,
            C.READ_WALKS,
            C.READ_WALK_COUNTS,
        }
    ),
    # Partners (police, property owners) read aggregates only (DESIGN.md decision 8).
    # Of walks, partners see only how many there are (no times, places or names).
    "partner": frozenset({C.READ_AGGREGATES, C.EXPORT_PARTNER, C.READ_WALK_COUNTS}),
}
del C

ROLES: tuple[str, ...] = tuple(ROLE_CAPABILITIES)


def capabilities_of(role: str) -> frozenset[Capability]:
    """The capabilities of ``role`` (none for a role this table does not know).

    >>> capabilities_of("nobody")
    frozenset()
    """
    return ROLE_CAPABILITIES.get(role, frozenset())


def roles_with(*capabilities: Capability) -> tuple[str, ...]:
    """The roles that have every one of ``capabilities``, in the table's order."""
    return tuple(r for r, caps in ROLE_CAPABILITIES.items() if caps.issuperset(capabilities))


def describe(capabilities: Iterable[Capability]) -> str:
    """The capabilities as a readable, sorted list for error messages.

    >>> describe([Capability.TRIAGE, Capability.DRAW])
    'draw, triage'
    """
    return ", ".join(sorted(str(c) for c in capabilities))
