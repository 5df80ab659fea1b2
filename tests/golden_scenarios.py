"""The lifecycle paths the golden histories record, one play each, driven as people would
(simulation/driver.py) on the time-skipping server; tests/golden_histories.py runs and saves them."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from temporalio.client import WorkflowHandle

from activities.archive import ClosedRun
from domain.edition import CoFundingFallback, EditionSettings, ReviewAssignment, edition_4_settings
from domain.edition_messages import (
    CloseCall,
    EditionInput,
    SelectionConfirmed,
    edition_workflow_id,
)
from domain.models import (
    Cancellation,
    CoFundingDecision,
    CommitteeDecision,
    Decision,
    Document,
    DocumentsCompleted,
    PaymentRetry,
    ReportReview,
    SiteVisit,
    Stage,
    Termination,
    Withdrawal,
)
from domain.reference import MINISTRY, DocumentKind
from domain.reviewers import Recusal, ReviewerAssignment, ReviewerProfile
from simulation.driver import Driver
from simulation.factories import REGION_02_SHARE, cooperative, make_review, make_submission, settings_with, valid_rib
from simulation.payment_system import DOWN, TAKE, FakePaymentSystem
from simulation.waiting import until
from workflows.application import RESEND_DUE, ApplicationWorkflow
from workflows.archive import ArchiveRun, ArchiveWorkflow
from workflows.edition import EditionWorkflow
from workflows.outbox import DigestRun, DigestWorkflow, OutboxRun, OutboxWorkflow

W = ApplicationWorkflow
AT = datetime(2024, 1, 15, tzinfo=UTC)  # when the reviewers' profiles were written
EDITION = 40  # the edition scenario's own number: its workflows never meet the edition-4 paths
REGION = REGION_02_SHARE


@dataclass(frozen=True)
class Scenario:
    name: str
    ends: Stage | None  # where the application's path ends, checked before its history is kept
    play: Callable[
        [Driver], Awaitable[WorkflowHandle | list[WorkflowHandle]]
    ]  # several: an edition and its applications
    settings: Callable[[], EditionSettings] = field(default=edition_4_settings)


# --- the paths -------------------------------------------------------------------------------------


async def _funded(d: Driver, sub, funders: dict | None = None, scan: bytes | None = None) -> WorkflowHandle:
    """Reviewed, selected, signed (naming the agreement issued; with its signed scan, if given, kept
    in the document store first), first tranche paid: in monitoring."""
    h = await d.start(sub)
    await d.review_all(h)
    await d.select(h, Decimal("40000.00"), funders)
    if funders and set(funders) != {MINISTRY}:
        await d.reach(h, Stage.COFUNDING)
        await h.execute_update(
            W.cofunding_decision, CoFundingDecision(region_code="02", approved=True, decided_by="oriental")
        )
    await d.sign(h, scan_sha256=d.store.put(scan, "signed_scan.pdf")[0] if scan else None)  # type: ignore[attr-defined]
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING, "progress report 1")
    return h


async def full(d: Driver) -> WorkflowHandle:
    """Submission to completion in 24 months: the agreement issued, signed with its scan; 4 reports,
    2 tranches, a payment advice each."""
    h = await _funded(d, make_submission("GOLD-FULL"), scan=b"%PDF-1.4\n% GOLD-FULL: the agreement signed, scanned\n")
    await d.skip(180)
    await d.report(h, 1)
    await d.reach(h, Stage.MONITORING, "progress report 2")
    await d.skip(180)
    await d.report(h, 2, approve=True)
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING, "progress report 3")
    await d.skip(180)
    await d.report(h, 3)
    await d.skip(185)
    await d.report(h, 4, approve=True)
    return h


async def ineligible(d: Driver) -> WorkflowHandle:
    return await d.start(
        make_submission("GOLD-CEIL", requested=Decimal("60000.00"), total=Decimal("80000.00"), own=Decimal("20000.00"))
    )


async def documents_in_time_then_cancelled(d: Driver) -> WorkflowHandle:
    h = await d.start(
        make_submission(
            "GOLD-DOCS", documents=[DocumentKind.STATUTES, DocumentKind.REGISTRATION_RECEIPT, DocumentKind.PROJECT_PLAN]
        )
    )
    await d.reach(h, Stage.AWAITING_DOCUMENTS)
    await d.skip(10)
    await h.execute_update(
        W.complete_documents,
        DocumentsCompleted(documents=(Document(kind=DocumentKind.BUDGET, reference="dms/budget"),)),
    )
    await d.reach(h, Stage.REVIEW)
    await h.execute_update(W.cancel, Cancellation(cancelled_by="officer", reason="duplicate project"))
    return h


async def documents_late(d: Driver) -> WorkflowHandle:
    h = await d.start(make_submission("GOLD-DOCS-LATE", documents=[DocumentKind.STATUTES]))
    await d.reach(h, Stage.AWAITING_DOCUMENTS)
    await d.skip(16)
    return h


async def rejected(d: Driver) -> WorkflowHandle:
    h = await d.start(make_submission("GOLD-REJ"))
    await d.review_all(h, score=3)
    await d.reach(h, Stage.COMMITTEE)
    await h.execute_update(
        W.decide, CommitteeDecision(decision=Decision.REJECTED, decided_by="committee", reason="below the line")
    )
    return h


async def reviewers_assigned_recused(d: Driver) -> WorkflowHandle:
    """An edition that assigns its reviewers: two experts assigned, one recuses with nobody free to
    replace them (escalated), an officer assigns a new reviewer, the reviews, rejected."""
    for rid, sectors, links in (
        ("amal", ("handicrafts",), ()),
        ("zineb", ("handicrafts",), ()),
        ("linked", (), ("GOLD-ASSIGN",)),
    ):
        d.repo.set_reviewer(ReviewerProfile(reviewer_id=rid, sectors=sectors, declared_links=links), AT)
    h = await d.start(make_submission("GOLD-ASSIGN"))
    await d.reach(h, Stage.REVIEW, "2 reviews")
    await h.execute_update(W.recuse, Recusal(reviewer_id="zineb", reason="unavailable", recused_by="zineb"))
    d.repo.set_reviewer(ReviewerProfile(reviewer_id="chama"), AT)
    await h.execute_update(W.assign_reviewers, ReviewerAssignment(reviewers=("chama",), assigned_by="officer-test"))
    await d.review_all(h, score=3)
    await d.reach(h, Stage.COMMITTEE)
    await h.execute_update(
        W.decide, CommitteeDecision(decision=Decision.REJECTED, decided_by="committee", reason="below the line")
    )
    return h


async def outbox(d: Driver) -> WorkflowHandle:
    """The outbox's run, as its schedule starts it: the messages the paths above owe people (the
    golden applicants have no email address: recorded as undeliverable, none to send)."""
    h = await d.client.start_workflow(
        OutboxWorkflow.run, OutboxRun(started_by="golden"), id="moazara-outbox-golden", task_queue=d.task_queue
    )
    d.handles.append(h)
    await h.result()
    return h


async def digest(d: Driver) -> WorkflowHandle:
    """The officers' daily digest, as its schedule starts it (no recipient configured here: listed,
    nothing to send)."""
    h = await d.client.start_workflow(
        DigestWorkflow.run, DigestRun(started_by="golden"), id="moazara-digest-golden", task_queue=d.task_queue
    )
    d.handles.append(h)
    await h.result()
    return h


async def archive(d: Driver) -> WorkflowHandle:
    """The histories' archive run, as its schedule starts it, given the closed run to archive (an
    ineligible application's) since the time-skipping server lists no workflows."""
    app = await d.start(
        make_submission("GOLD-ARCH", requested=Decimal("60000.00"), total=Decimal("80000.00"), own=Decimal("20000.00"))
    )
    await app.result()
    closed = await app.describe()
    run = ClosedRun(
        workflow_id=app.id, run_id=closed.run_id, workflow_type=closed.workflow_type, closed_at=closed.close_time
    )
    h = await d.client.start_workflow(
        ArchiveWorkflow.run, ArchiveRun(started_by="golden", runs=[run]), id="moazara-archive-golden",
        task_queue=d.task_queue,
    )  # fmt: skip
    d.handles.append(h)
    await h.result()
    return h


