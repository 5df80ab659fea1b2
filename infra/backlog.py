"""Work waiting in a task queue, as Temporal's matching service counts it (DescribeTaskQueue's
approximate statistics), and the admission an import waits for.

Why: an import through an open edition starts applications faster than the workers run their first
steps. Every started workflow puts a task in the applications' queue, first in, first out; so does
every update or activity result for a running application the worker no longer holds in its cache
(most of them, with thousands open) or whose worker was too busy to take it within the sticky
timeout. A reviewer's update then waits behind every first step queued before it: 6 to 15 minutes
in the 10,000-application runs of docs/sizing.md. An edition therefore starts new applications only
while that queue holds less than a few seconds of work (its backlog over the rate the workers take
tasks from it): people's work on running applications keeps its pace, and the import takes the
capacity that is left. A fixed count would be wrong for every size of cluster: 200 tasks held
here kept each waiting task 20 s. The same figures are what the workers' autoscaler scales on
(observability/backlog.py, deploy/k8s/worker-hpa.yaml).

The server computes its statistics every few seconds (5 s on the dev server), so between two
readings the starts made here are added to the last one: a gate does not let a burst through on a
stale figure.
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
FLOOR = 20  # tasks let wait whatever the rate: an idle queue (no rate yet) admits an import's first
LOOK_EVERY = 1.0  # seconds between two readings of the server's statistics
RECOMPUTED_WITHIN = 6.0  # seconds: a reading this much younger than our starts counts them


@dataclass(frozen=True)
class Backlog:
    """A task queue's workflow tasks waiting for a worker, how long the oldest has waited, and how
    many a second its workers take (the last 30 s; sticky queues' tasks not counted)."""

    tasks: int
    oldest_seconds: float
    taken_per_second: float = 0.0


async def workflow_backlog(client: Client, task_queue: str) -> Backlog:
    """The workflow tasks waiting in `task_queue` (all its partitions and priorities)."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            report_stats=True,
        ),
        timeout=READ_TIMEOUT,
    )
    stats = answer.stats
    return Backlog(
        stats.approximate_backlog_count,
        stats.approximate_backlog_age.ToTimedelta().total_seconds(),
        stats.tasks_dispatch_rate,
    )


class Admission:
    """Lets a start through while the tasks waiting in `task_queue` (its backlog, plus the starts let
    through since the server last computed it) are fewer than its workers take in `seconds`, or than
    `floor`; otherwise waits, calling `beat()` (an activity's heartbeat) at each look. `seconds` 0:
    no gate. Shared by all the starts of one worker."""

    def __init__(
        self, client: Client, task_queue: str, seconds: float, floor: int = FLOOR, look_every: float = LOOK_EVERY
    ) -> None:
        self.client, self.task_queue, self.seconds = client, task_queue, seconds
        self.floor, self.look_every = floor, look_every
        self._lock = asyncio.Lock()
        self._last: Backlog | None = None
        self._read_at = self._new_at = float("-inf")
        self._since = 0  # starts let through since the server last computed its figure

    def allowed(self) -> int:
        """How many tasks may wait, at the workers' last rate."""
        rate = self._last.taken_per_second if self._last else 0.0
        return max(self.floor, int(rate * self.seconds))

    async def wait(self, beat: Callable[[], None] = lambda: None) -> None:
        if self.seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        began = loop.time()
        while True:
            async with self._lock:  # one reading and one decision at a time
                if loop.time() - self._read_at >= self.look_every:
                    await self._read()
                if self._last is None or self._last.tasks + self._since < self.allowed():
                    self._since += 1
                    if (held := loop.time() - began) >= self.look_every:
                        log.info("start held for the backlog", held_seconds=round(held, 1), backlog=self._last)
                    return
            beat()
            await asyncio.sleep(self.look_every)

    async def _read(self) -> None:
        try:
            now = await workflow_backlog(self.client, self.task_queue)
        except RPCError as e:
            if e.status != RPCStatusCode.UNIMPLEMENTED:
                raise
            # A server without task-queue statistics (the SDK's time-skipping test server): no gate.
            log.warning("no task queue statistics from this server: starts are not held", task_queue=self.task_queue)
            self.seconds = 0
            return
        at = asyncio.get_running_loop().time()
        # A different figure is a new computation, and so is the same one read after the server's
        # period (an empty queue stays at 0): either counts the starts made before it.
        if now != self._last or at - self._new_at >= RECOMPUTED_WITHIN:
            self._last, self._since, self._new_at = now, 0, at
        self._read_at = at
