"""Several workers for real: two `python worker.py` processes on the same task queue, against a dev
server and one shared domain database (a fresh PostgreSQL schema, or a SQLite file when no
PostgreSQL answers), run a batch of applications; one is killed with SIGKILL in the middle of the
reviews, and the other finishes everything.

What an operator would check afterwards, and this test does:
- both workers took work (the histories name each worker, pid@host, on the tasks it completed);
- after the kill, every task was completed by the survivor, including those of the workflows the
  dead worker had been running;
- every application reached its first payment (stage monitoring, 60% of the award paid);
- the database holds each review, stage change, payment order and payment exactly once.
"""

import asyncio
import functools
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.db.session import make_engine
from domain.edition import edition_4_settings
from domain.models import (
    ApplicationInput,
    ApplicationStatus,
    CommitteeDecision,
    Decision,
    PaymentResult,
    Stage,
)
from domain.reference import MINISTRY
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.driver import reach as driver_reach
from simulation.driver import signature
from simulation.factories import make_review, make_submission, valid_rib
from simulation.processes import client_settings, codec_settings, start_worker
from tests.conftest_db import postgres_url
from workflows.application import ApplicationWorkflow

N = 24  # applications in the batch
AWARD = Decimal("40000.00")
FIRST_TRANCHE = Decimal("24000.00")  # 60% at signature (edition 4 default)


@pytest.fixture
def shared_database(tmp_path) -> Iterator[str]:
    """The URL both workers use: a fresh PostgreSQL schema, or a SQLite file (with a warning)."""
    admin = make_engine(postgres_url(), connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as e:  # noqa: BLE001 - no server: the same test on SQLite
        admin.dispose()
        warnings.warn(
            f"PostgreSQL not reachable ({type(e).__name__}): the two workers share a SQLite file", stacklevel=2
        )
        yield f"sqlite:///{tmp_path / 'moazara.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = postgres_url().update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest_asyncio.fixture
async def two_workers(tmp_path, shared_database):
    env = {
        **codec_settings(),
        "TASK_QUEUE": f"workers-{uuid.uuid4().hex[:8]}",
        "DATABASE_URL": shared_database,
        "MIGRATE_ON_START": "true",
    }  # both migrate at once: one does, the other finds the schema at head
    server = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(client_settings(env))
    )
    env["TEMPORAL_ADDRESS"] = server.client.service_client.config.target_host
    workers = [start_worker("worker-a", env, tmp_path), start_worker("worker-b", env, tmp_path)]
    try:
        for w in workers:
            await w.wait_ready()
        yield server.client, workers, env
    finally:
        for w in workers:
            w.stop()
        await server.shutdown()


async def status_of(handle: WorkflowHandle) -> ApplicationStatus | None:
    try:
        return await handle.query(ApplicationWorkflow.get_status, rpc_timeout=timedelta(seconds=10))
    except RPCError:
        return None  # e.g. its worker just died: the query is answered again by the survivor


# A worker's death holds its workflows for their task timeouts: wait longer, ask less often.
reach = functools.partial(driver_reach, seconds=200, every=0.2)


async def update(handle: WorkflowHandle, step: str, fn, arg) -> None:
    """Send an update; retried with the same update id after a transport error, so that it is
    applied once even if the first request got through before its worker died."""
    for attempt in range(20):
        try:
            await handle.execute_update(fn, arg, id=f"{handle.id}-{step}", rpc_timeout=timedelta(seconds=30))
            return
        except RPCError:
            if attempt == 19:
                raise
            await asyncio.sleep(0.5)


async def to_disbursement(handle: WorkflowHandle) -> ApplicationStatus:
    """From the committee: selected, agreement signed; waiting for the first tranche's result."""
    await reach(handle, Stage.COMMITTEE)
    await update(
        handle,
        "decide",
        ApplicationWorkflow.decide,
        CommitteeDecision(decision=Decision.SELECTED, award=AWARD, funders={MINISTRY: AWARD}, decided_by="committee"),
    )
    issued = await reach(handle, Stage.AGREEMENT)
    await update(
        handle, "sign", ApplicationWorkflow.sign_agreement, signature(issued, valid_rib(1), signed_by="officer")
    )
    return await reach(handle, Stage.DISBURSEMENT)


async def to_first_payment(handle: WorkflowHandle) -> ApplicationStatus:
    [order] = (await to_disbursement(handle)).orders
    await update(
        handle,
        "pay",
        ApplicationWorkflow.payment_result,
        PaymentResult(order_key=order.key, attempt=order.attempt, executed=True, reference=f"PAY-{handle.id[-6:]}"),
    )
    return await reach(handle, Stage.MONITORING)


