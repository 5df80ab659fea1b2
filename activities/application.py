"""Every side effect of an application's lifecycle: one activity each, backed by the database.

Each is idempotent under retry: writes go through the repository, which keys every row on a
natural key (application, attempt, reviewer, order key, period …) so a retried activity
writes nothing twice. Times come from the workflow (`at`), so the database and the history
agree even when the test server skips time. Business refusals are non-retryable errors.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.group import ActivityGroup
from activities.heartbeat import while_beating
from activities.payment_system import PaymentSystem
from documents.issue import NotIssuable, issue
from documents.store import DocumentStore, open_store
from domain.calendar import local_date
from domain.db.bank_accounts import BankAccounts, UnknownBankAccount
from domain.db.repository import (
    FOR_DOCUMENTS,
    AwardExceeded,
    DecisionRecord,
    DuplicateApplication,
    Repository,
    ReviewerRefused,
)
from domain.documents import AGREEMENT, IssuedDocument, scan_type
from domain.edition import Criterion, EditionSettings
from domain.eligibility import check_eligibility
from domain.envelopes import CoFundingCover
from domain.models import (
    ApplicationInput,
    ApplicationSubmission,
    Document,
    EligibilityResult,
    PaymentOrder,
    ProgressReport,
    Review,
)
from domain.rib import is_rib_ref, mask_rib
from domain.scoring import application_score, weighted_score
from infra.settings import Settings

log = structlog.get_logger("moazara.activities")


def _workflow_id() -> str:
    """The workflow this activity works for (activities here are only ever run by workflows)."""
    wf = activity.info().workflow_id
    assert wf is not None
    return wf


def _log() -> Any:
    """A logger bound to the workflow, run and application this activity works for."""
    info = activity.info()
    return log.bind(
        workflow_id=info.workflow_id,
        run_id=info.workflow_run_id,
        application_id=info.workflow_id,
        activity=info.activity_type,
        attempt=info.attempt,
    )


class ApplicationActivities(ActivityGroup):
    def __init__(
        self,
        repo: Repository,
        payment_system: PaymentSystem | None = None,
        bank_accounts: BankAccounts | None = None,
        store: DocumentStore | None = None,
    ) -> None:
        self.repo = repo
        # The document store the agreements and advices it issues are kept in (DOCUMENTS_DIR, or the bucket).
        self.store = store or open_store(Settings())
        self.bank_accounts = bank_accounts  # the vault the payment orders' accounts are read from
        # None: the embedded default, no payment system to call (orders are taken at once).
        self.payment_system = payment_system or PaymentSystem()

    @activity.defn
    def record_submission(self, inp: ApplicationInput, at: datetime) -> bool:
        app_id = inp.submission.application_id
        try:
            new = self.repo.record_submission(app_id, _workflow_id(), inp.submission, inp.submitted_by, at)
        except DuplicateApplication as e:
            raise ApplicationError(str(e), type="DuplicateApplication", non_retryable=True) from e
        _log().info("submission recorded", new=new, edition=inp.submission.edition)
        return new

    @activity.defn
    def record_stage(self, application_id: str, seq: int, stage: str, at: datetime, note: str) -> None:
        self.repo.set_stage(application_id, seq, stage, at, note)
        _log().info("stage entered", stage=stage, note=note)

    @activity.defn
    def check_eligibility(
        self,
        application_id: str,
        attempt: int,
        submission: ApplicationSubmission,
        settings: EditionSettings,
        at: datetime,
    ) -> EligibilityResult:
        # Facts from the database (earlier editions) feed a pure rule set.
        overdue = self.repo.overdue_obligations(submission.applicant.registration_number, submission.edition)
        applicant = submission.applicant.model_copy(update={"overdue_obligations": overdue})
        result = check_eligibility(submission.model_copy(update={"applicant": applicant}), settings)
        self.repo.record_eligibility(application_id, attempt, result, at)
        _log().info("eligibility checked", eligible=result.eligible, codes=[f.code for f in result.failures])
        return result

    @activity.defn
    def add_documents(self, application_id: str, documents: list[Document], at: datetime) -> None:
        self.repo.add_documents(application_id, documents, at)

    @activity.defn
    def record_review(
        self, application_id: str, review: Review, grid: dict[Criterion, Decimal], at: datetime
    ) -> Decimal:
        score = weighted_score(review.scores, grid)
        self.repo.record_review(application_id, review, score, at)
        _log().info("review recorded", reviewer=review.reviewer_id, score=str(score))
        return score

    @activity.defn
    def assign_reviewers(
        self, application_id: str, round: int, seats: int, requested: list[str], assigned_by: str, at: datetime
    ) -> list[str]:
        """The reviewers assigned in this round: those requested, then the edition's rule's choice."""
        try:
            chosen = self.repo.assign_reviewers(application_id, round, seats, tuple(requested), assigned_by, at)
        except ReviewerRefused as e:
            raise ApplicationError(str(e), type="ReviewerRefused", non_retryable=True) from e
        _log().info("reviewers assigned", round=round, reviewers=chosen, seats=seats)
        return chosen

    @activity.defn
    def recuse_reviewer(
        self, application_id: str, reviewer_id: str, reason: str, by: str, seq: int, at: datetime
    ) -> None:
        self.repo.recuse_reviewer(application_id, reviewer_id, reason, by, seq, at)
        _log().info("reviewer recused", reviewer=reviewer_id, by=by)

    @activity.defn
    def set_score(self, application_id: str, review_scores: list[Decimal]) -> Decimal | None:
        score = application_score(review_scores)
        self.repo.set_score(application_id, score)
        return score

    @activity.defn
    def record_decision(
        self,
        application_id: str,
        kind: str,
        seq: int,
        outcome: str,
        payload: dict[str, Any],
        decided_by: str,
        at: datetime,
    ) -> bool:
        new = self.repo.record_decision(application_id, DecisionRecord(kind, seq, outcome, payload, decided_by, at))
        _log().info("decision recorded", kind=kind, seq=seq, outcome=outcome, by=decided_by)
        return new

    @activity.defn
    def issue_document(
        self,
        application_id: str,
        kind: str,
        language: str,
        settings: EditionSettings,
        at: datetime,
        order_key: str | None = None,
    ) -> IssuedDocument:
        """Issue the funding agreement (or the payment advice of the paid order `order_key`) in
        `language`, dated by the workflow, under the edition's terms: kept in the document store
        under its SHA-256 and recorded; an agreement whose content the application never had is
        its next version. A retry renders the same content: the same hash and version."""
        app = self.repo.get_application(application_id, FOR_DOCUMENTS)
        if app is None:
            raise ApplicationError(f"no application {application_id!r}", type="NotIssuable", non_retryable=True)
        try:
            sha, _, _ = while_beating(  # a render of seconds, a minute on a loaded worker
                lambda: issue(
                    self.repo.engine, app, kind, language, self.store, local_date(at), order_key, settings, anew=True
                )
            )
        except NotIssuable as e:
            raise ApplicationError(str(e), type="NotIssuable", non_retryable=True) from e
        doc = IssuedDocument(
            kind=kind, sha256=sha, language=language, order_key=order_key, version=None if kind == AGREEMENT else 1
        )
        version = self.repo.record_document(application_id, doc, "application/pdf", "workflow", at)
        _log().info("document issued", kind=kind, sha256=sha, version=version, language=language)
        return doc.model_copy(update={"version": version})

    @activity.defn
    def record_document(self, application_id: str, doc: IssuedDocument, by: str, at: datetime) -> None:
        """Link a document someone brought (a signed scan, put in the store by the front door) to the
        application; its content type read from the store's copy ("unknown" when this worker's store
        does not hold it)."""
        try:
            content_type = scan_type(self.store.get(doc.sha256))
        except (KeyError, ValueError):
            content_type = "unknown"
        self.repo.record_document(application_id, doc, content_type, by, at)
        _log().info("document recorded", kind=doc.kind, sha256=doc.sha256, version=doc.version, by=by)

    @activity.defn
    def set_award(self, application_id: str, funders: dict[str, Decimal], honorary_award: bool) -> None:
        try:
            self.repo.set_award(application_id, funders, honorary_award)
        except ValueError as e:
            raise ApplicationError(str(e), type="AwardBelowPaid", non_retryable=True) from e
        _log().info("award set", funders={k: str(v) for k, v in funders.items()})

    @activity.defn
    def cover_cofunding(
        self, application_id: str, settings: EditionSettings, region_funder: str, approved: Decimal, at: datetime
    ) -> CoFundingCover:
        """The ministry covers a declined co-funding within what its envelope has left (decided and
        recorded in one locked transaction; a retry answers the same)."""
        cover = self.repo.cover_cofunding(application_id, settings, region_funder, approved, at)
        _log().info(
            "co-funding cover",
            outcome=cover.outcome,
            covered=str(cover.covered),
            envelope=cover.envelope,
            reason=cover.reason,
        )
        return cover

    @activity.defn
    def create_payment_order(self, order: PaymentOrder, bank_account: str, at: datetime) -> PaymentOrder:
        # Stored first, under its idempotency key, then handed to the payment system under the same
        # key: a retried activity (worker killed, payment system down) finds the stored order and
        # sends the same key again, which the payment system takes once.
        stored = self._send(self.repo.create_payment_order(order, bank_account, at), bank_account, at)
        _log().info("payment order sent", key=stored.key, amount=str(stored.amount), account=mask_rib(bank_account))
        return stored

    @activity.defn
    def retry_payment_order(self, key: str, attempt: int, bank_account: str, at: datetime) -> PaymentOrder:
        stored = self._send(self.repo.retry_payment_order(key, attempt, bank_account, at), bank_account, at)
        _log().info("payment order re-sent", key=key, attempt=attempt, account=mask_rib(bank_account))
        return stored

    def _send(self, stored: PaymentOrder, bank_account: str, at: datetime) -> PaymentOrder:
        # An order already answered (executed, or rejected for this attempt) is not sent again; one
        # the payment system did not take (unsent, escalated) is, when ops retry it.
        if stored.status in ("sent", "unsent"):
            self.payment_system.send(stored, self._rib(bank_account))
        if stored.status == "unsent":
            return self.repo.mark_payment_sent(stored.key, stored.attempt, at)
        return stored

    def _rib(self, bank_account: str) -> str:
        """The account to pay: read from the vault when the workflow holds its reference."""
        if not is_rib_ref(bank_account):
            return bank_account  # an order of a history from before the vault
        if self.bank_accounts is None:
            raise ApplicationError(
                "bank_account: this worker has no vault to read the account from", non_retryable=True
            )
        try:
            return self.bank_accounts.open(bank_account)
        except UnknownBankAccount as e:
            raise ApplicationError(str(e), type="UnknownBankAccount", non_retryable=True) from None

    @activity.defn
    def mark_payment_unsent(self, key: str, attempt: int, reason: str, at: datetime) -> PaymentOrder | None:
        stored = self.repo.mark_payment_unsent(key, attempt, reason, at)
        _log().warning("payment order not taken by the payment system", key=key, attempt=attempt, reason=reason)
        return stored

    @activity.defn
    def mark_payment_rejected(self, key: str, attempt: int, reason: str, at: datetime) -> PaymentOrder:
        stored = self.repo.mark_payment_rejected(key, attempt, reason, at)
        _log().warning("payment rejected", key=key, attempt=attempt, reason=reason)
        return stored

    @activity.defn
    def record_payment(self, key: str, attempt: int, reference: str, at: datetime) -> bool:
        try:
            new = self.repo.record_payment(key, attempt, reference, at)
        except AwardExceeded as e:
            raise ApplicationError(str(e), type="AwardExceeded", non_retryable=True) from e
        _log().info("payment recorded", key=key, new=new)
        return new

    @activity.defn
    def record_report(self, application_id: str, report: ProgressReport, at: datetime) -> bool:
        return self.repo.record_report(application_id, report.period, report, at)

    @activity.defn
    def review_report(self, application_id: str, period: int, approved: bool, at: datetime) -> None:
        self.repo.review_report(application_id, period, approved, at)

    @activity.defn
    def send_notice(self, application_id: str, key: str, kind: str, message: str, at: datetime) -> bool:
        # A reminder or escalation is written once; delivery (mail, SMS) would hang off this row.
        new = self.repo.record_notice(application_id, key, kind, message, at)
        _log().warning("notice", kind=kind, key=key, message=message, new=new)
        return new

    @activity.defn
    def close_application(
        self, application_id: str, stage: str, amount_to_recover: Decimal | None, at: datetime
    ) -> None:
        self.repo.close(application_id, stage, amount_to_recover, at)
        _log().info("application closed", stage=stage, to_recover=str(amount_to_recover) if amount_to_recover else None)
