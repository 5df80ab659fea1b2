"""The payment system fails: it answers errors, times out, or refuses an order.

A real HTTP payment system on loopback (simulation/payment_system.py), the real activities calling
it, the workflow on the time-skipping server (the retry waits pass in simulated time). What ops and
auditors check:
- retries are bounded: the payment system saw exactly the attempts of the policy, every one under
  the same idempotency key;
- then the case is escalated: `get_status` shows the order unsent, the escalation and that ops are
  awaited; a payment result for that order is refused;
- ops retry (`retry_payment_orders`): refused with the reason while the payment system is still
  down (escalated again), accepted once it is back; the order is then taken once and paid once.
"""

import asyncio
import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from activities.payment_system import PaymentSystem
from activities.policies import PAYMENT_SYSTEM
from audit import histories, reconcile
from audit.verify import verify
from domain.edition import edition_4_settings
from domain.models import PaymentResult, PaymentRetry, Stage
from domain.reference import MINISTRY
from simulation.driver import Driver
from simulation.factories import make_submission
from simulation.payment_system import DOWN, HANG, REFUSE, TAKE, FakePaymentSystem
from simulation.waiting import until
from workflows.application import RESEND_DUE, UNSENT, ApplicationWorkflow

ATTEMPTS = PAYMENT_SYSTEM.maximum_attempts


@pytest.fixture
def payment_system():
    with FakePaymentSystem() as fake:
        yield fake


@pytest.fixture
async def run(ts_env, sqlite_repo, executor, payment_system, request):
    queue = f"payfault-{uuid.uuid4().hex[:8]}"
    timeout = getattr(request, "param", 0.5)  # how long a call waits for the payment system's answer
    activities = ApplicationActivities(sqlite_repo, PaymentSystem(payment_system.url, timeout_seconds=timeout))
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ApplicationWorkflow],
        activities=activities.all(),
        activity_executor=executor,
    ):
        d = Driver(ts_env, queue, edition_4_settings())
        yield d, sqlite_repo
        await d.cleanup()


def order_row(repo, key: str) -> tuple[str, str]:
    with repo.engine.connect() as conn:
        return tuple(conn.execute(text("SELECT status, reason FROM payment_orders WHERE key = :k"), {"k": key}).one())


async def signed(d: Driver, reg: str):
    h = await d.start(make_submission(reg))
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    return h


async def escalated(d: Driver, h, times: int = 1):
    """Let the retry waits pass (simulated time) until the workflow has escalated to ops `times` times."""
    for _ in range(40):
        s = await d.status(h)
        if s.stage == Stage.DISBURSEMENT and s.waiting_for == RESEND_DUE and len(s.escalations) == times:
            return s
        await d.skip(1 / 24 / 60 * 0.5)  # 30 s of simulated time
    raise AssertionError(f"never escalated: {s.stage} / {s.waiting_for}")


