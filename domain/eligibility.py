"""Eligibility rules: pure functions (no I/O, no clock), grouped in versioned rule sets.

A rule set is data keyed by `EditionSettings.rule_set_version`. An edition in flight keeps
the version it opened with, so a new rule is added as a new version, never by editing
an existing tuple: that would change the outcome of applications already decided.
"""

from collections.abc import Callable
from decimal import Decimal

from domain.edition import EditionSettings
from domain.models import ApplicationSubmission, EligibilityResult, Project, RuleFailure
from domain.reference import DocumentKind, region_name

Rule = Callable[[ApplicationSubmission, EditionSettings], RuleFailure | None]

DOCUMENTS_MISSING = "DOCUMENTS_MISSING"  # EligibilityResult.only_documents_missing relies on it


# What each failure says, by its code (".variant": a second case of the same code). Every rule
# fails through `_fail`, with the parameters its words name.
WORDS = {
    "LEGAL_FORM_NOT_FUNDED": (
        "a {form} in region {region} ({region_code}) is not funded in edition {edition}: neither the "
        "ministry nor a partner Region Council funds this legal form there"
    ),
    "SECTOR_NOT_ELIGIBLE": "sector {sector!r} is not eligible in edition {edition}",
    "CEILING_EXCEEDED": "requested {requested} exceeds the ceiling of {ceiling} for a {form}",
    "CEILING_EXCEEDED.unset": "edition {edition} sets no ceiling for a {form}; requested {requested} cannot be granted",
    "REQUESTED_SHARE_TOO_HIGH": "requested {amount} is {share} of the total cost {cost}; the limit is {bound}",
    "REQUESTED_SHARE_TOO_HIGH.no_cost": "total cost is {cost}: the requested share cannot be computed",
    "OWN_CONTRIBUTION_TOO_LOW": "own contribution {amount} is {share} of the total cost {cost}; the minimum is {bound}",
    "DURATION_OUT_OF_RANGE": "duration of {months} months is outside the allowed {lo} to {hi} months",
    "OVERDUE_OBLIGATIONS": "the applicant has {n} overdue obligation{plural} from earlier editions",
    DOCUMENTS_MISSING: "missing required documents: {kinds}",
}


def _fail(case: str, **params: object) -> RuleFailure:
    """The failure `case` (its code, with an optional ".variant"), in its words."""
    return RuleFailure(code=case.partition(".")[0], message=WORDS[case].format(**params))


def _mad(amount: Decimal) -> str:
    return f"{amount:,.2f} MAD"


def _pct(share: Decimal) -> str:
    """A share as a percentage for messages: 0.9 -> '90%', 0.8333... -> '83.33%'."""
    value = (share * 100).quantize(Decimal("0.01")).normalize()
    return f"{value:f}%"


def _of_cost(amount: Decimal, p: Project, bound: Decimal) -> dict[str, str]:
    """The words' parameters for an amount as a share of the project's total cost, against a bound."""
    return {
        "amount": _mad(amount),
        "share": _pct(amount / p.total_cost),
        "cost": _mad(p.total_cost),
        "bound": _pct(bound),
    }


def legal_form_funded(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    a = sub.applicant
    if settings.funds(a.legal_form, a.region_code) is not None:
        return None
    region = region_name(a.region_code)
    return _fail(
        "LEGAL_FORM_NOT_FUNDED",
        form=a.legal_form.value,
        region=region,
        region_code=a.region_code,
        edition=settings.edition,
    )


def sector_eligible(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    sector = sub.project.sector
    if sector in settings.sectors:
        return None
    return _fail("SECTOR_NOT_ELIGIBLE", sector=sector.value, edition=settings.edition)


def within_ceiling(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    form = sub.applicant.legal_form
    requested = sub.project.requested_amount
    ceiling = settings.ceilings.get(form)
    if ceiling is None:  # no ceiling configured: refuse rather than fund without a limit
        return _fail("CEILING_EXCEEDED.unset", edition=settings.edition, form=form.value, requested=_mad(requested))
    if requested <= ceiling:
        return None
    return _fail("CEILING_EXCEEDED", requested=_mad(requested), ceiling=_mad(ceiling), form=form.value)


def requested_share(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    p = sub.project
    limit = settings.max_requested_share
    if p.total_cost == 0:
        return _fail("REQUESTED_SHARE_TOO_HIGH.no_cost", cost=_mad(p.total_cost))
    # Compare by multiplication: exact in Decimal, no rounding of the quotient.
    if p.requested_amount <= limit * p.total_cost:
        return None
    return _fail("REQUESTED_SHARE_TOO_HIGH", **_of_cost(p.requested_amount, p, limit))


def own_contribution(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    p = sub.project
    minimum = settings.min_own_contribution_share
    if p.own_contribution >= minimum * p.total_cost:
        return None
    return _fail("OWN_CONTRIBUTION_TOO_LOW", **_of_cost(p.own_contribution, p, minimum))


def duration_in_range(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    months = sub.project.duration_months
    lo, hi = settings.min_duration_months, settings.max_duration_months
    if lo <= months <= hi:
        return None
    return _fail("DURATION_OUT_OF_RANGE", months=months, lo=lo, hi=hi)


def no_overdue_obligations(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    n = sub.applicant.overdue_obligations
    if n == 0:
        return None
    return _fail("OVERDUE_OBLIGATIONS", n=n, plural="s" if n > 1 else "")


def missing_documents(sub: ApplicationSubmission, settings: EditionSettings) -> list[DocumentKind]:
    """Required documents absent from the submission, in the edition's order."""
    present = {d.kind for d in sub.documents}
    return [k for k in settings.required_documents if k not in present]


def documents_present(sub: ApplicationSubmission, settings: EditionSettings) -> RuleFailure | None:
    missing = missing_documents(sub, settings)
    if not missing:
        return None
    return _fail(DOCUMENTS_MISSING, kinds=", ".join(k.value for k in missing))


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