async def slow_reviews_and_committee(d: Driver) -> WorkflowHandle:
    """Reviews reminded then escalated; the committee late, escalated; then rejected."""
    h = await d.start(make_submission("GOLD-SLOW"))
    await d.reach(h, Stage.REVIEW)
    await h.execute_update(W.submit_review, make_review("r1", 6))
    await d.skip(22)
    await d.reach(h, Stage.REVIEW, "reminded")
    await d.skip(8)
    await d.reach(h, Stage.COMMITTEE)
    await d.skip(121)
    await d.reach(h, Stage.COMMITTEE, "escalated")
    await h.execute_update(
        W.decide, CommitteeDecision(decision=Decision.REJECTED, decided_by="committee", reason="late and weak")
    )
    return h


async def waitlisted_promoted_then_lapsed(d: Driver) -> WorkflowHandle:
    h = await d.start(make_submission("GOLD-WAIT"))
    await d.review_all(h)
    await d.reach(h, Stage.COMMITTEE)
    await h.execute_update(W.decide, CommitteeDecision(decision=Decision.WAITLISTED, rank=130, decided_by="committee"))
    await d.reach(h, Stage.WAITLISTED, "promotion")
    await d.skip(60)
    await h.execute_update(
        W.decide,
        CommitteeDecision(
            decision=Decision.SELECTED,
            award=Decimal("35000.00"),
            funders={MINISTRY: Decimal("35000.00")},
            decided_by="committee",
        ),
    )
    await d.reach(h, Stage.AGREEMENT)
    await d.skip(61)
    return h


