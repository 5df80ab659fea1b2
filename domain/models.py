"""Pydantic models at every boundary: the application, every ops / partner / payment input, the status.

Workflows, activities, the CLI and (later) the gateway all speak these models; the Temporal
client uses the pydantic data converter, so they cross the wire as they are.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.documents import Sha256
from domain.edition import Criterion, EditionSettings
from domain.fields import Actor, Count, Input, Line, Name, Reason, RegistrationNumber, Rib, Text
from domain.money import MAD
from domain.reference import DocumentKind, LegalForm, Sector, province_region
from domain.text import ONE_LINE

# --- The application -------------------------------------------------------------------------


class Applicant(Input):
    registration_number: RegistrationNumber
    name: Name
    legal_form: LegalForm
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]  # e.g. "07"
    province: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), ONE_LINE]
    rural: bool
    bank_account: Rib | None = None
    # The language the programme writes to the applicant in (domain/messages.py).
    language: Literal["fr", "ar"] = "fr"
    email: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=20, pattern=r"^\+?[0-9 ]{6,20}$")] | None = None
    # Registration numbers of organisations the applicant declares a link with (conflicts of interest).
    declared_links: tuple[RegistrationNumber, ...] = ()
    # Obligations from earlier editions still overdue (filled from the database at eligibility).
    overdue_obligations: Count = 0

    @model_validator(mode="after")
    def _province_in_region(self) -> "Applicant":
        # The refusal names the field and the rule, never the text given (domain/errors.py).
        region = province_region().get(self.province)
        if region is None:
            raise ValueError("province: not a province of the reference list of regions and provinces")
        if region != self.region_code:
            raise ValueError(f"province: in region {region}, not in region {self.region_code}")
        return self


class Project(Input):
    title: Name
    sector: Sector
    summary: Text = ""
    total_cost: MAD
    requested_amount: MAD
    own_contribution: MAD
    duration_months: int = Field(ge=1, le=120)
    jobs_created: Count = 0
    jobs_kept: Count = 0
    beneficiaries: Count = 0
    women: Count = 0
    youth: Count = 0

    @model_validator(mode="after")
    def _coherent(self) -> "Project":
        if self.requested_amount <= 0:
            raise ValueError("requested_amount: a request is more than 0 MAD")
        if self.requested_amount + self.own_contribution > self.total_cost:
            raise ValueError(
                f"total_cost: {self.total_cost} MAD is less than the requested amount plus the own contribution "
                f"({self.requested_amount} + {self.own_contribution})"
            )
        if self.women > self.beneficiaries or self.youth > self.beneficiaries:
            raise ValueError("women: women and youth are counted among beneficiaries")
        return self


class Document(Input):
    kind: DocumentKind
    reference: Name  # the document store's reference
    verified: bool = False


class ApplicationSubmission(Input):
    """What an applicant submits. The workflow id is derived from edition + registration number."""

    edition: int = Field(ge=1, le=100)
    applicant: Applicant
    project: Project
    documents: tuple[Document, ...] = ()

    @property
    def application_id(self) -> str:
        return application_id(self.edition, self.applicant.registration_number)


def application_id(edition: int, registration_number: str) -> str:
    """One application per applicant per edition: this id is the workflow id too."""
    return f"moazara-{edition}-{registration_number.strip().upper().replace('/', '-')}"


class ApplicationInput(Input):
    """The ApplicationWorkflow's single argument."""

    settings: EditionSettings
    submission: ApplicationSubmission
    submitted_by: Actor = "portal"
    # The edition's workflow, told when a selected project lets its award go (waitlist promotion).
    edition_workflow_id: Annotated[str, StringConstraints(min_length=1, max_length=200), ONE_LINE] | None = None


# --- Stages ---------------------------------------------------------------------------------


class Stage(StrEnum):
    SUBMITTED = "submitted"
    ELIGIBILITY = "eligibility"
    AWAITING_DOCUMENTS = "awaiting_documents"
    REVIEW = "review"
    COMMITTEE = "committee"
    WAITLISTED = "waitlisted"
    COFUNDING = "cofunding"
    AGREEMENT = "agreement"
    DISBURSEMENT = "disbursement"
    MONITORING = "monitoring"
    # Ends
    INELIGIBLE = "ineligible"
    REJECTED = "rejected"
    NOT_SELECTED = "not_selected"  # waitlisted until the waitlist closed
    LAPSED = "lapsed"  # agreement not signed in time
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"


FINAL_STAGES = frozenset(
    {
        Stage.INELIGIBLE,
        Stage.REJECTED,
        Stage.NOT_SELECTED,
        Stage.LAPSED,
        Stage.COMPLETED,
        Stage.WITHDRAWN,
        Stage.CANCELLED,
        Stage.TERMINATED,
    }
)


# --- Results of rules ------------------------------------------------------------------------


