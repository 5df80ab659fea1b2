"""ArchiveWorkflow: the closed workflows' histories archived before the server's retention deletes
them (activities/archive.py). A daily Temporal Schedule starts it (worker.py, ARCHIVE_HOUR); a run
still going makes the next skip. It lists the closed runs not archived yet and archives each, a
few at a time, batch after batch; after MAX_BATCHES it continues as new, so a backlog (a whole
edition closing) drains without one history growing large."""

import asyncio

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities, ClosedRun
    from workflows.run_activity import run_activity

ARCHIVE_WORKFLOW_ID = "moazara-archive"
BATCH = 50
AT_ONCE = 5  # archives in flight together: a history fetched, sealed and stored each
MAX_BATCHES = 20


class ArchiveRun(BaseModel):
    started_by: str = "schedule"
    archived_before: int = 0  # by the runs this one continues
    # These closed runs only, listed by the starter instead of visibility (ops archiving chosen runs
    # at once; the golden history, on the time-skipping server, which lists no workflows).
    runs: list[ClosedRun] | None = None


@workflow.defn
class ArchiveWorkflow:
    @workflow.run
    async def run(self, inp: ArchiveRun) -> int:
        """How many runs were archived, counting those of the runs it continues."""
        archived = inp.archived_before
        if inp.runs is not None:
            return archived + await self._archive(inp.runs)
        for _ in range(MAX_BATCHES):
            runs: list[ClosedRun] = await run_activity(ArchiveActivities.closed_unarchived, BATCH)
            archived += await self._archive(runs)
            if len(runs) < BATCH:
                return archived
        workflow.continue_as_new(ArchiveRun(started_by=inp.started_by, archived_before=archived))

    async def _archive(self, runs: list[ClosedRun]) -> int:
        for i in range(0, len(runs), AT_ONCE):
            await asyncio.gather(*(run_activity(ArchiveActivities.archive_history, r) for r in runs[i : i + AT_ONCE]))
        return len(runs)
