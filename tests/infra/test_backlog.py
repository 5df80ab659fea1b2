"""An import slows down while the applications' queue keeps tasks waiting too long, and speeds up
again once workers keep up: on the dev server (the time-skipping server has no task-queue
statistics: there the starts are not paced)."""

import asyncio
import uuid

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from infra.backlog import Admission, workflow_backlog
from simulation.dev_server import DEV_SERVER, TEST_SERVER
from simulation.waiting import until
from tests.trivial_workflow import Nothing


async def test_starts_slow_down_while_tasks_wait_too_long_and_speed_up_once_workers_keep_up():
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(DEV_SERVER))
    try:
        queue, started = f"q-{uuid.uuid4().hex[:8]}", []
        admission = Admission(env.client, queue, seconds=1, pace=20, look_every=0.2, adjust_every=1)

        async def start(i: int) -> None:
            await admission.wait()
            await env.client.start_workflow("Nothing", id=f"{queue}-{i}", task_queue=queue)
            started.append(i)

        importing = asyncio.gather(*(start(i) for i in range(400)))
        await asyncio.sleep(12)  # no worker: the oldest task's wait passes 1 s, the server says so
        assert admission.pace < 20  # halved, below the pace it began at
        assert len(started) < 400  # held: not all started
        assert (await workflow_backlog(env.client, queue)).oldest_seconds > 1
        importing.cancel()

        beats: list[int] = []
        slow = admission.pace
        await admission.wait()
        await asyncio.wait_for(admission.wait(lambda: beats.append(1)), 5)  # the next slot, at the slow pace
        assert beats  # a start held past its look heartbeats (its activity is not taken for dead)

        # A worker drains the queue: the oldest task's wait falls, and the pace rises again.
        async with Worker(
            env.client, task_queue=queue, workflows=[Nothing], workflow_runner=UnsandboxedWorkflowRunner()
        ):

            async def pace_after_a_start() -> float:
                await admission.wait()
                return admission.pace

            await until(pace_after_a_start, lambda p: p > slow, "the pace raised", seconds=40)
    finally:
        await env.shutdown()


def test_the_pace_halves_past_the_bound_and_rises_well_within_it():
    admission = Admission(None, "q", seconds=2, pace=40)  # type: ignore[arg-type]
    admission.adjust(5.0)
    assert admission.pace == 20
    admission.adjust(1.5)  # within the bound, not well within: kept
    assert admission.pace == 20
    admission.adjust(0.2)
    assert admission.pace == 25


async def test_work_a_busy_worker_holds_slows_the_starts_though_the_queue_is_empty():
    """The applications' first steps late in the database (a worker's sticky queue full) pace the
    starts down, with nothing waiting in the task queue itself."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(DEV_SERVER))
    try:
        late = [30.0]
        admission = Admission(env.client, "empty", seconds=2, lag=lambda: late[0], pace=50, adjust_every=0.5)
        assert (await workflow_backlog(env.client, "empty")).tasks == 0

        async def pace_after_a_start() -> float:
            await admission.wait()
            return admission.pace

        await until(pace_after_a_start, lambda p: p < 10, "paced down")
        late[0] = 0.0  # the workers caught up
        await until(pace_after_a_start, lambda p: p > 10, "paced up")
    finally:
        await env.shutdown()


async def test_a_server_without_statistics_leaves_starts_unpaced():
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    try:
        admission = Admission(env.client, "q", seconds=2, pace=0.1)
        for _ in range(3):  # at 0.1 a second, paced starts would take 20 s
            await asyncio.wait_for(admission.wait(), 5)
        assert admission.seconds == 0
    finally:
        await env.shutdown()


async def test_no_pacing_never_asks_the_server():
    admission = Admission(None, "q", seconds=0)  # type: ignore[arg-type]
    await admission.wait()  # no client needed: nothing is read