class RuleFailure(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str  # stable reason code, e.g. "CEILING_EXCEEDED"
    message: str  # for humans


class EligibilityResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    rule_set_version: str
    failures: tuple[RuleFailure, ...] = ()

    @property
    def eligible(self) -> bool:
        return not self.failures

    @property
    def only_documents_missing(self) -> bool:
        return bool(self.failures) and all(f.code == "DOCUMENTS_MISSING" for f in self.failures)


# --- Inputs from ops, partners, payment system, portal ----------------------------------------


class DocumentsCompleted(Input):
    documents: tuple[Document, ...] = Field(min_length=1)
    submitted_by: Actor = "portal"


class Review(Input):
    reviewer_id: Actor
    reviewer_organisation: RegistrationNumber | None = None
    declared_links: tuple[RegistrationNumber, ...] = ()
    scores: dict[Criterion, Annotated[int, Field(ge=0, le=10)]]
    comment: Text = ""


class Decision(StrEnum):
    SELECTED = "selected"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"


class CommitteeDecision(Input):
    decision: Decision
    award: MAD = Decimal("0.00")
    # funder -> amount ("ministry" or "region-NN"); must add up to the award when selected
    funders: dict[Annotated[str, StringConstraints(pattern=r"^(ministry|region-\d{2})$")], MAD] = {}
    rank: int | None = Field(default=None, ge=1)
    honorary_award: bool = False
    decided_by: Actor
    reason: Text = ""

    @model_validator(mode="after")
    def _coherent(self) -> "CommitteeDecision":
        if self.decision == Decision.SELECTED:
            if self.award <= 0:
                raise ValueError("award: a selected project has a positive award")
            if sum(self.funders.values(), Decimal(0)) != self.award:
                raise ValueError("funders: the funders' amounts must add up to the award")
        elif self.award or self.funders:
            raise ValueError("award: only a selected project has an award")
        return self


class CoFundingDecision(Input):
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]  # the sender
    approved: bool
    amount: MAD | None = None  # when approved: the Region's amount (default: as requested)
    decided_by: Actor
    reason: Text = ""


class AgreementSigned(Input):
    signed_by: Actor
    signed_on: date
    bank_account: Rib
    # The issued agreement's hash this signature signs (required once the workflow issued one:
    # domain/documents.py), and the signed scan's, kept in the document store.
    agreement_sha256: Sha256 | None = None
    scan_sha256: Sha256 | None = None


class PaymentResult(Input):
    order_key: Annotated[str, StringConstraints(min_length=1, max_length=120), ONE_LINE]
    attempt: int = Field(ge=1, le=1000)
    executed: bool
    reference: Line = ""  # the payment system's
    reason: Text = ""  # why it was rejected


class BankDetailsFixed(Input):
    bank_account: Rib
    fixed_by: Actor


class BankDetailsApproved(Input):
    """A second finance user's answer to a bank details change another one requested (four eyes)."""

    approved_by: Actor
    approved: bool = True
    reason: Text = ""


class PaymentRetry(Input):
    """Ops send again the payment orders the payment system did not take (it was unavailable)."""

    requested_by: Actor
    reason: Text = ""


class Indicators(Input):
    """What a progress report counts: jobs created and kept, the people the project reaches (women
    and youth are counted among the beneficiaries), its revenue and its spending."""

    jobs_created: Count = 0
    jobs_kept: Count = 0
    beneficiaries: Count = 0
    women: Count = 0
    youth: Count = 0
    revenue: MAD = Decimal("0.00")
    spend: MAD = Decimal("0.00")

    @model_validator(mode="after")
    def _coherent(self) -> "Indicators":
        for field in ("women", "youth"):
            if getattr(self, field) > self.beneficiaries:
                raise ValueError(
                    f"{field}: {getattr(self, field)} {field} among {self.beneficiaries} beneficiaries; "
                    "they are counted among the beneficiaries"
                )
        return self


class ProgressReport(Input):
    period: int = Field(ge=1, le=100)  # 1 = first report due
    indicators: Indicators
    narrative: Text = ""
    submitted_by: Actor = "portal"


class ReportReview(Input):
    period: int = Field(ge=1, le=100)
    approved: bool
    decided_by: Actor
    reason: Text = ""


class SiteVisit(Input):
    visited_on: date
    visitor: Actor
    findings: Text = ""


class Withdrawal(Input):
    requested_by: Actor
    reason: Text = ""


class Cancellation(Input):
    cancelled_by: Actor
    reason: Reason


class Termination(Input):
    terminated_by: Actor
    reason: Reason
    amount_to_recover: MAD | None = None  # default: everything paid so far


# --- Answers and status --------------------------------------------------------------------


class Answer(BaseModel):
    """An update's answer. Refusals are raised as errors by validators instead."""

    accepted: bool = True
    message: str
    stage: Stage


class PaymentOrder(BaseModel):
    key: str  # the idempotency key: application, tranche, funder
    application_id: str
    tranche: int
    funder: str
    amount: MAD
    attempt: int = 1
    status: str = "sent"  # sent, rejected, executed; unsent: the payment system did not take it (ops retry)


class StageChange(BaseModel):
    stage: Stage
    at: datetime
    note: str = ""


class ApplicationStatus(BaseModel):
    """Where an application is, what it waits for, since when, until when, and its money."""

    application_id: str
    edition: int
    stage: Stage
    waiting_for: str | None = None  # in English; its code and parameters (domain/refusals.WAITS) below
    waiting_code: str | None = None
    waiting_params: dict[str, str] = {}
    since: datetime
    until: datetime | None = None
    report_accepted_from: datetime | None = None  # the awaited progress report's window opens then
    reasons: list[RuleFailure] = []
    reviews: int = 0
    reviewers: list[str] = []  # assigned and not recused (editions that assign their reviewers)
    review_assignment: str = "open"  # the edition's: open, automatic or officers (domain/reviewers.py)
    blind_review: bool = False  # the edition's: reviewers never see who applied
    review_grid: dict[str, Decimal] = {}  # criterion -> weight, as the reviewers score
    score: Decimal | None = None
    award: Decimal = Decimal("0.00")
    funders: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    paid_total: Decimal = Decimal("0.00")
    orders: list[PaymentOrder] = []
    reports_received: list[int] = []
    escalations: list[str] = []
    amount_to_recover: Decimal | None = None
    bank_details_requested_by: str | None = None  # a change of bank details waits for a second approval
    agreement_sha256: str | None = None  # the funding agreement issued, which a signature names
    agreement_version: int | None = None
    history: list[StageChange] = []
