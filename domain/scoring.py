"""Review scoring on the edition's weighted grid, conflicts of interest, the committee's priority."""

from decimal import ROUND_HALF_EVEN, Decimal

from domain.edition import Criterion, EditionSettings
from domain.models import Applicant, Review
from domain.refusals import CONFLICTS, Refusal

POINT = Decimal("0.01")


def points(value: Decimal) -> Decimal:
    """A score on the 0..100 scale, to two decimals half-even (a score is not money)."""
    return value.quantize(POINT, rounding=ROUND_HALF_EVEN)


def weighted_score(scores: dict[Criterion, int], grid: dict[Criterion, Decimal]) -> Decimal:
    """Scores 0..10 per criterion, weighted by the grid, on a 0..100 scale."""
    missing = [c for c in grid if c not in scores]
    if missing:
        raise ValueError(f"scores: missing criterion {', '.join(map(str, missing))}")
    extra = [c for c in scores if c not in grid]
    if extra:
        raise ValueError(f"scores: criterion {', '.join(map(str, extra))} is not in the grid")
    for c, s in scores.items():
        if not 0 <= s <= 10:
            raise ValueError(f"scores: {c} is scored {s}, outside 0..10")
    return points(sum((Decimal(s) * grid[c] for c, s in scores.items()), Decimal(0)) * 10)


def application_score(review_scores: list[Decimal]) -> Decimal | None:
    """The mean of the reviewers' weighted scores, or None before any review."""
    if not review_scores:
        return None
    return points(sum(review_scores, Decimal(0)) / len(review_scores))


def _norm(registration_number: str) -> str:
    return registration_number.strip().casefold()


def conflict_of_interest(review: Review, applicant: Applicant) -> str | None:
    """Why this reviewer may not review this applicant, or None."""
    return link_conflict(review.reviewer_id, review.reviewer_organisation, review.declared_links, applicant)


def conflict_refusal(review: Review, applicant: Applicant) -> Refusal | None:
    """The refusal of this review for a conflict of interest (its code says which), or None."""
    found = _conflict(review.reviewer_id, review.reviewer_organisation, review.declared_links, applicant)
    return None if found is None else Refusal(found[0], **found[1])


def link_conflict(
    reviewer_id: str, organisation: str | None, declared_links: tuple[str, ...], applicant: Applicant
) -> str | None:
    """Why a reviewer (their organisation, the links they declared) may not review this applicant, or None."""
    found = _conflict(reviewer_id, organisation, declared_links, applicant)
    return None if found is None else CONFLICTS[found[0]].format(**found[1])


def _conflict(
    reviewer_id: str, organisation: str | None, declared_links: tuple[str, ...], applicant: Applicant
) -> tuple[str, dict[str, str]] | None:
    """(code, params) of why a reviewer may not review this applicant (domain/refusals.CONFLICTS), or None."""
    applicant_id = _norm(applicant.registration_number)
    org = _norm(organisation) if organisation else None
    who = {"reviewer": reviewer_id, "applicant": applicant.registration_number}
    if org == applicant_id:
        return "review.conflict.own_organisation", who
    if applicant_id in {_norm(link) for link in declared_links}:
        return "review.conflict.reviewer_declared", who
    if org is not None and org in {_norm(link) for link in applicant.declared_links}:
        return "review.conflict.applicant_declared", {
            "applicant": applicant.registration_number,
            "organisation": str(organisation),
        }
    return None


def priority_score(score: Decimal, province: str, settings: EditionSettings) -> Decimal:
    """The score the committee ranks by: priority provinces (earthquake zone) get the edition's bonus."""
    if province in settings.priority_provinces:
        return points(score + settings.priority_bonus)
    return points(score)
