"""The same update delivered twice, and delivered after the stage has moved on.

On the time-skipping server with the real activities and a SQLite database. What ops check:
- a repeat under the same update id (a client retrying after a lost answer, the gateway after a
  503, the edition's decision sender after a crash) gets the first answer and changes nothing;
- a repeat under a new id is refused with a clear reason and changes nothing;
- every input sent once its stage is past is refused with the reason (`stage: …`, or what it waits
  for instead), the status unchanged and the workflow still healthy;
- the database holds each review, decision, order and payment once.
The gateway's own exactly-once inbox (an integration event sent twice) is tested in
tests/gateway/test_gateway.py (test_an_event_is_applied_once_and_a_repeat_gets_the_first_answer).
"""

from decimal import Decimal

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from cli import actions
from domain.models import (
    BankDetailsFixed,
    Cancellation,
    CoFundingDecision,
    CommitteeDecision,
    Decision,
    Document,
    DocumentsCompleted,
    PaymentResult,
    PaymentRetry,
    ReportReview,
    Stage,
    Withdrawal,
)
from domain.reference import MINISTRY, DocumentKind
from simulation.driver import Driver, signature
from simulation.factories import make_review, make_submission, valid_rib
from workflows.application import ApplicationWorkflow

W = ApplicationWorkflow
SELECT = CommitteeDecision(
    decision=Decision.SELECTED,
    award=Decimal("40000.00"),
    funders={MINISTRY: Decimal("40000.00")},
    decided_by="committee",
)


async def twice(d: Driver, h: WorkflowHandle, fn, arg, uid: str, then: Stage, waiting: str | None = None):
    """Deliver the same update twice under one id, the second once the workflow has moved on to
    `then`: the same answer, and the second changes nothing."""
    first = await h.execute_update(fn, arg, id=uid)
    before = await d.reach(h, then, waiting)
    second = await h.execute_update(fn, arg, id=uid)
    assert second == first
    assert await h.query(W.get_status) == before
    return first


async def refused(h: WorkflowHandle, fn, arg, *reason: str) -> None:
    """Refused with the reason, the status unchanged."""
    before = await h.query(W.get_status)
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(fn, arg)
    message = str(e.value.cause)
    assert all(r in message for r in reason), message
    assert await h.query(W.get_status) == before


async def test_each_input_twice_and_after_its_stage_one_effect_and_a_clear_answer(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("DUP-ONE"))
    await d.reach(h, Stage.REVIEW)

    review = make_review("r1", 7)
    answer = await twice(d, h, W.submit_review, review, "review-r1", Stage.REVIEW)
    assert "review by r1 recorded" in answer.message
    await refused(h, W.submit_review, review, "reviewer_id", "already reviewed")
    await h.execute_update(W.submit_review, make_review("r2", 8))
    await d.reach(h, Stage.COMMITTEE)
    await refused(h, W.submit_review, make_review("r3", 8), "stage:", "not review")
    await refused(
        h,
        W.complete_documents,
        DocumentsCompleted(documents=(Document(kind=DocumentKind.BUDGET, reference="x"),)),
        "stage:",
        "not awaiting_documents",
    )

    answer = await twice(d, h, W.decide, SELECT, "committee-decision", Stage.AGREEMENT)
    assert "selected" in answer.message
    await refused(h, W.decide, SELECT, "stage:", "agreement")
    await refused(h, W.cofunding_decision, CoFundingDecision(region_code="07", approved=True, decided_by="x"), "stage:")

    sign = signature(await d.status(h), valid_rib(9), signed_by="officer")  # naming the agreement issued
    await twice(d, h, W.sign_agreement, sign, "signature", Stage.DISBURSEMENT, "payment system")
    s = await d.status(h)
    await refused(h, W.sign_agreement, sign, "stage:")
    [order] = s.orders
    paid = PaymentResult(order_key=order.key, attempt=1, executed=True, reference="VIR-1")
    answer = await twice(d, h, W.payment_result, paid, "payment-1", Stage.MONITORING, "progress report 1")
    assert "24000.00 MAD" in answer.message
    await refused(h, W.payment_result, paid, "order_key", "not awaiting a result")
    await refused(
        h,
        W.payment_result,
        paid.model_copy(update={"executed": False, "reason": "late rejection"}),
        "not awaiting a result",
    )
    await refused(
        h,
        W.fix_bank_details,
        BankDetailsFixed(bank_account=valid_rib(10), fixed_by="officer"),
        "no rejected payment order",
    )
    await refused(h, W.retry_payment_orders, PaymentRetry(requested_by="officer"), "no payment order is waiting")
    await refused(
        h, W.review_report, ReportReview(period=1, approved=True, decided_by="officer"), "not waiting for a review"
    )

    # Once each in the database.
    row = repo.get_application(h.id)
    assert [r["reviewer_id"] for r in row["reviews"]] == ["r1", "r2"]
    assert [x["kind"] for x in row["decisions"]].count("committee") == 1
    assert [x["kind"] for x in row["decisions"]].count("agreement") == 1
    assert len(row["orders"]) == 1 and [x["kind"] for x in row["ledger"]] == ["payment"]
    assert row["paid_total"] == Decimal("24000.00")

    # Withdrawn, then anything else: the application is closed, and says so.
    final_answer = await h.execute_update(
        W.withdraw, Withdrawal(requested_by="applicant", reason="moved"), id="withdrawal"
    )
    final = await h.result()
    assert final_answer.stage == Stage.WITHDRAWN
    assert final.stage == Stage.WITHDRAWN and final.amount_to_recover == Decimal("24000.00")
    assert [x["kind"] for x in repo.get_application(h.id)["ledger"]] == ["payment", "recovery"]
    with pytest.raises(actions.NotFound, match="is closed \\(stage withdrawn\\)"):
        await actions.send_update(d.client, h.id, "cancel", Cancellation(cancelled_by="officer", reason="again"))
