"""Organisation and agreement bodies, and the report a grant's partner gives on a reporting date:
flat JSON objects as pydantic v2 models, checked before SQL (like `geo.inputs.walks`).

Organisations and parties are named by name (``"part_of": "Södra Folkparken"``), areas by slug,
the agreement an extension prolongs by name. What needs the database (a known party, an area,
two agreements that overlap) is checked by `geo.db.organisations` and `geo.db.agreements`.

Rules across fields are refused with `geo.inputs.geojson.fail`: ``type`` is the rule's code
(``period_reversed``, ``rate_missing``…) and ``ctx.field`` the field to fix.

>>> body = AgreementIn.model_validate(EXAMPLE_AGREEMENT)
>>> body.parties, body.rate_sek, body.budget_sek
(['Södra Folkparken', 'Älvsjö AIK'], 1700, None)
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo.inputs.geojson import fail

ORGANISATION_KINDS = ("district", "club", "police", "property_owner", "foundation", "other")
AGREEMENT_KINDS = ("agreement", "iop")
COMPENSATIONS = ("per_walk", "grant")
MAX_PARTIES = 20
MAX_REPORTING_DATES = 24
MAX_AGREEMENT_BODY = 16 * 1024
MAX_GRANT_REPORT_BODY = 16 * 1024
# A final report may come some time after the period it reports on (127-trygghet's by
# 2019-02-28), but not years later.
REPORTING_GRACE = timedelta(days=366)

Name = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100)]
Notes = Annotated[str, Field(max_length=2000)]
Sek = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]

EXAMPLE_AGREEMENT: dict[str, Any] = {
    "name": "IOP nattvandring hösten 2024",
    "kind": "iop",
    "compensation": "per_walk",
    "rate_sek": 1700,
    "starts_on": "2024-09-06",
    "ends_on": "2024-12-28",
    "decided_on": "2024-08-29",
    "signed_on": "2024-12-17",
    "parties": ["Älvsjö AIK", "Södra Folkparken"],
    "areas": ["solberga", "alvsjo"],
    "walkers_per_walk": 6,
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _not_null(model: BaseModel, names: tuple[str, ...]) -> None:
    """A change may leave a field out, but not send null for one that must have a value."""
    for name in names:
        if name in model.model_fields_set and getattr(model, name) is None:
            fail("value_error", f"{name} cannot be null (leave it out to keep it)", field=name)


# -- organisations --------------------------------------------------------------------------------


class OrganisationIn(_Body):
    """``POST /api/v1/organisations``: a new organisation, ``part_of`` another by name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Kulturföreningen Solan", "kind": "club", "part_of": "Södra Folkparken"}
            ]
        }
    )

    name: Name
    kind: Literal["district", "club", "police", "property_owner", "foundation", "other"]
    part_of: Name | None = None
    notes: Notes = ""

    @model_validator(mode="after")
    def _rules(self) -> OrganisationIn:
        if self.part_of is not None and self.part_of == self.name:
            fail("part_of_cycle", "an organisation cannot be part of itself", field="part_of")
        return self