async def waitlist_closed(d: Driver) -> WorkflowHandle:
    h = await d.start(make_submission("GOLD-WAITX"))
    await d.review_all(h)
    await d.reach(h, Stage.COMMITTEE)
    await h.execute_update(W.decide, CommitteeDecision(decision=Decision.WAITLISTED, decided_by="committee"))
    await d.reach(h, Stage.WAITLISTED, "promotion")
    await d.skip(181)
    return h


async def cofunding_approved_then_withdrawn(d: Driver) -> WorkflowHandle:
    """Region approves, first tranche paid by the Region, then the applicant withdraws: money to recover."""
    h = await _funded(d, cooperative("GOLD-COOP-OK"), REGION)
    await h.execute_update(W.withdraw, Withdrawal(requested_by="applicant", reason="moved away"))
    return h


async def cofunding_declined_ministry_covers_then_terminated(d: Driver) -> WorkflowHandle:
    """Region declines, ministry covers; site visit, a report rejected then corrected; terminated for cause."""
    h = await d.start(cooperative("GOLD-COOP-NO"))
    await d.review_all(h)
    await d.select(h, Decimal("40000.00"), REGION)
    await d.reach(h, Stage.COFUNDING)
    await h.execute_update(
        W.cofunding_decision,
        CoFundingDecision(region_code="02", approved=False, decided_by="oriental", reason="envelope spent"),
    )
    await d.sign(h)
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING, "progress report 1")
    await h.execute_update(
        W.record_site_visit, SiteVisit(visited_on=date(2024, 6, 1), visitor="inspector", findings="workshop idle")
    )
    await d.skip(180)
    await d.report(h, 1)
    await d.skip(180)
    await d.report(h, 2)
    await h.execute_update(
        W.review_report, ReportReview(period=2, approved=False, decided_by="officer", reason="figures missing")
    )
    await d.report(h, 2)
    await h.execute_update(
        W.terminate,
        Termination(terminated_by="officer", reason="funds diverted", amount_to_recover=Decimal("20000.00")),
    )
    return h


def _timeout_play(reg: str, waitlist: bool) -> Callable[[Driver], Awaitable[WorkflowHandle]]:
    async def play(d: Driver) -> WorkflowHandle:
        h = await d.start(cooperative(reg))
        await d.review_all(h)
        await d.select(h, Decimal("40000.00"), REGION)
        await d.reach(h, Stage.COFUNDING)
        await d.skip(31)
        if waitlist:  # back on the waitlist: the committee may decide again
            await d.reach(h, Stage.WAITLISTED)
            await h.execute_update(W.decide, CommitteeDecision(decision=Decision.REJECTED, decided_by="committee"))
        return h

    return play


