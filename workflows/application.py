"""ApplicationWorkflow: one durable workflow per application, through the six stages of the programme.

submission -> eligibility (-> documents deadline) -> review -> committee (-> waitlist)
-> partner co-funding -> agreement -> disbursement in tranches -> monitoring -> closed.

Inputs that need an answer are updates with validators; a refused input raises in the
validator, so it never reaches the history and changes nothing. Withdrawal, cancellation
and termination can arrive at any stage: every wait below ends on them.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.application import ApplicationActivities as A
    from activities.policies import policy_for
    from domain.calendar import local_date, midterm_period
    from domain.edition import CoFundingFallback, TrancheRelease
    from domain.edition_messages import SeatFreed
    from domain.envelopes import CoFundingCover
    from domain.models import (
        FINAL_STAGES,
        AgreementSigned,
        Answer,
        ApplicationInput,
        ApplicationStatus,
        BankDetailsFixed,
        Cancellation,
        CoFundingDecision,
        CommitteeDecision,
        Decision,
        DocumentsCompleted,
        EligibilityResult,
        PaymentOrder,
        PaymentResult,
        PaymentRetry,
        ProgressReport,
        ReportReview,
        Review,
        RuleFailure,
        SiteVisit,
        Stage,
        StageChange,
        Termination,
        Withdrawal,
    )
    from domain.money import mad, split
    from domain.reference import MINISTRY, region_funder
    from domain.scoring import conflict_of_interest
    from workflows import names

PAYMENTS_DUE = "payment system: tranche executed"
RESEND_DUE = "ops: retry the payment orders the payment system did not take"
UNSENT = "unsent"  # an order the payment system did not take within its retry policy
# Patch id: from this version, an unsent order is marked so in the database (mark_payment_unsent).
PATCH_UNSENT_ROW = "payment-order-unsent-row"
# Patch id: from this version, the ministry covers a declined co-funding only within its envelope.
PATCH_COVER_WITHIN_ENVELOPE = "cofunding-cover-within-envelope"

# Stages in which the funding agreement is signed and money may be moving.
FUNDED = frozenset({Stage.DISBURSEMENT, Stage.MONITORING})


class _Stopped(Exception):
    """Raised out of any wait when the application is withdrawn, cancelled or terminated."""


class _BackToWaitlist(Exception):
    """A declined co-funding under the 'waitlist' policy sends the project back to the waitlist."""


@workflow.defn
class ApplicationWorkflow:
    @workflow.init
    def __init__(self, inp: ApplicationInput) -> None:
        self.settings = inp.settings
        self.submission = inp.submission
        self.app_id = inp.submission.application_id
        self.edition_workflow_id = inp.edition_workflow_id
        self._selected = False  # a selection decision holds money in the edition's envelopes
        now = workflow.now()
        self.status = ApplicationStatus(
            application_id=self.app_id, edition=inp.submission.edition, stage=Stage.SUBMITTED, since=now
        )
        self._stage_seq = 0
        self._decision_seq: dict[str, int] = {}
        self._stop: tuple[Stage, str, str, Decimal | None] | None = None  # stage, by, reason, to recover
        self._documents_in = False
        self._reviews: dict[str, Decimal | None] = {}  # reviewer -> weighted score (None while storing)
        self._decision: CommitteeDecision | None = None
        self._cofunding: dict[str, CoFundingDecision] = {}
        self._agreement: AgreementSigned | None = None
        self._bank_account: str | None = None
        self._orders: dict[str, PaymentOrder] = {}
        self._reports: dict[int, str] = {}  # period -> received / approved / rejected
        self._expected_period = 1
        self._review_reports: set[int] = set()  # periods that need ops approval

    # --- The process ---------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ApplicationInput) -> ApplicationStatus:
        try:
            await self._act(A.record_submission, inp, self._now())
            await self._enter(Stage.SUBMITTED, f"by {inp.submitted_by}")
            if await self._eligibility():
                await self._review()
                if await self._selection() and await self._agreement_signed():
                    await self._disburse(TrancheRelease.SIGNATURE)
                    await self._monitor()
                    await self._close(Stage.COMPLETED, "final report approved")
        except _Stopped:
            stage, by, reason, recover = self._stop  # type: ignore[misc]
            await self._close(stage, f"by {by}: {reason}", recover)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _eligibility(self) -> bool:
        deadline = self.settings.after_days(self._now(), self.settings.documents_deadline_days)
        attempt = 0
        while True:
            attempt += 1
            await self._enter(Stage.ELIGIBILITY, f"rule set {self.settings.rule_set_version}, attempt {attempt}")
            result: EligibilityResult = await self._act(
                A.check_eligibility, self.app_id, attempt, self.submission, self.settings, self._now()
            )
            self.status.reasons = list(result.failures)
            if result.eligible:
                return True
            if not result.only_documents_missing or self._now() >= deadline:
                await self._close(Stage.INELIGIBLE, "; ".join(f.code for f in result.failures))
                return False
            await self._enter(Stage.AWAITING_DOCUMENTS, result.failures[0].message)
            self._documents_in = False
            if not await self._wait(lambda: self._documents_in, "missing documents from the applicant", deadline):
                self.status.reasons.append(
                    RuleFailure(code="DOCUMENTS_DEADLINE_PASSED", message="the documents deadline passed")
                )
                await self._close(Stage.INELIGIBLE, "documents deadline passed")
                return False

    async def _review(self) -> None:
        k = self.settings.reviewers_per_application
        await self._enter(Stage.REVIEW, f"{k} reviews expected")
        enough = lambda: sum(s is not None for s in self._reviews.values()) >= k  # noqa: E731
        deadline = self.settings.after_days(self._now(), self.settings.review_deadline_days)
        if not await self._wait(enough, f"{k} reviews", deadline):
            await self._notice("review-reminder", "reminder", "reviews missing at the review deadline")
            escalate_at = self.settings.after_days(deadline, self.settings.review_reminder_days)
            if not await self._wait(enough, f"{k} reviews (reminded)", escalate_at):
                await self._notice("review-escalation", "escalation", "reviews still missing after the reminder")
                # Escalated: ops decide; the application goes on with whatever reviews arrived, at least one.
                await self._wait(
                    lambda: any(s is not None for s in self._reviews.values()), "at least one review", None
                )
        scores = [s for s in self._reviews.values() if s is not None]
        self.status.score = await self._act(A.set_score, self.app_id, scores)

    async def _selection(self) -> bool:
        """Committee decision, waitlist, co-funding. True when the project is selected and funded."""
        await self._enter(Stage.COMMITTEE)
        self._decision = None
        deadline = self.settings.after_days(self._now(), self.settings.committee_wait_days)
        if not await self._wait(lambda: self._decision is not None, "committee decision", deadline):
            await self._notice("committee-escalation", "escalation", "no committee decision in time")
            await self._wait(lambda: self._decision is not None, "committee decision (escalated)", None)
        waitlist_until: datetime | None = None
        while True:
            decision = self._decision
            assert decision is not None
            if decision.decision == Decision.REJECTED:
                await self._close(Stage.REJECTED, decision.reason)
                return False
            if decision.decision == Decision.WAITLISTED:
                await self._enter(Stage.WAITLISTED, f"rank {decision.rank}" if decision.rank else "")
                waitlist_until = waitlist_until or self.settings.after_days(self._now(), self.settings.waitlist_days)
                self._decision = None
                if not await self._wait(
                    lambda: self._decision is not None, "promotion from the waitlist", waitlist_until
                ):
                    await self._close(Stage.NOT_SELECTED, "waitlist closed")
                    return False
                continue
            try:
                return await self._fund(decision)
            except _BackToWaitlist:
                self._decision = decision.model_copy(
                    update={"decision": Decision.WAITLISTED, "award": Decimal(0), "funders": {}}
                )

    async def _fund(self, decision: CommitteeDecision) -> bool:
        self._selected = True
        funders = dict(decision.funders)
        self._set_award(funders)
        await self._act(A.set_award, self.app_id, funders, decision.honorary_award)
        for funder, share in decision.funders.items():
            if funder == MINISTRY or share <= 0:
                continue
            region = funder.removeprefix("region-")
            approved = await self._ask_region(region, share)
            if approved >= share:
                continue
            missing = share - approved
            funders[funder] = approved
            policy = self.settings.cofunding_fallback
            why = policy.value
            if policy == CoFundingFallback.MINISTRY_COVERS and workflow.patched(PATCH_COVER_WITHIN_ENVELOPE):
                # Only as far as the ministry's envelope allows; short of it, the edition's cover_shortfall.
                cover: CoFundingCover = await self._act(
                    A.cover_cofunding, self.app_id, self.settings, funder, approved, self._now()
                )
                await self._enter(Stage.COFUNDING, cover.reason)
                funders, why = dict(cover.funders), cover.reason
                if cover.outcome == "waitlist":
                    policy = CoFundingFallback.WAITLIST
            elif policy == CoFundingFallback.MINISTRY_COVERS:  # histories from before the envelope check
                funders[MINISTRY] = funders.get(MINISTRY, Decimal(0)) + missing
            if policy == CoFundingFallback.WAITLIST:
                self._set_award({})
                await self._act(A.set_award, self.app_id, {}, False)
                self._selected = False
                await self._free_seat(f"co-funding of region {region} not obtained; back to the waitlist")
                raise _BackToWaitlist()
            funders = {f: a for f, a in funders.items() if a > 0}
            self._set_award(funders)
            await self._act(A.set_award, self.app_id, funders, decision.honorary_award)
            await self._free_seat(f"co-funding of region {region} not obtained ({why})")
            if not funders:
                await self._close(Stage.NOT_SELECTED, f"co-funding of region {region} not obtained")
                return False
        return True

    async def _ask_region(self, region: str, share: Decimal) -> Decimal:
        """Ask the Region Council for its share; the amount it approves (0 on decline or timeout)."""
        await self._enter(Stage.COFUNDING, f"region {region}, {share} MAD")
        await self._notice(
            f"cofunding-request-{region}", "request", f"co-funding of {share} MAD asked of region {region}"
        )
        deadline = self.settings.after_days(self._now(), self.settings.cofunding_deadline_days)
        if not await self._wait(lambda: region in self._cofunding, f"co-funding decision of region {region}", deadline):
            await self._notice(f"cofunding-timeout-{region}", "escalation", f"region {region} did not answer in time")
            return Decimal(0)
        answer = self._cofunding[region]
        return (answer.amount if answer.amount is not None else share) if answer.approved else Decimal(0)

    async def _agreement_signed(self) -> bool:
        await self._enter(Stage.AGREEMENT)
        deadline = self.settings.after_days(self._now(), self.settings.agreement_deadline_days)
        if not await self._wait(lambda: self._agreement is not None, "signed funding agreement", deadline):
            self._set_award({})
            await self._act(A.set_award, self.app_id, {}, False)
            await self._close(Stage.LAPSED, "agreement not signed in time")
            return False
        return True

    async def _disburse(self, release: TrancheRelease) -> None:
        """Pay every tranche released by this event, one payment order per funder, and wait for them."""
        previous = self.status.stage
        await self._enter(Stage.DISBURSEMENT, f"tranches released at {release.value}")
        shares = [t.share for t in self.settings.tranches]
        for n, tranche in enumerate(self.settings.tranches, start=1):
            if tranche.release != release:
                continue
            for funder, amount in sorted(self.status.funders.items()):
                part = split(amount, shares)[n - 1]
                if part <= 0:
                    continue
                order = PaymentOrder(
                    key=f"{self.app_id}:T{n}:{funder}",
                    application_id=self.app_id,
                    tranche=n,
                    funder=funder,
                    amount=part,
                )
                self._orders[order.key] = order  # known before the await: a result may come at once
                await self._send_order(order, A.create_payment_order, order, self._bank_account, self._now())
        self._refresh_orders()
        await self._wait(
            lambda: all(o.status == "executed" for o in self._orders.values()),
            RESEND_DUE if any(o.status == UNSENT for o in self._orders.values()) else PAYMENTS_DUE,
            None,
        )
        if previous == Stage.MONITORING:
            await self._enter(Stage.MONITORING, "tranche paid")

    async def _monitor(self) -> None:
        start = self._now()
        schedule = self.settings.report_due_dates(start, self.submission.project.duration_months)
        midterm = midterm_period(len(schedule))
        final = len(schedule)
        self._review_reports = {midterm, final}
        await self._enter(Stage.MONITORING, f"{final} progress reports, mid-term report {midterm}")
        for period, due in enumerate(schedule, start=1):
            self._expected_period = period
            self.status.report_accepted_from = self.settings.after_days(due, -self.settings.report_window_days)
            received = lambda p=period: p in self._reports  # noqa: E731
            what = f"progress report {period} of {final}"
            if not await self._wait(received, what, self.settings.after_days(due, self.settings.report_grace_days)):
                await self._notice(f"report-{period}-reminder", "reminder", f"{what} overdue")
                if not await self._wait(
                    received, f"{what} (reminded)", self.settings.after_days(due, self.settings.report_escalation_days)
                ):
                    await self._notice(
                        f"report-{period}-escalation", "escalation", f"{what} overdue; next tranche suspended"
                    )
                    await self._wait(received, f"{what} (escalated, next tranche suspended)", None)
            self.status.report_accepted_from = None
            if period in self._review_reports:

                def approved(p: int = period) -> bool:
                    return self._reports.get(p) == "approved"

                await self._wait(approved, f"approval of {what}", None)
            if period == midterm:
                await self._disburse(TrancheRelease.MIDTERM_REPORT)

    # --- Updates: inputs that need an answer ---------------------------------------------------

    @workflow.update
    async def complete_documents(self, inp: DocumentsCompleted) -> Answer:
        self._guard(self._check_documents, inp)
        docs = {d.kind: d for d in self.submission.documents} | {d.kind: d for d in inp.documents}
        self.submission = self.submission.model_copy(update={"documents": tuple(docs.values())})
        await self._act(A.add_documents, self.app_id, list(inp.documents), self._now())
        self._documents_in = True
        return self._answer(f"{len(inp.documents)} document(s) received; eligibility will be checked again")

    @complete_documents.validator
    def _check_documents(self, inp: DocumentsCompleted) -> None:
        self._expect(Stage.AWAITING_DOCUMENTS)

    @workflow.update
    async def submit_review(self, review: Review) -> Answer:
        self._guard(self._check_review, review)
        self._reviews[review.reviewer_id] = None  # reserve the seat before the await
        score = await self._act(A.record_review, self.app_id, review, dict(self.settings.review_grid), self._now())
        self._reviews[review.reviewer_id] = score
        self.status.reviews = len(self._reviews)
        return self._answer(f"review by {review.reviewer_id} recorded: {score}/100")

    @submit_review.validator
    def _check_review(self, review: Review) -> None:
        self._expect(Stage.REVIEW)
        if review.reviewer_id in self._reviews:
            raise ValueError(f"reviewer_id: {review.reviewer_id} has already reviewed this application")
        if len(self._reviews) >= self.settings.reviewers_per_application:
            raise ValueError(f"reviewer_id: the {self.settings.reviewers_per_application} reviews are already in")
        if set(review.scores) != set(self.settings.review_grid):
            missing = sorted(set(self.settings.review_grid) - set(review.scores))
            raise ValueError(f"scores: one score per criterion of the grid; missing {missing}")
        conflict = conflict_of_interest(review, self.submission.applicant)
        if conflict:
            raise ValueError(f"reviewer_id: conflict of interest: {conflict}")

    @workflow.update
    async def decide(self, decision: CommitteeDecision) -> Answer:
        self._guard(self._check_decision, decision)
        seq = self._next_seq("committee")
        await self._record("committee", seq, decision.decision.value, decision, decision.decided_by)
        self._decision = decision
        return self._answer(f"committee decision recorded: {decision.decision.value}")

    @decide.validator
    def _check_decision(self, decision: CommitteeDecision) -> None:
        self._expect(Stage.COMMITTEE, Stage.WAITLISTED)
        if self._decision is not None:
            raise ValueError("decision: a decision is already being applied")
        if decision.decision != Decision.SELECTED:
            return
        applicant, project = self.submission.applicant, self.submission.project
        ceiling = self.settings.ceilings[applicant.legal_form]
        if decision.award > min(ceiling, project.requested_amount):
            raise ValueError(
                f"award: {decision.award} MAD exceeds the requested amount or the ceiling of {ceiling} MAD"
            )
        partner = self.settings.partner(applicant.region_code)
        for funder in decision.funders:
            if funder != MINISTRY and (partner is None or funder != region_funder(partner.region_code)):
                raise ValueError(f"funders: {funder} does not co-fund projects in region {applicant.region_code}")

    @workflow.update
    async def cofunding_decision(self, answer: CoFundingDecision) -> Answer:
        self._guard(self._check_cofunding, answer)
        seq = self._next_seq("cofunding")
        await self._record("cofunding", seq, "approved" if answer.approved else "declined", answer, answer.decided_by)
        self._cofunding[answer.region_code] = answer
        return self._answer(
            f"co-funding {'approved' if answer.approved else 'declined'} by region {answer.region_code}"
        )

    @cofunding_decision.validator
    def _check_cofunding(self, answer: CoFundingDecision) -> None:
        self._expect(Stage.COFUNDING)
        asked = self.status.funders.get(region_funder(answer.region_code))
        if answer.region_code in self._cofunding:
            raise ValueError(f"region_code: region {answer.region_code} has already answered")
        if asked is None:
            raise ValueError(f"region_code: region {answer.region_code} is not asked to co-fund this application")
        if answer.approved and answer.amount is not None and answer.amount > asked:
            raise ValueError(f"amount: {answer.amount} MAD exceeds the {asked} MAD asked of the region")

    @workflow.update
    async def sign_agreement(self, agreement: AgreementSigned) -> Answer:
        self._guard(self._check_agreement, agreement)
        self._agreement = agreement  # claimed before the await
        self._bank_account = agreement.bank_account
        payload = {"signed_by": agreement.signed_by, "signed_on": agreement.signed_on.isoformat()}
        await self._act(
            A.record_decision, self.app_id, "agreement", 1, "signed", payload, agreement.signed_by, self._now()
        )
        return self._answer(f"agreement signed on {agreement.signed_on}; first tranche ordered")

    @sign_agreement.validator
    def _check_agreement(self, agreement: AgreementSigned) -> None:
        self._expect(Stage.AGREEMENT)
        if self._agreement is not None:
            raise ValueError("signed_by: the agreement is already signed")

    @workflow.update
    async def payment_result(self, result: PaymentResult) -> Answer:
        self._guard(self._check_payment, result)
        order = self._orders[result.order_key]
        if result.executed:
            self._orders[order.key] = order.model_copy(update={"status": "executed"})
            await self._act(A.record_payment, order.key, result.attempt, result.reference, self._now())
            self.status.paid[order.funder] = self.status.paid.get(order.funder, Decimal(0)) + order.amount
            self.status.paid_total = mad(sum(self.status.paid.values(), Decimal(0)))
            self._refresh_orders()
            return self._answer(f"payment of {order.amount} MAD (tranche {order.tranche}, {order.funder}) recorded")
        self._orders[order.key] = order.model_copy(update={"status": "rejected"})
        self._refresh_orders()
        await self._act(A.mark_payment_rejected, order.key, result.attempt, result.reason, self._now())
        self.status.waiting_for = "ops: fix the bank details of a rejected payment"
        return self._answer(f"payment order {order.key} rejected ({result.reason}); waiting for ops to fix the details")

    @payment_result.validator
    def _check_payment(self, result: PaymentResult) -> None:
        order = self._orders.get(result.order_key)
        if order is None:
            raise ValueError(f"order_key: unknown payment order {result.order_key!r}")
        # An unsent order may have been taken all the same (our call timed out after the payment system
        # had it): its result is the proof, and a payment made is recorded rather than refused.
        if order.status not in ("sent", UNSENT) or order.attempt != result.attempt:
            raise ValueError(
                f"order_key: order {order.key} attempt {result.attempt} is not awaiting a result "
                f"(status {order.status}, attempt {order.attempt})"
            )

    @workflow.update
    async def fix_bank_details(self, fix: BankDetailsFixed) -> Answer:
        self._guard(self._check_fix, fix)
        self._bank_account = fix.bank_account
        rejected = [o for o in self._orders.values() if o.status == "rejected"]
        for o in rejected:  # marked as sent before the awaits: a result may come at once
            self._orders[o.key] = o.model_copy(update={"status": "sent", "attempt": o.attempt + 1})
        self._refresh_orders()
        self.status.waiting_for = PAYMENTS_DUE
        for o in rejected:
            await self._send_order(
                self._orders[o.key], A.retry_payment_order, o.key, o.attempt + 1, fix.bank_account, self._now()
            )
        seq = self._next_seq("bank_details")
        await self._record("bank_details", seq, "fixed", {"orders": [o.key for o in rejected]}, fix.fixed_by)
        unsent = [o.key for o in rejected if self._orders[o.key].status == UNSENT]
        if unsent:
            return self._answer(
                f"bank details fixed; payment order(s) {', '.join(unsent)} not taken by the payment "
                "system: escalated, retry them with retry_payment_orders"
            )
        return self._answer(f"bank details fixed; {len(rejected)} payment order(s) sent again")

    @fix_bank_details.validator
    def _check_fix(self, fix: BankDetailsFixed) -> None:
        if not any(o.status == "rejected" for o in self._orders.values()):
            raise ValueError("bank_account: no rejected payment order is waiting for new bank details")

    @workflow.update
    async def retry_payment_orders(self, retry: PaymentRetry) -> Answer:
        """Ops send again the orders the payment system did not take (after its outage)."""
        self._guard(self._check_retry_payments, retry)
        unsent = [o for o in self._orders.values() if o.status == UNSENT]
        for o in unsent:  # marked as sent before the awaits: a result may come at once
            self._orders[o.key] = o.model_copy(update={"status": "sent"})
        self._refresh_orders()
        self.status.waiting_for = PAYMENTS_DUE
        for o in unsent:
            order = self._orders[o.key]
            if order.attempt == 1:
                await self._send_order(order, A.create_payment_order, order, self._bank_account, self._now())
            else:  # a re-sent order after fixed bank details: the same attempt, sent again
                await self._send_order(
                    order, A.retry_payment_order, order.key, order.attempt, self._bank_account, self._now()
                )
        await self._record(
            "payment_retry",
            self._next_seq("payment_retry"),
            "retried",
            {"orders": [o.key for o in unsent], "reason": retry.reason},
            retry.requested_by,
        )
        still = [o.key for o in unsent if self._orders[o.key].status == UNSENT]
        if still:
            raise ApplicationError(
                f"orders: the payment system still did not take {', '.join(still)}; escalated again, "
                "waiting for ops to retry",
                type="PaymentSystemUnavailable",
                non_retryable=True,
            )
        return self._answer(f"{len(unsent)} payment order(s) sent again to the payment system")

    @retry_payment_orders.validator
    def _check_retry_payments(self, retry: PaymentRetry) -> None:
        self._expect_open()
        if not any(o.status == UNSENT for o in self._orders.values()):
            raise ValueError("orders: no payment order is waiting to be sent again to the payment system")

    @workflow.update
    async def submit_report(self, report: ProgressReport) -> Answer:
        self._guard(self._check_report_state, report)  # not the window: histories before it took early reports
        self._reports[report.period] = "storing"
        await self._act(A.record_report, self.app_id, report, self._now())
        self._reports[report.period] = "received"
        self.status.reports_received = sorted(p for p, s in self._reports.items() if s != "rejected")
        if report.period not in self._review_reports:
            return self._answer(f"progress report {report.period} recorded")
        return self._answer(f"progress report {report.period} recorded; waiting for approval by ops")

    @submit_report.validator
    def _check_report(self, report: ProgressReport) -> None:
        self._check_report_state(report)
        opens = self.status.report_accepted_from
        if opens is not None and self._now() < opens:
            raise ValueError(
                f"period: report {report.period} is accepted from {local_date(opens)} "
                f"({self.settings.report_window_days} days before it is due)"
            )

    def _check_report_state(self, report: ProgressReport) -> None:
        if self.status.stage not in FUNDED:
            raise ValueError(f"period: no progress report is expected in stage {self.status.stage.value}")
        if report.period != self._expected_period:
            raise ValueError(f"period: report {self._expected_period} is expected, not {report.period}")
        if self._reports.get(report.period) not in (None, "rejected"):
            raise ValueError(f"period: report {report.period} is already in")

    @workflow.update
    async def review_report(self, review: ReportReview) -> Answer:
        self._guard(self._check_report_review, review)
        outcome = "approved" if review.approved else "rejected"
        self._reports[review.period] = outcome
        await self._act(A.review_report, self.app_id, review.period, review.approved, self._now())
        await self._record("report_review", self._next_seq("report_review"), outcome, review, review.decided_by)
        self.status.reports_received = sorted(p for p, s in self._reports.items() if s != "rejected")
        return self._answer(f"progress report {review.period} {outcome}")

    @review_report.validator
    def _check_report_review(self, review: ReportReview) -> None:
        if self._reports.get(review.period) != "received":
            raise ValueError(f"period: report {review.period} is not waiting for a review")

    @workflow.update
    async def record_site_visit(self, visit: SiteVisit) -> Answer:
        self._guard(self._check_visit, visit)
        await self._record("site_visit", self._next_seq("site_visit"), "visited", visit, visit.visitor)
        return self._answer(f"site visit of {visit.visited_on} recorded")

    @record_site_visit.validator
    def _check_visit(self, visit: SiteVisit) -> None:
        if self.status.stage not in FUNDED | {Stage.AGREEMENT}:
            raise ValueError(f"visited_on: no site visit in stage {self.status.stage.value}")

    @workflow.update
    async def withdraw(self, w: Withdrawal) -> Answer:
        return await self._stop_with(Stage.WITHDRAWN, "withdrawal", w.requested_by, w.reason, w, self._paid())

    @withdraw.validator
    def _check_withdraw(self, w: Withdrawal) -> None:
        self._expect_open()

    @workflow.update
    async def cancel(self, c: Cancellation) -> Answer:
        return await self._stop_with(Stage.CANCELLED, "cancellation", c.cancelled_by, c.reason, c, self._paid())

    @cancel.validator
    def _check_cancel(self, c: Cancellation) -> None:
        self._expect_open()

    @workflow.update
    async def terminate(self, t: Termination) -> Answer:
        self._guard(self._check_terminate, t)
        recover = t.amount_to_recover if t.amount_to_recover is not None else self.status.paid_total
        return await self._stop_with(Stage.TERMINATED, "termination", t.terminated_by, t.reason, t, recover)

    @terminate.validator
    def _check_terminate(self, t: Termination) -> None:
        self._expect_open()
        if self.status.stage not in FUNDED:
            raise ValueError(
                "reason: only a funded grant (agreement signed) can be terminated; withdraw or cancel instead"
            )
        if t.amount_to_recover is not None and t.amount_to_recover > self.status.paid_total:
            raise ValueError(f"amount_to_recover: exceeds the {self.status.paid_total} MAD paid")

    @workflow.query
    def get_status(self) -> ApplicationStatus:
        return self.status

    # --- Helpers ---------------------------------------------------------------------------

    async def _stop_with(
        self, stage: Stage, kind: str, by: str, reason: str, payload: Any, recover: Decimal | None
    ) -> Answer:
        self._guard(lambda _: self._expect_open(), None)
        self._stop = (stage, by, reason, recover if recover else None)
        await self._record(kind, 1, stage.value, payload, by)
        await workflow.wait_condition(lambda: self.status.stage in FINAL_STAGES)
        return self._answer(f"application {self.status.stage.value}")

    @staticmethod
    def _guard(validator: Callable[[Any], None], arg: Any) -> None:
        """Run a validator again inside its handler: a concurrent update may have changed the state
        since validation; refuse the update then (an ApplicationError), never fail the workflow task."""
        try:
            validator(arg)
        except ValueError as e:
            raise ApplicationError(str(e), type="Refused", non_retryable=True) from e

    def _paid(self) -> Decimal | None:
        return self.status.paid_total or None

    def _expect(self, *stages: Stage) -> None:
        self._expect_open()
        if self.status.stage not in stages:
            wanted = " or ".join(s.value for s in stages)
            raise ValueError(f"stage: the application is in stage {self.status.stage.value}, not {wanted}")

    def _expect_open(self) -> None:
        if self.status.stage in FINAL_STAGES or self._stop is not None:
            raise ValueError(f"stage: the application is closed ({self.status.stage.value})")

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

    async def _act(self, fn: Callable[..., Any], *args: Any) -> Any:
        p = policy_for(fn.__name__)
        return await workflow.execute_activity_method(
            fn,
            args=list(args),
            start_to_close_timeout=p.start_to_close,
            schedule_to_close_timeout=p.schedule_to_close,
            retry_policy=p.retry,
            heartbeat_timeout=p.heartbeat,
        )

    async def _send_order(self, order: PaymentOrder, fn: Callable[..., Any], *args: Any) -> None:
        """Run a payment order's activity: stored, then handed to the payment system. When the payment
        system stays unavailable past that activity's bounded retries (activities/policies.py), the
        order waits for ops (`retry_payment_orders`) with an escalation, rather than failing the grant."""
        try:
            self._orders[order.key] = await self._act(fn, *args)
        except ActivityError as e:
            reason = str(e.cause or e)[:300]
            self._orders[order.key] = order.model_copy(update={"status": UNSENT})
            self._refresh_orders()
            if workflow.patched(PATCH_UNSENT_ROW):  # the database says so too (histories before it do not)
                await self._act(A.mark_payment_unsent, order.key, order.attempt, reason, self._now())
            await self._notice(
                f"payment-unsent-{self._next_seq('payment_unsent')}",
                "escalation",
                f"payment order {order.key} (attempt {order.attempt}) not taken by the payment system: {reason}",
            )
            self.status.waiting_for = RESEND_DUE
        self._refresh_orders()

    async def _record(self, kind: str, seq: int, outcome: str, payload: Any, by: str) -> None:
        data = payload.model_dump(mode="json") if hasattr(payload, "model_dump") else payload
        await self._act(A.record_decision, self.app_id, kind, seq, outcome, data, by, self._now())

    async def _notice(self, key: str, kind: str, message: str) -> None:
        if kind == "escalation":
            self.status.escalations.append(message)
        await self._act(A.send_notice, self.app_id, key, kind, message, self._now())

    async def _enter(self, stage: Stage, note: str = "") -> None:
        now = self._now()
        self.status.stage, self.status.since, self.status.until, self.status.waiting_for = stage, now, None, None
        self.status.history.append(StageChange(stage=stage, at=now, note=note))
        self._stage_seq += 1
        await self._act(A.record_stage, self.app_id, self._stage_seq, stage.value, now, note)

    async def _wait(self, ready: Callable[[], bool], what: str, until: datetime | None) -> bool:
        """Wait for `ready()` until `until`; False on timeout. Raises _Stopped on withdrawal and the like."""
        self.status.waiting_for, self.status.since, self.status.until = what, self._now(), until
        timeout = None if until is None else max(until - self._now(), timedelta(seconds=1))
        try:
            await workflow.wait_condition(
                lambda: self._stop is not None or ready(), timeout=timeout, timeout_summary=what
            )
        except TimeoutError:
            if self._stop is not None:
                raise _Stopped() from None
            self.status.waiting_for, self.status.until = None, None  # past its deadline: no longer awaited
            return False
        if self._stop is not None:
            raise _Stopped()
        self.status.waiting_for, self.status.until = None, None
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
