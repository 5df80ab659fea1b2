"""An update's activities go with the urgent Temporal priority (someone waits for them), the
background's with the default; the worker marks the urgent ones' database writes urgent."""

import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import Priority
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.urgency import Urgency
from domain.db.writers import urgent
from simulation.factories import make_submission
from workflows.run_activity import URGENT


async def test_a_committee_decision_is_recorded_urgently_and_the_stages_in_the_background(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("URGENT-1"))
    await d.review_all(h)
    await d.select(h)
    scheduled = [
        e.activity_task_scheduled_event_attributes
        async for e in h.fetch_history_events()
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    by_name = {}
    for a in scheduled:
        by_name.setdefault(a.activity_type.name, set()).add(a.priority.priority_key)
    # record_decision is run by the `decide` update's handler (and by nothing else before it)
    assert by_name["record_decision"] == {URGENT.priority_key}
    assert by_name["record_review"] == {URGENT.priority_key}  # each review is an update too
    assert by_name["record_stage"] == {0}  # the main loop's: unset, the default priority
    assert by_name["record_submission"] == {0}


@activity.defn
def writes_urgently() -> bool:
    return urgent.get()


@workflow.defn(sandboxed=False)
class AskTwice:
    @workflow.run
    async def run(self) -> list[bool]:
        return [
            await workflow.execute_activity(writes_urgently, start_to_close_timeout=timedelta(seconds=10), priority=p)
            for p in (URGENT, Priority.default)
        ]


async def test_the_worker_marks_an_urgent_activitys_writes_urgent(ts_env, executor):
    queue = f"urgency-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[AskTwice],
        activities=[writes_urgently],
        activity_executor=executor,
        interceptors=[Urgency()],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        got = await ts_env.client.execute_workflow(AskTwice.run, id=f"ask-{uuid.uuid4().hex[:6]}", task_queue=queue)
    assert got == [True, False]
