"""Work waiting in a task queue, as Temporal's matching service counts it (DescribeTaskQueue's
approximate statistics), and the pace an import keeps.

Why: an import through an open edition starts applications faster than the workers run their first
steps. Every started workflow puts a task in the applications' queue, first in, first out; so does
every update or activity result for a running application the worker no longer holds in its cache
(most of them, with thousands open) or whose worker was too busy to take it within the sticky
timeout. A reviewer's update then waits behind every first step queued before it: 6 to 15 minutes
in the 10,000-application runs of docs/sizing.md. An edition therefore paces its starts so that the
oldest work waits less than a few seconds: people's work on running applications keeps its pace,
and the import takes the capacity that is left. The oldest work is the older of the queue's oldest
task (the server's statistics) and, given `lag`, the oldest new application still waiting for its
first step: a worker holding a task it is too busy to run keeps it in its own sticky queue, which
the statistics do not count (a run paced on them alone kept each step 4 to 10 s there).

The pace is found as a network finds its sending rate: start fast; halve it when the oldest work
has waited longer than allowed; raise it while the workers keep up, once per 5 s (the server
recomputes its statistics every 5 s). A short import goes at full speed; a long one settles at what
the workers absorb, on any size of cluster. (Tried first, and measured wrong: a fixed count of
waiting tasks (200 kept each one 20 s on this machine), and a count from the workers' dispatch
rate, which only ever reports what the gate let through.) The queue's figures are also what the
workers' autoscaler scales on (observability/backlog.py, deploy/k8s/worker-hpa.yaml).
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

log = structlog.get_logger("moazara.backlog")

READ_TIMEOUT = timedelta(seconds=10)  # a server being restarted: fail the reading, not hang every start
LOOK_EVERY = 1.0  # seconds between two heartbeats of a waiting start
ADJUST_EVERY = 5.0  # seconds between two readings, each a change of pace (the server's statistics' period)
FIRST_PACE, SLOWEST, FASTEST = 100.0, 1.0, 1000.0  # starts a second


@dataclass(frozen=True)
class Backlog:
    """A task queue's workflow tasks waiting for a worker, and how long the oldest has waited (the
    workers' sticky queues not counted)."""

    tasks: int
    oldest_seconds: float


async def workflow_backlog(client: Client, task_queue: str) -> Backlog | None:
    """The workflow tasks waiting in `task_queue` (all its partitions and priorities); None from a
    server that keeps no task-queue statistics (the SDK's time-skipping test server)."""
    try:
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                report_stats=True,
            ),
            timeout=READ_TIMEOUT,
        )
    except RPCError as e:
        if e.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    stats = answer.stats
    return Backlog(stats.approximate_backlog_count, stats.approximate_backlog_age.ToTimedelta().total_seconds())


class Admission:
    """Paces starts so that the oldest work waits less than `seconds`: the oldest workflow task in
    `task_queue`, or what `lag()` says (a blocking call, run in a thread). Each `wait()` returns when
    the next start is due at the current pace, calling `beat()` (an activity's heartbeat) while it
    waits. `seconds` 0: no pacing. Shared by all the starts of one worker."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        seconds: float,
        lag: Callable[[], float] | None = None,
        pace: float = FIRST_PACE,
        look_every: float = LOOK_EVERY,
        adjust_every: float = ADJUST_EVERY,
    ) -> None:
        self.client, self.task_queue, self.seconds, self.lag = client, task_queue, seconds, lag
        self.pace, self.look_every, self.adjust_every = pace, look_every, adjust_every
        self._read_at = self._last_start = float("-inf")
        self._reading: asyncio.Task[None] | None = None

    def adjust(self, waited: float) -> None:
        """Halve the pace if the oldest work waited longer than the bound, raise it by a fifth while
        it waits well within it."""
        if waited > self.seconds:
            self.pace = max(SLOWEST, self.pace / 2)
        elif waited <= self.seconds / 2:
            self.pace = min(FASTEST, self.pace * 1.2 + 1)

    async def wait(self, beat: Callable[[], None] = lambda: None) -> None:
        loop = asyncio.get_running_loop()
        while self.seconds > 0:
            if loop.time() - self._read_at >= self.adjust_every and (self._reading is None or self._reading.done()):
                self._read_at = loop.time()
                self._reading = asyncio.create_task(self._read())
                await self._reading  # a failed reading (Temporal unreachable) fails this start, retried
                continue
            # The next start is due 1/pace after the last one, at the pace of now (not of when this
            # one began waiting): a pace halved meanwhile holds every waiting start.
            now, due = loop.time(), self._last_start + 1 / self.pace
            if now >= due:
                self._last_start = now
                return
            beat()
            await asyncio.sleep(min(due - now, self.look_every))

    async def _read(self) -> None:
        now = await workflow_backlog(self.client, self.task_queue)
        if now is None:
            log.warning("no task queue statistics from this server: starts are not paced", task_queue=self.task_queue)
            self.seconds = 0
            return
        # Where the oldest work waits: in the queue (not yet taken by a worker), or already taken
        # but waiting on a busy worker's own queue (its sticky queue, which the statistics above do
        # not count): `lag`, from the applications' first steps in the database.
        waited = max(now.oldest_seconds, await asyncio.to_thread(self.lag) if self.lag else 0.0)
        before = self.pace
        self.adjust(waited)
        if self.pace != before:
            log.info("starts paced", task_queue=self.task_queue, pace=round(self.pace, 1), waited=round(waited, 1))
