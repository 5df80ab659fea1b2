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

from pydantic import BaseModel, ConfigDict

from domain.edition import EditionSettings
from domain.models import Decision
from domain.money import mad
from domain.reference import MINISTRY, LegalForm, region_funder
from domain.scoring import priority_score

PRIORITY = "ministry-priority"  # the ring-fenced part of the ministry's envelope


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


def envelopes(settings: EditionSettings) -> dict[str, Decimal]:
    out = {MINISTRY: settings.ministry_envelope - settings.priority_envelope}
    if settings.priority_envelope > 0:
        out[PRIORITY] = settings.priority_envelope
    for p in settings.partners:
        out[region_funder(p.region_code)] = p.envelope
    return out


def ranked_score(c: Candidate, settings: EditionSettings) -> Decimal:
    return priority_score(c.score, c.province, settings)


def rank(candidates: list[Candidate], settings: EditionSettings) -> list[Candidate]:
    return sorted(
        candidates, key=lambda c: (-ranked_score(c, settings), -c.innovation, -c.jobs, c.registration_number)
    )


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


def select(candidates: list[Candidate], settings: EditionSettings) -> list[Placement]:
    """The committee's proposal for every candidate, in rank order."""
    ranked = rank(candidates, settings)
    remaining = envelopes(settings)
    draws: dict[str, dict[str, Decimal]] = {}
    for c in ranked:
        if c.score >= settings.min_score:
            taken = _take(remaining, draw_options(c, settings, first_pass=True))
            if taken is not None:
                draws[c.application_id] = taken
    # The ring-fenced envelope's leftover goes back to the national one for a second pass.
    remaining[MINISTRY] += remaining.pop(PRIORITY, Decimal(0))
    for c in ranked:
        if c.score >= settings.min_score and c.application_id not in draws:
            taken = _take(remaining, draw_options(c, settings, first_pass=False))
            if taken is not None:
                draws[c.application_id] = taken
    selected = [c for c in ranked if c.application_id in draws]
    honorary = {c.application_id for c in sorted(selected, key=lambda c: -c.innovation)[: settings.honorary_awards]}
    out = []
    for n, c in enumerate(ranked, start=1):
        score = ranked_score(c, settings)
        if c.application_id in draws:
            funders = funders_of(c, settings)
            out.append(Placement(application_id=c.application_id, decision=Decision.SELECTED, rank=n, score=score,
                                 award=sum(funders.values(), Decimal(0)), funders=funders, draws=draws[c.application_id],
                                 honorary_award=c.application_id in honorary))
        elif c.score >= settings.min_score:
            out.append(Placement(application_id=c.application_id, decision=Decision.WAITLISTED, rank=n, score=score,
                                 reason="the envelope is spent at this rank"))
        else:
            out.append(Placement(application_id=c.application_id, decision=Decision.REJECTED, rank=n, score=score,
                                 reason=f"score {c.score} below the minimum of {settings.min_score}"))
    return out


def promote(waitlist: list[Candidate], settings: EditionSettings, remaining: dict[str, Decimal]) -> list[Placement]:
    """Waitlisted projects that now fit the money left in their envelopes, in rank order.

    `remaining` is what each envelope still holds once every live commitment is counted.
    """
    remaining = dict(remaining)
    out = []
    for n, c in enumerate(rank(waitlist, settings), start=1):
        taken = _take(remaining, draw_options(c, settings, first_pass=True))
        if taken is not None:
            funders = funders_of(c, settings)
            out.append(Placement(application_id=c.application_id, decision=Decision.SELECTED, rank=n,
                                 score=ranked_score(c, settings), award=sum(funders.values(), Decimal(0)),
                                 funders=funders, draws=taken, reason="promoted from the waitlist"))
    return out