async def identities(handle: WorkflowHandle) -> list[tuple[str, str, float]]:
    """(kind, worker identity, server time) of every task a worker completed in this history."""
    out = []
    async for e in handle.fetch_history_events():
        t = e.event_time.ToDatetime().timestamp()
        if e.HasField("workflow_task_completed_event_attributes"):
            out.append(("workflow", e.workflow_task_completed_event_attributes.identity, t))
        elif e.HasField("activity_task_started_event_attributes"):
            # Recorded when the activity's last attempt finished, with the worker that ran it.
            out.append(("activity", e.activity_task_started_event_attributes.identity, t))
    return out


async def test_two_workers_one_killed_the_other_finishes_everything(two_workers, shared_database):
    async with asyncio.timeout(240):  # a guard against a hang, not a measure: it runs in well under that
        await kill_one_in_the_middle_of_a_batch(two_workers, shared_database)


async def kill_one_in_the_middle_of_a_batch(two_workers, shared_database) -> None:
    client, (a, b), env = two_workers
    tag = uuid.uuid4().hex[:6].upper()
    settings = edition_4_settings()
    handles = [
        await client.start_workflow(
            ApplicationWorkflow.run,
            ApplicationInput(settings=settings, submission=make_submission(f"ASSO-W{i:02d}-{tag}"), submitted_by="ops"),
            id=f"moazara-4-ASSO-W{i:02d}-{tag}",
            task_queue=env["TASK_QUEUE"],
        )
        for i in range(N)
    ]
    await asyncio.gather(*(reach(h, Stage.REVIEW) for h in handles))

    # Reviews for every application at once; worker A is killed when half of them are in.
    reviewed = 0
    half = asyncio.Event()

    async def review(h: WorkflowHandle) -> None:
        nonlocal reviewed
        for r in ("r1", "r2"):
            await update(h, f"review-{r}", ApplicationWorkflow.submit_review, make_review(r, 7))
        reviewed += 1
        if reviewed >= N // 2:
            half.set()

    reviews = asyncio.ensure_future(asyncio.gather(*(review(h) for h in handles)))
    await asyncio.wait({reviews, asyncio.ensure_future(half.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if reviews.done():
        reviews.result()  # failed before half of them were in: its error, not a hang
    a.kill()
    killed_at = time.time()
    assert a.proc.returncode == -9
    await reviews

    # The rest of the way, on the survivor alone.
    statuses = await asyncio.gather(*(to_first_payment(h) for h in handles))
    assert all(s.stage == Stage.MONITORING and s.paid_total == FIRST_TRANCHE for s in statuses)
    b.assert_running()

    # The histories: both workers worked; after the kill, only B, on every workflow, A's included.
    histories = {h.id: await identities(h) for h in handles}
    everyone = Counter(who for events in histories.values() for _, who, _ in events)
    assert set(everyone) == {a.identity, b.identity}, everyone
    for app_id, events in histories.items():
        assert [who for _, who, t in events if t > killed_at] and all(
            who == b.identity for _, who, t in events if t > killed_at
        ), app_id
        assert events[-1][1] == b.identity, app_id
    taken_over = [
        i for i, events in histories.items() if a.identity in {who for kind, who, _ in events if kind == "workflow"}
    ]
    assert taken_over, "worker A ran no workflow before it was killed"

    # The database: everything once.
    ids = sorted(h.id for h in handles)
    engine = make_engine(shared_database)
    try:
        with engine.connect() as conn:

            def per_app(sql: str) -> dict[str, int]:
                rows = conn.execute(text(sql + " GROUP BY application_id"))
                return {r[0]: r[1] for r in rows if r[0] in ids}

            stages = dict(conn.execute(text("SELECT application_id, stage FROM applications")).all())
            assert {i: stages.get(i) for i in ids} == {i: "monitoring" for i in ids}
            assert per_app("SELECT application_id, count(*) FROM reviews") == {i: 2 for i in ids}
            assert per_app("SELECT application_id, count(*) FROM payment_orders") == {i: 1 for i in ids}
            assert per_app("SELECT application_id, count(*) FROM ledger WHERE kind = 'payment'") == {i: 1 for i in ids}
            paid = per_app("SELECT application_id, sum(amount) FROM ledger")
            assert {i: Decimal(str(paid[i])).quantize(Decimal("0.01")) for i in ids} == {i: FIRST_TRANCHE for i in ids}
            # The workflow numbers its stage changes from 1 (0 is the submission's own row).
            changes = per_app("SELECT application_id, count(*) FROM stage_changes WHERE seq > 0")
            assert changes == {s.application_id: len(s.history) for s in statuses}
    finally:
        engine.dispose()

    assert b.stop() == 0, b.log_tail()  # SIGTERM: a clean stop
