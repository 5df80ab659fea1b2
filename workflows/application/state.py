"""What an application workflow knows and the steps every part of it takes: entering a stage, waiting
for someone until a deadline, running an activity under its policy, recording a decision, closing.

The process (process.py), the inputs (inputs.py) and the payments (payments.py) build on it.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.application import ApplicationActivities as A
    from domain.documents import AGREEMENT, IssuedDocument
    from domain.edition_messages import SeatFreed
    from domain.models import (
        FINAL_STAGES,
        AgreementSigned,
        Answer,
        ApplicationInput,
        ApplicationStatus,
        CoFundingDecision,
        CommitteeDecision,
        PaymentOrder,
        Stage,
        StageChange,
    )
    from domain.money import mad
    from domain.refusals import Refusal, Waiting, waiting
    from workflows import names
    from workflows.refusals import refused
    from workflows.run_activity import run_activity

# What an application waits for: a code and its parameters (domain/refusals.WAITS), and its English
# text in ApplicationStatus.waiting_for as before codes existed.
PAYMENTS = waiting("waiting.payments")
RESEND = waiting("waiting.payments.resend")
FIX = waiting("waiting.bank.fix")
APPROVAL = waiting("waiting.bank.approval")
PAYMENTS_DUE = PAYMENTS.text  # "payment system: tranche executed"
RESEND_DUE = RESEND.text  # "ops: retry the payment orders the payment system did not take"
UNSENT = "unsent"  # an order the payment system did not take within its retry policy
# Patch id: from this version, an unsent order is marked so in the database (mark_payment_unsent).
PATCH_UNSENT_ROW = "payment-order-unsent-row"
# Patch id: from this version, the ministry covers a declined co-funding only within its envelope.
PATCH_COVER_WITHIN_ENVELOPE = "cofunding-cover-within-envelope"
PATCH_BANK_FOUR_EYES = "bank-details-four-eyes"  # a change of bank details takes a second approval
# Patch id: from this version, the workflow issues the funding agreement on entering the agreement
# stage (its hash in the status, named by the signature) and a payment advice per paid order.
PATCH_AGREEMENT_ISSUED = "agreement-issued"
# Patch id: from this version, a report's review is one activity (record_decision moves the report):
# one round trip less for the officer waiting on the answer.
PATCH_REVIEW_IN_ONE_STEP = "report-review-one-step"
# What the unsigned agreement waits for, said again once a bank details change is through.
SIGNATURE = waiting("waiting.agreement")
FIX_DUE = FIX.text  # "ops: fix the bank details of a rejected payment"
APPROVAL_DUE = APPROVAL.text  # "finance: a second person approves the new bank details"

# Stages in which the funding agreement is signed and money may be moving.
FUNDED = frozenset({Stage.DISBURSEMENT, Stage.MONITORING})


class _Stopped(Exception):
    """Raised out of any wait when the application is withdrawn, cancelled or terminated."""


class _BackToWaitlist(Exception):
    """A declined co-funding under the 'waitlist' policy sends the project back to the waitlist."""


class ApplicationState:
    def __init__(self, inp: ApplicationInput) -> None:
        self.settings = inp.settings
        self.submission = inp.submission
        self.app_id = inp.submission.application_id
        self.edition_workflow_id = inp.edition_workflow_id
        self._selected = False  # a selection decision holds money in the edition's envelopes
        now = workflow.now()
        self.status = ApplicationStatus(
            application_id=self.app_id,
            edition=inp.submission.edition,
            stage=Stage.SUBMITTED,
            since=now,
            review_assignment=self.settings.review_assignment.value,
            blind_review=self.settings.blind_review,
            review_grid={c.value: w for c, w in self.settings.review_grid.items()},
        )
        self._stage_seq = 0
        self._decision_seq: dict[str, int] = {}
        self._stop: tuple[Stage, str, str, Decimal | None] | None = None  # stage, by, reason, to recover
        self._documents_in = False
        self._reviews: dict[str, Decimal | None] = {}  # reviewer -> weighted score (None while storing)
        self._assigned: list[str] = []  # reviewers assigned and not recused (editions that assign them)
        self._recused: set[str] = set()
        self._seats_pending = 0  # review seats an assignment in flight is filling
        self._assign_round = 0
        self._decision: CommitteeDecision | None = None
        self._cofunding: dict[str, CoFundingDecision] = {}
        self._agreement: AgreementSigned | None = None
        self._issued: IssuedDocument | None = None  # the agreement issued (histories before: none)
        self._reissuing = False  # a new version of the agreement is being issued: a signature waits
        self._agreed_account: str | None = None  # the account finance put in the unsigned agreement
        self._bank_account: str | None = None
        self._bank_change: tuple[str, str] | None = None  # account, who asked: waits for a second person
        self._orders: dict[str, PaymentOrder] = {}
        self._reports: dict[int, str] = {}  # period -> received / approved / rejected
        self._expected_period = 1
        self._review_reports: set[int] = set()  # periods that need ops approval

    @staticmethod
    def _guard(validator: Callable[[Any], None], arg: Any) -> None:
        """Run a validator again inside its handler: a concurrent update may have changed the state
        since validation; refuse the update then (an ApplicationError), never fail the workflow task."""
        try:
            validator(arg)
        except ValueError as e:
            raise refused(e) from e

    def _paid(self) -> Decimal | None:
        return self.status.paid_total or None

    def _expect(self, *stages: Stage) -> None:
        self._expect_open()
        if self.status.stage not in stages:
            wanted = " or ".join(s.value for s in stages)
            raise Refusal("stage.wrong", stage=self.status.stage.value, expected=wanted)

    def _expect_open(self) -> None:
        if self.status.stage in FINAL_STAGES or self._stop is not None:
            raise Refusal("stage.closed", stage=self.status.stage.value)

    def _answer(self, message: str) -> Answer:
        return Answer(message=message, stage=self.status.stage)

    def _now(self) -> datetime:
        return workflow.now()

    def _next_seq(self, kind: str) -> int:
        self._decision_seq[kind] = self._decision_seq.get(kind, 0) + 1
        return self._decision_seq[kind]

    def _set_award(self, funders: dict[str, Decimal]) -> None:
        self.status.funders = dict(funders)
        self.status.award = mad(sum(funders.values(), Decimal(0)))

    def _refresh_orders(self) -> None:
        self.status.orders = list(self._orders.values())

    _act = staticmethod(run_activity)

    async def _record(self, kind: str, seq: int, outcome: str, payload: Any, by: str) -> None:
        data = payload.model_dump(mode="json") if hasattr(payload, "model_dump") else payload
        await self._act(A.record_decision, self.app_id, kind, seq, outcome, data, by, self._now())

    async def _issue(self, kind: str, order_key: str | None = None) -> IssuedDocument:
        """Issue the agreement (or a paid order's payment advice) in the applicant's language."""
        language = self.submission.applicant.language
        issued: IssuedDocument = await self._act(
            A.issue_document, self.app_id, kind, language, self.settings, self._now(), order_key
        )
        return issued

    def _unsigned_agreement(self) -> bool:
        """The agreement is issued and waits for its signature: a change of what it states is a new
        version of it (payments.py)."""
        return (
            self.status.stage == Stage.AGREEMENT
            and self._issued is not None
            and self._agreement is None
            and self._stop is None
        )

    async def _reissue_agreement(self) -> None:
        """Issue the agreement again from the records as they are now: a new content is its next
        version, the one the status names and a signature must name (the old one is refused). The
        caller holds `_reissuing` from before it changes the records until this returns."""
        self._issued = await self._issue(AGREEMENT)
        self.status.agreement_sha256, self.status.agreement_version = self._issued.sha256, self._issued.version

    async def _notice(self, key: str, kind: str, message: str) -> None:
        if kind == "escalation":
            self.status.escalations.append(message)
        await self._act(A.send_notice, self.app_id, key, kind, message, self._now())

    async def _enter(self, stage: Stage, note: str = "") -> None:
        now = self._now()
        self.status.stage, self.status.since, self.status.until = stage, now, None
        self._awaiting(None)
        self.status.history.append(StageChange(stage=stage, at=now, note=note))
        self._stage_seq += 1
        await self._act(A.record_stage, self.app_id, self._stage_seq, stage.value, now, note)

    def _awaiting(self, what: Waiting | None) -> None:
        """Say what the application waits for (query state only): its English text, code and parameters."""
        self.status.waiting_for = None if what is None else what.text
        self.status.waiting_code = None if what is None else what.code
        self.status.waiting_params = {} if what is None else dict(what.params)

    async def _wait(self, ready: Callable[[], bool], what: Waiting, until: datetime | None) -> bool:
        """Wait for `ready()` until `until`; False on timeout. Raises _Stopped on withdrawal and the like."""
        self._awaiting(what)
        self.status.since, self.status.until = self._now(), until
        timeout = None if until is None else max(until - self._now(), timedelta(seconds=1))
        try:
            await workflow.wait_condition(
                lambda: self._stop is not None or ready(), timeout=timeout, timeout_summary=what.text
            )
        except TimeoutError:
            if self._stop is not None:
                raise _Stopped() from None
            self._awaiting(None)  # past its deadline: no longer awaited
            self.status.until = None
            return False
        if self._stop is not None:
            raise _Stopped()
        self._awaiting(None)
        self.status.until = None
        return True

    async def _close(self, stage: Stage, note: str, recover: Decimal | None = None) -> None:
        if self._stop is not None and stage != self._stop[0]:
            raise _Stopped()  # a withdrawal that arrived meanwhile wins
        await self._act(A.close_application, self.app_id, stage.value, recover, self._now())
        self.status.amount_to_recover = recover
        await self._enter(stage, note)
        if self._selected and stage != Stage.COMPLETED:
            await self._free_seat(f"{stage.value}: {note}")

    async def _free_seat(self, reason: str) -> None:
        """Tell the edition that money it gave this project may go to the waitlist."""
        if self.edition_workflow_id is None:
            return
        try:
            await workflow.get_external_workflow_handle(self.edition_workflow_id).signal(
                names.EditionSignal.SEAT_FREED, SeatFreed(application_id=self.app_id, reason=reason[:2000])
            )
        except Exception as e:  # the edition has closed: nothing is waiting for the money any more
            workflow.logger.warning("edition %s not told of a freed seat: %s", self.edition_workflow_id, e)
