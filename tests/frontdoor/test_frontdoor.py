"""The front door (frontdoor/): one result for every outcome of an input, whichever door sends it."""

import uuid

import pytest
from temporalio.worker import Worker

from domain.edition import edition_4_settings
from domain.models import Stage, Withdrawal
from frontdoor import Actor, ResultCode, send_update
from simulation.driver import Driver
from simulation.factories import make_review, make_submission
from workflows.application import ApplicationWorkflow
from workflows.names import ApplicationUpdate as U

OFFICER = Actor(id="officer-1", door="console", roles=frozenset({"officer"}))


async def test_accepted_refused_wrong_stage_and_unknown_come_back_as_one_result(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("DOOR-1"))
    await d.reach(h, Stage.REVIEW)

    ok = await send_update(d.client, h.id, U.SUBMIT_REVIEW, make_review("rev-1", 7), OFFICER)
    assert (ok.code, ok.accepted, ok.stage, ok.actor) == (ResultCode.ACCEPTED, True, "review", "officer-1")
    assert "review by rev-1 recorded" in ok.message

    again = await send_update(d.client, h.id, U.SUBMIT_REVIEW, make_review("rev-1", 7), OFFICER)
    assert (again.code, again.field) == (ResultCode.REFUSED, "reviewer_id")
    assert "already reviewed" in again.reason and not again.accepted

    early = await send_update(d.client, h.id, U.TERMINATE.value, _termination(), OFFICER)
    assert early.code == ResultCode.REFUSED and early.field == "reason"

    withdrawn = await send_update(
        d.client, h.id, U.WITHDRAW, Withdrawal(requested_by="applicant", reason="moved"), OFFICER
    )
    assert withdrawn.accepted and withdrawn.stage == "withdrawn"
    late = await send_update(d.client, h.id, U.SUBMIT_REVIEW, make_review("rev-2", 7), OFFICER)
    assert late.code in (ResultCode.WRONG_STAGE, ResultCode.NOT_FOUND)  # closed: refused by stage, or gone
    assert (await h.result()).stage == Stage.WITHDRAWN  # finished before its worker stops

    unknown = await send_update(
        d.client, "moazara-4-NOBODY", U.WITHDRAW, Withdrawal(requested_by="applicant", reason="x"), OFFICER
    )
    assert unknown.code == ResultCode.NOT_FOUND and not unknown.accepted


def _termination():
    from domain.models import Termination

    return Termination(terminated_by="officer-1", reason="funds diverted")


async def test_the_workflow_checks_the_authenticated_actor_four_eyes_on_the_committee(ts_env, sqlite_repo, executor):
    """Who closed the call does not confirm the committee's selection: checked by the edition's
    validator against the actor the front door sent, whatever name the input types."""
    from temporalio.client import Client

    from domain.db.edition_repository import EditionRepository
    from domain.edition_messages import CloseCall, SelectionConfirmed
    from infra.actor_header import ActorHeader
    from tests.workflows.test_edition import EditionDriver, edition_settings
    from worker import WORKFLOWS, activities_for
    from workflows.actor import ActorFromHeader
    from workflows.names import EditionUpdate as E

    queue = f"frontdoor-{uuid.uuid4().hex[:8]}"
    repo = EditionRepository(sqlite_repo.engine)
    client = Client(
        ts_env.client.service_client,
        namespace=ts_env.client.namespace,
        data_converter=ts_env.client.data_converter,
        interceptors=[ActorHeader()],
    )
    closer = Actor(id="officer-a", door="console", roles=frozenset({"officer"}))
    president = Actor(id="president-b", door="console", roles=frozenset({"committee"}))
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        interceptors=[ActorFromHeader()],
        activities=activities_for(ts_env.client, repo),
        activity_executor=executor,
    ):
        settings = edition_settings(await ts_env.get_current_time(), 99)
        d = EditionDriver(ts_env, queue, settings)
        try:
            edition = await d.open(settings)
            await d.submit_and_review(edition, [make_submission("EYES-1", edition=99)], {"EYES-1": 8})
            closed = await send_update(
                client, edition.id, E.CLOSE_CALL, CloseCall(closed_by="typed name"), closer, result_type=str
            )
            assert closed.accepted and "closed by typed name" in closed.message
            await d.skip(1)
            await d.phase(edition, "proposed")
            # The closer, whatever name the input types, is refused; the actor is who counts.
            again = await send_update(
                client,
                edition.id,
                E.CONFIRM_SELECTION,
                SelectionConfirmed(confirmed_by="someone else"),
                closer,
                result_type=str,
            )
            assert (again.code, again.field) == (ResultCode.REFUSED, "confirmed_by")
            assert "officer-a closed the call" in again.reason and "four eyes" in again.reason
            ok = await send_update(
                client,
                edition.id,
                E.CONFIRM_SELECTION,
                SelectionConfirmed(confirmed_by="x"),
                president,
                result_type=str,
            )
            assert ok.accepted and "confirmed by president-b" in ok.message
            assert repo.get_edition(99)["confirmed_by"] == "president-b"
            # Without an actor (an input typed by a test or an older client) the typed names count.
            assert (await d.edition_status(edition)).call_closed_by == "officer-a"
        finally:
            await d.cleanup()


