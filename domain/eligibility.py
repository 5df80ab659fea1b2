"""Eligibility rules: pure functions (no I/O, no clock), grouped in versioned rule sets.

A rule set is data keyed by `EditionSettings.rule_set_version`. An edition in flight keeps
the version it opened with, so a new rule is added as a new version, never by editing
an existing tuple: that would change the outcome of applications already decided.
"""

from collections.abc import Callable
from decimal import Decimal

from domain.edition import EditionSettings
from domain.models import ApplicationSubmission, EligibilityResult, RuleFailure
from domain.reference import DocumentKind, region_name

Rule = Callable[[ApplicationSubmission, EditionSettings], RuleFailure | None]

DOCUMENTS_MISSING = "DOCUMENTS_MISSING"  # EligibilityResult.only_documents_missing relies on it


def _mad(amount: Decimal) -> str:
    return f"{amount:,.2f} MAD"


def _pct(share: Decimal) -> str:
    """A share as a percentage for messages: 0.9 -> '90%', 0.8333... -> '83.33%'."""
    value = (share * 100).quantize(Decimal("0.01")).normalize()
    return f"{value:f}%"


def legal_form_funded(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    a = sub.applicant
    if settings.funds(a.legal_form, a.region_code) is not None:
        return None
    return RuleFailure(
        code="LEGAL_FORM_NOT_FUNDED",
        message=(
            f"a {a.legal_form.value} in region {region_name(a.region_code)} ({a.region_code}) "
            f"is not funded in edition {settings.edition}: neither the ministry nor a partner "
            "Region Council funds this legal form there"
        ),
    )


def sector_eligible(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    sector = sub.project.sector
    if sector in settings.sectors:
        return None
    return RuleFailure(
        code="SECTOR_NOT_ELIGIBLE",
        message=f"sector {sector.value!r} is not eligible in edition {settings.edition}",
    )


def within_ceiling(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    form = sub.applicant.legal_form
    requested = sub.project.requested_amount
    ceiling = settings.ceilings.get(form)
    if ceiling is None:  # no ceiling configured: refuse rather than fund without a limit
        return RuleFailure(
            code="CEILING_EXCEEDED",
            message=f"edition {settings.edition} sets no ceiling for a {form.value}; "
            f"requested {_mad(requested)} cannot be granted",
        )
    if requested <= ceiling:
        return None
    return RuleFailure(
        code="CEILING_EXCEEDED",
        message=f"requested {_mad(requested)} exceeds the ceiling of {_mad(ceiling)} for a {form.value}",
    )


def requested_share(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    p = sub.project
    limit = settings.max_requested_share
    if p.total_cost == 0:
        return RuleFailure(
            code="REQUESTED_SHARE_TOO_HIGH",
            message=f"total cost is {_mad(p.total_cost)}: the requested share cannot be computed",
        )
    # Compare by multiplication: exact in Decimal, no rounding of the quotient.
    if p.requested_amount <= limit * p.total_cost:
        return None
    return RuleFailure(
        code="REQUESTED_SHARE_TOO_HIGH",
        message=(
            f"requested {_mad(p.requested_amount)} is {_pct(p.requested_amount / p.total_cost)} "
            f"of the total cost {_mad(p.total_cost)}; the limit is {_pct(limit)}"
        ),
    )


def own_contribution(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    p = sub.project
    minimum = settings.min_own_contribution_share
    if p.own_contribution >= minimum * p.total_cost:
        return None
    return RuleFailure(
        code="OWN_CONTRIBUTION_TOO_LOW",
        message=(
            f"own contribution {_mad(p.own_contribution)} is {_pct(p.own_contribution / p.total_cost)} "
            f"of the total cost {_mad(p.total_cost)}; the minimum is {_pct(minimum)}"
        ),
    )


def duration_in_range(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    months = sub.project.duration_months
    lo, hi = settings.min_duration_months, settings.max_duration_months
    if lo <= months <= hi:
        return None
    return RuleFailure(
        code="DURATION_OUT_OF_RANGE",
        message=f"duration of {months} months is outside the allowed {lo} to {hi} months",
    )


def no_overdue_obligations(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    n = sub.applicant.overdue_obligations
    if n == 0:
        return None
    return RuleFailure(
        code="OVERDUE_OBLIGATIONS",
        message=f"the applicant has {n} overdue obligation{'s' if n > 1 else ''} from earlier editions",
    )


def missing_documents(sub: ApplicationSubmission, settings: EditionSettings) -> list[DocumentKind]:
    """Required documents absent from the submission, in the edition's order."""
    present = {d.kind for d in sub.documents}
    return [k for k in settings.required_documents if k not in present]


def documents_present(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    missing = missing_documents(sub, settings)
    if not missing:
        return None
    return RuleFailure(
        code=DOCUMENTS_MISSING,
        message="missing required documents: " + ", ".join(k.value for k in missing),
    )


RULE_SETS: dict[str, tuple[Rule, ...]] = {
    "2024.1": (
        legal_form_funded,
        sector_eligible,
        within_ceiling,
        requested_share,
        own_contribution,
        duration_in_range,
        no_overdue_obligations,
        documents_present,
    ),
}


def check_eligibility(submission: ApplicationSubmission, settings: EditionSettings) -> EligibilityResult:
    """Run every rule of the edition's rule set; report all failures, in rule order."""
    version = settings.rule_set_version
    rules = RULE_SETS.get(version)
    if rules is None:
        raise ValueError(f"rule_set_version: unknown rule set {version!r} (known: {sorted(RULE_SETS)})")
    failures = tuple(f for rule in rules if (f := rule(submission, settings)) is not None)
    return EligibilityResult(rule_set_version=version, failures=failures)
