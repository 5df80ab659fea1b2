"""The chaos run's edition: applications in groups whose outcome follows from the edition's rules
alone, whatever the kills.

Every tenth application is ineligible (it asks more than the ceiling). The others are scored by
their two reviewers, the same score per criterion within a group: the ministry's envelope holds
exactly the two best groups (selected, then agreement, first tranche: monitoring), l'Oriental's
envelope exactly its cooperatives (selected for its co-funding, approved, signed, paid: monitoring);
the next group, above the minimum score, is waitlisted; the last, below it, rejected.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.edition import EditionSettings, PartnerRegion
from domain.models import ApplicationSubmission, Stage
from domain.reference import MINISTRY, region_funder
from simulation.factories import cooperative, make_submission, settings_with

EDITION = 16
AWARD, FIRST_TRANCHE = Decimal("40000.00"), Decimal("24000.00")  # 60% at signature
PARTNER = "02"  # l'Oriental
REVIEWERS = ("reviewer-a", "reviewer-b")


@dataclass(frozen=True)
class Group:
    name: str
    score: int | None  # per criterion (the weighted score is ten times it); None: never reviewed
    ends_in: Stage
    funder: str | None = None  # who pays its award, when selected
    cooperative: bool = False

    @property
    def funded(self) -> bool:
        return self.funder is not None


INELIGIBLE = Group("ineligible", None, Stage.INELIGIBLE)
SELECTED_HIGH = Group("selected (9)", 9, Stage.MONITORING, MINISTRY)
SELECTED = Group("selected (8)", 8, Stage.MONITORING, MINISTRY)
COFUNDED = Group("co-funded by the Region", 8, Stage.MONITORING, region_funder(PARTNER), cooperative=True)
WAITLISTED = Group("waitlisted (6)", 6, Stage.WAITLISTED)
REJECTED = Group("rejected (4)", 4, Stage.REJECTED)
# One application in ten of each kind, in this order.
PATTERN = (
    INELIGIBLE,
    SELECTED_HIGH,
    SELECTED,
    WAITLISTED,
    REJECTED,
    COFUNDED,
    WAITLISTED,
    SELECTED_HIGH,
    REJECTED,
    SELECTED,
)
GROUPS = (INELIGIBLE, SELECTED_HIGH, SELECTED, COFUNDED, WAITLISTED, REJECTED)


def plan(n: int) -> dict[str, Group]:
    """Registration number -> its group."""
    return {f"CHAOS-{i:05d}": PATTERN[i % len(PATTERN)] for i in range(n)}


def submission(reg: str, group: Group) -> ApplicationSubmission:
    if group.cooperative:
        return cooperative(reg).model_copy(update={"edition": EDITION})
    if group is INELIGIBLE:  # above the 49,000 MAD ceiling
        return make_submission(
            reg, edition=EDITION, requested=Decimal("60000.00"), total=Decimal("80000.00"), own=Decimal("20000.00")
        )
    return make_submission(reg, edition=EDITION)


def settings(today: date, groups: dict[str, Group]) -> EditionSettings:
    """The call open until well after the run (ops close it); envelopes that hold exactly the
    selected groups; no priority bonus or ring-fenced part, so the scores alone decide."""
    ministry = sum(1 for g in groups.values() if g.funder == MINISTRY)
    partner = sum(1 for g in groups.values() if g.cooperative)
    return settings_with(
        edition=EDITION,
        year=today.year,
        call_opens=today - timedelta(days=1),
        call_closes=today + timedelta(days=20),
        ministry_envelope=ministry * AWARD,
        priority_envelope=Decimal(0),
        priority_envelope_exclusive=False,
        priority_bonus=Decimal(0),
        partners=(PartnerRegion(region_code=PARTNER, envelope=partner * AWARD),),
    )


def application_id(reg: str) -> str:
    return make_submission(reg, edition=EDITION).application_id
