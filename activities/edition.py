"""The edition's side effects: the call, starting applications, the committee over the database,
sending its decisions to the applications, the waitlist, the report.

Every write is keyed (edition, application + round), so a retried activity changes nothing
twice; sending decisions marks each one sent, and a retry sends only the rest.
"""

import asyncio
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal

import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.group import ActivityGroup
from activities.heartbeat import while_beating
from domain.committee import Candidate, Placement, envelopes, promote, select
from domain.db.edition_repository import EditionRepository
from domain.db.tables import CommitteeDecisionRow
from domain.edition import EditionSettings
from domain.edition_messages import ProposalSummary, SubmissionAnswer
from domain.models import ApplicationInput, ApplicationSubmission, CommitteeDecision, Decision, Stage
from domain.report import EditionReport, build_report
from infra.backlog import Admission
from infra.failure_converter import refusal_reason
from workflows.names import APPLICATION_WORKFLOW, ApplicationUpdate

log = structlog.get_logger("moazara.edition")

SEND_CONCURRENCY = 16
START_CONCURRENCY = 16
STARTED_BY = "started_by"  # memo of an application workflow the edition started: "<run id>/<activity id>"


def summarize(round_: int, rows: list[CommitteeDecisionRow], settings: EditionSettings) -> ProposalSummary:
    selected = [r for r in rows if r.decision == Decision.SELECTED.value]
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for r in selected:
        for k, v in r.draws.items():
            amounts[k] += Decimal(v)
    return ProposalSummary(
        round=round_,
        selected=len(selected),
        waitlisted=sum(r.decision == Decision.WAITLISTED.value for r in rows),
        rejected=sum(r.decision == Decision.REJECTED.value for r in rows),
        by_funder=dict(Counter(f for r in selected for f in r.funders)),
        amounts=dict(amounts),
        envelopes=envelopes(settings),
        honorary_awards=[r.application_id for r in selected if r.honorary_award],
        top=[r.application_id for r in selected[:5]],
    )


def _decision(row: CommitteeDecisionRow, confirmed_by: str) -> CommitteeDecision:
    by = f"committee, confirmed by {confirmed_by}"
    if row.decision == Decision.SELECTED.value:
        return CommitteeDecision(
            decision=Decision.SELECTED,
            award=row.award,
            funders={k: Decimal(v) for k, v in row.funders.items()},
            rank=row.rank or None,
            honorary_award=row.honorary_award,
            decided_by=by,
            reason=row.reason,
        )
    return CommitteeDecision(decision=Decision(row.decision), rank=row.rank or None, decided_by=by, reason=row.reason)


