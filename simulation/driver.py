"""Drives one application through its lifecycle the way ops, partners and the payment system would."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.edition import EditionSettings
from domain.models import (
    FINAL_STAGES,
    AgreementSigned,
    ApplicationInput,
    ApplicationStatus,
    ApplicationSubmission,
    BankDetailsApproved,
    BankDetailsFixed,
    CommitteeDecision,
    Decision,
    Indicators,
    PaymentResult,
    ProgressReport,
    ReportReview,
    Stage,
    Withdrawal,
)
from domain.reference import MINISTRY, DocumentKind
from simulation.factories import REGION_02_SHARE, cooperative, make_review, make_submission, valid_rib
from simulation.waiting import until
from workflows.application import ApplicationWorkflow


async def reach(
    handle: WorkflowHandle, stage: Stage, waiting: str | None = None, seconds: float = 30.0, every: float = 0.05
) -> ApplicationStatus:
    """Poll an application's status (in real time: the test server skips no time for queries) until it
    is in `stage` and waits for something (optionally: something containing `waiting`), or has ended
    there. A query that fails on the way (its worker just died, the server restarting) is asked again."""

    async def status() -> ApplicationStatus | None:
        try:
            return await handle.query(ApplicationWorkflow.get_status, rpc_timeout=timedelta(seconds=10))
        except RPCError:
            return None

    def there(s: ApplicationStatus | None) -> bool:
        waits = s is not None and s.waiting_for and (waiting is None or waiting in s.waiting_for)
        return s is not None and s.stage == stage and bool(stage in FINAL_STAGES or waits)

    s = await until(status, there, f"{handle.id} reached {stage} waiting for {waiting!r}", seconds, every)
    assert s is not None
    return s


def signature(
    status: ApplicationStatus,
    rib: str,
    scan_sha256: str | None = None,
    signed_by: str = "officer-test",
    signed_on: date = date(2024, 2, 1),
) -> AgreementSigned:
    """A signature of the agreement an application in stage agreement issued (`status`: its
    get_status), naming its hash as the workflow requires (none for a workflow from before)."""
    return AgreementSigned(
        signed_by=signed_by,
        signed_on=signed_on,
        bank_account=rib,
        agreement_sha256=status.agreement_sha256,
        scan_sha256=scan_sha256,
    )


class Driver:
    def __init__(self, env: WorkflowEnvironment | Client, task_queue: str, settings: EditionSettings) -> None:
        """`env`: the time-skipping test environment, or a client of a real server (the benchmarks'),
        where time is not skipped."""
        skipping = isinstance(env, WorkflowEnvironment)
        self.env, self.client = (env, env.client) if skipping else (None, env)
        self.task_queue, self.settings = task_queue, settings
        self.handles: list[WorkflowHandle] = []

    async def cleanup(self) -> None:
        """Terminate what a test left running: on the shared time-skipping server, a workflow whose
        worker is gone would hold every later test's time skipping."""
        for h in self.handles:
            try:
                await h.terminate("test finished")
            except Exception:
                pass  # already closed

    async def start(self, submission: ApplicationSubmission) -> WorkflowHandle:
        handle = await self.client.start_workflow(
            ApplicationWorkflow.run,
            ApplicationInput(settings=self.settings, submission=submission, submitted_by="officer-test"),
            id=submission.application_id,
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    @staticmethod
    async def status(handle: WorkflowHandle) -> ApplicationStatus:
        return await handle.query(ApplicationWorkflow.get_status)

    async def reach(
        self, handle: WorkflowHandle, stage: Stage, waiting: str | None = None, tries: int = 400
    ) -> ApplicationStatus:
        return await reach(handle, stage, waiting, seconds=tries * 0.05)

    async def skip(self, days: float) -> None:
        assert self.env is not None, "time is skipped on the time-skipping test server only"
        await self.env.sleep(timedelta(days=days))

    async def review_all(self, handle: WorkflowHandle, score: int = 7) -> None:
        """Every seat's review: by the reviewers assigned, in an edition that assigns them."""
        s = await self.reach(handle, Stage.REVIEW)
        k = self.settings.reviewers_per_application
        reviewers = s.reviewers if s.reviewers else [f"reviewer-{i}" for i in range(k)]
        for reviewer in reviewers:
            await handle.execute_update(ApplicationWorkflow.submit_review, make_review(reviewer, score))

    async def select(
        self, handle: WorkflowHandle, award: Decimal = Decimal("40000.00"), funders: dict | None = None
    ) -> None:
        await self.reach(handle, Stage.COMMITTEE)
        await handle.execute_update(
            ApplicationWorkflow.decide,
            CommitteeDecision(
                decision=Decision.SELECTED, award=award, funders=funders or {MINISTRY: award}, decided_by="committee"
            ),
        )

    async def sign(self, handle: WorkflowHandle, rib: str | None = None, scan_sha256: str | None = None) -> None:
        """Sign the agreement the application issued (its hash read from the status), with a scan."""
        s = await self.reach(handle, Stage.AGREEMENT)
        await handle.execute_update(ApplicationWorkflow.sign_agreement, signature(s, rib or valid_rib(42), scan_sha256))

    async def pay_pending(self, handle: WorkflowHandle, executed: bool = True) -> list[str]:
        """Answer every sent payment order as the payment system would."""
        s = await self.reach(handle, Stage.DISBURSEMENT, "payment system")
        keys = []
        for o in s.orders:
            if o.status == "sent":
                await handle.execute_update(
                    ApplicationWorkflow.payment_result,
                    PaymentResult(
                        order_key=o.key,
                        attempt=o.attempt,
                        executed=executed,
                        reference=f"PAY-{uuid.uuid4().hex[:6]}",
                        reason="" if executed else "account closed",
                    ),
                )
                keys.append(o.key)
        return keys

    async def fix_bank(
        self, handle: WorkflowHandle, rib: str, by: str = "finance-karim", approver: str = "finance-salma"
    ) -> None:
        """New bank details after a rejection: requested by one finance user, approved by another."""
        await handle.execute_update(
            ApplicationWorkflow.fix_bank_details, BankDetailsFixed(bank_account=rib, fixed_by=by)
        )
        await handle.execute_update(ApplicationWorkflow.approve_bank_details, BankDetailsApproved(approved_by=approver))

    async def report(self, handle: WorkflowHandle, period: int, approve: bool | None = None) -> None:
        await handle.execute_update(
            ApplicationWorkflow.submit_report,
            ProgressReport(
                period=period, indicators=Indicators(jobs_created=period, beneficiaries=10 * period, women=5, youth=3)
            ),
        )
        if approve is not None:
            await handle.execute_update(
                ApplicationWorkflow.review_report,
                ReportReview(period=period, approved=approve, decided_by="officer-test"),
            )

    async def bring_to(self, stage: Stage, reg: str) -> WorkflowHandle:
        """An application brought to `stage` the shortest way: missing documents for awaiting-documents,
        waitlisted by the committee, a cooperative of l'Oriental for co-funding, the first tranche paid
        for monitoring."""
        coop = stage == Stage.COFUNDING
        sub = (
            cooperative(reg)
            if coop
            else make_submission(reg, documents=[DocumentKind.STATUTES] if stage == Stage.AWAITING_DOCUMENTS else None)
        )
        h = await self.start(sub)
        if stage not in (Stage.AWAITING_DOCUMENTS, Stage.REVIEW):
            await self.review_all(h)
        if stage == Stage.WAITLISTED:
            await self.reach(h, Stage.COMMITTEE)
            await h.execute_update(
                ApplicationWorkflow.decide, CommitteeDecision(decision=Decision.WAITLISTED, decided_by="committee")
            )
        elif stage in (Stage.COFUNDING, Stage.AGREEMENT, Stage.DISBURSEMENT, Stage.MONITORING):
            await self.select(h, Decimal("40000.00"), REGION_02_SHARE if coop else None)
        if stage in (Stage.DISBURSEMENT, Stage.MONITORING):
            await self.sign(h)
        if stage == Stage.MONITORING:
            await self.pay_pending(h)
        await self.reach(h, stage)
        return h

    async def withdraw(self, h: WorkflowHandle):
        return await h.execute_update(
            ApplicationWorkflow.withdraw, Withdrawal(requested_by="applicant", reason="moved away")
        )
