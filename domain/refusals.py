"""The workflows' refusals and waits, as codes with parameters: every door translates them at its edge.

A refusal of an input is raised by a workflow's validator as `Refusal(code, **params)`: it IS a
ValueError whose message is the English sentence every door showed before codes existed,
"field: text" (the field the refusal names, then the text with its parameters), so code and tests
that catch ValueError or read that message work unchanged. It also carries its stable `code`, the
`field` and its `params` (strings). At the workflow's boundary the refusal becomes a non-retryable
"Refused" failure whose details are `{"refusal": code, "field": field, "params": params}`
(`details`); the front door reads them back (`from_details`) into its Result, and the console
translates the code with its `refusals` message catalog (console/locale/<lang>/LC_MESSAGES/
refusals.po: msgid the code, msgstr the sentence with the same {named} parameters), falling back on
the English sentence for a code it does not know.

A code is never renamed nor reused for another meaning (a refusal recorded by a running workflow
keeps it); a new refusal gets a new code. A parameter in a stage's or a phase's name (`stage`,
`expected`, `phase`) holds the workflow's value ("review"; several joined with " or "), which the
console translates too.

What an application waits for (ApplicationStatus.waiting_for, English) has its code and
parameters the same way (`Waiting`, WAITS), translated from the same catalog.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kind:
    field: str | None  # the input field the refusal names (None: the input as a whole)
    text: str  # English, with {named} parameters (str.format)


# Why a reviewer may not review an applicant (domain/scoring.link_conflict), each a refusal of its own.
CONFLICTS: dict[str, str] = {
    "review.conflict.own_organisation": "reviewer {reviewer} belongs to the applicant {applicant}",
    "review.conflict.reviewer_declared": "reviewer {reviewer} declared a link with the applicant {applicant}",
    "review.conflict.applicant_declared": (
        "the applicant {applicant} declared a link with the reviewer's organisation {organisation}"
    ),
}

REFUSALS: dict[str, Kind] = {
    # Where the application is (workflows/application/state.py).
    "stage.wrong": Kind("stage", "the application is in stage {stage}, not {expected}"),
    "stage.closed": Kind("stage", "the application is closed ({stage})"),
    # The committee and the Region Councils (workflows/application/inputs.py).
    "decision.in_progress": Kind("decision", "a decision is already being applied"),
    "award.exceeds_ceiling": Kind("award", "{award} MAD exceeds the requested amount or the ceiling of {ceiling} MAD"),
    "funders.not_partner": Kind("funders", "{funder} does not co-fund projects in region {region}"),
    "cofunding.already_answered": Kind("region_code", "region {region} has already answered"),
    "cofunding.not_asked": Kind("region_code", "region {region} is not asked to co-fund this application"),
    "cofunding.exceeds_asked": Kind("amount", "{amount} MAD exceeds the {asked} MAD asked of the region"),
    # The agreement, reports, visits, termination.
    "agreement.already_signed": Kind("signed_by", "the agreement is already signed"),
    "agreement.hash_missing": Kind(
        "agreement_sha256",
        "name the agreement you sign: version {version} was issued with sha256 {issued} "
        "(required once the workflow has issued the agreement)",
    ),
    "agreement.other_version": Kind(
        "agreement_sha256",
        "{named} is not the agreement issued: version {version} has sha256 {issued}",
    ),
    "agreement.other_account": Kind(
        "bank_account", "the agreement states the account {agreed} (changed by finance), not {account}"
    ),
    "report.too_early": Kind("period", "report {period} is accepted from {opens} ({days} days before it is due)"),
    "report.not_expected": Kind("period", "no progress report is expected in stage {stage}"),
    "report.wrong_period": Kind("period", "report {due} is expected, not {period}"),
    "report.already_in": Kind("period", "report {period} is already in"),
    "report.not_awaiting_review": Kind("period", "report {period} is not waiting for a review"),
    "visit.wrong_stage": Kind("visited_on", "no site visit in stage {stage}"),
    "termination.not_funded": Kind(
        "reason", "only a funded grant (agreement signed) can be terminated; withdraw or cancel instead"
    ),
    "termination.exceeds_paid": Kind("amount_to_recover", "exceeds the {paid} MAD paid"),
    "date.out_of_range": Kind("date", "{day} is outside {earliest} to today ({today})"),
    # Reviews (workflows/application/reviews.py).
    "reviewers.all_assigned": Kind("reviewers", "the {k} reviewers are assigned"),
    "reviewers.too_many": Kind("reviewers", "{named} named for {free} free seat(s)"),
    "reviewers.already_asked": Kind("reviewers", "{reviewer} was already asked to review this application"),
    "review.not_assigned": Kind("reviewer_id", "{reviewer} is not assigned to this application"),
    "review.already_reviewed": Kind("reviewer_id", "{reviewer} has already reviewed this application"),
    "review.open_seats": Kind("review_assignment", "in this edition reviewers take a free seat themselves"),
    "review.all_in": Kind("reviewer_id", "the {k} reviews are already in"),
    "review.scores_incomplete": Kind("scores", "one score per criterion of the grid; missing {missing}"),
    **{code: Kind("reviewer_id", f"conflict of interest: {text}") for code, text in CONFLICTS.items()},
    # Payments and bank details (workflows/application/payments.py).
    "payment.unknown_order": Kind("order_key", "unknown payment order {order_key!r}"),
    "payment.not_awaiting": Kind(
        "order_key",
        "order {order_key} attempt {attempt} is not awaiting a result (status {status}, attempt {current})",
    ),
    "payment.nothing_to_resend": Kind("orders", "no payment order is waiting to be sent again to the payment system"),
    "bank.no_rejected_order": Kind("bank_account", "no rejected payment order is waiting for new bank details"),
    "bank.no_change_waiting": Kind("approved_by", "no change of bank details is waiting for approval"),
    "bank.four_eyes": Kind("approved_by", "{requester} requested this change; another person approves it (four eyes)"),
    # An edition (workflows/edition.py).
    "edition.wrong": Kind("edition", "this is edition {edition}, not {given}"),
    "call.not_yet_open": Kind("submitted_at", "the call opens on {opens}"),
    "call.not_open": Kind("phase", "the call is not open (phase {phase})"),
    # Not a no: the edition is starting its next run (continue-as-new); the doors send it again.
    "edition.compacting": Kind(None, "the edition is moving to a new run of its history: send again in a moment"),
    "proposal.none": Kind("phase", "no proposal waits for confirmation (phase {phase})"),
    "confirmation.already": Kind("confirmed_by", "already confirmed by {by}"),
    "confirmation.four_eyes": Kind(
        "confirmed_by",
        "{confirmer} closed the call (or opened the edition its timer closed); "
        "another member of the committee confirms (four eyes)",
    ),
    # The input itself (workflows/actor.py, workflows/missing_inputs.py, infra/failure_converter.py).
    "actor.invalid": Kind("actor", "the {header} header is not an actor ({errors} error(s))"),
    "input.missing": Kind("input", "{update} needs its input (a JSON object), got none"),
    "input.not_an_object": Kind("input", "{update} needs its input as a JSON object, got {type}"),
    "input.undecodable": Kind("input", "payload {reason}"),
}

# Parameters a door writes in its own way: stage names (several joined with " or "), an edition's
# phase, MAD amounts (Decimal as text, the sentence says no "MAD" of its own), dates (ISO).
STAGE_PARAMS = frozenset({"stage", "expected"})
PHASE_PARAMS = frozenset({"phase"})
MONEY_PARAMS = frozenset({"award", "ceiling", "amount", "asked", "paid"})
DATE_PARAMS = frozenset({"opens", "day", "earliest", "today"})


def english(code: str, params: Mapping[str, str], field: str | None = None) -> str:
    """The English sentence of a refusal, "field: text" as the workflows have always written it."""
    kind = REFUSALS[code]
    text = kind.text.format(**params)
    where = field if field is not None else kind.field
    return f"{where}: {text}" if where else text


class Refusal(ValueError):
    """A workflow's rule said no: a ValueError in English ("field: text") with its code and parameters."""

    def __init__(self, code: str, /, *, field: str | None = None, **params: object) -> None:
        kind = REFUSALS[code]  # a KeyError for an unknown code: every refusal is in the table
        self.code = code
        self.field = field if field is not None else kind.field
        self.params = {k: str(v) for k, v in params.items()}
        super().__init__(english(code, self.params, self.field))

    def details(self) -> dict[str, Any]:
        """What the "Refused" failure carries beside its message, for the doors to translate."""
        return {"refusal": self.code, "field": self.field, "params": dict(self.params)}


