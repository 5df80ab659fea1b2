"""Edition settings: every numeric rule of the programme is configuration with a documented default.

The rulebook is not public; the defaults reproduce the public facts of the 4th and 5th
editions (ceiling 49,000 MAD, partner Region Councils funding cooperatives in their own
territory, the six earthquake-hit provinces as priority, tranches 60% / 40%).
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from domain.calendar import PROGRAMME_TZ, report_schedule
from domain.errors import shown
from domain.money import MAD, Share
from domain.reference import (
    EARTHQUAKE_PROVINCES_2023,
    DocumentKind,
    LegalForm,
    Sector,
    province_region,
    regions,
)
from domain.text import RefusesCharacters

CEILING = Decimal("49000.00")  # the most a project is awarded in the 4th and 5th editions, whatever its legal form


class Criterion(StrEnum):
    """The review grid's criteria."""

    INNOVATION = "innovation"
    INCOME_GENERATION = "income_generation"
    JOBS = "jobs"
    INCLUSION = "inclusion"  # of women and youth
    SUSTAINABILITY = "sustainability"
    FEASIBILITY = "feasibility"  # feasibility and budget coherence


DEFAULT_GRID: dict[Criterion, Decimal] = {
    Criterion.INNOVATION: Decimal("0.20"),
    Criterion.INCOME_GENERATION: Decimal("0.20"),
    Criterion.JOBS: Decimal("0.20"),
    Criterion.INCLUSION: Decimal("0.15"),
    Criterion.SUSTAINABILITY: Decimal("0.10"),
    Criterion.FEASIBILITY: Decimal("0.15"),
}


class ReviewAssignment(StrEnum):
    """How an edition's applications find their reviewers (domain/reviewers.py)."""

    OPEN = "open"  # any reviewer takes a free seat (the editions before assignment existed)
    AUTOMATIC = "automatic"  # the edition assigns them as an application enters review
    OFFICERS = "officers"  # an officer assigns them (or asks the edition to)


class CoFundingFallback(StrEnum):
    """What happens when a partner Region declines or does not answer in time."""

    MINISTRY_COVERS = "ministry_covers"  # the ministry pays the partner's share too
    REDUCE_AWARD = "reduce_award"  # the award shrinks by the partner's share
    WAITLIST = "waitlist"  # the project goes back to the waitlist


class CoverShortfall(StrEnum):
    """Under `ministry_covers`, what happens when the ministry's envelope cannot cover the whole share."""

    REDUCE_AWARD = "reduce_award"  # the ministry covers what its envelope has left; the award shrinks
    WAITLIST = "waitlist"  # the project goes back to the waitlist


class TrancheRelease(StrEnum):
    SIGNATURE = "signature"  # when the funding agreement is signed
    MIDTERM_REPORT = "midterm_report"  # when the mid-term progress report is approved


class Tranche(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")  # a misspelt rule is refused, never ignored
    share: Share
    release: TrancheRelease


class PartnerRegion(RefusesCharacters):
    """A Region Council co-funding projects in its own territory."""

    model_config = ConfigDict(frozen=True, extra="forbid")  # a misspelt rule is refused, never ignored
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    envelope: MAD
    legal_forms: tuple[LegalForm, ...] = (LegalForm.COOPERATIVE,)
    # The part of an award the Region pays for a project it co-funds (1 = the whole award).
    share: Share = Decimal("1")
    # Where its co-funding requests and reminders are sent (domain/messages.py); none: ops are shown
    # the message as undeliverable.
    contact_email: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )

    @field_validator("region_code")
    @classmethod
    def _known_region(cls, v: str) -> str:
        if v not in regions():
            raise ValueError(f"unknown region code {v!r}")
        return v


Days = Annotated[int, Field(ge=0, le=3650)]


