"""Archiving closed workflows' histories before the Temporal server's retention deletes them
(the compose file keeps 30 days; auditors need years): ArchiveWorkflow (workflows/archive.py, on a
daily Schedule) lists the closed runs not yet archived and archives each here.

One run's archive: its history exported as `python -m audit export` writes it (the SDK's JSON of
`temporal workflow show --output json`, keys sorted), sealed with the archive key (infra/archive_seal.py: the
payloads were already encrypted by the codec, the file as a whole is too), kept in the document
store under its SHA-256 (documents/store.py: a directory, or the bucket), then recorded in the
domain database (domain/db/archive_tables.py): workflow id, run id, close time, SHA-256, event
count, the store's key. Idempotent, keyed on (workflow id, run id): a run recorded is not archived
again, and a retry after the store took it but before the row was written seals the same bytes
again (the nonce comes from the content), so it finds the same object under the same hash.
"""

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus

from activities.group import ActivityGroup
from documents.store import DocumentStore
from domain.db import archive_tables
from domain.db.archive_tables import Archived
from workflows.names import APPLICATION_WORKFLOW, EDITION_WORKFLOW

# The histories auditors read: the applications' and the editions' (the outbox's and the digest's
# runs hold no decision, and the outbox runs every few seconds).
ARCHIVED_TYPES = (APPLICATION_WORKFLOW, EDITION_WORKFLOW)
CLOSED = f"ExecutionStatus != 'Running' AND WorkflowType IN ({', '.join(repr(t) for t in ARCHIVED_TYPES)})"


class ClosedRun(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    closed_at: datetime


class ArchivedRun(BaseModel):
    workflow_id: str
    run_id: str
    sha256: str
    events: int
    store_key: str


def archive_name(workflow_id: str, run_id: str) -> str:
    """The archive's file name in the store (after its SHA-256): a file name whatever the id holds."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in workflow_id)[:120]
    return f"history-{safe}-{run_id}.json.sealed"


# (history JSON, workflow id, run id) -> the sealed archive: infra/archive_seal.seal under the
# settings' archive key, passed in by the worker.
Seal = Callable[[str, str, str], bytes]


def exported(history_json: str) -> str:
    """The JSON document `audit export` writes (audit/histories.save), its keys in sorted order: the
    SDK writes a payload's metadata map in any order, and the same history must always make the
    same archive."""
    return json.dumps(json.loads(history_json), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class ArchiveActivities(ActivityGroup):
    def __init__(self, client: Client, engine: Engine, store: DocumentStore, seal: Seal) -> None:
        self.client, self.engine, self.store, self.seal = client, engine, store, seal

    @activity.defn
    async def closed_unarchived(self, limit: int) -> list[ClosedRun]:
        """Up to `limit` closed runs (visibility) of the archived types that the database does not
        list as archived yet, those that closed first first."""
        closed = [
            ClosedRun(
                workflow_id=w.id,
                run_id=w.run_id,
                workflow_type=w.workflow_type,
                closed_at=w.close_time or datetime.now(UTC),
            )
            async for w in self.client.list_workflows(CLOSED)
            if w.status not in (None, WorkflowExecutionStatus.RUNNING)
        ]
        done = await asyncio.to_thread(
            archive_tables.archived_runs, self.engine, [(c.workflow_id, c.run_id) for c in closed]
        )
        left = sorted((c for c in closed if (c.workflow_id, c.run_id) not in done), key=lambda c: c.closed_at)
        return left[:limit]

    @activity.defn
    async def archive_history(self, run: ClosedRun) -> ArchivedRun:
        """Archive one closed run (once: a run already archived answers its archive)."""
        found = await asyncio.to_thread(archive_tables.get, self.engine, run.workflow_id, run.run_id)
        if found is None:
            history = await self.client.get_workflow_handle(run.workflow_id, run_id=run.run_id).fetch_history()
            sealed = self.seal(exported(history.to_json()), run.workflow_id, run.run_id)
            sha, where = await asyncio.to_thread(self.store.put, sealed, archive_name(run.workflow_id, run.run_id))
            found = await asyncio.to_thread(
                archive_tables.record,
                self.engine,
                Archived(
                    run.workflow_id,
                    run.run_id,
                    run.workflow_type,
                    run.closed_at,
                    sha,
                    len(history.events),
                    where,
                    datetime.now(UTC),
                ),
            )
        return ArchivedRun(
            workflow_id=found.workflow_id,
            run_id=found.run_id,
            sha256=found.sha256,
            events=found.events,
            store_key=found.store_key,
        )
