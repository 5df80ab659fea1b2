"""The edition's envelopes: what each holds, has committed, has lent and has left. Pure functions.

An edition's money sits in *envelopes*: the ministry's national part (`ministry`), the part of
the ministry's envelope ring-fenced for the priority provinces (`ministry-priority`, when the
edition sets one) and each partner Region's envelope (`region-NN`).

The committee lends what the ring-fenced part leaves unused to the national part (its second
pass, domain/committee.py), and such a loan is not recorded anywhere: it is *whatever the national
part has committed beyond its own size*. So it is counted here, once:

    lent      = max(0, committed[ministry] - size[ministry])     (only when a priority part exists)
    left[ministry]          = size[ministry] - committed[ministry] + lent        (never below 0)
    left[ministry-priority] = size[priority] - committed[priority] - lent

and for a partner `left = size - committed`. A negative `left` is an overspend; nothing in the
service may produce one (the committee, the waitlist promotions and the co-funding cover all
draw on `left`, inside the transaction that records their commitment).
"""

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.edition import CoverShortfall, EditionSettings
from domain.reference import MINISTRY, region_funder

NATIONAL = MINISTRY  # the national part of the ministry's envelope is named after its funder
PRIORITY = "ministry-priority"  # the ring-fenced part of the ministry's envelope
ZERO = Decimal("0.00")


class EnvelopeLine(BaseModel):
    """One envelope (or part of one) as `starter.py edition status` shows it."""

    model_config = ConfigDict(frozen=True)
    envelope: str
    size: Decimal
    lent: Decimal = ZERO  # lent to another part of the same funder's envelope (+) or borrowed (-)
    committed: Decimal = ZERO  # awards held, and what was paid on awards since released
    paid: Decimal = ZERO
    left: Decimal = ZERO


def sizes(settings: EditionSettings) -> dict[str, Decimal]:
    """What each envelope holds when the edition opens."""
    out = {NATIONAL: settings.ministry_envelope - settings.priority_envelope}
    if settings.priority_envelope > 0:
        out[PRIORITY] = settings.priority_envelope
    for p in settings.partners:
        out[region_funder(p.region_code)] = p.envelope
    return out


def lent(settings: EditionSettings, committed: dict[str, Decimal]) -> Decimal:
    """What the ring-fenced part has lent to the national part (0 without a ring-fenced part)."""
    size = sizes(settings)
    if PRIORITY not in size:
        return ZERO
    return max(ZERO, committed.get(NATIONAL, ZERO) - size[NATIONAL])


def left(settings: EditionSettings, committed: dict[str, Decimal]) -> dict[str, Decimal]:
    """What each envelope still holds, every loan counted once."""
    size = sizes(settings)
    out = {k: v - committed.get(k, ZERO) for k, v in size.items()}
    loan = lent(settings, committed)
    if loan:
        out[NATIONAL] += loan
        out[PRIORITY] -= loan
    return out


def ledger(settings: EditionSettings, committed: dict[str, Decimal], paid: dict[str, Decimal]) -> list[EnvelopeLine]:
    """Every envelope: size, what was lent between the ministry's parts, committed, paid, left."""
    loan = lent(settings, committed)
    remaining = left(settings, committed)
    return [
        EnvelopeLine(
            envelope=k,
            size=v,
            committed=committed.get(k, ZERO),
            paid=paid.get(k, ZERO),
            left=remaining[k],
            lent=loan if k == PRIORITY else -loan if k == NATIONAL else ZERO,
        )
        for k, v in sizes(settings).items()
    ]


def overspent(settings: EditionSettings, committed: dict[str, Decimal]) -> dict[str, Decimal]:
    """Envelopes that have committed more than they hold (must always be empty), by how much."""
    return {k: -v for k, v in left(settings, committed).items() if v < 0}


def envelope_of(funder: str, draws: dict[str, Decimal]) -> str:
    """The envelope a funder's money comes from, given a committee placement's draws."""
    if funder == MINISTRY and PRIORITY in draws:
        return PRIORITY
    return funder


def cover_envelope(settings: EditionSettings, province: str, ministry_envelope: str | None) -> str:
    """The envelope the ministry covers a declined co-funding from: the one already funding the
    project's ministry share; else the ring-fenced part for a project in a priority province; else
    the national part. A cover never borrows the ring-fenced part's leftover: that stays for the
    priority waitlist."""
    if ministry_envelope is not None:
        return ministry_envelope
    if province in settings.priority_provinces and PRIORITY in sizes(settings):
        return PRIORITY
    return NATIONAL


def coverable(settings: EditionSettings, committed: dict[str, Decimal], envelope: str, missing: Decimal) -> Decimal:
    """How much of `missing` the envelope can still cover: all of it, what is left, or nothing."""
    return max(ZERO, min(missing, left(settings, committed).get(envelope, ZERO)))


class CoFundingCover(BaseModel):
    """What the ministry did about a co-funding a Region declined (in part or whole), and why."""

    model_config = ConfigDict(frozen=True)
    region_funder: str
    asked: Decimal  # the Region's share of the award
    approved: Decimal  # what the Region approved (0 on decline or timeout)
    covered: Decimal  # what the ministry took over, from `envelope`
    envelope: str
    left_before: Decimal  # what `envelope` had left when asked
    outcome: Literal["covered", "reduced", "waitlist"]
    funders: dict[str, Decimal]  # the award's new split ({} when the project goes back to the waitlist)
    reason: str


def decide_cover(
    settings: EditionSettings,
    committed: dict[str, Decimal],
    envelope: str,
    funders: dict[str, Decimal],
    region: str,
    approved: Decimal,
) -> CoFundingCover:
    """The ministry covers what the Region did not approve, as far as its envelope allows; the rest
    follows the edition's `cover_shortfall` (reduce the award, or back to the waitlist)."""
    asked = funders.get(region, ZERO)
    missing = max(ZERO, asked - approved)
    available = left(settings, committed).get(envelope, ZERO)
    covered = coverable(settings, committed, envelope, missing)
    new = {**funders, region: approved}
    new[MINISTRY] = new.get(MINISTRY, ZERO) + covered
    new = {f: a for f, a in new.items() if a > 0}
    short = f"envelope {envelope} has {max(ZERO, available)} MAD left of the {missing} MAD to cover"
    if covered == missing:
        outcome, reason = "covered", f"the ministry covers {missing} MAD from envelope {envelope}"
    elif settings.cover_shortfall == CoverShortfall.WAITLIST:
        outcome, reason, covered, new = (
            "waitlist",
            f"{short}; back to the waitlist (cover_shortfall=waitlist)",
            ZERO,
            {},
        )
    else:
        outcome = "reduced"
        reason = f"{short}; the award is reduced by {missing - covered} MAD (cover_shortfall=reduce_award)"
    return CoFundingCover(
        region_funder=region,
        asked=asked,
        approved=approved,
        covered=covered,
        envelope=envelope,
        left_before=available,
        outcome=outcome,
        funders=new,
        reason=reason,
    )