class EditionSettings(RefusesCharacters):
    """One edition (yearly call for projects) and every rule it applies."""

    model_config = ConfigDict(frozen=True, extra="forbid")  # a misspelt rule is refused, never ignored

    edition: int = Field(ge=1, le=100)
    year: int = Field(ge=2020, le=2100)
    call_opens: date
    call_closes: date
    rule_set_version: Annotated[str, StringConstraints(min_length=1, max_length=50)] = "2024.1"

    # Funding
    ministry_envelope: MAD = Decimal("6000000.00")
    ministry_legal_forms: tuple[LegalForm, ...] = (LegalForm.ASSOCIATION, LegalForm.NETWORK)
    partners: tuple[PartnerRegion, ...] = ()
    ceilings: dict[LegalForm, MAD] = Field(default_factory=lambda: {f: CEILING for f in LegalForm})
    max_requested_share: Share = Decimal("0.90")  # requested amount / total cost
    min_own_contribution_share: Share = Decimal("0.10")
    min_duration_months: int = Field(default=6, ge=1, le=120)
    max_duration_months: int = Field(default=24, ge=1, le=120)
    sectors: tuple[Sector, ...] = tuple(Sector)
    required_documents: tuple[DocumentKind, ...] = (
        DocumentKind.STATUTES,
        DocumentKind.REGISTRATION_RECEIPT,
        DocumentKind.PROJECT_PLAN,
        DocumentKind.BUDGET,
    )

    # Deadlines (durable timers)
    documents_deadline_days: Days = 15
    reviewers_per_application: int = Field(default=2, ge=1, le=10)
    review_deadline_days: Days = 21
    review_reminder_days: Days = 7  # after a reminder, how long before escalation
    review_grid: dict[Criterion, Decimal] = Field(default_factory=lambda: dict(DEFAULT_GRID))
    review_assignment: ReviewAssignment = ReviewAssignment.OPEN
    blind_review: bool = False  # reviewers see the project, never the applicant's name, number or contacts
    committee_wait_days: Days = 120  # how long an application waits for the committee
    waitlist_days: Days = 180  # how long a waitlisted project may still be promoted
    cofunding_deadline_days: Days = 30
    cofunding_fallback: CoFundingFallback = CoFundingFallback.MINISTRY_COVERS
    # The ministry never covers beyond its envelope (domain/envelopes.py): short of money, this decides.
    cover_shortfall: CoverShortfall = CoverShortfall.REDUCE_AWARD
    agreement_deadline_days: Days = 60
    tranches: tuple[Tranche, ...] = (
        Tranche(share=Decimal("0.60"), release=TrancheRelease.SIGNATURE),
        Tranche(share=Decimal("0.40"), release=TrancheRelease.MIDTERM_REPORT),
    )
    report_interval_months: int = Field(default=6, ge=1, le=24)
    report_window_days: Days = 30  # a progress report is accepted from this many days before its due date
    report_grace_days: Days = 15  # after the due date, a reminder
    report_escalation_days: Days = 30  # after the due date, escalation; next tranche suspended

    # A compressed calendar for demonstrations: how long one programme day lasts. Months are
    # then 30 such days. The default is the real calendar.
    day_length: timedelta = Field(default=timedelta(days=1), gt=timedelta(0), le=timedelta(days=1))

    # Committee (the edition's selection, domain/committee.py)
    priority_provinces: tuple[Annotated[str, StringConstraints(max_length=100)], ...] = EARTHQUAKE_PROVINCES_2023
    # How the priority provinces are favoured: a score bonus on the 0-100 scale, and/or a part of
    # the ministry's envelope ring-fenced for them (projects there funded by the ministry draw
    # on it first; what they leave unused goes back to the national envelope).
    priority_bonus: Decimal = Field(default=Decimal("10"), ge=0, le=100)
    priority_envelope: MAD = Decimal("0.00")
    priority_envelope_exclusive: bool = False  # True: priority projects are funded from it only
    min_score: Decimal = Field(default=Decimal("50"), ge=0, le=100)  # below it: rejected, not waitlisted
    honorary_awards: int = Field(default=3, ge=0, le=100)

    @model_validator(mode="after")
    def _coherent(self) -> "EditionSettings":
        if self.call_closes < self.call_opens:
            raise ValueError("call_closes is before call_opens")
        if not 2020 <= self.call_opens.year <= 2100:
            raise ValueError(f"call_opens: {self.call_opens} is outside the programme's years (2020-2100)")
        if (self.call_closes - self.call_opens).days > 366:
            raise ValueError("call_closes: a call lasts at most a year")
        if self.min_duration_months > self.max_duration_months:
            raise ValueError("min_duration_months exceeds max_duration_months")
        if sum((t.share for t in self.tranches), Decimal(0)) != 1:
            raise ValueError("tranches: shares must add up to 1")
        if not self.tranches or self.tranches[0].release != TrancheRelease.SIGNATURE:
            raise ValueError("tranches: the first tranche is released at signature")
        if set(self.review_grid) != set(Criterion) or sum(self.review_grid.values()) != 1:
            raise ValueError("review_grid: one weight per criterion, adding up to 1")
        if any(w < 0 for w in self.review_grid.values()):
            raise ValueError("review_grid: weights are not negative")
        funded = set(self.ministry_legal_forms) | {f for p in self.partners for f in p.legal_forms}
        if funded - set(self.ceilings):
            raise ValueError(f"ceilings: no ceiling for {sorted(funded - set(self.ceilings))}")
        unknown = [p for p in self.priority_provinces if p not in province_region()]
        if unknown:
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            raise ValueError(f"priority_provinces: unknown provinces {', '.join(map(shown, unknown[:3]))}{more}")
        if self.priority_envelope > self.ministry_envelope:
            raise ValueError("priority_envelope: exceeds the ministry envelope it is part of")
        if len({p.region_code for p in self.partners}) != len(self.partners):
            raise ValueError("partners: a region appears twice")
        return self

    def after_days(self, start: datetime, days: int) -> datetime:
        """A deadline `days` programme days after `start`."""
        return start + days * self.day_length

    def report_due_dates(self, start: datetime, duration_months: int) -> list[datetime]:
        """When progress reports are due: every interval, the last one at the project's end."""
        if self.day_length == timedelta(days=1):  # calendar months of the programme's calendar (Casablanca)
            local = report_schedule(start.astimezone(PROGRAMME_TZ), duration_months, self.report_interval_months)
            return [due.astimezone(start.tzinfo) for due in local]
        return [
            start + (due - start).days * self.day_length
            for due in report_schedule(start, duration_months, self.report_interval_months)
        ]

    def partner(self, region_code: str) -> PartnerRegion | None:
        return next((p for p in self.partners if p.region_code == region_code), None)

    def funds(self, legal_form: LegalForm, region_code: str) -> Literal["ministry", "partner"] | None:
        """Who may fund an applicant of this legal form in this region (partner first)."""
        partner = self.partner(region_code)
        if partner and legal_form in partner.legal_forms:
            return "partner"
        if legal_form in self.ministry_legal_forms:
            return "ministry"
        return None


