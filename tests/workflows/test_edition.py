"""The EditionWorkflow on the time-skipping server: the call window, the committee, decisions, the waitlist."""

import asyncio
import itertools
import uuid
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.edition import STARTED_BY
from cli.actions import edition_update
from domain.db.edition_repository import EditionRepository
from domain.edition import CoFundingFallback, EditionSettings
from domain.edition_messages import (
    MAX_BATCH,
    CloseCall,
    EditionInput,
    Phase,
    SelectionConfirmed,
    SubmissionAnswer,
    SubmissionBatch,
    edition_workflow_id,
)
from domain.models import CoFundingDecision, Stage, Withdrawal
from domain.reference import MINISTRY, LegalForm
from simulation.driver import Driver
from simulation.factories import make_review, make_submission, settings_with
from simulation.waiting import until
from worker import WORKFLOWS, activities_for
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow
from workflows.missing_inputs import RefuseMissingInputs
from workflows.names import EditionUpdate


class EditionDriver(Driver):
    """Drives an edition and its applications as ops, reviewers and Region Councils would."""

    async def open(self, settings: EditionSettings, **kw) -> WorkflowHandle:
        handle = await self.client.start_workflow(
            EditionWorkflow.run,
            EditionInput(settings=settings, opened_by="officer-test", **kw),
            id=edition_workflow_id(settings.edition),
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def edition_status(self, h: WorkflowHandle):
        return await h.query(EditionWorkflow.get_status)

    async def phase(self, h: WorkflowHandle, phase: Phase, tries: int = 400):
        return await until(
            lambda: self.edition_status(h),
            lambda s: s.phase == phase,
            f"edition in phase {phase}",
            seconds=tries * 0.05,
        )

    async def submit_and_review(self, edition: WorkflowHandle, subs, scores: dict[str, int]) -> list[WorkflowHandle]:
        handles = []
        for sub in subs:
            answer = await edition.execute_update(EditionWorkflow.submit, sub)
            assert answer.accepted, answer.message
            h = self.client.get_workflow_handle_for(ApplicationWorkflow.run, sub.application_id)
            self.handles.append(h)
            handles.append(h)
        for sub, h in zip(subs, handles, strict=False):
            await self.reach(h, Stage.REVIEW)
            for i in range(self.settings.reviewers_per_application):
                await h.execute_update(
                    ApplicationWorkflow.submit_review,
                    make_review(f"rev-{i}", scores[sub.applicant.registration_number]),
                )
        return handles

    async def run_committee(self, edition: WorkflowHandle):
        await edition.execute_update(EditionWorkflow.close_call, CloseCall(closed_by="officer-test"))
        await self.skip(1)  # the edition looks again each programme day
        await self.phase(edition, Phase.PROPOSED)
        return await until(lambda: self.edition_status(edition), lambda s: s.proposal is not None, "a proposal")


def edition_settings(now, number: int, **overrides) -> EditionSettings:
    return settings_with(
        **{
            "edition": number,
            "call_opens": now.date(),
            "call_closes": now.date() + timedelta(days=20),
            "ministry_envelope": Decimal("80000.00"),
            "priority_envelope": Decimal(0),
            "priority_envelope_exclusive": False,
            "priority_bonus": Decimal(0),
            **overrides,
        }
    )


@pytest.fixture
async def edition_run(ts_env, sqlite_repo, executor):
    queue = f"edition-{uuid.uuid4().hex[:8]}"
    repo = EditionRepository(sqlite_repo.engine)
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=activities_for(ts_env.client, repo),
        activity_executor=executor,
        interceptors=[RefuseMissingInputs()],  # as worker.build_worker: refusals carry their codes
    ):
        drivers = []

        def make(settings: EditionSettings) -> EditionDriver:
            d = EditionDriver(ts_env, queue, settings)
            drivers.append(d)
            return d

        yield make, repo, await ts_env.get_current_time()
        for d in drivers:
            await d.cleanup()


_NUMBERS = itertools.count(10)


def _number() -> int:
    # Unique within the module's server: a random draw let two tests open the same edition's workflow.
    return next(_NUMBERS)


def _subs(edition: int, regs: list[str], **kw):
    return [make_submission(r, edition=edition, **kw) for r in regs]


async def test_late_submission_is_refused_with_the_reason(edition_run):
    make, _, now = edition_run
    settings = edition_settings(now, _number())
    d = make(settings)
    h = await d.open(settings)
    await d.skip(21)
    late = await h.execute_update(EditionWorkflow.submit, make_submission("LATE-1", edition=settings.edition))
    assert not late.accepted and late.refusal == "late" and late.application_id.endswith("LATE-1")
    # The call closes at the end of its last day in Casablanca, and the answer names that day.
    assert f"the call closed on {settings.call_closes}; late submissions are refused" in late.message
    assert (await d.edition_status(h)).late_refused == 1
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(EditionWorkflow.submit, make_submission("WRONG-ED", edition=settings.edition - 1))
    assert "edition" in str(e.value.cause)


