"""The committee's selection: rank the reviewed applications and fill each envelope. Pure functions.

Same inputs, same result, whatever the order the applications arrived in:

* **Ranking** — by score (plus `priority_bonus` for a project in a priority province), then
  the tie rule: higher innovation score, then more jobs created, then the registration
  number (alphabetical). Every key is a property of the application, none of its arrival.
* **Envelopes** — the ministry's national envelope; a part of it ring-fenced for the
  priority provinces (`priority_envelope`); each partner Region's envelope, which funds only
  the legal forms it funds in its own territory (its `share` of the award, the ministry the
  rest). Awards are the requested amount, capped by the ceiling of the legal form.
* **Filling** — in rank order, each project takes its award from its envelopes if they still
  hold it. A project in a priority province draws the ministry's part from the ring-fenced
  envelope first, then (unless `priority_envelope_exclusive`) from the national one. What
  the ring-fenced envelope leaves unused then goes back to the national envelope, and a
  second pass in rank order fills it. A project that does not fit is waitlisted (ranked);
  below `min_score` it is rejected.
* **Honorary awards** — the `honorary_awards` best innovation scores among the selected.
"""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.edition import EditionSettings
from domain.envelopes import PRIORITY, sizes
from domain.models import Decision
from domain.money import mad
from domain.reference import MINISTRY, LegalForm, region_funder
from domain.scoring import priority_score

__all__ = [
    "MINISTRY",
    "PRIORITY",
    "Candidate",
    "Change",
    "Placement",
    "envelopes",
    "fill",
    "promote",
    "select",
    "what_if",
]


class Candidate(BaseModel):
    """A reviewed, eligible application as the committee sees it."""

    model_config = ConfigDict(frozen=True)
    application_id: str
    registration_number: str
    legal_form: LegalForm
    region_code: str
    province: str
    score: Decimal
    innovation: Decimal = Decimal(0)  # mean innovation score of the reviews, 0-10
    jobs: int = 0
    requested: Decimal


class Placement(BaseModel):
    """The committee's decision for one application."""

    model_config = ConfigDict(frozen=True)
    application_id: str
    decision: Decision
    rank: int
    score: Decimal  # with the priority bonus, as ranked
    award: Decimal = Decimal("0.00")
    funders: dict[str, Decimal] = {}  # who pays: ministry / region-NN
    draws: dict[str, Decimal] = {}  # which envelopes it draws on (ministry, ministry-priority, region-NN)
    honorary_award: bool = False
    reason: str = ""


envelopes = sizes  # what each envelope holds when the edition opens (domain/envelopes.py)


def ranked_score(c: Candidate, settings: EditionSettings) -> Decimal:
    return priority_score(c.score, c.province, settings)


def rank(candidates: list[Candidate], settings: EditionSettings) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (-ranked_score(c, settings), -c.innovation, -c.jobs, c.registration_number))


def funders_of(c: Candidate, settings: EditionSettings) -> dict[str, Decimal]:
    """Who pays the award of this project, and how much each."""
    award = min(c.requested, settings.ceilings[c.legal_form])
    if settings.funds(c.legal_form, c.region_code) == "partner":
        partner = settings.partner(c.region_code)
        assert partner is not None
        region_part = mad(award * partner.share)
        out = {region_funder(c.region_code): region_part}
        if award - region_part > 0:
            out[MINISTRY] = award - region_part
        return out
    return {MINISTRY: mad(award)}


def draw_options(c: Candidate, settings: EditionSettings, first_pass: bool) -> list[dict[str, Decimal]]:
    """The ways this project may draw its funders' amounts on the envelopes, preferred first."""
    funders = funders_of(c, settings)
    ministry = funders.get(MINISTRY, Decimal(0))
    others = {f: a for f, a in funders.items() if f != MINISTRY}
    if not ministry:
        return [others]
    priority = c.province in settings.priority_provinces and settings.priority_envelope > 0
    options = []
    if priority and first_pass:
        options.append(others | {PRIORITY: ministry})
    if not (priority and settings.priority_envelope_exclusive):
        options.append(others | {MINISTRY: ministry})
    return options


def _take(remaining: dict[str, Decimal], options: list[dict[str, Decimal]]) -> dict[str, Decimal] | None:
    for draws in options:
        if all(remaining.get(k, Decimal(0)) >= v for k, v in draws.items()):
            for k, v in draws.items():
                remaining[k] -= v
            return draws
    return None


