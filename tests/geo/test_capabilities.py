"""The table of capabilities per role, and that nothing else in the tree compares roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geo.capabilities import ROLE_CAPABILITIES, ROLES, Capability, capabilities_of, roles_with
from geo.db.accounts import User

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("geo", "routes", "api", "maps", "bench")
# The table itself, and the accounts module (which checks that a stored role is one of ROLES).
ALLOWED = {Path("geo/capabilities.py"), Path("geo/db/accounts.py")}
# The folium situation page is being replaced by the page rewrite (issue 11, item 8); its one
# role check goes with it.
LEAVING = {Path("maps/situation.py")}
# `role in (`, `role not in …`, `role == …`, `role != …`, also as `user["role"] in (`.
ROLE_COMPARISON = re.compile(r"""\brole\b["'\]]*\s*(==|!=|not\s+in\b|in\s*[(\[{]|in\s+[A-Z_]+\b)""")


def test_partners_read_aggregates_only() -> None:
    partner = ROLE_CAPABILITIES["partner"]
    assert Capability.READ_AGGREGATES in partner and Capability.EXPORT_PARTNER in partner
    for single in (
        Capability.READ_REPORTS,
        Capability.SEE_REPORTERS,
        Capability.SEE_DESCRIPTIONS,
        Capability.SEE_OWN_DESCRIPTIONS,
        Capability.ANALYSE,  # a heat map shows where a lone report lies
        Capability.EXPORT_DETAIL,
    ):
        assert single not in partner, single


def test_walkers_never_see_reporters_nor_other_clubs_texts() -> None:
    walker = ROLE_CAPABILITIES["walker"]
    assert {Capability.REPORT, Capability.READ_REPORTS, Capability.SEE_OWN_DESCRIPTIONS} <= walker
    assert Capability.SEE_REPORTERS not in walker and Capability.SEE_DESCRIPTIONS not in walker
    assert Capability.TRIAGE not in walker and Capability.DRAW not in walker


def test_walks_by_role() -> None:
    assert roles_with(Capability.SCHEDULE_WALKS) == ("admin", "planner")
    assert roles_with(Capability.TAKE_PART) == ("walker",)
    assert roles_with(Capability.READ_WALKS) == ("admin", "planner", "walker")
    # Partners see how many walks there are, never a single walk's time, place or names.
    assert roles_with(Capability.READ_WALK_COUNTS) == ("admin", "planner", "walker", "partner")


def test_staff_and_admins() -> None:
    assert ROLE_CAPABILITIES["admin"] == ROLE_CAPABILITIES["planner"] | {Capability.ADMINISTER}
    assert roles_with(Capability.ADMINISTER) == ("admin",)
    assert roles_with(Capability.READ_AGGREGATES) == ("admin", "planner", "partner")
    assert roles_with(Capability.TRIAGE, Capability.REPORT) == ("admin", "planner")
    # Every capability belongs to some role (an unused one is a mistake in the table).
    assert set().union(*ROLE_CAPABILITIES.values()) == set(Capability)


def test_users_carry_their_roles_capabilities() -> None:
    for role in ROLES:
        user = User(1, "x@example.org", role, 1, "Org")
        assert user.capabilities == ROLE_CAPABILITIES[role] == capabilities_of(role)
    nobody = User(1, "x@example.org", "intruder", 1, "Org")
    assert nobody.capabilities == frozenset() and not nobody.can(Capability.READ_AGGREGATES)


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('if user.role in ("planner", "admin"):', True),
        ("if user.role not in PLANNER_ROLES:", True),
        ('elif viewer.role == "walker":', True),
        ('plan = x if user["role"] in ("planner", "admin") else ""', True),
        ("see = role != 'partner'", True),
        ('f"you are {user.role}"', False),
        ("add_user(conn, email, pw, role=role, organisation=org)", False),
        ('"role": user.role,', False),
    ],
)
def test_the_pattern_finds_role_comparisons(line: str, found: bool) -> None:
    assert bool(ROLE_COMPARISON.search(line)) is found


def test_no_role_is_compared_outside_the_table() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel in ALLOWED | LEAVING:
                continue
            for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ROLE_COMPARISON.search(text):
                    offenders.append(f"{rel}:{number}: {text.strip()}")
    assert not offenders, "compare capabilities, not roles:\n" + "\n".join(offenders)
    assert (ROOT / "geo/capabilities.py").is_file()