async def test_after_an_early_close_a_late_submission_is_told_the_day_it_actually_closed(edition_run):
    make, repo, now = edition_run
    settings = edition_settings(now, _number())
    d = make(settings)
    h = await d.open(settings)
    await d.skip(3)
    closed_on = (await d.env.get_current_time()).astimezone(ZoneInfo("Africa/Casablanca")).date()
    await h.execute_update(EditionWorkflow.close_call, CloseCall(closed_by="officer-test"))
    await d.skip(1)
    late = await h.execute_update(EditionWorkflow.submit, make_submission("EARLY-1", edition=settings.edition))
    assert not late.accepted and f"the call closed on {closed_on};" in late.message, late.message
    assert closed_on != settings.call_closes
    s = await d.edition_status(h)
    assert (s.late_refused, s.submissions) == (1, 0)
    assert repo.get_edition(settings.edition)["call_closed_at"] is not None


async def test_a_batch_of_submissions_answers_each_and_counts_each_once(edition_run):
    make, repo, now = edition_run
    settings = edition_settings(now, _number())
    d = make(settings)
    h = await d.open(settings)
    first = make_submission("BAT-0", edition=settings.edition)
    assert (await h.execute_update(EditionWorkflow.submit, first)).accepted
    subs = _subs(settings.edition, ["BAT-1", "BAT-2", "BAT-3"])
    batch = SubmissionBatch(submissions=[subs[0], first, subs[1], subs[0], subs[2]])
    answer = await h.execute_update(EditionWorkflow.submit_batch, batch)
    got = [(a.application_id.rsplit("-", 2)[-2:], a.accepted) for a in answer.answers]
    assert got == [
        (["BAT", "1"], True),
        (["BAT", "0"], False),
        (["BAT", "2"], True),
        (["BAT", "1"], False),
        (["BAT", "3"], True),
    ]
    assert "already has an application" in answer.answers[1].message
    assert "twice in this batch" in answer.answers[3].message
    for sub in subs:
        app = d.client.get_workflow_handle_for(ApplicationWorkflow.run, sub.application_id)
        d.handles.append(app)
        await d.reach(app, Stage.REVIEW)
        memo = await (await app.describe()).memo_value(STARTED_BY, type_hint=str)
        assert memo.startswith((await h.describe()).run_id + "/")
    s = await d.edition_status(h)
    assert (s.submissions, s.duplicates) == (4, 2)
    assert {r["id"] for r in repo.list_applications(edition=settings.edition)} >= {x.application_id for x in subs}

    # An empty batch, or one above MAX_BATCH, is refused by the model before it reaches Temporal.
    for size in (0, MAX_BATCH + 1):
        with pytest.raises(ValidationError) as e:
            SubmissionBatch(submissions=[first] * size)
        assert "submissions" in str(e.value)
    # A batch with one submission of another edition is refused as a whole, naming it; nothing starts.
    stray = [make_submission("BAT-4", edition=settings.edition), make_submission("BAT-5", edition=settings.edition + 1)]
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(EditionWorkflow.submit_batch, SubmissionBatch(submissions=stray))
    assert "submissions.1.edition" in str(e.value.cause)
    assert (await d.edition_status(h)).submissions == 4
    # After the call closes, a batch is refused like a single submission, each counted late.
    await d.skip(21)
    late = await h.execute_update(EditionWorkflow.submit_batch, SubmissionBatch(submissions=stray[:1] * 2))
    assert [(a.accepted, a.refusal) for a in late.answers] == [(False, "late"), (False, "late")]
    assert "late submissions are refused" in late.answers[0].message
    assert (await d.edition_status(h)).late_refused == 2


async def test_committee_selects_within_the_envelope_sends_decisions_and_promotes_after_a_withdrawal(edition_run):
    make, repo, now = edition_run
    settings = edition_settings(now, _number())
    d = make(settings)
    h = await d.open(settings)
    regs = ["ED-A", "ED-B", "ED-C", "ED-D"]
    subs = _subs(settings.edition, regs)
    apps = await d.submit_and_review(h, subs, {"ED-A": 9, "ED-B": 8, "ED-C": 7, "ED-D": 4})
    # A second application by the same applicant in the same edition is refused.
    again = await h.execute_update(EditionWorkflow.submit, subs[0])
    assert not again.accepted and "already has an application" in again.message
    s = await d.run_committee(h)
    assert (s.proposal.selected, s.proposal.waitlisted, s.proposal.rejected) == (2, 1, 1)
    assert s.proposal.amounts == {MINISTRY: Decimal("80000.00")}
    # Ops see the proposal before it is sent; nothing is decided until they confirm.
    assert (await d.status(apps[0])).stage == Stage.COMMITTEE
    answer = await h.execute_update(EditionWorkflow.confirm_selection, SelectionConfirmed(confirmed_by="director"))
    assert "confirmed by director" in answer
    a, b, c, dd = apps
    await d.reach(a, Stage.AGREEMENT)
    await d.reach(b, Stage.AGREEMENT)
    await d.reach(c, Stage.WAITLISTED)
    assert (await dd.result()).stage == Stage.REJECTED
    assert repo.get_edition(settings.edition)["confirmed_by"] == "director"
    decisions = repo.get_application(a.id)["decisions"]
    assert any("confirmed by director" in x["decided_by"] for x in decisions)
    # B withdraws before any payment: its money goes to C, next on the waitlist.
    await b.execute_update(ApplicationWorkflow.withdraw, Withdrawal(requested_by="applicant", reason="moved"))
    s = await d.reach(c, Stage.AGREEMENT)
    assert s.award == Decimal("40000.00")
    assert sum(repo.committed(settings.edition).values()) <= settings.ministry_envelope


