"""The domain database becomes unreachable for a while: PostgreSQL stopped as if it crashed, twice.

Real parts: a private PostgreSQL cluster of this test (tests/private_postgres.py: its own port and
data directory, never the machine's shared server), a Temporal dev server, one `python worker.py`.
A batch of applications is driven to completion (6-month projects: reviews, committee, agreement,
two tranches, the report); the database goes down first while reviews arrive, then while payments
are recorded. What an operator and an auditor check:
- while it is down, the activities keep failing and retrying (Temporal shows the pending activity
  with its attempt count and the database error); nothing fails for good;
- once it is back, every workflow completes, paid in full;
- every row exists once (reviews, stage changes, orders, payments, decisions), the audit log's hash
  chains verify, and the database reconciles with the histories.
"""

import asyncio
import uuid
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from audit import histories, reconcile
from audit.verify import verify
from domain.db.repository import Repository
from domain.db.session import make_engine
from domain.edition import edition_4_settings
from domain.models import (
    ApplicationInput,
    ApplicationStatus,
    Indicators,
    PaymentResult,
    ProgressReport,
    ReportReview,
    Stage,
)
from domain.reference import MINISTRY
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.factories import make_review, make_submission
from simulation.processes import client_settings, codec_settings, start_worker
from simulation.waiting import until
from tests.faults.test_workers import reach, to_disbursement, update
from tests.private_postgres import PrivatePostgres, server_bin
from workflows.application import ApplicationWorkflow

N = 8  # applications
AWARD = Decimal("40000.00")
OUTAGE_SECONDS = 6


@pytest.fixture
def postgres():
    if server_bin() is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin")
    pg = PrivatePostgres().init()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest_asyncio.fixture
async def stack(tmp_path, postgres):
    env = {**codec_settings(), "TASK_QUEUE": f"dbfault-{uuid.uuid4().hex[:8]}", "DATABASE_URL": postgres.url}
    server = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(client_settings(env))
    )
    env["TEMPORAL_ADDRESS"] = server.client.service_client.config.target_host
    worker = start_worker("worker", env, tmp_path)
    try:
        await worker.wait_ready()
        yield server.client, env, worker
    finally:
        worker.stop()
        await server.shutdown()


async def retrying_activities(handles: list[WorkflowHandle]) -> list[tuple[int, str]]:
    """(attempt, last failure) of every pending activity past its first attempt: what the Web UI shows."""
    out = []
    for h in handles:
        for p in (await h.describe()).raw_description.pending_activities:
            if p.attempt > 1:
                out.append((p.attempt, p.last_failure.message))
    return out


async def an_outage(postgres: PrivatePostgres, handles: list[WorkflowHandle], work) -> list[tuple[int, str]]:
    """Stop the database, start `work` (inputs whose activities need it), wait until Temporal shows
    activities retrying, keep it down OUTAGE_SECONDS, start it again; `work` then completes."""
    await asyncio.to_thread(postgres.stop)
    task = asyncio.ensure_future(work())
    down_since = asyncio.get_running_loop().time()
    seen = await until(
        lambda: retrying_activities(handles), bool, "activities retrying, the database down", 60, every=0.25
    )
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (asyncio.get_running_loop().time() - down_since)))  # the outage
    assert not task.done() or task.exception() is None, task.exception()
    await asyncio.to_thread(postgres.start)
    await task
    return seen


async def test_database_down_for_a_while_delays_and_never_loses_or_doubles(stack, postgres):
    async with asyncio.timeout(240):  # a guard against a hang, not a measure
        await outages_in_the_middle_of_a_batch(stack, postgres)