@pytest.mark.parametrize("mode, says", [(DOWN, "503"), (HANG, "timed out")], ids=["errors", "times-out"])
async def test_payment_system_down_is_retried_a_bounded_number_of_times_then_escalated_to_ops(
    run, payment_system, mode, says
):
    d, repo = run
    payment_system.mode, payment_system.hang_seconds = mode, 2
    h = await signed(d, f"PAYDOWN-{mode.upper()}")
    key = f"{h.id}:T1:{MINISTRY}"

    s = await escalated(d, h)
    [order] = s.orders
    assert (order.key, order.status, order.attempt) == (key, UNSENT, 1)
    assert s.waiting_for == RESEND_DUE and s.paid_total == 0
    [escalation] = s.escalations
    assert key in escalation and "not taken by the payment system" in escalation and says in escalation
    # Bounded: exactly the policy's attempts, each under the same idempotency key.
    assert [r.key for r in payment_system.received] == [f"{key}#1"] * ATTEMPTS
    assert payment_system.received[0].body["amount"] == "24000.00"
    # The escalation is in the database too (the notice ops are alerted from), and the order's row
    # says it was not taken, and why.
    notices = repo.get_application(h.id)["notices"]
    assert [n["kind"] for n in notices if n["key"].startswith("payment-unsent")] == ["escalation"]
    status, reason = order_row(repo, key)
    assert status == UNSENT and says in reason
    # Auditors reconciling meanwhile: the stored order matches the order asked, and nothing is paid.
    result = await reconcile.reconcile(repo, 4, {h.id: await histories.fetch(d.client, h.id)}, d.client.data_converter)
    assert result.mismatches == [] and result.paid_db == {}

    # A result for another attempt than the one escalated is refused.
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(
            ApplicationWorkflow.payment_result, PaymentResult(order_key=key, attempt=2, executed=True, reference="X")
        )
    assert "not awaiting a result" in str(e.value.cause)

    # Ops retry while it is still down: escalated again, then a clear refusal; nothing paid.
    retry = await h.start_update(
        ApplicationWorkflow.retry_payment_orders,
        PaymentRetry(requested_by="officer"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    s = await escalated(d, h, times=2)
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await retry.result()
    assert "still did not take" in str(e.value.cause) and key in str(e.value.cause)
    assert s.orders[0].status == UNSENT
    assert len(payment_system.received) == 2 * ATTEMPTS

    # Back up: the retry goes through, the order is taken once and paid once.
    payment_system.mode = TAKE
    answer = await h.execute_update(
        ApplicationWorkflow.retry_payment_orders, PaymentRetry(requested_by="officer", reason="payment system back")
    )
    assert "1 payment order(s) sent again" in answer.message
    assert payment_system.taken() == [f"{key}#1"]
    s = await d.status(h)
    assert s.orders[0].status == "sent" and s.waiting_for.startswith("payment system")
    assert order_row(repo, key) == ("sent", "")
    await d.pay_pending(h)
    s = await d.reach(h, Stage.MONITORING)
    assert s.paid_total == Decimal("24000.00")
    assert order_row(repo, key)[0] == "executed"
    # The audit chain holds the order's whole story and matches its row.
    report = verify(repo.engine, edition=4)
    assert report.ok, report.findings
    assert [o.key for o in repo.payment_orders(h.id)] == [key]
    assert repo.paid_by_funder(h.id) == {MINISTRY: Decimal("24000.00")}
    # Auditors: the database and the history agree on the order and the money (the failed attempts
    # of create_payment_order are in the history, the completed one matches the stored order).
    result = await reconcile.reconcile(repo, 4, {h.id: await histories.fetch(d.client, h.id)}, d.client.data_converter)
    assert result.mismatches == [] and result.paid_db == result.paid_history == {MINISTRY: Decimal("24000.00")}
    # Nothing left to retry: said so.
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(ApplicationWorkflow.retry_payment_orders, PaymentRetry(requested_by="officer"))
    assert "no payment order is waiting" in str(e.value.cause)


async def test_an_order_that_timed_out_but_was_executed_is_recorded_when_its_result_comes(run, payment_system):
    """Our call timed out, yet the payment system had the order and executed it. Its result arrives
    while the case waits for ops: the payment is recorded (never refused, never twice), the order
    is executed in the database, and the ledger and the history agree."""
    d, repo = run
    payment_system.mode, payment_system.hang_seconds = HANG, 2
    h = await signed(d, "PAYLATE")
    key = f"{h.id}:T1:{MINISTRY}"
    s = await escalated(d, h)
    assert s.orders[0].status == UNSENT and order_row(repo, key)[0] == UNSENT
    result = PaymentResult(order_key=key, attempt=1, executed=True, reference="VIR-LATE")
    answer = await h.execute_update(ApplicationWorkflow.payment_result, result, id=f"{h.id}-late")
    assert "24000.00 MAD" in answer.message
    assert await h.execute_update(ApplicationWorkflow.payment_result, result, id=f"{h.id}-late") == answer
    s = await d.reach(h, Stage.MONITORING)
    assert s.paid_total == Decimal("24000.00") and s.orders[0].status == "executed"
    assert order_row(repo, key)[0] == "executed"
    assert repo.paid_by_funder(h.id) == {MINISTRY: Decimal("24000.00")}
    with pytest.raises(WorkflowUpdateFailedError) as e:  # nothing left for ops to send again
        await h.execute_update(ApplicationWorkflow.retry_payment_orders, PaymentRetry(requested_by="officer"))
    assert "no payment order is waiting" in str(e.value.cause)
    checked = await reconcile.reconcile(repo, 4, {h.id: await histories.fetch(d.client, h.id)}, d.client.data_converter)
    assert checked.mismatches == [] and checked.paid_db == checked.paid_history == {MINISTRY: Decimal("24000.00")}
    assert verify(repo.engine, edition=4).ok


async def test_an_order_the_payment_system_refuses_is_escalated_at_once(run, payment_system):
    d, repo = run
    payment_system.mode = REFUSE
    h = await signed(d, "PAYREFUSED")
    s = await escalated(d, h)
    assert len(payment_system.received) == 1  # a refusal is an answer: not retried
    assert "422" in s.escalations[0] and s.orders[0].status == UNSENT
    assert order_row(repo, f"{h.id}:T1:{MINISTRY}")[0] == UNSENT
    payment_system.mode = TAKE
    await h.execute_update(ApplicationWorkflow.retry_payment_orders, PaymentRetry(requested_by="officer"))
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    assert repo.paid_by_funder(h.id) == {MINISTRY: Decimal("24000.00")}


async def test_a_payment_system_that_answers_sees_each_order_once(run, payment_system):
    d, _ = run
    h = await signed(d, "PAYOK")
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    assert payment_system.taken() == [f"{h.id}:T1:{MINISTRY}#1"] and len(payment_system.received) == 1
    body = payment_system.received[0].body
    assert body["order_key"] == f"{h.id}:T1:{MINISTRY}" and body["attempt"] == 1 and len(body["bank_account"]) == 24


@pytest.mark.parametrize("run", [10.0], indirect=True)  # our call waits long enough for the answer
async def test_a_result_that_comes_while_its_order_is_being_sent_is_kept(run, payment_system):
    """The payment system takes the order and sends its result before it has answered our call (a
    fast payment system, or a send retried after its worker died, found by `make chaos`). The result
    is recorded and the call's later answer does not undo it: the case goes on to monitoring, the
    tranche paid once, the database and the history agreeing."""
    d, repo = run
    payment_system.answer_when = threading.Event()
    h = await signed(d, "PAYFAST")
    key = f"{h.id}:T1:{MINISTRY}"

    async def taken() -> list[str]:
        return await asyncio.to_thread(payment_system.taken)

    await until(taken, lambda t: t == [f"{key}#1"], "the order taken by the payment system")
    result = PaymentResult(order_key=key, attempt=1, executed=True, reference="VIR-FAST")
    answer = await h.execute_update(ApplicationWorkflow.payment_result, result)
    assert "24000.00 MAD" in answer.message
    payment_system.answer_when.set()  # now our call gets its answer: the order as it was sent
    s = await d.reach(h, Stage.MONITORING)
    assert s.paid_total == Decimal("24000.00") and [o.status for o in s.orders] == ["executed"]
    assert order_row(repo, key)[0] == "executed"
    assert repo.paid_by_funder(h.id) == {MINISTRY: Decimal("24000.00")}
    checked = await reconcile.reconcile(repo, 4, {h.id: await histories.fetch(d.client, h.id)}, d.client.data_converter)
    assert checked.mismatches == [] and checked.paid_db == checked.paid_history == {MINISTRY: Decimal("24000.00")}
