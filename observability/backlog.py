"""The workers' autoscaling signal: the workflow tasks waiting in a worker's task queue, read from
Temporal (infra/backlog.py) every few seconds and published on the worker's /metrics as

| gauge | attributes | what |
|---|---|---|
| `moazara_task_queue_backlog` | `task_queue` | workflow tasks waiting for a worker (approximate, the server's) |
| `moazara_task_queue_backlog_age_seconds` | `task_queue` | how long the oldest of them has waited |

Work waiting, not CPU: a worker blocked on the database shows little CPU while tasks pile up,
and a busy one is not a reason to add workers if nothing waits. Every worker of a queue publishes
the same figures: the HPA (deploy/k8s/worker-hpa.yaml) takes their maximum, per pod.
"""

import asyncio

import structlog
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.service import RPCError

from infra.backlog import workflow_backlog

log = structlog.get_logger("moazara.backlog")

BACKLOG = "moazara_task_queue_backlog"
BACKLOG_AGE = "moazara_task_queue_backlog_age_seconds"
EVERY = 15.0  # seconds between two readings (the server recomputes its own every few seconds)


async def publish_backlog(client: Client, task_queue: str, meter: MetricMeter, every: float = EVERY) -> None:
    """Until cancelled: read the backlog of `task_queue` and set the two gauges. A failed reading
    (Temporal unreachable for a while) leaves the last figures and is tried again."""
    tasks = meter.create_gauge(BACKLOG, "workflow tasks waiting for a worker in the task queue")
    age = meter.create_gauge_float(BACKLOG_AGE, "seconds the oldest waiting workflow task has waited", "s")
    attributes = {"task_queue": task_queue}
    while True:
        try:
            now = await workflow_backlog(client, task_queue)
        except RPCError as e:
            log.warning("backlog not read", task_queue=task_queue, error=str(e))
        else:
            if now is None:
                log.warning("no task queue statistics from this server: no backlog gauges", task_queue=task_queue)
                return
            tasks.set(now.tasks, attributes)
            age.set(now.oldest_seconds, attributes)
        await asyncio.sleep(every)
