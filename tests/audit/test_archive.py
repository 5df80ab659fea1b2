"""Histories outlive the server's retention (issue 15, documents item 3), on a real Temporal dev
server (with visibility and schedules): application workflows run to completion; the worker's
daily archive Schedule, triggered, runs ArchiveWorkflow, which archives each closed run once
(exported as `audit export` writes it, sealed with the archive key, kept in the document store
under its SHA-256, recorded in the domain database); a second run archives nothing. Then the
server is gone with every history, and the auditor's replay, timeline and reconcile work from the
archive alone; an archive altered in the store is refused naming the hash mismatch."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment

from codec.keys import new_key
from domain.db.archive_tables import ArchivedHistoryRow
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from infra.archive_seal import open_sealed
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.processes import free_port
from simulation.waiting import until
from tests import golden_histories as golden
from worker import ARCHIVE_SCHEDULE_ID, build_worker, ensure_schedules
from workflows.archive import ArchiveRun, ArchiveWorkflow

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE_KEY = new_key()


def rows(engine) -> list[ArchivedHistoryRow]:
    with Session(engine) as s:
        return list(s.scalars(select(ArchivedHistoryRow).order_by(ArchivedHistoryRow.workflow_id)))


async def test_histories_archived_by_the_schedule_are_read_back_after_the_server_is_gone(tmp_path, executor):
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter()
    )
    db, store = tmp_path / "moazara.db", tmp_path / "documents"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    settings = Settings(
        task_queue=f"archive-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{db}",
        documents_dir=str(store),
        archive_keys={"archive-1": ARCHIVE_KEY},
        smtp_port=free_port(),  # the outbox's schedule runs too: nobody's mail sink gets its messages
        max_concurrent_activities=8,
    )
    try:
        chosen = [s for s in golden.SCENARIOS if s.name in ("ineligible", "rejected")]
        handles = await golden.run_scenarios(env, Repository(engine), chosen, executor)
        ids = sorted(h.id for h in handles.values())
        exported = {wid: (await env.client.get_workflow_handle(wid).fetch_history()).to_json() + "\n" for wid in ids}

        async with build_worker(env.client, Repository(engine), settings, executor):
            await ensure_schedules(env.client, settings)
            await env.client.get_schedule_handle(ARCHIVE_SCHEDULE_ID).trigger()  # as at ARCHIVE_HOUR
            found = await until(
                lambda: asyncio.to_thread(rows, engine),
                lambda r: {x.workflow_id for x in r} >= set(ids),
                "the scenarios' histories archived by the scheduled ArchiveWorkflow",
                seconds=60,
            )
            again = await env.client.execute_workflow(
                ArchiveWorkflow.run, ArchiveRun(started_by="test"), id=f"archive-again-{uuid.uuid4().hex[:6]}",
                task_queue=settings.task_queue,
            )  # fmt: skip
            assert again == 0 and len(rows(engine)) == len(found)  # each run archived once
        for schedule in ("moazara-outbox-schedule", "moazara-digest-schedule", ARCHIVE_SCHEDULE_ID):
            await env.client.get_schedule_handle(schedule).delete()

        for r in found:
            if r.workflow_id not in ids:
                continue
            kept = Path(r.store_key)
            assert kept.is_relative_to(store) and hashlib.sha256(kept.read_bytes()).hexdigest() == r.sha256
            assert r.workflow_type == "ApplicationWorkflow" and r.closed_at is not None
            label, text = open_sealed(kept.read_bytes(), settings)
            assert (label.workflow_id, label.run_id, label.key_id) == (r.workflow_id, r.run_id, "archive-1")
            assert json.loads(text) == json.loads(exported[r.workflow_id])  # what `audit export` writes
            assert r.events == len(json.loads(text)["events"])
            assert b"rejected" not in kept.read_bytes() and b"ApplicationWorkflow" not in kept.read_bytes()  # sealed
    finally:
        await env.shutdown()  # the server's histories go with it: only the archive is left

    environ = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # no server there
        "DATABASE_URL": f"sqlite:///{db}",
        "DOCUMENTS_DIR": str(store),
        "ARCHIVE_KEYS": json.dumps({"archive-1": ARCHIVE_KEY}),
        "COLUMNS": "200",
    }

    def audit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "audit", *args], cwd=ROOT, env=environ, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    run = await asyncio.to_thread(audit, "replay", "--archive", "--edition", "4")
    assert run.returncode == 0, run.stderr
    assert [ln.split()[:2] for ln in run.stdout.splitlines() if ln.startswith("ok")] == [["ok", i] for i in ids]
    assert "total: 2 replayed, 2 ok, 0 non-deterministic, 0 could not replay" in run.stdout
    run = await asyncio.to_thread(audit, "timeline", "--archive", handles["rejected"].id)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].endswith("workflow completed: final stage rejected")
    run = await asyncio.to_thread(audit, "reconcile", "--archive", "--edition", "4")
    assert run.returncode == 0, run.stderr + run.stdout
    assert "2 histories" in run.stdout and "0 mismatch(es)" in run.stdout

    # The archive edited in the store: refused before use, naming the hash it should have.
    [rejected] = [r for r in found if r.workflow_id == handles["rejected"].id]
    Path(rejected.store_key).write_bytes(Path(rejected.store_key).read_bytes() + b"\n")
    for args in (
        ("replay", "--archive", "--id", rejected.workflow_id),
        ("timeline", "--archive", rejected.workflow_id),
    ):
        run = await asyncio.to_thread(audit, *args)
        assert run.returncode == 1 and "SHA-256 mismatch" in run.stderr and f"recorded {rejected.sha256}" in run.stderr
    run = await asyncio.to_thread(audit, "replay", "--archive", "--id", "moazara-4-NEVER")
    assert run.returncode == 1 and "not archived: moazara-4-NEVER" in run.stderr