async def payment_rejected_fixed_then_cancelled(d: Driver) -> WorkflowHandle:
    h = await d.start(make_submission("GOLD-PAY"))
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    await d.pay_pending(h, executed=False)
    await d.fix_bank(h, valid_rib(7))
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    await h.execute_update(W.cancel, Cancellation(cancelled_by="officer", reason="programme audit"))
    return h


async def agreement_reissued_then_cancelled(d: Driver) -> WorkflowHandle:
    """Finance changes the bank details before signature (four eyes): the agreement's version 2 is
    issued; signed naming it and its account; paid; then cancelled."""
    h = await d.start(make_submission("GOLD-REISSUE"))
    await d.review_all(h)
    await d.select(h)
    await d.reach(h, Stage.AGREEMENT)
    await d.fix_bank(h, valid_rib(8))
    await d.sign(h, valid_rib(8))
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    await h.execute_update(W.cancel, Cancellation(cancelled_by="officer", reason="programme audit"))
    return h


async def payment_system_down_then_retried(d: Driver) -> WorkflowHandle:
    """The payment system is down when the first tranche is ordered: bounded retries, escalated to
    ops; ops retry once it is back; paid; then cancelled."""
    fake: FakePaymentSystem = d.payment_system  # type: ignore[attr-defined]
    h = await d.start(make_submission("GOLD-PAYSYS"))
    await d.review_all(h)
    await d.select(h)
    fake.mode = DOWN
    try:
        await d.sign(h)
        for _ in range(40):  # the retry waits pass in simulated time
            if (await d.status(h)).waiting_for == RESEND_DUE:
                break
            await d.skip(1 / 48 / 60)
        await d.reach(h, Stage.DISBURSEMENT, RESEND_DUE)
    finally:
        fake.mode = TAKE
    await h.execute_update(W.retry_payment_orders, PaymentRetry(requested_by="officer", reason="payment system back"))
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    await h.execute_update(W.cancel, Cancellation(cancelled_by="officer", reason="programme audit"))
    return h


async def overdue_report(d: Driver) -> WorkflowHandle:
    """12 months: report 1 reminded, escalated, next tranche suspended until it arrives; completed."""
    h = await _funded(d, make_submission("GOLD-LATE-REPORT", duration_months=12))
    await d.skip(180)  # six calendar months are 181 to 184 days: step to the reminder
    await _skip_until(d, h, "reminded")
    await _skip_until(d, h, "next tranche suspended")
    await d.report(h, 1, approve=True)
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING, "progress report 2")
    await d.skip(150)
    await d.report(h, 2, approve=True)
    return h


async def _skip_until(d: Driver, h: WorkflowHandle, waiting: str, days: int = 40) -> None:
    """Skip a day at a time until the application waits for `waiting` (calendar-proof deadlines)."""
    for _ in range(days):
        s = await d.status(h)
        if s.waiting_for and waiting in s.waiting_for:
            return
        await d.skip(1)
    await d.reach(h, Stage.MONITORING, waiting)


async def edition(d: Driver) -> list[WorkflowHandle]:
    """An edition (EditionWorkflow) with three applications: call, reviews, committee proposal
    confirmed by ops, decisions sent; the selected second withdraws and the waitlisted third is
    promoted. The edition is then terminated (it would wait for its waitlist to close)."""
    now = (await d.env.get_current_time()).date()
    settings = settings_with(
        edition=EDITION,
        call_opens=now,
        call_closes=now + timedelta(days=20),
        ministry_envelope=Decimal("80000.00"),
        priority_envelope=Decimal(0),
        priority_envelope_exclusive=False,
        priority_bonus=Decimal(0),
    )
    ed = await d.client.start_workflow(
        EditionWorkflow.run,
        EditionInput(settings=settings, opened_by="officer-test"),
        id=edition_workflow_id(EDITION),
        task_queue=d.task_queue,
    )
    d.handles.append(ed)
    d.settings = settings  # reviewers per application, as the edition says
    apps = []
    for reg, score in (("GOLD-ED-A", 9), ("GOLD-ED-B", 8), ("GOLD-ED-C", 7)):
        answer = await ed.execute_update(EditionWorkflow.submit, make_submission(reg, edition=EDITION))
        h = d.client.get_workflow_handle_for(ApplicationWorkflow.run, answer.application_id)
        d.handles.append(h)
        apps.append(h)
        await d.review_all(h, score)
    await ed.execute_update(EditionWorkflow.close_call, CloseCall(closed_by="officer-test"))
    await d.skip(1)  # the edition looks again each programme day
    await until(lambda: ed.query(EditionWorkflow.get_status), lambda s: s.proposal is not None, "a proposal")
    await ed.execute_update(EditionWorkflow.confirm_selection, SelectionConfirmed(confirmed_by="director"))
    a, b, c = apps
    await d.reach(a, Stage.AGREEMENT)
    await d.reach(b, Stage.AGREEMENT)
    await d.reach(c, Stage.WAITLISTED)
    await b.execute_update(W.withdraw, Withdrawal(requested_by="applicant", reason="moved away"))
    await d.reach(c, Stage.AGREEMENT)  # promoted with the freed money
    return [ed, *apps]


