"""The worker's sandbox runner (infra/workflow_runner.py): the SDK's sandbox, its code strings
compiled once; the restrictions still hold."""

import inspect
import uuid
from datetime import timedelta

from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

from activities.application import ApplicationActivities
from domain.edition import edition_4_settings
from domain.models import Stage
from infra.workflow_runner import CompiledSandboxRunner, compiled_strings
from simulation.driver import Driver
from simulation.factories import make_submission
from tests.infra.clock_workflow import LooksAtTheClock
from workflows.application import ApplicationWorkflow


def test_the_sdk_still_has_what_the_runner_relies_on():
    # A new SDK that renamed these would run the plain sandbox silently: fail here instead.
    assert list(inspect.signature(_Instance._run_code).parameters) == ["self", "code", "extra_globals"]
    assert "_Instance(" in inspect.getsource(SandboxedWorkflowRunner.create_instance)


async def test_applications_run_on_it_compiling_a_handful_of_strings_and_the_sandbox_still_refuses(
    ts_env, sqlite_repo, executor
):
    queue = f"runner-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ApplicationWorkflow, LooksAtTheClock],
        activities=ApplicationActivities(sqlite_repo).all(),
        activity_executor=executor,
        workflow_runner=CompiledSandboxRunner(),
    ):
        d = Driver(ts_env, queue, edition_4_settings())
        first = await d.start(make_submission("RUNNER-0"))
        assert (await d.reach(first, Stage.REVIEW)).stage == Stage.REVIEW
        compiled = compiled_strings()  # the strings of this workflow type (and of other tests' types)
        assert compiled > 0
        for h in [await d.start(make_submission(f"RUNNER-{i}")) for i in range(1, 4)]:
            assert (await d.reach(h, Stage.REVIEW)).stage == Stage.REVIEW
        assert compiled_strings() == compiled  # three more runs of it compiled nothing
        h = await ts_env.client.start_workflow(
            LooksAtTheClock.run,
            id=f"clock-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
        failed = None
        for _ in range(100):
            failed = [
                e.workflow_task_failed_event_attributes.failure.message
                async for e in h.fetch_history_events()
                if e.HasField("workflow_task_failed_event_attributes")
            ]
            if failed:
                break
            await ts_env.sleep(timedelta(milliseconds=100))
        assert failed and "Cannot access datetime.date.today" in failed[0], failed
        await h.terminate("done")
        await d.cleanup()