def _fill(
    ranked: list[Candidate], settings: EditionSettings, remaining: dict[str, Decimal]
) -> dict[str, dict[str, Decimal]]:
    """Which projects the money in `remaining` funds, in rank order, and what each draws on.

    A first pass in rank order; then what the ring-fenced part still holds is lent to the national
    part (domain/envelopes.py counts that loan) and a second pass fills it."""
    remaining = dict(remaining)
    draws: dict[str, dict[str, Decimal]] = {}
    eligible = [c for c in ranked if c.score >= settings.min_score]
    for c in eligible:
        taken = _take(remaining, draw_options(c, settings, first_pass=True))
        if taken is not None:
            draws[c.application_id] = taken
    remaining[MINISTRY] = remaining.get(MINISTRY, Decimal(0)) + max(Decimal(0), remaining.pop(PRIORITY, Decimal(0)))
    for c in eligible:
        if c.application_id not in draws:
            taken = _take(remaining, draw_options(c, settings, first_pass=False))
            if taken is not None:
                draws[c.application_id] = taken
    return draws


def select(candidates: list[Candidate], settings: EditionSettings) -> list[Placement]:
    """The committee's proposal for every candidate, in rank order."""
    ranked = rank(candidates, settings)
    draws = _fill(ranked, settings, sizes(settings))
    selected = [c for c in ranked if c.application_id in draws]
    honorary = {c.application_id for c in sorted(selected, key=lambda c: -c.innovation)[: settings.honorary_awards]}
    out = []
    for n, c in enumerate(ranked, start=1):
        if c.application_id in draws:
            out.append(_selected(c, settings, n, draws[c.application_id], honorary=c.application_id in honorary))
        elif c.score >= settings.min_score:
            out.append(_placed(c, settings, n, Decision.WAITLISTED, "the envelope is spent at this rank"))
        else:
            out.append(
                _placed(c, settings, n, Decision.REJECTED, f"score {c.score} below the minimum of {settings.min_score}")
            )
    return out


def promote(waitlist: list[Candidate], settings: EditionSettings, remaining: dict[str, Decimal]) -> list[Placement]:
    """Waitlisted projects that now fit the money left in their envelopes, in rank order.

    `remaining` is what each envelope still has left (domain/envelopes.left: loans counted once);
    it is filled the way the committee fills the whole envelopes."""
    ranked = rank(waitlist, settings)
    draws = _fill(ranked, settings, remaining)
    out = []
    for n, c in enumerate(ranked, start=1):
        if c.application_id in draws:
            out.append(_selected(c, settings, n, draws[c.application_id], reason="promoted from the waitlist"))
    return out


def _selected(
    c: Candidate,
    settings: EditionSettings,
    rank_: int,
    draws: dict[str, Decimal],
    honorary: bool = False,
    reason: str = "",
) -> Placement:
    funders = funders_of(c, settings)
    award = sum(funders.values(), Decimal(0))
    return _placed(
        c,
        settings,
        rank_,
        Decision.SELECTED,
        reason,
        award=award,
        funders=funders,
        draws=draws,
        honorary_award=honorary,
    )


def _placed(
    c: Candidate, settings: EditionSettings, rank_: int, decision: Decision, reason: str, **award: Any
) -> Placement:
    """The committee's decision for `c` at this rank (the selected ones with their `award`, funders
    and draws)."""
    return Placement(
        application_id=c.application_id,
        decision=decision,
        rank=rank_,
        score=ranked_score(c, settings),
        reason=reason,
        **award,
    )


class Change(BaseModel):
    """How a what-if differs from the stored proposal, for one application."""

    application_id: str
    before: Decision
    after: Decision
    award_before: Decimal
    award_after: Decimal


def what_if(
    candidates: list[Candidate], settings: EditionSettings, stored: dict[str, tuple[Decision, Decimal]]
) -> tuple[list[Placement], list[Change]]:
    """The committee's function run on the same candidates with other parameters, storing nothing:
    its placements, and each application whose decision or award differs from `stored` (the
    proposal as stored: application -> decision, award). With the edition's own parameters, no
    change: confirming applies the stored proposal, which this reproduces."""
    placements = select(candidates, settings)
    changes = [
        Change(
            application_id=p.application_id,
            before=stored[p.application_id][0],
            after=p.decision,
            award_before=stored[p.application_id][1],
            award_after=p.award,
        )
        for p in placements
        if p.application_id in stored and (p.decision, p.award) != stored[p.application_id]
    ]
    return placements, changes


def fill(placements: list[Placement]) -> dict[str, Decimal]:
    """What the selected placements draw on each envelope."""
    out: dict[str, Decimal] = {}
    for p in placements:
        for envelope, amount in p.draws.items():
            out[envelope] = out.get(envelope, Decimal("0.00")) + amount
    return out