STOP_AT = [
    Stage.AWAITING_DOCUMENTS,
    Stage.REVIEW,
    Stage.COMMITTEE,
    Stage.WAITLISTED,
    Stage.COFUNDING,
    Stage.AGREEMENT,
    Stage.DISBURSEMENT,
    Stage.MONITORING,
]


def _withdraw_at(stage: Stage) -> Callable[[Driver], Awaitable[WorkflowHandle]]:
    async def play(d: Driver) -> WorkflowHandle:
        h = await d.bring_to(stage, f"GOLD-W-{stage.value}".replace("_", "-"))
        await d.withdraw(h)
        return h

    return play


SCENARIOS: list[Scenario] = [
    Scenario("full", Stage.COMPLETED, full),
    Scenario("ineligible", Stage.INELIGIBLE, ineligible),
    Scenario("documents-in-time-then-cancelled", Stage.CANCELLED, documents_in_time_then_cancelled),
    Scenario("documents-late", Stage.INELIGIBLE, documents_late),
    Scenario("rejected", Stage.REJECTED, rejected),
    Scenario(
        "reviewers-assigned-recused",
        Stage.REJECTED,
        reviewers_assigned_recused,
        lambda: settings_with(review_assignment=ReviewAssignment.AUTOMATIC),
    ),
    Scenario("slow-reviews-and-committee", Stage.REJECTED, slow_reviews_and_committee),
    Scenario("waitlisted-promoted-then-lapsed", Stage.LAPSED, waitlisted_promoted_then_lapsed),
    Scenario("waitlist-closed", Stage.NOT_SELECTED, waitlist_closed),
    Scenario("cofunding-approved-then-withdrawn", Stage.WITHDRAWN, cofunding_approved_then_withdrawn),
    Scenario(
        "cofunding-declined-then-terminated", Stage.TERMINATED, cofunding_declined_ministry_covers_then_terminated
    ),
    Scenario(
        "cofunding-timeout-reduce-award",
        Stage.NOT_SELECTED,
        _timeout_play("GOLD-COOP-T-REDUCE", False),
        lambda: settings_with(cofunding_fallback=CoFundingFallback.REDUCE_AWARD),
    ),
    Scenario(
        "cofunding-timeout-waitlist",
        Stage.REJECTED,
        _timeout_play("GOLD-COOP-T-WAIT", True),
        lambda: settings_with(cofunding_fallback=CoFundingFallback.WAITLIST),
    ),
    Scenario("payment-rejected-fixed-then-cancelled", Stage.CANCELLED, payment_rejected_fixed_then_cancelled),
    Scenario("payment-system-down-then-retried", Stage.CANCELLED, payment_system_down_then_retried),
    Scenario("agreement-reissued-then-cancelled", Stage.CANCELLED, agreement_reissued_then_cancelled),
    Scenario("overdue-report", Stage.COMPLETED, overdue_report),
    *[Scenario(f"withdrawn-at-{s.value}", Stage.WITHDRAWN, _withdraw_at(s)) for s in STOP_AT],
    Scenario("edition", None, edition),
    Scenario("outbox", None, outbox),
    Scenario("digest", None, digest),
    Scenario("archive", None, archive),
]
