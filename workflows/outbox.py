"""OutboxWorkflow: send the messages the outbox holds (domain/db/outbox.py); DigestWorkflow: the
officers' daily digest, written to the outbox. Temporal Schedules start them (worker.py), the
outbox every `outbox_interval_seconds`, the digest daily; a run still going makes the next skip.
An outbox run sends batches until none is left, so a backlog drains in one run."""

from datetime import datetime

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.outbound import OutboundActivities, Sent
    from workflows.run_activity import run_activity

OUTBOX_WORKFLOW_ID = "moazara-outbox"
MAX_BATCHES = 50  # then the next scheduled run goes on: a run's history stays small


class DigestRun(BaseModel):
    started_by: str = "schedule"
    until: datetime | None = None  # the digest of the 24 hours before this; none: before now


@workflow.defn
class DigestWorkflow:
    """The officers' daily digest of escalations (a Schedule at DIGEST_HOUR, programme time): written
    to the outbox, which the next OutboxWorkflow run sends, once per day and recipient."""

    @workflow.run
    async def run(self, inp: DigestRun) -> int:
        listed: int = await run_activity(OutboundActivities.compile_digest, inp.until or workflow.now())
        return listed


class OutboxRun(BaseModel):
    started_by: str = "schedule"


@workflow.defn
class OutboxWorkflow:
    @workflow.run
    async def run(self, inp: OutboxRun) -> Sent:
        total = Sent()
        for _ in range(MAX_BATCHES):
            batch: Sent = await run_activity(OutboundActivities.send_due_messages)
            total.sent += batch.sent
            total.retrying += batch.retrying
            total.dead += batch.dead
            if not batch.more:
                break
        total.more = False
        return total
