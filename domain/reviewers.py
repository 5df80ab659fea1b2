"""Who reviews which application: the reviewers' profiles, the pure rule that picks them, and the
inputs that assign and recuse them (updates of the application workflow).

An edition says how its reviewers are found (`EditionSettings.review_assignment`): `open` (any
reviewer takes a free seat: the editions before assignment existed), `automatic` (the edition
assigns `reviewers_per_application` reviewers as an application enters review) or `officers`
(an officer assigns; an empty assignment lets the rule below fill the seats). A reviewer who
recuses is replaced by the same rule, never by someone already asked.

The rule: never a reviewer with a conflict of interest (domain/scoring.py), the sector's experts
first, then the lightest load in the edition, then the reviewer id (so a replay, a retry and a
reader all get the same answer).
"""

from collections.abc import Iterable, Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.fields import Actor, Input, Reason, RegistrationNumber
from domain.models import Applicant
from domain.reference import Sector
from domain.scoring import link_conflict


class ReviewerProfile(BaseModel):
    """A reviewer as assignment sees them: their sectors of expertise, the organisation they belong
    to and the organisations they declared a link with (registration numbers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reviewer_id: Actor
    sectors: tuple[Sector, ...] = ()
    organisation: RegistrationNumber | None = None
    declared_links: tuple[RegistrationNumber, ...] = ()
    email: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None

    def conflict(self, applicant: Applicant) -> str | None:
        return link_conflict(self.reviewer_id, self.organisation, self.declared_links, applicant)


class ReviewerAssignment(Input):
    """An officer assigns reviewers: these ids, or, when none is named, the edition's rule fills the
    free seats (domain/reviewers.py)."""

    reviewers: tuple[Actor, ...] = Field(default=(), max_length=10)
    assigned_by: Actor

    @model_validator(mode="after")
    def _distinct(self) -> "ReviewerAssignment":
        if len(set(self.reviewers)) != len(self.reviewers):
            raise ValueError("reviewers: a reviewer is named twice")
        return self


class Recusal(Input):
    """A reviewer steps down from an application (a conflict of interest found late, unavailability);
    the edition's rule replaces them."""

    reviewer_id: Actor
    reason: Reason
    recused_by: Actor


def choose_reviewers(
    pool: Iterable[ReviewerProfile],
    applicant: Applicant,
    sector: Sector,
    seats: int,
    load: Mapping[str, int],
    excluded: Iterable[str] = (),
) -> list[str]:
    """Up to `seats` reviewer ids for an application, by the rule above; fewer when the pool runs out."""
    skip = set(excluded)
    fit = [p for p in pool if p.reviewer_id not in skip and p.conflict(applicant) is None]
    fit.sort(key=lambda p: (sector not in p.sectors, load.get(p.reviewer_id, 0), p.reviewer_id))
    return [p.reviewer_id for p in fit[: max(seats, 0)]]


def refuse_requested(
    requested: Iterable[str], pool: Mapping[str, ReviewerProfile], applicant: Applicant, taken: Iterable[str]
) -> str | None:
    """Why an officer's choice of reviewers cannot stand (the field named first), or None."""
    already = set(taken)
    for reviewer in requested:
        profile = pool.get(reviewer)
        if profile is None:
            return f"reviewers: {reviewer[:40]} is not an active reviewer"
        if reviewer in already:
            return f"reviewers: {reviewer} was already asked to review this application"
        conflict = profile.conflict(applicant)
        if conflict:
            return f"reviewers: conflict of interest: {conflict}"
    return None
