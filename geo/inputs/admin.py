"""Request bodies of the admins' operations: a new account, a change to an account, and an
area's settings (the numbers walkers call during a walk); checked before SQL.

What a change leaves out stays as it is (``model_fields_set`` says what was sent); ``null``
clears a value where the database allows that (a display name, the field worker's number).
A phone number follows the rule of the ``areas`` CHECK constraints (digits, spaces, dashes and
a leading plus): a number that breaks it is refused here with the code ``invalid_phone``, so
that the page can say so in Swedish, instead of reaching the constraint.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geo.inputs.geojson import fail

# The rule of the CHECK constraints on areas.*_phone (migration 0008).
PHONE = re.compile(r"^\+?[0-9][0-9 -]{1,29}$")
Role = Literal["admin", "planner", "walker", "partner"]
DisplayName = Annotated[str, Field(min_length=1, max_length=80)]
OrganisationName = Annotated[str, Field(min_length=1, max_length=200)]
MAX_ADMIN_BODY = 4 * 1024


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class NewUser(BaseModel):
    """A new account: e-mail, role, organisation (by name; it must exist) and an optional
    display name. The password is made by the server and shown once."""

    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    role: Role
    organisation: OrganisationName
    display_name: DisplayName | None = None

    _strip = field_validator("email", "organisation", "display_name", mode="before")(_stripped)


class UserChange(BaseModel):
    """Changes to an account; members left out stay as they are, ``display_name: null``
    clears the display name."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    organisation: OrganisationName | None = None
    display_name: DisplayName | None = None
    disabled: bool | None = None

    _strip = field_validator("organisation", "display_name", mode="before")(_stripped)

    @field_validator("role", "organisation", "disabled")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # ``null`` for these would mean "no role": left out is how to leave one unchanged.
        if value is None:
            fail("value_error", "this field cannot be null: leave it out to keep it")
        return value


class AreaSettings(BaseModel):
    """An area's numbers to call during a walk; members left out stay as they are.
    ``field_worker_phone: null`` clears it; the police and emergency numbers are required."""

    model_config = ConfigDict(extra="forbid")
    field_worker_phone: str | None = None
    police_phone: str | None = None
    emergency_phone: str | None = None

    @field_validator("field_worker_phone", "police_phone", "emergency_phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not PHONE.fullmatch(value.strip()):
            fail(
                "invalid_phone",
                "not a phone number: digits, spaces and dashes with an optional leading +, "
                "2–30 characters, e.g. 08-508 000 00",
            )
        return value.strip()

    @field_validator("police_phone", "emergency_phone")
    @classmethod
    def _required(cls, value: Any) -> Any:
        if value is None:
            fail("phone_required", "the police and emergency numbers cannot be cleared")
        return value
