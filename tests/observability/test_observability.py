"""What an operator watches on a worker, read from a real `python worker.py` process: its liveness
and readiness endpoints, and the Prometheus endpoint with the SDK's metrics and the service's own
counters (applications by stage, payment orders and payments, refusals).

One dev server and one worker for the module (SQLite domain database); the refusal test starts a
second worker that cannot reach Temporal.
"""

import asyncio
import json
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.edition import edition_4_settings
from domain.models import (
    ApplicationInput,
    BankDetailsApproved,
    BankDetailsFixed,
    CommitteeDecision,
    Decision,
    PaymentResult,
    Stage,
    Withdrawal,
)
from domain.reference import MINISTRY
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.driver import reach, signature
from simulation.factories import make_review, make_submission, valid_rib
from simulation.processes import (
    ROOT,
    client_settings,
    codec_settings,
    free_port,
    parse_metrics,
    start_worker,
    total,
)
from simulation.waiting import until
from workflows.application import ApplicationWorkflow


@pytest_asyncio.fixture(scope="module")
async def observed(tmp_path_factory):
    """A dev server, one worker process on a SQLite file; yields (client, worker, env)."""
    tmp = tmp_path_factory.mktemp("observability")
    env = {
        **codec_settings(),
        "TASK_QUEUE": f"obs-{uuid.uuid4().hex[:8]}",
        "DATABASE_URL": f"sqlite:///{tmp / 'moazara.db'}",
    }
    server = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(client_settings(env))
    )
    env["TEMPORAL_ADDRESS"] = server.client.service_client.config.target_host
    worker = start_worker("worker", env, tmp)
    try:
        yield server.client, worker, env
    finally:
        worker.stop()
        await server.shutdown()


async def start(client, task_queue: str, regno: str, **kw) -> WorkflowHandle:
    sub = make_submission(regno, **kw)
    return await client.start_workflow(
        ApplicationWorkflow.run,
        ApplicationInput(settings=edition_4_settings(), submission=sub, submitted_by="officer-test"),
        id=sub.application_id,
        task_queue=task_queue,
    )