class EditionActivities(ActivityGroup):
    def __init__(
        self,
        repo: EditionRepository,
        client: Client,
        application_queue: str | None = None,
        admission: Admission | None = None,
    ) -> None:
        # The applications run on their own queue when the editions have one (EDITION_TASK_QUEUE):
        # an import's starts then do not wait behind the applications' first steps. `admission`
        # holds new starts while that queue's backlog is long (infra/backlog.py: why).
        self.repo, self.client, self.application_queue = repo, client, application_queue
        self.admission = admission

    @activity.defn
    def open_edition(self, settings: EditionSettings, opened_by: str, at: datetime) -> bool:
        return self.repo.open_edition(settings, activity.info().workflow_id or "", opened_by, at)

    @activity.defn
    def close_call(self, edition: int, at: datetime) -> None:
        self.repo.close_call(edition, at)

    @activity.defn
    async def start_application(self, inp: ApplicationInput) -> SubmissionAnswer:
        """Start the application's workflow; its id (edition + registration number) makes a second
        application of the same applicant a duplicate, also when this activity is retried."""
        return await self._start(inp)

    @activity.defn
    async def start_applications(
        self, settings: EditionSettings, edition_workflow_id: str, submissions: list[ApplicationSubmission]
    ) -> list[SubmissionAnswer]:
        """Start the workflows of a batch of submissions (an import), a few at a time, one answer per
        submission in their order. A retry answers what an earlier attempt started as accepted."""
        sem = asyncio.Semaphore(START_CONCURRENCY)

        async def one(sub: ApplicationSubmission) -> SubmissionAnswer:
            async with sem:
                answer = await self._start(
                    ApplicationInput(
                        settings=settings,
                        submission=sub,
                        submitted_by="edition",
                        edition_workflow_id=edition_workflow_id,
                    )
                )
                activity.heartbeat()
                return answer

        answers = list(await asyncio.gather(*(one(s) for s in submissions)))
        log.info(
            "applications started",
            edition_workflow_id=edition_workflow_id,
            submissions=len(answers),
            accepted=sum(a.accepted for a in answers),
            attempt=activity.info().attempt,
        )
        return answers

    async def _start(self, inp: ApplicationInput) -> SubmissionAnswer:
        app_id = inp.submission.application_id
        info = activity.info()
        # Which activity started the workflow: a retry (a worker killed after the start, a timeout)
        # finds its own mark and answers as the first attempt would have; anyone else's is a duplicate.
        started_by = f"{info.workflow_run_id}/{info.activity_id}"
        if self.admission is not None:
            await self.admission.wait(activity.heartbeat)
        try:
            await self.client.start_workflow(
                APPLICATION_WORKFLOW,
                inp,
                id=app_id,
                task_queue=self.application_queue or info.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={STARTED_BY: started_by},
            )
        except WorkflowAlreadyStartedError:
            if info.attempt > 1 and await self._started_by(app_id) == started_by:
                log.info("started by an earlier attempt of this activity", application_id=app_id, attempt=info.attempt)
                return SubmissionAnswer(application_id=app_id, accepted=True, message="application submitted")
            return SubmissionAnswer(
                application_id=app_id,
                accepted=False,
                refusal="duplicate",
                message=f"the applicant already has an application in edition {inp.submission.edition}",
            )
        return SubmissionAnswer(application_id=app_id, accepted=True, message="application submitted")

    async def _started_by(self, app_id: str) -> str | None:
        desc = await self.client.get_workflow_handle(app_id).describe()
        try:
            return await desc.memo_value(STARTED_BY, None, type_hint=str)
        except (KeyError, TypeError, ValueError):
            return None

    @activity.defn
    def pending_before_committee(self, edition: int) -> int:
        return self.repo.pending_before_committee(edition)

    @activity.defn
    def propose_selection(self, settings: EditionSettings, at: datetime) -> ProposalSummary:
        """Round 0: rank every application waiting for the committee and fill the envelopes
        (minutes for a large edition: heartbeating meanwhile)."""
        return while_beating(lambda: self._propose(settings, at))

    def _propose(self, settings: EditionSettings, at: datetime) -> ProposalSummary:
        if not self.repo.round_rows(settings.edition, 0):
            candidates = self.repo.candidates(settings.edition, Stage.COMMITTEE)
            self.repo.commit_round(settings, 0, at, lambda _left: select(candidates, settings))
        summary = summarize(0, self.repo.round_rows(settings.edition, 0), settings)
        log.info(
            "committee proposal", edition=settings.edition, selected=summary.selected, waitlisted=summary.waitlisted
        )
        return summary

    @activity.defn
    def confirm_selection(self, edition: int, confirmed_by: str, at: datetime) -> None:
        self.repo.confirm(edition, confirmed_by, at)

    @activity.defn
    async def send_decisions(self, edition: int, round_: int, confirmed_by: str, at: datetime) -> int:
        """Send each unsent decision of the round to its application, a few at a time."""
        rows = await asyncio.to_thread(self.repo.round_rows, edition, round_, True)
        sem = asyncio.Semaphore(SEND_CONCURRENCY)
        done = 0

        async def send(row: CommitteeDecisionRow) -> None:
            nonlocal done
            async with sem:
                handle = self.client.get_workflow_handle(row.application_id)
                try:
                    # One update id per decision: a retry after a decision was applied but before it
                    # was marked sent gets Temporal's first answer instead of a second decision.
                    answer = await handle.execute_update(
                        ApplicationUpdate.DECIDE,
                        _decision(row, confirmed_by),
                        id=f"decision-{edition}-{round_}-{row.application_id}",
                    )
                    note, applied = (
                        (answer.get("message", "accepted") if isinstance(answer, dict) else "accepted"),
                        True,
                    )
                except WorkflowUpdateFailedError as e:
                    note, applied = (
                        f"refused: {refusal_reason(e)}",
                        False,
                    )  # e.g. withdrawn meanwhile
                except RPCError as e:
                    if e.status != RPCStatusCode.NOT_FOUND:
                        # Temporal unavailable (a restart) or busy: not an answer. The activity fails
                        # and is retried; what was already marked sent is not sent again.
                        raise
                    note, applied = f"not delivered: {e.message}", False  # the application's workflow is closed
                await asyncio.to_thread(self.repo.mark_sent, row.application_id, round_, at, note, applied)
                done += 1
                activity.heartbeat(done)

        async with asyncio.TaskGroup() as group:  # the first failure cancels the rest
            for r in rows:
                group.create_task(send(r))
        log.info("decisions sent", edition=edition, round=round_, sent=done)
        return done

    @activity.defn
    def promote_waitlist(self, settings: EditionSettings, round_: int, at: datetime) -> ProposalSummary:
        """Give the money freed since the last round to the waitlist, in rank order. Applications that
        reached the committee late (after round 0) join the waitlist here."""
        return while_beating(lambda: self._promote(settings, round_, at))

    def _promote(self, settings: EditionSettings, round_: int, at: datetime) -> ProposalSummary:
        if not self.repo.round_rows(settings.edition, round_):
            latest = self.repo.latest_decisions(settings.edition)
            waitlist = [
                c
                for c in self.repo.candidates(settings.edition, Stage.WAITLISTED)
                if c.application_id in latest and latest[c.application_id].decision == Decision.WAITLISTED.value
            ]
            late = [
                c for c in self.repo.candidates(settings.edition, Stage.COMMITTEE) if c.application_id not in latest
            ]

            def plan(remaining: dict[str, Decimal]) -> list[Placement]:  # what the envelopes have left, locked
                placements = promote(waitlist + late, settings, remaining)
                return placements + _waitlist(late, {p.application_id for p in placements}, settings)

            self.repo.commit_round(settings, round_, at, plan)
        return summarize(round_, self.repo.round_rows(settings.edition, round_), settings)

    @activity.defn
    def edition_report(self, settings: EditionSettings) -> EditionReport:
        return while_beating(lambda: build_report(settings, self.repo.report_rows(settings.edition)["applications"]))


def _waitlist(late: list[Candidate], promoted: set[str], settings: EditionSettings) -> list[Placement]:
    """Late applications that were not promoted: waitlisted above the minimum score, else rejected."""
    out = []
    for c in late:
        if c.application_id in promoted:
            continue
        ok = c.score >= settings.min_score
        out.append(
            Placement(
                application_id=c.application_id,
                decision=Decision.WAITLISTED if ok else Decision.REJECTED,
                rank=0,
                score=c.score,
                reason="reached the committee after its proposal"
                if ok
                else f"score {c.score} below the minimum of {settings.min_score}",
            )
        )
    return out