class OrganisationPatch(_Body):
    """``PATCH /api/v1/organisations/{id}``: the fields to change and the ``version`` read;
    ``part_of`` null makes the organisation stand on its own."""

    version: int = Field(gt=0)
    name: Name | None = None
    kind: Literal["district", "club", "police", "property_owner", "foundation", "other"] | None = (
        None
    )
    part_of: Name | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _rules(self) -> OrganisationPatch:
        _not_null(self, ("name", "kind", "notes"))
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent (null included: ``part_of`` null clears it), without the version."""
        return {k: getattr(self, k) for k in self.model_fields_set if k != "version"}


# -- agreements -----------------------------------------------------------------------------------


def _sorted_unique(values: list[str]) -> list[str]:
    return sorted(set(values))


class AgreementIn(_Body):
    """``POST /api/v1/agreements``: an agreement, flat, with its parties by name.

    ``ends_on`` is the period's last day (inclusive). ``per_walk`` pays ``rate_sek`` for each
    completed walk; a ``grant`` is ``budget_sek`` for the period, reported on
    ``reporting_dates`` (the last one is the final report).
    """

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_AGREEMENT]})

    name: Name
    kind: Literal["agreement", "iop"]
    compensation: Literal["per_walk", "grant"] = "per_walk"
    rate_sek: Sek | None = None
    budget_sek: Sek | None = None
    parties: list[Name] = Field(min_length=1, max_length=MAX_PARTIES)
    areas: list[Slug] = Field(default_factory=list, max_length=50)
    starts_on: date
    ends_on: date
    decided_on: date | None = None
    signed_on: date | None = None
    extends: Name | None = None
    walkers_per_walk: int = Field(default=6, ge=1, le=100)
    reporting_dates: list[date] = Field(default_factory=list, max_length=MAX_REPORTING_DATES)
    notes: Notes = ""

    sort_names = field_validator("parties", "areas")(_sorted_unique)

    @field_validator("reporting_dates")
    @classmethod
    def _dates(cls, value: list[date]) -> list[date]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _rules(self) -> AgreementIn:
        if self.ends_on < self.starts_on:
            fail(
                "period_reversed",
                f"the period ends ({self.ends_on}) before it starts ({self.starts_on}); "
                "ends_on is the last day of the period",
                field="ends_on",
            )
        if self.compensation == "per_walk":
            if self.rate_sek is None:
                fail(
                    "rate_missing",
                    "an agreement paid per walk needs rate_sek (SEK per completed walk)",
                    field="rate_sek",
                )
            if self.budget_sek is not None:
                fail(
                    "value_error",
                    "budget_sek is for grants; an agreement paid per walk has rate_sek only",
                    field="budget_sek",
                )
            if self.reporting_dates:
                fail(
                    "reporting_dates_not_for_per_walk",
                    "reporting_dates are for grants; walks paid per walk are reported back one "
                    "by one",
                    field="reporting_dates",
                )
        else:
            if self.budget_sek is None:
                fail(
                    "budget_missing",
                    "a grant needs budget_sek (SEK for the whole period)",
                    field="budget_sek",
                )
            if self.rate_sek is not None:
                fail(
                    "value_error",
                    "rate_sek is for agreements paid per walk; a grant has budget_sek only",
                    field="rate_sek",
                )
        last = self.ends_on + REPORTING_GRACE
        outside = [d for d in self.reporting_dates if not self.starts_on <= d <= last]
        if outside:
            fail(
                "reporting_date_outside",
                f"reporting date {outside[0]} is outside the period {self.starts_on} – "
                f"{self.ends_on} and the year after it",
                field="reporting_dates",
            )
        if self.decided_on and self.signed_on and self.signed_on < self.decided_on:
            fail(
                "signed_before_decided",
                f"signed_on ({self.signed_on}) is before decided_on ({self.decided_on})",
                field="signed_on",
            )
        if self.extends is not None and self.extends == self.name:
            fail("value_error", "an agreement cannot extend itself", field="extends")
        return self


class AgreementPatch(_Body):
    """``PATCH /api/v1/agreements/{id}``: the fields to change and the ``version`` read.

    The agreement with the changes applied is checked as a whole (`AgreementIn`); ``rate_sek``,
    ``budget_sek``, ``decided_on``, ``signed_on`` and ``extends`` may be null to clear them.
    """

    version: int = Field(gt=0)
    name: Name | None = None
    kind: Literal["agreement", "iop"] | None = None
    compensation: Literal["per_walk", "grant"] | None = None
    rate_sek: Sek | None = None
    budget_sek: Sek | None = None
    parties: list[Name] | None = Field(default=None, min_length=1, max_length=MAX_PARTIES)
    areas: list[Slug] | None = Field(default=None, max_length=50)
    starts_on: date | None = None
    ends_on: date | None = None
    decided_on: date | None = None
    signed_on: date | None = None
    extends: Name | None = None
    walkers_per_walk: int | None = Field(default=None, ge=1, le=100)
    reporting_dates: list[date] | None = Field(default=None, max_length=MAX_REPORTING_DATES)
    notes: Notes | None = None

    @model_validator(mode="after")
    def _rules(self) -> AgreementPatch:
        _not_null(
            self,
            (
                "name",
                "kind",
                "compensation",
                "parties",
                "areas",
                "starts_on",
                "ends_on",
                "walkers_per_walk",
                "reporting_dates",
                "notes",
            ),
        )
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent (null included), without the version, as JSON values."""
        sent = self.model_dump(mode="json", include=self.model_fields_set - {"version"})
        return dict(sent)


# -- grant reports --------------------------------------------------------------------------------


class GrantReportIn(_Body):
    """``POST /api/v1/agreements/{id}/reports``: what a grant's partner reported for one
    reporting date (``due_on``), keyed by a client-made UUID so that a retry is stored once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3c0f8a2e-9d4b-4e1a-8f6c-127000000004",
                    "due_on": "2019-02-28",
                    "submitted_on": "2019-02-25",
                    "covers_from": "2018-09-01",
                    "covers_until": "2018-12-31",
                    "activities": 48,
                    "participants": 1200,
                    "summary": "Slutredovisning: kvällsaktiviteter i Sätra och Vårberg.",
                }
            ]
        }
    )

    id: uuid.UUID
    due_on: date
    submitted_on: date
    covers_from: date
    covers_until: date
    activities: int = Field(default=0, ge=0, le=100_000)
    participants: int = Field(default=0, ge=0, le=10_000_000)
    summary: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _rules(self) -> GrantReportIn:
        if self.covers_until < self.covers_from:
            fail(
                "period_reversed",
                f"the report covers a period that ends ({self.covers_until}) before it starts "
                f"({self.covers_from})",
                field="covers_until",
            )
        return self