async def test_worker_is_alive_and_ready_once_connected(observed):
    _, worker, _ = observed
    status, body = await worker.wait_answering("/healthz")
    assert (status, body) == (200, {"alive": True})
    ready = await worker.wait_ready()
    assert ready == {"ready": True, "checks": {"database": "ok", "temporal": "ok", "worker": "ok"}}
    status, _ = await worker.aget("/metricz")
    assert status == 404

    # The probe the container health checks run.
    probe = subprocess.run(
        [sys.executable, "-m", "observability.probe", f"http://127.0.0.1:{worker.health_port}/readyz"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.returncode == 0, probe.stderr
    status, _, body = probe.stdout.partition(" ")
    assert status == "200" and json.loads(body)["ready"] is True


async def test_worker_that_cannot_reach_temporal_is_alive_but_not_ready(observed, tmp_path):
    _, _, env = observed
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    lonely = start_worker("lonely", {**env, "TEMPORAL_ADDRESS": closed}, tmp_path)
    try:
        status, body = await lonely.wait_answering("/healthz")
        assert (status, body) == (200, {"alive": True})
        # until the first connection attempt has failed
        status, body = await until(
            lambda: lonely.wait_answering("/readyz"), lambda a: "waiting" in a[1]["checks"]["temporal"], "not ready"
        )
        assert status == 503 and body["ready"] is False
        assert body["checks"]["database"] == "ok"  # migrated, and answering
        assert "waiting" in body["checks"]["temporal"] and "onnect" in body["checks"]["temporal"]
        assert body["checks"]["worker"] == "not started"

        probe = subprocess.run(
            [sys.executable, "-m", "observability.probe", f"http://127.0.0.1:{lonely.health_port}/readyz"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert probe.returncode == 1 and "503" in probe.stderr
    finally:
        code = lonely.stop()
    assert code == 0, lonely.log_tail()  # SIGTERM while waiting for Temporal: a clean stop
    assert any(line.get("event") == "not ready, retrying" for line in lonely.log_lines())


APPLICATION = "ApplicationWorkflow"


async def test_metrics_show_sdk_metrics_and_service_counters(observed):
    client, worker, env = observed
    await worker.wait_ready()
    queue = env["TASK_QUEUE"]
    tag = uuid.uuid4().hex[:6].upper()

    # One application to its first payment, through a rejected order …
    paid = await start(client, queue, f"ASSO-PAID-{tag}")
    await reach(paid, Stage.REVIEW)
    for r in ("r1", "r2"):
        await paid.execute_update(ApplicationWorkflow.submit_review, make_review(r, 7))
    await reach(paid, Stage.COMMITTEE)
    award = Decimal("40000.00")
    await paid.execute_update(
        ApplicationWorkflow.decide,
        CommitteeDecision(decision=Decision.SELECTED, award=award, funders={MINISTRY: award}, decided_by="committee"),
    )
    issued = await reach(paid, Stage.AGREEMENT)
    await paid.execute_update(ApplicationWorkflow.sign_agreement, signature(issued, valid_rib(7), signed_by="officer"))
    s = await reach(paid, Stage.DISBURSEMENT)
    [order] = s.orders
    # The payment system rejects the order (account closed); ops fix the details; the retry is paid.
    await paid.execute_update(
        ApplicationWorkflow.payment_result,
        PaymentResult(order_key=order.key, attempt=1, executed=False, reason="account closed"),
    )
    await paid.execute_update(
        ApplicationWorkflow.fix_bank_details, BankDetailsFixed(bank_account=valid_rib(8), fixed_by="finance-karim")
    )
    await paid.execute_update(
        ApplicationWorkflow.approve_bank_details, BankDetailsApproved(approved_by="finance-salma")
    )
    await paid.execute_update(
        ApplicationWorkflow.payment_result,
        PaymentResult(order_key=order.key, attempt=2, executed=True, reference="PAY-1"),
    )
    await reach(paid, Stage.MONITORING)

    # … one whose reviewer has a conflict of interest (refused), then withdrawn (workflow completed).
    refused = await start(client, queue, f"ASSO-REF-{tag}")
    await reach(refused, Stage.REVIEW)
    with pytest.raises(WorkflowUpdateFailedError):
        await refused.execute_update(
            ApplicationWorkflow.submit_review, make_review("r-conflict", 7, organisation=f"ASSO-REF-{tag}")
        )
    await refused.execute_update(ApplicationWorkflow.withdraw, Withdrawal(requested_by="applicant", reason="moved"))
    await refused.result()

    async def metrics() -> list:
        return parse_metrics(await worker.metrics())

    # the SDK records a completed workflow as the server confirms it
    samples = await until(
        metrics,
        lambda m: total(m, "temporal_workflow_completed", task_queue=queue, workflow_type=APPLICATION) >= 1,
        "a completed workflow counted",
        seconds=10,
    )

    # The SDK runtime's metrics, labelled with our task queue.
    # (the worker's own schedules complete OutboxWorkflow runs on this queue too: not counted here)
    assert total(samples, "temporal_workflow_completed", task_queue=queue, workflow_type=APPLICATION) == 1
    assert total(samples, "temporal_activity_execution_latency_count", task_queue=queue) > 10
    assert total(samples, "temporal_workflow_task_execution_latency_count", task_queue=queue) > 0
    assert any(s.name == "temporal_worker_task_slots_available" for s in samples)
    # The autoscaler's signal, read from the server at the worker's start: its queue's backlog.
    assert any(s.name == "moazara_task_queue_backlog" and s.labels.get("task_queue") == queue for s in samples)

    # The service's counters.
    entered = lambda stage: total(samples, "moazara_applications_stage_entered", task_queue=queue, stage=stage)  # noqa: E731
    assert entered("submitted") == 2 and entered("review") == 2
    assert entered("committee") == 1 and entered("monitoring") == 1 and entered("withdrawn") == 1
    assert total(samples, "moazara_payment_orders", task_queue=queue, funder=MINISTRY, tranche="1") == 1
    assert total(samples, "moazara_payments_rejected", task_queue=queue, funder=MINISTRY) == 1
    assert total(samples, "moazara_payments", task_queue=queue, funder=MINISTRY) == 1
    assert total(samples, "moazara_refusals", task_queue=queue, where="update_validator", what="submit_review") == 1


async def test_a_second_worker_on_taken_ports_works_without_its_endpoints(observed, tmp_path):
    _, first, env = observed
    await first.wait_ready()
    twin = start_worker(
        "twin", {**env, "METRICS_PORT": str(first.metrics_port), "HEALTH_PORT": str(first.health_port)}, tmp_path
    )
    try:
        events: list[str] = []
        for _ in range(300):  # until it polls its task queue, or dies
            twin.assert_running()
            events = [line.get("event", "") for line in twin.log_lines()]
            if "worker started" in events:
                break
            await asyncio.sleep(0.1)
        assert "worker started" in events, twin.log_tail()
        assert "metrics endpoint not started: this worker runs without metrics" in events
        assert "health endpoints not started: this worker runs without them" in events
        # The first worker's endpoints are still its own.
        assert (await first.aget("/readyz"))[0] == 200
        assert "temporal_" in await first.metrics()
    finally:
        assert twin.stop() == 0, twin.log_tail()


def test_escalations_are_counted_once_by_what_they_are_about():
    from observability.counters import ESCALATIONS, _activity_counts

    def counted(key: str, kind: str = "escalation", new: bool = True):
        args = {"application_id": "moazara-4-A", "key": key, "kind": kind, "message": "…"}
        return _activity_counts("send_notice", args, new)

    # The notice keys the application workflow writes for each escalation.
    assert counted("payment-unsent-1") == [(ESCALATIONS, {"about": "payment"})]
    assert counted("review-escalation") == [(ESCALATIONS, {"about": "review"})]
    assert counted("committee-escalation") == [(ESCALATIONS, {"about": "committee"})]
    assert counted("cofunding-timeout-02") == [(ESCALATIONS, {"about": "cofunding"})]
    assert counted("report-2-escalation") == [(ESCALATIONS, {"about": "report"})]
    # A reminder is not an escalation; the same escalation written again (a retry) is not new.
    assert counted("review-reminder", kind="reminder") == []
    assert counted("payment-unsent-1", new=False) == []
