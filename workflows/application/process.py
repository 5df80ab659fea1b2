"""ApplicationWorkflow: one durable workflow per application, through the six stages of the programme.

submission -> eligibility (-> documents deadline) -> review -> committee (-> waitlist)
-> partner co-funding -> agreement -> disbursement in tranches -> monitoring -> closed.

Inputs that need an answer are updates with validators (inputs.py, reviews.py, payments.py); withdrawal,
cancellation and termination can arrive at any stage: every wait below ends on them.
"""

from datetime import datetime
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.application import ApplicationActivities as A
    from domain.calendar import midterm_period
    from domain.documents import AGREEMENT
    from domain.edition import CoFundingFallback, ReviewAssignment, TrancheRelease
    from domain.envelopes import CoFundingCover
    from domain.models import (
        ApplicationInput,
        ApplicationStatus,
        CommitteeDecision,
        Decision,
        EligibilityResult,
        RuleFailure,
        Stage,
    )
    from domain.reference import MINISTRY
    from domain.refusals import waiting


from workflows.application.inputs import Inputs
from workflows.application.payments import Payments
from workflows.application.reviews import EDITION, Reviews
from workflows.application.state import (
    PATCH_AGREEMENT_ISSUED,
    PATCH_COVER_WITHIN_ENVELOPE,
    _BackToWaitlist,
    _Stopped,
)


@workflow.defn
class ApplicationWorkflow(Inputs, Reviews, Payments):
    @workflow.init
    def __init__(self, inp: ApplicationInput) -> None:
        super().__init__(inp)

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
            if not await self._wait(lambda: self._documents_in, waiting("waiting.documents"), deadline):
                self.status.reasons.append(
                    RuleFailure(code="DOCUMENTS_DEADLINE_PASSED", message="the documents deadline passed")
                )
                await self._close(Stage.INELIGIBLE, "documents deadline passed")
                return False

    async def _review(self) -> None:
        k = self.settings.reviewers_per_application
        await self._enter(Stage.REVIEW, f"{k} reviews expected")
        if self.settings.review_assignment == ReviewAssignment.AUTOMATIC:
            await self._assign(self._free_seats(), (), EDITION)
        enough = lambda: sum(s is not None for s in self._reviews.values()) >= k  # noqa: E731
        deadline = self.settings.after_days(self._now(), self.settings.review_deadline_days)
        if not await self._wait(enough, waiting("waiting.reviews", k=k), deadline):
            await self._notice("review-reminder", "reminder", "reviews missing at the review deadline")
            escalate_at = self.settings.after_days(deadline, self.settings.review_reminder_days)
            if not await self._wait(enough, waiting("waiting.reviews.reminded", k=k), escalate_at):
                await self._notice("review-escalation", "escalation", "reviews still missing after the reminder")
                # Escalated: ops decide; the application goes on with whatever reviews arrived, at least one.
                await self._wait(
                    lambda: any(s is not None for s in self._reviews.values()), waiting("waiting.reviews.one"), None
                )
        scores = [s for s in self._reviews.values() if s is not None]
        self.status.score = await self._act(A.set_score, self.app_id, scores)

    async def _selection(self) -> bool:
        """Committee decision, waitlist, co-funding. True when the project is selected and funded."""
        await self._enter(Stage.COMMITTEE)
        self._decision = None
        deadline = self.settings.after_days(self._now(), self.settings.committee_wait_days)
        if not await self._wait(lambda: self._decision is not None, waiting("waiting.committee"), deadline):
            await self._notice("committee-escalation", "escalation", "no committee decision in time")
            await self._wait(lambda: self._decision is not None, waiting("waiting.committee.escalated"), None)
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
                    lambda: self._decision is not None, waiting("waiting.waitlist"), waitlist_until
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
        if not await self._wait(
            lambda: region in self._cofunding, waiting("waiting.cofunding", region=region), deadline
        ):
            await self._notice(f"cofunding-timeout-{region}", "escalation", f"region {region} did not answer in time")
            return Decimal(0)
        answer = self._cofunding[region]
        return (answer.amount if answer.amount is not None else share) if answer.approved else Decimal(0)

    async def _agreement_signed(self) -> bool:
        if workflow.patched(PATCH_AGREEMENT_ISSUED):  # histories before: no agreement issued, none named
            self._issued = await self._issue(AGREEMENT)
            self.status.agreement_sha256, self.status.agreement_version = self._issued.sha256, self._issued.version
        await self._enter(Stage.AGREEMENT)
        deadline = self.settings.after_days(self._now(), self.settings.agreement_deadline_days)
        if not await self._wait(lambda: self._agreement is not None, waiting("waiting.agreement"), deadline):
            self._set_award({})
            await self._act(A.set_award, self.app_id, {}, False)
            await self._close(Stage.LAPSED, "agreement not signed in time")
            return False
        return True

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
            report = waiting("waiting.report", period=period, final=final)
            if not await self._wait(received, report, self.settings.after_days(due, self.settings.report_grace_days)):
                await self._notice(f"report-{period}-reminder", "reminder", f"{what} overdue")
                reminded = waiting("waiting.report.reminded", period=period, final=final)
                if not await self._wait(
                    received, reminded, self.settings.after_days(due, self.settings.report_escalation_days)
                ):
                    await self._notice(
                        f"report-{period}-escalation", "escalation", f"{what} overdue; next tranche suspended"
                    )
                    await self._wait(received, waiting("waiting.report.escalated", period=period, final=final), None)
            self.status.report_accepted_from = None
            if period in self._review_reports:

                def approved(p: int = period) -> bool:
                    return self._reports.get(p) == "approved"

                await self._wait(approved, waiting("waiting.report.approval", period=period, final=final), None)
            if period == midterm:
                await self._disburse(TrancheRelease.MIDTERM_REPORT)
