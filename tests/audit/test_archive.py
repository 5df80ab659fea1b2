"""Histories outlive the server's retention (issue 15, documents item 3), on a real Temporal dev
server (with visibility and schedules): application workflows run to completion; the worker's
daily archive Schedule, triggered, runs ArchiveWorkflow, which archives each closed run once
(exported as `audit export` writes it, sealed with the archive key, kept in the document store
under its SHA-256, recorded in the domain database); a second run archives nothing. The store is
production's, an S3 bucket, on a real S3 API server on loopback (moto's `ThreadedMotoServer`,
tests/s3_server.py). Then the server is gone with every history, and the auditor's replay,
timeline and reconcile work from the archive alone; an archive altered in the bucket is refused
naming the hash mismatch."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
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
from tests.s3_server import s3_env, s3_server
from worker import ARCHIVE_SCHEDULE_ID, build_worker, ensure_schedules
from workflows.archive import ArchiveRun, ArchiveWorkflow

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE_KEY = new_key()


def rows(engine) -> list[ArchivedHistoryRow]:
    with Session(engine) as s:
        return list(s.scalars(select(ArchivedHistoryRow).order_by(ArchivedHistoryRow.workflow_id)))


@pytest.fixture(scope="module")
def s3():
    with s3_server() as (settings, client):
        yield settings, client


async def test_histories_archived_by_the_schedule_are_read_back_after_the_server_is_gone(s3, tmp_path, executor):
    bucket, s3_client = s3
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter()
    )
    db = tmp_path / "moazara.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    settings = Settings(
        task_queue=f"archive-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{db}",
        documents_dir=str(tmp_path / "no-dir"),  # the bucket is the store: nothing kept here
        documents_s3_bucket=bucket.documents_s3_bucket,
        documents_s3_endpoint_url=bucket.documents_s3_endpoint_url,
        documents_s3_region=bucket.documents_s3_region,
        documents_s3_prefix=bucket.documents_s3_prefix,
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
            schedule = env.client.get_schedule_handle(ARCHIVE_SCHEDULE_ID)
            started = await until(
                schedule.describe, lambda d: d.info.recent_actions, "the schedule's run started", seconds=60
            )
            run = started.info.recent_actions[-1].action
            # The whole scheduled run, not only the scenarios: it may archive other closed runs too
            # (the outbox's), and the run below must not race it.
            await env.client.get_workflow_handle(run.workflow_id, run_id=run.first_execution_run_id).result()
            found = rows(engine)
            assert {x.workflow_id for x in found} >= set(ids), "the scenarios' histories archived by the schedule"
            again = await env.client.execute_workflow(
                ArchiveWorkflow.run, ArchiveRun(started_by="test"), id=f"archive-again-{uuid.uuid4().hex[:6]}",
                task_queue=settings.task_queue,
            )  # fmt: skip
            assert again == 0 and len(rows(engine)) == len(found)  # each run archived once
        for schedule in ("moazara-outbox-schedule", "moazara-digest-schedule", ARCHIVE_SCHEDULE_ID):
            await env.client.get_schedule_handle(schedule).delete()

        assert not (tmp_path / "no-dir").exists()
        for r in found:
            if r.workflow_id not in ids:
                continue
            key = f"moazara/{r.sha256[:2]}/{r.sha256}"
            assert r.store_key == f"s3://{bucket.documents_s3_bucket}/{key}"
            kept = s3_client.get_object(Bucket=bucket.documents_s3_bucket, Key=key)["Body"].read()
            assert hashlib.sha256(kept).hexdigest() == r.sha256
            assert r.workflow_type == "ApplicationWorkflow" and r.closed_at is not None
            label, text = open_sealed(kept, settings)
            assert (label.workflow_id, label.run_id, label.key_id) == (r.workflow_id, r.run_id, "archive-1")
            assert json.loads(text) == json.loads(exported[r.workflow_id])  # what `audit export` writes
            assert r.events == len(json.loads(text)["events"])
            assert b"rejected" not in kept and b"ApplicationWorkflow" not in kept  # sealed
    finally:
        await env.shutdown()  # the server's histories go with it: only the archive is left

    environ = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # no server there
        "DATABASE_URL": f"sqlite:///{db}",
        **s3_env(bucket),
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
    run = await asyncio.to_thread(audit, "export", "--archive", "--edition", "4", "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert f"2 histories written to {tmp_path / 'out'}" in run.stdout
    for wid in ids:  # the files `audit export` wrote from the server before it was gone
        assert json.loads((tmp_path / "out" / f"{wid}.json").read_text()) == json.loads(exported[wid])

    # The archive edited in the bucket: refused before use, naming the hash it should have.
    [rejected] = [r for r in found if r.workflow_id == handles["rejected"].id]
    key = rejected.store_key.removeprefix(f"s3://{bucket.documents_s3_bucket}/")
    altered = s3_client.get_object(Bucket=bucket.documents_s3_bucket, Key=key)["Body"].read() + b"\n"
    s3_client.put_object(Bucket=bucket.documents_s3_bucket, Key=key, Body=altered)
    for args in (
        ("replay", "--archive", "--id", rejected.workflow_id),
        ("timeline", "--archive", rejected.workflow_id),
    ):
        run = await asyncio.to_thread(audit, *args)
        assert run.returncode == 1 and "SHA-256 mismatch" in run.stderr and f"recorded {rejected.sha256}" in run.stderr
    [other] = [i for i in ids if i != rejected.workflow_id]
    run = await asyncio.to_thread(
        audit, "export", "--archive", rejected.workflow_id, other, "--out", str(tmp_path / "again")
    )
    assert run.returncode == 1 and "1 histories written" in run.stdout and "1 not exported" in run.stdout
    assert f"not exported: {rejected.workflow_id}: " in run.stderr and "SHA-256 mismatch" in run.stderr
    assert [p.name for p in (tmp_path / "again").iterdir()] == [f"{other}.json"]  # nothing of the altered one
    run = await asyncio.to_thread(audit, "replay", "--archive", "--id", "moazara-4-NEVER")
    assert run.returncode == 1 and "not archived: moazara-4-NEVER" in run.stderr
