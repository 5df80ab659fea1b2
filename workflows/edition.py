"""EditionWorkflow: one call for projects, from opening to the last waitlist promotion.

open (submissions inside the call window) -> reviewing (until every application has been
reviewed or the review deadlines have passed) -> proposed (the committee's selection waits
for ops to confirm it) -> deciding (every application gets its decision) -> promoting (money
freed by a withdrawal, a lapse or a lost co-funding goes to the waitlist) -> closed (report).

Per-application data lives in the database and in each application's own workflow, not here:
the edition's history holds only its own steps and continues as new when it grows.
"""

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.edition import EditionActivities as E
    from domain.calendar import end_of_day, local_date, start_of_day
    from domain.edition_messages import (
        BatchAnswer,
        CloseCall,
        EditionInput,
        EditionState,
        EditionStatus,
        Phase,
        ProposalSummary,
        SeatFreed,
        SelectionConfirmed,
        SubmissionAnswer,
        SubmissionBatch,
    )
    from domain.models import ApplicationInput, ApplicationSubmission
    from domain.refusals import Refusal
    from domain.report import EditionReport
    from workflows.actor import who
    from workflows.run_activity import run_activity

# Patch id: from this version a late submission is answered refused and counted, not refused unseen.
PATCH_LATE_COUNTED = "late-submissions-counted"

TIMER = "the call's timer"  # who closed a call that closed on its last day


