"""The front door (frontdoor/): one result for every outcome of an input, whichever door sends it."""

import uuid

import pytest
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from domain.edition import edition_4_settings
from domain.models import Stage, Withdrawal
from frontdoor import Actor, ResultCode, send_update
from simulation.driver import Driver
from simulation.factories import make_review, make_submission
from workflows.application import ApplicationWorkflow
from workflows.names import ApplicationUpdate as U

OFFICER = Actor(id="officer-1", door="console", roles=frozenset({"officer"}))


@pytest.fixture
async def run(ts_env, sqlite_repo, executor):
    queue = f"frontdoor-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ApplicationWorkflow],
        activities=ApplicationActivities(sqlite_repo).all(),
        activity_executor=executor,
    ):
        d = Driver(ts_env, queue, edition_4_settings())
        yield d
        await d.cleanup()


async def test_accepted_refused_wrong_stage_and_unknown_come_back_as_one_result(run):
    d = run
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

    unknown = await send_update(
        d.client, "moazara-4-NOBODY", U.WITHDRAW, Withdrawal(requested_by="applicant", reason="x"), OFFICER
    )
    assert unknown.code == ResultCode.NOT_FOUND and not unknown.accepted


def _termination():
    from domain.models import Termination

    return Termination(terminated_by="officer-1", reason="funds diverted")