def from_details(details: Sequence[Any]) -> tuple[str, dict[str, str]] | None:
    """(code, params) from a failure's details, or None when they hold no refusal code."""
    for d in details:
        if isinstance(d, Mapping) and isinstance(d.get("refusal"), str):
            params = d.get("params")
            if not isinstance(params, Mapping):
                params = {}
            return d["refusal"], {str(k): str(v) for k, v in params.items()}
    return None


@dataclass(frozen=True)
class Waiting:
    """What an application waits for: its code, parameters and English text."""

    code: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return WAITS[self.code].format(**self.params)


WAITS: dict[str, str] = {
    "waiting.documents": "missing documents from the applicant",
    "waiting.reviews": "{k} reviews",
    "waiting.reviews.reminded": "{k} reviews (reminded)",
    "waiting.reviews.one": "at least one review",
    "waiting.committee": "committee decision",
    "waiting.committee.escalated": "committee decision (escalated)",
    "waiting.waitlist": "promotion from the waitlist",
    "waiting.cofunding": "co-funding decision of region {region}",
    "waiting.agreement": "signed funding agreement",
    "waiting.report": "progress report {period} of {final}",
    "waiting.report.reminded": "progress report {period} of {final} (reminded)",
    "waiting.report.escalated": "progress report {period} of {final} (escalated, next tranche suspended)",
    "waiting.report.approval": "approval of progress report {period} of {final}",
    "waiting.payments": "payment system: tranche executed",
    "waiting.payments.resend": "ops: retry the payment orders the payment system did not take",
    "waiting.bank.fix": "ops: fix the bank details of a rejected payment",
    "waiting.bank.approval": "finance: a second person approves the new bank details",
}


def waiting(code: str, **params: object) -> Waiting:
    WAITS[code]  # a KeyError for an unknown code
    return Waiting(code, {k: str(v) for k, v in params.items()})
