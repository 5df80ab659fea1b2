"""The inputs people and partners send an application, each an update with its validator (a refusal
raised there never reaches the history), and the status query. Payment inputs are in payments.py."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.application import ApplicationActivities as A
    from domain.calendar import local_date
    from domain.documents import SIGNED_SCAN, IssuedDocument
    from domain.models import (
        FINAL_STAGES,
        AgreementSigned,
        Answer,
        ApplicationStatus,
        Cancellation,
        CoFundingDecision,
        CommitteeDecision,
        Decision,
        DocumentsCompleted,
        ProgressReport,
        ReportReview,
        SiteVisit,
        Stage,
        Termination,
        Withdrawal,
    )
    from domain.reference import MINISTRY, region_funder
    from domain.refusals import Refusal
    from domain.rib import mask_rib
    from workflows.actor import who


from workflows.application.state import FUNDED, PATCH_REVIEW_IN_ONE_STEP, ApplicationState


class Inputs(ApplicationState):
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
            raise Refusal("decision.in_progress")
        if decision.decision != Decision.SELECTED:
            return
        applicant, project = self.submission.applicant, self.submission.project
        ceiling = self.settings.ceilings[applicant.legal_form]
        if decision.award > min(ceiling, project.requested_amount):
            raise Refusal("award.exceeds_ceiling", award=decision.award, ceiling=ceiling)
        partner = self.settings.partner(applicant.region_code)
        for funder in decision.funders:
            if funder != MINISTRY and (partner is None or funder != region_funder(partner.region_code)):
                raise Refusal("funders.not_partner", funder=funder, region=applicant.region_code)

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
            raise Refusal("cofunding.already_answered", region=answer.region_code)
        if asked is None:
            raise Refusal("cofunding.not_asked", region=answer.region_code)
        if answer.approved and answer.amount is not None and answer.amount > asked:
            raise Refusal("cofunding.exceeds_asked", amount=answer.amount, asked=asked)

    @workflow.update
    async def sign_agreement(self, agreement: AgreementSigned) -> Answer:
        if self._reissuing:  # a new version is being issued (payments.py): the signature must name it
            await workflow.wait_condition(lambda: not self._reissuing)
        self._guard(self._check_agreement, agreement)
        self._agreement = agreement  # claimed before the await
        self._bank_account = agreement.bank_account
        payload: dict[str, Any] = {"signed_by": agreement.signed_by, "signed_on": agreement.signed_on.isoformat()}
        version = self._issued.version if self._issued is not None else None
        if self._issued is not None:
            payload |= {"agreement_sha256": self._issued.sha256, "agreement_version": version}
        if agreement.scan_sha256:
            payload["scan_sha256"] = agreement.scan_sha256
        await self._act(
            A.record_decision, self.app_id, "agreement", 1, "signed", payload, agreement.signed_by, self._now()
        )
        if agreement.scan_sha256:  # in the input: a history without one replays without this step
            scan = IssuedDocument(kind=SIGNED_SCAN, sha256=agreement.scan_sha256, version=version)
            await self._act(A.record_document, self.app_id, scan, who(agreement.signed_by), self._now())
        return self._answer(f"agreement signed on {agreement.signed_on}; first tranche ordered")

    @sign_agreement.validator
    def _check_agreement_on(self, agreement: AgreementSigned) -> None:
        self._check_dated(self._check_agreement, agreement, "signed_on")

    def _check_agreement(self, agreement: AgreementSigned) -> None:
        self._expect(Stage.AGREEMENT)
        if self._agreement is not None:
            raise Refusal("agreement.already_signed")
        issued = self._issued
        if issued is None:  # a workflow from before the agreement was issued: signed as it was then
            return
        if agreement.agreement_sha256 is None:  # required once issued: a signature says what it signs
            raise Refusal("agreement.hash_missing", version=issued.version, issued=issued.sha256)
        if agreement.agreement_sha256 != issued.sha256:
            raise Refusal(
                "agreement.other_version",
                named=agreement.agreement_sha256,
                version=issued.version,
                issued=issued.sha256,
            )
        agreed = self._agreed_account
        if agreed is not None and agreement.bank_account != agreed:  # the account the agreement states
            raise Refusal("agreement.other_account", account=mask_rib(agreement.bank_account), agreed=mask_rib(agreed))

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
            raise Refusal(
                "report.too_early", period=report.period, opens=local_date(opens), days=self.settings.report_window_days
            )

    def _check_report_state(self, report: ProgressReport) -> None:
        if self.status.stage not in FUNDED:
            raise Refusal("report.not_expected", stage=self.status.stage.value)
        if report.period != self._expected_period:
            raise Refusal("report.wrong_period", due=self._expected_period, period=report.period)
        if self._reports.get(report.period) not in (None, "rejected"):
            raise Refusal("report.already_in", period=report.period)

    @workflow.update
    async def review_report(self, review: ReportReview) -> Answer:
        self._guard(self._check_report_review, review)
        outcome = "approved" if review.approved else "rejected"
        self._reports[review.period] = outcome
        if not workflow.patched(PATCH_REVIEW_IN_ONE_STEP):  # before: the report moved by an activity of its own
            await self._act(A.review_report, self.app_id, review.period, review.approved, self._now())
        await self._record("report_review", self._next_seq("report_review"), outcome, review, review.decided_by)
        self.status.reports_received = sorted(p for p, s in self._reports.items() if s != "rejected")
        return self._answer(f"progress report {review.period} {outcome}")

    @review_report.validator
    def _check_report_review(self, review: ReportReview) -> None:
        if self._reports.get(review.period) != "received":
            raise Refusal("report.not_awaiting_review", period=review.period)

    @workflow.update
    async def record_site_visit(self, visit: SiteVisit) -> Answer:
        self._guard(self._check_visit, visit)
        await self._record("site_visit", self._next_seq("site_visit"), "visited", visit, visit.visitor)
        return self._answer(f"site visit of {visit.visited_on} recorded")

    @record_site_visit.validator
    def _check_visit_on(self, visit: SiteVisit) -> None:
        self._check_dated(self._check_visit, visit, "visited_on")

    def _check_visit(self, visit: SiteVisit) -> None:
        if self.status.stage not in FUNDED | {Stage.AGREEMENT}:
            raise Refusal("visit.wrong_stage", stage=self.status.stage.value)

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
            raise Refusal("termination.not_funded")
        if t.amount_to_recover is not None and t.amount_to_recover > self.status.paid_total:
            raise Refusal("termination.exceeds_paid", paid=self.status.paid_total)

    @workflow.query
    def get_status(self) -> ApplicationStatus:
        return self.status

    async def _stop_with(
        self, stage: Stage, kind: str, by: str, reason: str, payload: Any, recover: Decimal | None
    ) -> Answer:
        self._guard(lambda _: self._expect_open(), None)
        self._stop = (stage, by, reason, recover if recover else None)
        await self._record(kind, 1, stage.value, payload, by)
        await workflow.wait_condition(lambda: self.status.stage in FINAL_STAGES)
        return self._answer(f"application {self.status.stage.value}")

    def _check_dated(self, check: Callable[[Any], None], inp: Any, field: str) -> None:
        """A validator of an input that gives a date (a signature, a visit): `check`, the rule its
        handler runs again, then the date in `field`, from the year before the edition's to today.
        The date is checked here only: histories from before this rule keep the dates they were given."""
        check(inp)
        day: date = getattr(inp, field)
        earliest, today = date(self.settings.year - 1, 1, 1), local_date(self._now())
        if not earliest <= day <= today:
            raise Refusal("date.out_of_range", field=field, day=day, earliest=earliest, today=today)
