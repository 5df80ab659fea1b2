"""An import waits while the applications' queue is full, and goes on as workers catch up: on the
dev server (the time-skipping server has no task-queue statistics: the gate stays open there)."""

import asyncio
import uuid

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from infra.backlog import Admission, workflow_backlog
from simulation.dev_server import DEV_SERVER


@workflow.defn(name="Nothing")
class Nothing:
    @workflow.run
    async def run(self) -> None:
        return None


async def starts(env: WorkflowEnvironment, admission: Admission, queue: str, n: int, started: list[str]) -> None:
    async def one(i: int) -> None:
        await admission.wait()
        await env.client.start_workflow("Nothing", id=f"{queue}-{i}", task_queue=queue)
        started.append(f"{queue}-{i}")

    await asyncio.gather(*(one(i) for i in range(n)))


async def test_starts_wait_while_the_queue_is_full_and_resume_when_a_worker_drains_it():
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(DEV_SERVER))
    try:
        queue, started = f"q-{uuid.uuid4().hex[:8]}", []
        beats: list[int] = []
        admission = Admission(env.client, queue, seconds=2, floor=15, look_every=0.2)
        importing = asyncio.create_task(starts(env, admission, queue, 60, started))
        await asyncio.sleep(8)  # no worker: past the server's recomputation of its statistics
        assert 15 <= len(started) < 30, started  # no worker, no rate: held at the floor (a recomputation may lag a few)
        assert (await workflow_backlog(env.client, queue)).tasks >= 15
        beat_while_held = asyncio.create_task(admission.wait(lambda: beats.append(1)))
        await asyncio.sleep(1)
        assert beats and not beat_while_held.done()  # the waiting activity heartbeats
        beat_while_held.cancel()
        # A trivial workflow: the sandbox would only re-import this test module.
        async with Worker(
            env.client, task_queue=queue, workflows=[Nothing], workflow_runner=UnsandboxedWorkflowRunner()
        ):
            await asyncio.wait_for(importing, 60)  # the worker drains the queue: the rest start
        assert len(started) == 60
    finally:
        await env.shutdown()


async def test_a_server_without_statistics_leaves_the_gate_open():
    from simulation.dev_server import TEST_SERVER

    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    try:
        admission = Admission(env.client, "q", seconds=2, floor=1)
        for _ in range(3):
            await asyncio.wait_for(admission.wait(), 5)
        assert admission.seconds == 0
    finally:
        await env.shutdown()


async def test_no_gate_never_asks_the_server():
    admission = Admission(None, "q", seconds=0)  # type: ignore[arg-type]
    await admission.wait()  # no client needed: nothing is read


def test_the_workers_rate_sets_how_many_may_wait():
    from infra.backlog import Backlog

    admission = Admission(None, "q", seconds=2, floor=20)  # type: ignore[arg-type]
    assert admission.allowed() == 20  # nothing read yet: the floor
    admission._last = Backlog(tasks=0, oldest_seconds=0.0, taken_per_second=50.0)
    assert admission.allowed() == 100  # 2 s of work at 50 tasks a second
    admission._last = Backlog(tasks=0, oldest_seconds=0.0, taken_per_second=3.0)
    assert admission.allowed() == 20