def _envelopes_in_ceilings(
    edition: int, call: tuple[date, date], ministry: int, partners: dict[str, int], **rules: Any
) -> EditionSettings:
    """An edition whose envelopes hold so many ceilings: `ministry` for the ministry's, one count
    per partner Region (its code); its year is its call's."""
    return EditionSettings(
        edition=edition,
        year=call[0].year,
        call_opens=call[0],
        call_closes=call[1],
        ministry_envelope=ministry * CEILING,
        partners=tuple(PartnerRegion(region_code=r, envelope=n * CEILING) for r, n in partners.items()),
        **rules,
    )


def edition_4_settings() -> EditionSettings:
    """The 4th edition (2023): call 15 Sep – 13 Oct 2023; 121 beneficiaries, 44 in the earthquake zone.

    The split of the 121 is not public; these envelopes, all multiples of the 49,000 MAD
    ceiling, reproduce it: 44 projects from an envelope ring-fenced for the six earthquake-hit
    provinces, 62 from the ministry's national envelope, 7 cooperatives co-funded by
    l'Oriental and 8 by Fès-Meknès.
    """
    return _envelopes_in_ceilings(
        4,
        (date(2023, 9, 15), date(2023, 10, 13)),
        ministry=44 + 62,
        partners={"02": 7, "03": 8},
        priority_envelope=44 * CEILING,
        priority_envelope_exclusive=True,
        priority_bonus=Decimal("0"),
    )


def edition_5_settings() -> EditionSettings:
    """The 5th edition (2024): ceiling 49,000 MAD; 163 selected of 670 requests.

    130 associations funded by the ministry, 19 cooperatives by Fès-Meknès, 14 by l'Oriental:
    envelopes of that many ceilings. Tanger-Tétouan-Al Hoceïma joined as a partner that year
    with no envelope yet. The earthquake zone is favoured by a score bonus.
    """
    return _envelopes_in_ceilings(
        5, (date(2024, 9, 16), date(2024, 10, 31)), ministry=130, partners={"01": 0, "02": 14, "03": 19}
    )