async def test_same_selection_whatever_the_order_of_arrival(edition_run):
    make, repo, now = edition_run
    regs = ["ORD-A", "ORD-B", "ORD-C", "ORD-D", "ORD-E"]
    scores = {"ORD-A": 7, "ORD-B": 9, "ORD-C": 7, "ORD-D": 8, "ORD-E": 6}
    selections = []
    for order in (regs, list(reversed(regs))):
        settings = edition_settings(now, _number())
        d = make(settings)
        h = await d.open(settings)
        await d.submit_and_review(h, _subs(settings.edition, order), scores)
        await d.run_committee(h)
        rows = repo.round_rows(settings.edition, 0)
        selections.append([(r.application_id.split("-", 2)[2], r.decision, r.rank) for r in rows])
    assert selections[0] == selections[1]
    assert [x[:2] for x in selections[0][:2]] == [("ORD-B", "selected"), ("ORD-D", "selected")]


async def test_a_declined_cofunding_hands_the_money_to_the_next_cooperative(edition_run):
    make, repo, now = edition_run
    from domain.edition import PartnerRegion

    settings = edition_settings(
        now,
        _number(),
        cofunding_fallback=CoFundingFallback.REDUCE_AWARD,
        partners=(PartnerRegion(region_code="02", envelope=Decimal("40000.00")),),
    )
    d = make(settings)
    h = await d.open(settings)
    coop = dict(legal_form=LegalForm.COOPERATIVE, region_code="02", province="Oujda-Angad")
    subs = _subs(settings.edition, ["COOP-1", "COOP-2"], **coop)
    first, second = await d.submit_and_review(h, subs, {"COOP-1": 9, "COOP-2": 8})
    s = await d.run_committee(h)
    assert s.proposal.by_funder == {"region-02": 1}
    await h.execute_update(EditionWorkflow.confirm_selection, SelectionConfirmed(confirmed_by="director"))
    await d.reach(first, Stage.COFUNDING, "region 02")
    await d.reach(second, Stage.WAITLISTED)
    await first.execute_update(
        ApplicationWorkflow.cofunding_decision,
        CoFundingDecision(region_code="02", approved=False, decided_by="oriental"),
    )
    assert (await first.result()).stage == Stage.NOT_SELECTED
    await d.reach(second, Stage.COFUNDING, "region 02")  # promoted, and its Region is asked in turn


async def test_a_steady_import_does_not_hold_the_edition_from_continuing_as_new(edition_run):
    """Submissions always in flight (8 at a time, through the CLI's door): once the history is full
    the edition refuses new ones for a moment ("edition.compacting"), the door sends them again, the
    run continues as new; every submission is answered once, and no run grows far past its bound."""
    make, _, now = edition_run
    settings = edition_settings(now, _number())
    d = make(settings)
    h = await d.open(settings, max_history_events=60)
    first_run = (await h.describe()).run_id
    subs = [make_submission(f"STEADY-{i:02d}", edition=settings.edition) for i in range(40)]
    gate = asyncio.Semaphore(8)

    async def submit(sub):
        async with gate:
            return await edition_update(h, EditionUpdate.SUBMIT, sub, SubmissionAnswer)

    answers = await asyncio.gather(*(submit(sub) for sub in subs))
    assert [a.accepted for a in answers] == [True] * 40
    assert sorted(a.application_id for a in answers) == sorted(sub.application_id for sub in subs)
    d.handles += [d.client.get_workflow_handle(a.application_id) for a in answers]
    lengths, run_id = [], first_run
    while run_id:
        events = [e async for e in d.client.get_workflow_handle(h.id, run_id=run_id).fetch_history_events()]
        lengths.append(len(events))
        last = events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    assert len(lengths) > 2, lengths
    assert max(lengths) <= 60 + 8 * 8, lengths  # the bound, and at most the 8 in flight when it was reached
    s = await d.edition_status(h)
    assert s.submissions == 40


async def test_the_edition_history_stays_bounded_by_continuing_as_new(edition_run):
    make, _, now = edition_run
    settings = edition_settings(now, _number())
    d = make(settings)
    h = await d.open(settings, max_history_events=60)
    for i in range(12):
        answer = await h.execute_update(
            EditionWorkflow.submit, make_submission(f"CAN-{i:02d}", edition=settings.edition)
        )
        assert answer.accepted
        d.handles.append(d.client.get_workflow_handle(answer.application_id))
    s = await d.edition_status(h)
    assert s.runs > 1 and s.submissions == 12
    desc = await h.describe()
    assert desc.raw_description.workflow_execution_info.history_length < 60