async def test_a_refusal_is_a_business_refusal_not_retryable_in_the_programme_words(ts_env, sqlite_repo, executor):
    """On the production worker (worker.build_worker): a validator's refusal comes back as a
    non-retryable 'Refused' with the rule's own words, never a Python name."""
    from datetime import date

    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError

    from domain.models import DocumentsCompleted, Review, SiteVisit
    from infra.settings import Settings
    from worker import build_worker

    settings = Settings(
        task_queue=f"refusals-{uuid.uuid4().hex[:8]}", database_url="sqlite://", max_concurrent_activities=8
    )
    async with build_worker(ts_env.client, sqlite_repo, settings, executor):
        d = Driver(ts_env, settings.task_queue, edition_4_settings())
        try:
            h = await d.start(make_submission("REFUSE-1"))
            await d.reach(h, Stage.REVIEW)
            partial = Review(reviewer_id="rev-1", scores={c: 7 for c in list(make_review("x").scores)[:-1]})
            with pytest.raises(WorkflowUpdateFailedError) as e:
                await h.execute_update(ApplicationWorkflow.submit_review, partial)
            cause = e.value.cause
            assert isinstance(cause, ApplicationError) and cause.type == "Refused" and cause.non_retryable
            assert cause.message == "scores: one score per criterion of the grid; missing feasibility"
            assert cause.details == (
                {"refusal": "review.scores_incomplete", "field": "scores", "params": {"missing": "feasibility"}},
            )
            result = await send_update(d.client, h.id, U.SUBMIT_REVIEW, partial, OFFICER)
            assert (result.code, result.field) == (ResultCode.REFUSED, "scores") and "Criterion" not in result.reason
            # Its code and parameters reach the door's result, for the door to say in its own language.
            assert (result.refusal, result.params) == ("review.scores_incomplete", {"missing": "feasibility"})
            visit = SiteVisit(visitor="officer-1", visited_on=date(2024, 3, 1))
            early = await send_update(d.client, h.id, U.RECORD_SITE_VISIT, visit, OFFICER)
            assert (early.code, early.refusal, early.params) == (
                ResultCode.REFUSED,
                "visit.wrong_stage",
                {"stage": "review"},
            )
            assert early.reason == "visited_on: no site visit in stage review"
            documents = DocumentsCompleted(documents=make_submission("REFUSE-1").documents[:1])
            wrong = await send_update(d.client, h.id, U.COMPLETE_DOCUMENTS, documents, OFFICER)
            assert (wrong.code, wrong.refusal) == (ResultCode.WRONG_STAGE, "stage.wrong")
            assert wrong.params == {"stage": "review", "expected": "awaiting_documents"}
        finally:
            await d.cleanup()
