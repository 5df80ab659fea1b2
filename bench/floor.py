"""The floor of the lifecycle benchmark (bench-only, never deployed): a workflow that does nothing
but what Temporal itself costs for one application's lifecycle — the same number of activities,
updates and timers, through the same data converter (pydantic + encryption), on a worker with the
same settings. Its rate is the ceiling the real lifecycle can approach on this machine.

    python -m bench.floor        # a worker for FloorWorkflow (TEMPORAL_ADDRESS, TASK_QUEUE … as worker.py)

The shape mirrors ApplicationWorkflow: inputs arrive as updates, each awaited with a deadline
(a timer, cancelled when the input comes) and each running one activity in its handler; the
other activities run in between; the remaining timers fire.
"""

import asyncio
import concurrent.futures
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.worker import Worker


class FloorPlan(BaseModel):
    activities: int  # in all, the updates' own included
    updates: int
    timers: int  # in all: one per awaited update, the rest fire
    fired_timer: timedelta = timedelta(milliseconds=10)


@activity.defn
def floor_step(workflow_id: str, n: int) -> int:
    return n


@workflow.defn
class FloorWorkflow:
    @workflow.init
    def __init__(self, plan: FloorPlan) -> None:
        self.received = 0
        self.expected = 0  # the update the workflow waits for now (0: none)

    @workflow.run
    async def run(self, plan: FloorPlan) -> int:
        in_run = max(plan.activities - plan.updates, 0)
        per_step = in_run // max(plan.updates, 1)
        done = 0
        for k in range(1, plan.updates + 1):
            for _ in range(per_step):
                done += await self._step(done)
            self.expected = k
            await workflow.wait_condition(lambda k=k: self.received >= k, timeout=timedelta(days=30))
            self.expected = 0
        while done < in_run:
            done += await self._step(done)
        for _ in range(max(plan.timers - plan.updates, 0)):
            await workflow.sleep(plan.fired_timer)
        return done + self.received

    async def _step(self, n: int) -> int:
        await workflow.execute_activity(
            floor_step, args=[workflow.info().workflow_id, n], start_to_close_timeout=timedelta(seconds=30)
        )
        return 1

    @workflow.update
    async def answer(self, k: int) -> int:
        await self._step(k)
        self.received = k
        return k

    @answer.validator
    def _check(self, k: int) -> None:
        if k != self.expected:
            raise ValueError(f"k: waiting for {self.expected}, not {k}")

    @workflow.query
    def waiting_for(self) -> int:
        return self.expected


async def main() -> None:
    from infra.settings import get_settings
    from infra.temporal_connection import connect
    from infra.workflow_runner import CompiledSandboxRunner

    settings = get_settings()
    client = await connect(settings)
    with concurrent.futures.ThreadPoolExecutor(settings.activity_threads) as executor:
        await Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[FloorWorkflow],
            workflow_runner=CompiledSandboxRunner(),  # as worker.py's
            activities=[floor_step],
            activity_executor=executor,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        ).run()


if __name__ == "__main__":
    asyncio.run(main())
