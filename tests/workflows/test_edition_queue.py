"""Editions on a task queue of their own (EDITION_TASK_QUEUE, `worker.py --editions`): the edition
and its activities run there, the applications it starts run on the applications' queue."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.worker import Worker

from domain.edition_messages import EditionInput, SubmissionBatch, edition_workflow_id
from domain.models import Stage
from infra.settings import Settings
from simulation.driver import Driver
from simulation.factories import make_submission, settings_with
from worker import WORKFLOWS, activities_for
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow


async def test_an_edition_on_its_own_queue_starts_its_applications_on_the_applications_queue(
    ts_env, sqlite_repo, executor
):
    apps, eds = f"apps-{uuid.uuid4().hex[:8]}", f"eds-{uuid.uuid4().hex[:8]}"
    settings = Settings(task_queue=apps, edition_task_queue=eds)
    assert settings.editions_queue == eds and Settings(task_queue=apps).editions_queue == apps
    now = await ts_env.get_current_time()
    edition = settings_with(edition=71, call_opens=now.date(), call_closes=now.date() + timedelta(days=20))
    workers = [
        Worker(
            ts_env.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=activities_for(ts_env.client, sqlite_repo, settings=settings),
            activity_executor=executor,
        )
        for queue in (apps, eds)
    ]
    async with workers[0], workers[1]:
        d = Driver(ts_env, apps, edition)
        h = await ts_env.client.start_workflow(
            EditionWorkflow.run,
            EditionInput(settings=edition, opened_by="officer-test"),
            id=edition_workflow_id(71),
            task_queue=settings.editions_queue,
        )
        d.handles.append(h)
        subs = [make_submission(f"Q-{i}", edition=71) for i in range(3)]
        answer = await h.execute_update(EditionWorkflow.submit_batch, SubmissionBatch(submissions=subs))
        assert [a.accepted for a in answer.answers] == [True, True, True]
        for sub in subs:
            app = ts_env.client.get_workflow_handle_for(ApplicationWorkflow.run, sub.application_id)
            d.handles.append(app)
            assert (await d.reach(app, Stage.REVIEW)).stage == Stage.REVIEW
            assert (await app.describe()).task_queue == apps
        assert (await h.describe()).task_queue == eds
        # The batch's starting activity ran on the editions' queue, with its workflow.
        queues = {
            e.activity_task_scheduled_event_attributes.activity_type.name: e.activity_task_scheduled_event_attributes.task_queue.name
            async for e in h.fetch_history_events()
            if e.HasField("activity_task_scheduled_event_attributes")
        }
        assert queues["start_applications"] == eds
        assert {r["id"] for r in sqlite_repo.list_applications(edition=71)} == {s.application_id for s in subs}
        await d.cleanup()


def test_a_worker_for_editions_needs_their_queue_named():
    env = {k: v for k, v in os.environ.items() if k != "EDITION_TASK_QUEUE"}
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "worker.py", "--editions"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    assert "set EDITION_TASK_QUEUE" in run.stderr
