"""The worker is killed (SIGKILL) while a payment activity is in flight, or while a batch of
submissions is being started; a new worker finishes.

Real parts: a Temporal dev server, `python worker.py` processes (the first with a test-only hold
injected into `create_payment_order`, tests/fault_injection.py, so that the kill lands after the
order was stored and sent to the payment system but before Temporal heard of it), a SQLite domain
database, and an HTTP payment system on loopback. What an operator and an auditor check:
- the application reaches monitoring with the first tranche paid, on the new worker;
- the history shows the payment activity's first attempt lost with the dead worker and retried
  on the new one;
- one payment order in the database, one distinct order key taken by the payment system (the
  retry's second request under the same idempotency key was answered as a repeat);
- the payment system's confirmation delivered twice (same update id, then a new one) pays once;
- the database reconciles with the history.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from audit import histories, reconcile
from domain.db.repository import Repository
from domain.db.session import make_engine
from domain.edition import edition_4_settings
from domain.edition_messages import EditionInput, SubmissionBatch, edition_workflow_id
from domain.models import ApplicationInput, CommitteeDecision, Decision, PaymentResult, Stage
from domain.reference import MINISTRY
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.driver import signature
from simulation.factories import make_review, make_submission, settings_with, valid_rib
from simulation.payment_system import FakePaymentSystem
from simulation.processes import client_settings, codec_settings, start_worker
from simulation.waiting import until
from tests.faults.test_workers import reach, status_of, update
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow

AWARD, FIRST_TRANCHE = Decimal("40000.00"), Decimal("24000.00")


@pytest_asyncio.fixture
async def stack(tmp_path):
    with FakePaymentSystem() as payment_system:
        env = {
            **codec_settings(),
            "TASK_QUEUE": f"kill-{uuid.uuid4().hex[:8]}",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'moazara.db'}",
            "PAYMENT_SYSTEM_URL": payment_system.url,
        }
        server = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(client_settings(env))
        )
        env["TEMPORAL_ADDRESS"] = server.client.service_client.config.target_host
        workers = []
        try:
            yield server.client, env, payment_system, workers
        finally:
            for w in workers:
                w.stop()
            await server.shutdown()


async def holding_worker(activity: str, env: dict, workers: list, tmp_path):
    """Worker A, with a test-only hold after `activity`'s body (tests/fault_injection.py); and the
    file it writes when the hold starts."""
    marker = tmp_path / f"held-{activity}"
    a = start_worker(
        "worker-a",
        {**env, "FAULT_HOLD_ACTIVITY": activity, "FAULT_HOLD_SECONDS": "300", "FAULT_MARKER": str(marker)},
        tmp_path,
        ("-m", "tests.fault_injection"),
    )
    workers.append(a)
    await a.wait_ready()
    return a, marker


async def held(marker) -> None:
    await until(lambda: asyncio.to_thread(marker.exists), bool, "the worker held in the activity", 30, every=0.1)


async def test_worker_killed_inside_the_payment_activity_pays_the_tranche_once(stack, tmp_path):
    async with asyncio.timeout(180):  # a guard against a hang, not a measure
        await kill_inside_the_payment_activity(stack, tmp_path)


async def kill_inside_the_payment_activity(stack, tmp_path) -> None:
    client, env, payment_system, workers = stack
    a, marker = await holding_worker("create_payment_order", env, workers, tmp_path)
    sub = make_submission(f"KILL-{uuid.uuid4().hex[:6].upper()}")
    h: WorkflowHandle = await client.start_workflow(
        ApplicationWorkflow.run,
        ApplicationInput(settings=edition_4_settings(), submission=sub, submitted_by="ops"),
        id=sub.application_id,
        task_queue=env["TASK_QUEUE"],
    )
    key = f"{h.id}:T1:{MINISTRY}"
    await reach(h, Stage.REVIEW)
    for r in ("r1", "r2"):
        await update(h, f"review-{r}", ApplicationWorkflow.submit_review, make_review(r, 8))
    await reach(h, Stage.COMMITTEE)
    await update(
        h,
        "decide",
        ApplicationWorkflow.decide,
        CommitteeDecision(decision=Decision.SELECTED, award=AWARD, funders={MINISTRY: AWARD}, decided_by="committee"),
    )
    issued = await reach(h, Stage.AGREEMENT)
    await update(h, "sign", ApplicationWorkflow.sign_agreement, signature(issued, valid_rib(5), signed_by="officer"))

    # The payment activity has run its body (order stored, payment system called) and is held.
    await held(marker)
    assert marker.read_text().startswith(f"{h.id} attempt 1"), a.log_tail()
    assert payment_system.taken() == [f"{key}#1"]
    a.kill()
    assert a.proc.returncode == -9

    b = start_worker("worker-b", env, tmp_path)
    workers.append(b)
    await b.wait_ready()
    # B takes over once the lost attempt's start-to-close (30 s) has passed.
    s = await reach(h, Stage.DISBURSEMENT, seconds=80)
    assert s.waiting_for.startswith("payment system") and [o.key for o in s.orders] == [key]

    # The payment system saw the order twice under one idempotency key, and took it once.
    assert [(r.key, r.answered) for r in payment_system.received] == [(f"{key}#1", 201), (f"{key}#1", 409)]
    assert payment_system.taken() == [f"{key}#1"]

    # Its confirmation arrives twice under the same update id (a retried request), then again
    # under another: one payment, the same answer, then a clear refusal.
    result = PaymentResult(order_key=key, attempt=1, executed=True, reference="VIR-1")
    first = await h.execute_update(ApplicationWorkflow.payment_result, result, id=f"{h.id}-pay")
    again = await h.execute_update(ApplicationWorkflow.payment_result, result, id=f"{h.id}-pay")
    assert first == again and "24000.00 MAD" in first.message
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(ApplicationWorkflow.payment_result, result, id=f"{h.id}-pay-again")
    assert "not awaiting a result" in str(e.value.cause)
    s = await reach(h, Stage.MONITORING)
    assert s.paid_total == FIRST_TRANCHE and s.paid == {MINISTRY: FIRST_TRANCHE}

    # The history: attempt 1 lost with worker A, attempt 2 completed by worker B.
    started = [
        e.activity_task_started_event_attributes
        async for e in h.fetch_history_events()
        if e.HasField("activity_task_started_event_attributes")
    ]
    payment = [st for st in started if st.attempt == 2]
    assert len(payment) == 1 and payment[0].identity == b.identity

    # The database: one order, one payment, reconciled with the history.
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            count = lambda sql: conn.execute(text(sql), {"id": h.id}).scalar()  # noqa: E731
            assert count("SELECT count(*) FROM payment_orders WHERE application_id = :id") == 1
            assert count("SELECT count(*) FROM ledger WHERE application_id = :id AND kind = 'payment'") == 1
        repo = Repository(engine)
        checked = await reconcile.reconcile(repo, 4, {h.id: await histories.fetch(client, h.id)}, client.data_converter)
        assert checked.mismatches == [] and checked.paid_db == {MINISTRY: FIRST_TRANCHE}
    finally:
        engine.dispose()
    assert (await status_of(h)).stage == Stage.MONITORING
    assert b.stop() == 0, b.log_tail()


async def test_worker_killed_inside_a_batch_of_submissions_starts_each_application_once(stack, tmp_path):
    """A bulk import's batch: the worker dies after starting every application of the batch, before
    Temporal heard of it. The retry on a new worker finds them started by its own earlier attempt
    (their memo says so): every submission is answered as accepted, none as a duplicate, and the
    edition counts each once."""
    async with asyncio.timeout(180):  # a guard against a hang, not a measure
        await kill_inside_a_batch(stack, tmp_path)


async def kill_inside_a_batch(stack, tmp_path) -> None:
    client, env, _, workers = stack
    a, marker = await holding_worker("start_applications", env, workers, tmp_path)
    today = datetime.now(UTC).date()
    number = 50 + uuid.uuid4().int % 40
    settings = settings_with(
        edition=number, call_opens=today - timedelta(days=1), call_closes=today + timedelta(days=20)
    )
    edition = await client.start_workflow(
        EditionWorkflow.run,
        EditionInput(settings=settings, opened_by="officer"),
        id=edition_workflow_id(number),
        task_queue=env["TASK_QUEUE"],
    )
    subs = [make_submission(f"BATCH-{i:02d}", edition=number) for i in range(10)]
    pending = await edition.start_update(
        EditionWorkflow.submit_batch,
        SubmissionBatch(submissions=subs),
        id="import-1",
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )

    # Every application of the batch is started; the activity is held before it reports.
    await held(marker)
    assert marker.read_text().startswith(f"{edition.id} attempt 1"), a.log_tail()
    for sub in subs:
        assert (await client.get_workflow_handle(sub.application_id).describe()).status is not None
    a.kill()

    b = start_worker("worker-b", env, tmp_path)
    workers.append(b)
    await b.wait_ready()
    # B retries the batch once the lost attempt stops heartbeating (30 s).
    answer = await pending.result()
    assert [(x.application_id, x.accepted) for x in answer.answers] == [(s.application_id, True) for s in subs]
    status = await edition.query(EditionWorkflow.get_status)
    assert (status.submissions, status.duplicates) == (10, 0)
    recognised = [
        line for line in b.log_lines() if line.get("event") == "started by an earlier attempt of this activity"
    ]
    assert sorted(line["application_id"] for line in recognised) == sorted(s.application_id for s in subs)
    # The history: the batch's first attempt lost with worker A, its second completed by worker B.
    started = [
        e.activity_task_started_event_attributes
        async for e in edition.fetch_history_events()
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert [(st.attempt, st.identity) for st in started if st.attempt > 1] == [(2, b.identity)]
    # A second import of the same applicants is answered with duplicates, one each.
    again = await edition.execute_update(EditionWorkflow.submit_batch, SubmissionBatch(submissions=subs[:3]))
    assert [x.accepted for x in again.answers] == [False] * 3
    assert "already has an application" in again.answers[0].message
    await edition.terminate("test over")