@workflow.defn
class EditionWorkflow:
    @workflow.init
    def __init__(self, inp: EditionInput) -> None:
        self.settings = inp.settings
        self.opened_by = inp.opened_by
        self.state: EditionState = inp.state
        self.max_events = inp.max_history_events
        self.status = EditionStatus(edition=self.settings.edition, phase=self.state.phase, since=workflow.now())
        self._freed: list[SeatFreed] = []
        self._closing = False
        # Set once the history is full: new submissions are refused ("edition.compacting", the doors
        # send them again) so that the ones in flight can finish and the run continue as new. A
        # steady import otherwise never leaves a moment with no handler running (a 10,000-application
        # run grew one run's history to 11 MB, each replay of it 8-10 s: workflow tasks timed out).
        self._compacting = False
        self._sync_counts()

    @workflow.run
    async def run(self, inp: EditionInput) -> EditionReport:
        s = self.settings
        if not self.state.opened:
            await self._act(E.open_edition, s, inp.opened_by, workflow.now())
            self.state.opened = True
        if self.state.phase == Phase.OPEN:
            await self._call_window(inp)
        if self.state.phase == Phase.REVIEWING:
            await self._wait_for_reviews()
        if self.state.phase == Phase.PROPOSED:
            self.status.proposal = await self._act(E.propose_selection, s, workflow.now())
            self._waiting("ops: confirm the committee's selection", None)
            await workflow.wait_condition(lambda: self.state.confirmed_by is not None)
            self._enter(Phase.DECIDING)
        if self.state.phase == Phase.DECIDING:
            await self._act(E.send_decisions, s.edition, 0, self.state.confirmed_by, workflow.now())
            self.state.decisions_sent_at = workflow.now()
            self._enter(Phase.PROMOTING)
        if self.state.phase == Phase.PROMOTING:
            await self._promote_until_the_waitlist_closes(inp)
        self._enter(Phase.CLOSED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        report: EditionReport = await self._act(E.edition_report, s)
        return report

    async def _call_window(self, inp: EditionInput) -> None:
        closes = self._closing_time()
        self._waiting("submissions until the call closes", closes)
        while self.state.phase == Phase.OPEN:
            try:
                await workflow.wait_condition(
                    lambda: self._closing or self._history_full(),
                    timeout=max(closes - workflow.now(), timedelta(seconds=1)),
                    timeout_summary="call closes",
                )
            except TimeoutError:
                self._closing = True
            if self._closing:
                self.state.call_closed_by = self.state.call_closed_by or TIMER
                self.state.call_closed_at = self.state.call_closed_at or min(workflow.now(), closes)
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._act(E.close_call, self.settings.edition, workflow.now())
                self._enter(Phase.REVIEWING)
            elif self._history_full():
                await self._continue_as_new(inp)

    async def _wait_for_reviews(self) -> None:
        """Until nothing is left before the committee, or the longest review path has run out."""
        s = self.settings
        cutoff = s.after_days(
            workflow.now(), s.documents_deadline_days + s.review_deadline_days + s.review_reminder_days + 1
        )
        while True:
            pending = await self._act(E.pending_before_committee, s.edition)
            self.status.pending_before_committee = pending
            if pending == 0 or workflow.now() >= cutoff:
                break
            self._waiting(f"{pending} application(s) still before the committee", cutoff)
            await workflow.sleep(min(s.after_days(workflow.now(), 1), cutoff) - workflow.now())
        self._enter(Phase.PROPOSED)

    async def _promote_until_the_waitlist_closes(self, inp: EditionInput) -> None:
        s = self.settings
        assert self.state.decisions_sent_at is not None
        closes = s.after_days(self.state.decisions_sent_at, s.waitlist_days)
        while workflow.now() < closes:
            self._waiting("freed money for the waitlist", closes)
            # Weekly as well: applications that reach the committee late join the waitlist.
            until = min(s.after_days(workflow.now(), 7), closes)
            try:
                await workflow.wait_condition(
                    lambda: bool(self._freed) or self._history_full(),
                    timeout=max(until - workflow.now(), timedelta(seconds=1)),
                    timeout_summary="weekly waitlist round",
                )
            except TimeoutError:
                pass
            if self._history_full():
                await self._continue_as_new(inp)
            freed, self._freed = self._freed, []
            self.state.rounds += 1
            summary: ProposalSummary = await self._act(E.promote_waitlist, s, self.state.rounds, workflow.now())
            if summary.selected or summary.waitlisted or summary.rejected:
                await self._act(
                    E.send_decisions, s.edition, self.state.rounds, self.state.confirmed_by or "ops", workflow.now()
                )
            self.status.promotions += summary.top if summary.selected else []
            if freed:
                workflow.logger.info("waitlist round %s after %s freed seat(s)", self.state.rounds, len(freed))

    # --- Updates and signals ----------------------------------------------------------------

    @workflow.update
    async def submit(self, submission: ApplicationSubmission) -> SubmissionAnswer:
        self._check_submission(submission)
        late = self._late()
        if late:
            return late[0].model_copy(update={"application_id": submission.application_id})
        app = ApplicationInput(
            settings=self.settings,
            submission=submission,
            submitted_by="edition",
            edition_workflow_id=workflow.info().workflow_id,
        )
        answer: SubmissionAnswer = await self._act(E.start_application, app)
        if answer.accepted:
            self.state.submissions += 1
        else:
            self.state.duplicates += 1
        self._sync_counts()
        return answer

    @submit.validator
    def _validate_submission(self, submission: ApplicationSubmission) -> None:
        self._not_compacting()
        self._check_submission(submission)

    def _check_submission(self, submission: ApplicationSubmission) -> None:
        self._check_edition(submission, "edition")
        self._check_call_opened()

    @workflow.update
    async def submit_batch(self, batch: SubmissionBatch) -> BatchAnswer:
        """A bulk import's submissions in one update and one activity; a registration number twice in
        the batch is answered as a duplicate without a second start."""
        self._check_batch(batch)
        late = self._late(len(batch.submissions))
        if late:
            return BatchAnswer(
                answers=[
                    a.model_copy(update={"application_id": sub.application_id})
                    for a, sub in zip(late, batch.submissions, strict=False)
                ]
            )
        first: dict[str, ApplicationSubmission] = {}
        for sub in batch.submissions:
            first.setdefault(sub.application_id, sub)
        started: list[SubmissionAnswer] = await self._act(
            E.start_applications, self.settings, workflow.info().workflow_id, list(first.values())
        )
        by_id: dict[str, SubmissionAnswer | None] = {a.application_id: a for a in started}
        # The first of each registration number takes its answer; a repeat finds it taken.
        answers = [
            by_id.pop(sub.application_id, None)
            or SubmissionAnswer(
                application_id=sub.application_id,
                accepted=False,
                refusal="duplicate",
                message=f"{sub.application_id} is twice in this batch: submitted once",
            )
            for sub in batch.submissions
        ]
        self.state.submissions += sum(a.accepted for a in answers)
        self.state.duplicates += sum(not a.accepted for a in answers)
        self._sync_counts()
        return BatchAnswer(answers=answers)

    @submit_batch.validator
    def _validate_batch(self, batch: SubmissionBatch) -> None:
        self._not_compacting()
        self._check_batch(batch)

    def _not_compacting(self) -> None:
        if self._compacting:
            raise Refusal("edition.compacting")

    def _check_batch(self, batch: SubmissionBatch) -> None:
        for i, sub in enumerate(batch.submissions):
            self._check_edition(sub, f"submissions.{i}.edition")
        self._check_call_opened()

    def _check_edition(self, submission: ApplicationSubmission, field: str) -> None:
        if submission.edition != self.settings.edition:
            raise Refusal("edition.wrong", field=field, edition=self.settings.edition, given=submission.edition)

    def _check_call_opened(self) -> None:
        if workflow.now() < start_of_day(self.settings.call_opens):
            raise Refusal("call.not_yet_open", opens=self.settings.call_opens)

    def _call_closed(self) -> bool:
        return self.state.phase != Phase.OPEN or self._closing or workflow.now() >= self._closing_time()

    def _late(self, n: int = 1) -> list[SubmissionAnswer]:
        """Submissions after the call closed: answered refused, with the day it actually closed, and
        counted (`late_refused`). Empty while the call is open."""
        # Histories from before this answer refused late submissions in the validator: one accepted
        # there in the same activation as an early close must still start there.
        if not self._call_closed() or not workflow.patched(PATCH_LATE_COUNTED):
            return []
        closed = self.state.call_closed_at or self._closing_time()
        self.state.late_refused += n
        self._sync_counts()
        message = f"submitted_at: the call closed on {local_date(closed - timedelta(microseconds=1))}; late submissions are refused"
        return [SubmissionAnswer(application_id="", accepted=False, message=message, refusal="late")] * n

    @workflow.update
    def close_call(self, inp: CloseCall) -> str:
        # Returns at once: the run closes the call once submissions in flight are done.
        self.state.call_closed_by = who(inp.closed_by)
        self.state.call_closed_at = workflow.now()
        self._closing = True
        return f"call of edition {self.settings.edition} closed by {inp.closed_by}"

    @close_call.validator
    def _check_close(self, inp: CloseCall) -> None:
        if self.state.phase != Phase.OPEN or self._closing:
            raise Refusal("call.not_open", phase=self.state.phase.value)

    @workflow.update
    async def confirm_selection(self, inp: SelectionConfirmed) -> str:
        self._check_confirm(inp)
        self.state.confirmed_by = who(inp.confirmed_by)
        await self._act(E.confirm_selection, self.settings.edition, self.state.confirmed_by, workflow.now())
        self.status.confirmed_by = inp.confirmed_by
        p = self.status.proposal
        return f"selection confirmed by {self.state.confirmed_by}: {p.selected if p else 0} selected; decisions are being sent"

    @confirm_selection.validator
    def _check_confirm(self, inp: SelectionConfirmed) -> None:
        if self.state.phase != Phase.PROPOSED or self.status.proposal is None:
            raise Refusal("proposal.none", phase=self.state.phase.value)
        if self.state.confirmed_by is not None:
            raise Refusal("confirmation.already", by=self.state.confirmed_by)
        # Four eyes: whoever closed the call (its opener, when its timer closed it) does not confirm.
        closer = self.opened_by if self.state.call_closed_by == TIMER else self.state.call_closed_by
        confirmer = who(inp.confirmed_by)
        if confirmer == closer:
            raise Refusal("confirmation.four_eyes", confirmer=confirmer)

    @workflow.signal
    def seat_freed(self, freed: SeatFreed) -> None:
        self._freed.append(freed)

    @workflow.query
    def get_status(self) -> EditionStatus:
        return self.status

    # --- Helpers ---------------------------------------------------------------------------

    def _closing_time(self) -> datetime:
        # The call is open through its last day, in Casablanca.
        return end_of_day(self.settings.call_closes)

    def _history_full(self) -> bool:
        info = workflow.info()
        return info.get_current_history_length() >= self.max_events or info.is_continue_as_new_suggested()

    async def _continue_as_new(self, inp: EditionInput) -> None:
        self._compacting = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.state.runs += 1
        workflow.continue_as_new(inp.model_copy(update={"state": self.state}))

    def _enter(self, phase: Phase) -> None:
        self.state.phase = phase
        self._sync_counts()
        self.status.phase, self.status.since, self.status.until, self.status.waiting_for = (
            phase,
            workflow.now(),
            None,
            None,
        )

    def _waiting(self, what: str, until: datetime | None) -> None:
        self.status.waiting_for, self.status.until = what, until

    def _sync_counts(self) -> None:
        st = self.state
        self.status.submissions, self.status.duplicates, self.status.rounds, self.status.runs = (
            st.submissions,
            st.duplicates,
            st.rounds,
            st.runs,
        )
        self.status.late_refused = st.late_refused
        self.status.call_closed_by, self.status.confirmed_by = st.call_closed_by, st.confirmed_by

    _act = staticmethod(run_activity)