async def outages_in_the_middle_of_a_batch(stack, postgres) -> None:
    client, env, worker = stack
    tag = uuid.uuid4().hex[:6].upper()
    # Real time on the dev server: the report is sent at once, so its window covers the whole project.
    settings = edition_4_settings().model_copy(update={"report_window_days": 3650})
    handles = [
        await client.start_workflow(
            ApplicationWorkflow.run,
            ApplicationInput(
                settings=settings, submission=make_submission(f"DB{i:02d}-{tag}", duration_months=6), submitted_by="ops"
            ),
            id=f"moazara-4-DB{i:02d}-{tag}",
            task_queue=env["TASK_QUEUE"],
        )
        for i in range(N)
    ]
    await asyncio.gather(*(reach(h, Stage.REVIEW) for h in handles))

    async def reviews() -> None:
        await asyncio.gather(
            *(
                update(h, f"review-{r}", ApplicationWorkflow.submit_review, make_review(r, 7))
                for h in handles
                for r in ("r1", "r2")
            )
        )

    # First outage: the reviews wait for the database; Temporal retries their activities.
    seen = await an_outage(postgres, handles, reviews)
    assert seen and all(attempt >= 2 for attempt, _ in seen)
    assert any("connection" in failure.lower() for _, failure in seen), seen

    keys = [s.orders[0].key for s in await asyncio.gather(*(to_disbursement(h) for h in handles))]

    async def payments() -> None:
        await asyncio.gather(
            *(
                update(
                    h,
                    "pay-1",
                    ApplicationWorkflow.payment_result,
                    PaymentResult(order_key=k, attempt=1, executed=True, reference=f"VIR-{k[-20:]}"),
                )
                for h, k in zip(handles, keys, strict=False)
            )
        )

    # Second outage: the payment system's confirmations wait for the ledger.
    seen = await an_outage(postgres, handles, payments)
    assert seen and all(attempt >= 2 for attempt, _ in seen)

    async def to_the_end(h: WorkflowHandle) -> ApplicationStatus:
        await reach(h, Stage.MONITORING)
        await update(
            h,
            "report-1",
            ApplicationWorkflow.submit_report,
            ProgressReport(period=1, indicators=Indicators(jobs_created=3, beneficiaries=20, women=10, youth=5)),
        )
        await update(
            h,
            "approve-1",
            ApplicationWorkflow.review_report,
            ReportReview(period=1, approved=True, decided_by="officer"),
        )
        s = await reach(h, Stage.DISBURSEMENT)
        [second] = [o for o in s.orders if o.tranche == 2]
        await update(
            h,
            "pay-2",
            ApplicationWorkflow.payment_result,
            PaymentResult(order_key=second.key, attempt=1, executed=True, reference=f"VIR-{second.key[-20:]}"),
        )
        return await h.result()

    finals = await asyncio.gather(*(to_the_end(h) for h in handles))
    assert [(f.stage, f.paid_total) for f in finals] == [(Stage.COMPLETED, AWARD)] * N
    worker.assert_running()

    # The database: every row once, the audit chains whole, the money as in the histories.
    ids = sorted(h.id for h in handles)
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:

            def per_app(sql: str) -> dict[str, int]:
                return {r[0]: r[1] for r in conn.execute(text(sql + " GROUP BY application_id")) if r[0] in ids}

            assert per_app("SELECT application_id, count(*) FROM reviews") == {i: 2 for i in ids}
            assert per_app("SELECT application_id, count(*) FROM payment_orders") == {i: 2 for i in ids}
            assert per_app("SELECT application_id, count(*) FROM ledger WHERE kind = 'payment'") == {i: 2 for i in ids}
            assert per_app("SELECT application_id, count(*) FROM stage_changes WHERE seq > 0") == {
                f.application_id: len(f.history) for f in finals
            }
            assert per_app("SELECT application_id, count(*) FROM decisions WHERE kind = 'committee'") == {
                i: 1 for i in ids
            }
            stages = dict(conn.execute(text("SELECT application_id, stage FROM applications")).all())
            assert {i: stages[i] for i in ids} == {i: "completed" for i in ids}
        report = verify(engine, edition=4)
        assert report.ok, report.findings
        assert report.applications == N
        checked = await reconcile.reconcile(
            Repository(engine), 4, {h.id: await histories.fetch(client, h.id) for h in handles}, client.data_converter
        )
        assert checked.mismatches == [] and checked.paid_db == {MINISTRY: N * AWARD}
    finally:
        engine.dispose()
