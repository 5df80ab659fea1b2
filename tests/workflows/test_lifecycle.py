"""The application lifecycle on the time-skipping test server, path by path, with a real database."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError

from domain.calendar import local_date
from domain.edition import CoFundingFallback
from domain.models import (
    BankDetailsApproved,
    BankDetailsFixed,
    Cancellation,
    CoFundingDecision,
    CommitteeDecision,
    Decision,
    Document,
    DocumentsCompleted,
    PaymentResult,
    SiteVisit,
    Stage,
    Termination,
)
from domain.reference import MINISTRY, DocumentKind
from simulation.driver import Driver
from simulation.factories import cooperative, make_review, make_submission, settings_with, valid_rib
from workflows.application import ApplicationWorkflow
from workflows.application.state import APPROVAL_DUE


async def test_complete_24_month_lifecycle(lifecycle):
    d, repo = lifecycle
    sub = make_submission("ASSO-FULL")
    h = await d.start(sub)
    await d.review_all(h, score=8)
    await d.select(h, Decimal("40000.00"))
    await d.sign(h)
    paid_first = await d.pay_pending(h)
    assert paid_first == [f"{sub.application_id}:T1:ministry"]
    s = await d.reach(h, Stage.MONITORING, "progress report 1")
    assert s.paid_total == Decimal("24000.00")  # 60% at signature
    # A report is accepted from its window (30 days before it is due), not the day after signature.
    opens = s.report_accepted_from
    assert opens is not None and 140 < (opens - s.since).days < 160
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await d.report(h, 1)
    assert f"report 1 is accepted from {local_date(opens)}" in str(e.value.cause)

    await d.skip(180)
    await d.report(h, 1)
    await d.reach(h, Stage.MONITORING, "progress report 2")
    await d.skip(180)
    await d.report(h, 2, approve=True)  # the mid-term report releases the second tranche
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING, "progress report 3")
    await d.skip(180)
    await d.report(h, 3)
    await d.skip(185)
    await d.report(h, 4, approve=True)  # final report
    final = await h.result()

    assert final.stage == Stage.COMPLETED
    assert final.paid_total == Decimal("40000.00") == final.award
    assert final.paid == {"ministry": Decimal("40000.00")}
    assert final.reports_received == [1, 2, 3, 4]
    stages = [c.stage for c in final.history]
    assert stages[:3] == [Stage.SUBMITTED, Stage.ELIGIBILITY, Stage.REVIEW]
    assert stages[-1] == Stage.COMPLETED
    # The database agrees with the workflow: stage, award, ledger.
    row = repo.get_application(sub.application_id)
    assert row["stage"] == "completed"
    assert repo.paid_by_funder(sub.application_id) == {"ministry": Decimal("40000.00")}
    assert (final.history[-1].at - final.history[0].at).days > 700  # two years of durable timers


async def test_ineligible_application_ends_with_reasons(lifecycle):
    d, repo = lifecycle
    h = await d.start(
        make_submission("ASSO-CEIL", requested=Decimal("60000.00"), total=Decimal("80000.00"), own=Decimal("20000.00"))
    )
    final = await h.result()
    assert final.stage == Stage.INELIGIBLE
    assert [r.code for r in final.reasons] == ["CEILING_EXCEEDED"]
    assert repo.get_application(h.id)["stage"] == "ineligible"


async def test_review_refuses_conflict_of_interest_and_duplicates(lifecycle):
    d, _ = lifecycle
    sub = make_submission("ASSO-COI")
    h = await d.start(sub)
    await d.reach(h, Stage.REVIEW)
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(ApplicationWorkflow.submit_review, make_review("r1", organisation="ASSO-COI"))
    assert "conflict of interest" in str(e.value.cause)
    await h.execute_update(ApplicationWorkflow.submit_review, make_review("r1"))
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(ApplicationWorkflow.submit_review, make_review("r1"))
    assert "already reviewed" in str(e.value.cause)
    s = await d.status(h)
    assert s.reviews == 1 and s.stage == Stage.REVIEW


async def test_missing_documents_completed_in_time_goes_on_to_review(lifecycle):
    d, repo = lifecycle
    sub = make_submission(
        "ASSO-DOCS", documents=[DocumentKind.STATUTES, DocumentKind.REGISTRATION_RECEIPT, DocumentKind.PROJECT_PLAN]
    )
    h = await d.start(sub)
    s = await d.reach(h, Stage.AWAITING_DOCUMENTS)
    assert s.until is not None and round((s.until - s.since).total_seconds() / 86400) == 15
    assert "budget" in s.history[-1].note
    await d.skip(10)
    await h.execute_update(
        ApplicationWorkflow.complete_documents,
        DocumentsCompleted(documents=(Document(kind=DocumentKind.BUDGET, reference="dms/budget"),)),
    )
    s = await d.reach(h, Stage.REVIEW)
    assert [c.stage for c in s.history].count(Stage.ELIGIBILITY) == 2
    assert any(doc["kind"] == "budget" for doc in repo.get_application(h.id)["submission"]["documents"])


async def test_missing_documents_past_the_deadline_is_ineligible(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("ASSO-LATE", documents=[DocumentKind.STATUTES]))
    await d.reach(h, Stage.AWAITING_DOCUMENTS)
    await d.skip(16)
    final = await h.result()
    assert final.stage == Stage.INELIGIBLE
    assert {r.code for r in final.reasons} == {"DOCUMENTS_MISSING", "DOCUMENTS_DEADLINE_PASSED"}


async def test_rejected_by_the_committee(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("ASSO-REJ"))
    await d.review_all(h, score=3)
    await d.reach(h, Stage.COMMITTEE)
    await h.execute_update(
        ApplicationWorkflow.decide,
        CommitteeDecision(decision=Decision.REJECTED, decided_by="committee", reason="below the line"),
    )
    final = await h.result()
    assert final.stage == Stage.REJECTED and final.award == 0 and final.score == Decimal("30.00")
    assert repo.get_application(h.id)["stage"] == "rejected"


async def test_waitlisted_then_promoted(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("ASSO-WAIT"))
    await d.review_all(h)
    await d.reach(h, Stage.COMMITTEE)
    await h.execute_update(
        ApplicationWorkflow.decide, CommitteeDecision(decision=Decision.WAITLISTED, rank=130, decided_by="committee")
    )
    s = await d.reach(h, Stage.WAITLISTED, "promotion")
    assert (s.until - s.since).days == 180
    await d.skip(60)
    await h.execute_update(
        ApplicationWorkflow.decide,
        CommitteeDecision(
            decision=Decision.SELECTED,
            award=Decimal("35000.00"),
            funders={MINISTRY: Decimal("35000.00")},
            decided_by="committee",
        ),
    )
    s = await d.reach(h, Stage.AGREEMENT)
    assert s.award == Decimal("35000.00")


async def test_waitlist_closes_without_promotion(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("ASSO-WAITX"))
    await d.review_all(h)
    await d.reach(h, Stage.COMMITTEE)
    await h.execute_update(
        ApplicationWorkflow.decide, CommitteeDecision(decision=Decision.WAITLISTED, decided_by="committee")
    )
    await d.reach(h, Stage.WAITLISTED, "promotion")
    await d.skip(181)
    assert (await h.result()).stage == Stage.NOT_SELECTED


async def test_cofunding_approved_by_the_region(lifecycle):
    d, repo = lifecycle
    h = await d.start(cooperative("COOP-OK"))
    await d.review_all(h)
    await d.select(h, Decimal("40000.00"), {"region-02": Decimal("40000.00")})
    s = await d.reach(h, Stage.COFUNDING, "region 02")
    # Only that Region may answer.
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(
            ApplicationWorkflow.cofunding_decision,
            CoFundingDecision(region_code="03", approved=True, decided_by="fes-meknes"),
        )
    assert "not asked" in str(e.value.cause)
    await h.execute_update(
        ApplicationWorkflow.cofunding_decision,
        CoFundingDecision(region_code="02", approved=True, decided_by="oriental"),
    )
    s = await d.reach(h, Stage.AGREEMENT)
    assert s.funders == {"region-02": Decimal("40000.00")}
    await d.sign(h)
    assert await d.pay_pending(h) == [f"{h.id}:T1:region-02"]
    await d.reach(h, Stage.MONITORING)
    assert repo.paid_by_funder(h.id) == {"region-02": Decimal("24000.00")}


async def test_cofunding_declined_ministry_covers(lifecycle):
    d, _ = lifecycle
    h = await d.start(cooperative("COOP-NO"))
    await d.review_all(h)
    await d.select(h, Decimal("40000.00"), {"region-02": Decimal("40000.00")})
    await d.reach(h, Stage.COFUNDING)
    await h.execute_update(
        ApplicationWorkflow.cofunding_decision,
        CoFundingDecision(region_code="02", approved=False, decided_by="oriental", reason="envelope spent"),
    )
    s = await d.reach(h, Stage.AGREEMENT)
    assert s.funders == {MINISTRY: Decimal("40000.00")} and s.award == Decimal("40000.00")


@pytest.mark.parametrize(
    "policy, expected",
    [(CoFundingFallback.REDUCE_AWARD, Stage.NOT_SELECTED), (CoFundingFallback.WAITLIST, Stage.WAITLISTED)],
)
async def test_cofunding_timeout_follows_the_edition_policy(ts_env, lifecycle_queue, policy, expected):
    d = Driver(ts_env, lifecycle_queue, settings_with(cofunding_fallback=policy))
    try:
        await _timeout_under_policy(d, policy, expected)
    finally:
        await d.cleanup()


async def _timeout_under_policy(d, policy, expected):
    h = await d.start(cooperative(f"COOP-T-{policy.value}".replace("_", "-")))
    await d.review_all(h)
    await d.select(h, Decimal("40000.00"), {"region-02": Decimal("40000.00")})
    await d.reach(h, Stage.COFUNDING)
    await d.skip(31)
    s = await d.reach(h, expected)
    assert s.award == 0 and s.funders == {}
    assert any("did not answer" in e for e in s.escalations)
    if expected == Stage.WAITLISTED:  # handed back to the waitlist: the committee may promote it again
        await h.execute_update(
            ApplicationWorkflow.decide, CommitteeDecision(decision=Decision.REJECTED, decided_by="committee")
        )
        assert (await h.result()).stage == Stage.REJECTED


async def test_payment_rejected_then_fixed_pays_once(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("ASSO-PAY"))
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    [key] = await d.pay_pending(h, executed=False)
    s = await d.status(h)
    assert s.waiting_for.startswith("ops: fix the bank details") and s.orders[0].status == "rejected"
    # The same rejection delivered twice: refused, nothing changes.
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(
            ApplicationWorkflow.payment_result, PaymentResult(order_key=key, attempt=1, executed=False, reason="again")
        )
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(
            ApplicationWorkflow.fix_bank_details, BankDetailsFixed.model_construct(bank_account="123", fixed_by="ops")
        )
    await h.execute_update(
        ApplicationWorkflow.fix_bank_details, BankDetailsFixed(bank_account=valid_rib(7), fixed_by="finance-karim")
    )
    s = await d.status(h)
    assert s.waiting_for == APPROVAL_DUE and s.bank_details_requested_by == "finance-karim"
    assert s.orders[0].status == "rejected"  # nothing is paid to the new account before a second approval
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.execute_update(
            ApplicationWorkflow.approve_bank_details, BankDetailsApproved(approved_by="finance-karim")
        )
    assert "another person approves it (four eyes)" in str(refused.value.cause)
    await h.execute_update(ApplicationWorkflow.approve_bank_details, BankDetailsApproved(approved_by="finance-salma"))
    s = await d.status(h)
    assert s.orders[0].attempt == 2 and s.orders[0].status == "sent"
    await d.pay_pending(h)
    # An executed payment delivered again is refused: a tranche is never paid twice.
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(
            ApplicationWorkflow.payment_result, PaymentResult(order_key=key, attempt=2, executed=True)
        )
    await d.reach(h, Stage.MONITORING)
    assert repo.paid_by_funder(h.id) == {MINISTRY: Decimal("24000.00")}
    [order] = repo.payment_orders(h.id)
    assert order.attempt == 2 and order.status == "executed"


async def test_overdue_report_is_reminded_escalated_and_suspends_the_next_tranche(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("ASSO-LATE-REPORT", duration_months=12))
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    await d.pay_pending(h)
    s = await d.reach(h, Stage.MONITORING, "progress report 1")
    # Past the report's deadline and its grace: six calendar months are 181 to 184 days, so the
    # skip is read from the status (a fixed 198 days fell short when the test server's clock, which
    # starts at today's date, made those months 184 days).
    await d.skip((s.until - s.since).days + 1)
    s = await d.reach(h, Stage.MONITORING, "reminded")
    await d.skip(20)
    s = await d.reach(h, Stage.MONITORING, "next tranche suspended")
    assert s.until is None and s.paid_total == Decimal("24000.00")
    assert any("overdue" in e for e in s.escalations)
    await d.report(h, 1, approve=True)  # mid-term of two: the suspended tranche goes out once it is in
    await d.pay_pending(h)
    s = await d.reach(h, Stage.MONITORING, "progress report 2")
    assert s.paid_total == Decimal("40000.00")


async def test_reviews_missing_are_reminded_then_escalated(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("ASSO-SLOW-REVIEW"))
    await d.reach(h, Stage.REVIEW)
    await h.execute_update(ApplicationWorkflow.submit_review, make_review("r1", 6))
    await d.skip(22)
    await d.reach(h, Stage.REVIEW, "reminded")
    await d.skip(8)
    s = await d.reach(h, Stage.COMMITTEE)  # escalated, goes on with the one review it has
    assert s.score == Decimal("60.00")
    assert s.escalations == ["reviews still missing after the reminder"]


async def test_committee_award_over_the_ceiling_is_refused(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("ASSO-BIG"))
    await d.review_all(h)
    await d.reach(h, Stage.COMMITTEE)
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await d.select(h, Decimal("45000.00"))  # more than the 40,000 requested
    assert "award" in str(e.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await d.select(h, Decimal("40000.00"), {"region-02": Decimal("40000.00")})  # region 07 is no partner
    assert "funders" in str(e.value.cause)
    s = await d.status(h)
    assert s.stage == Stage.COMMITTEE and s.award == 0


async def test_agreement_not_signed_in_time_lapses(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("ASSO-NOSIGN"))
    await d.review_all(h)
    await d.select(h)
    await d.reach(h, Stage.AGREEMENT)
    await d.skip(61)
    final = await h.result()
    assert final.stage == Stage.LAPSED and final.award == 0
    assert repo.get_application(h.id)["award"] == 0


STOP_AT = [
    Stage.AWAITING_DOCUMENTS,
    Stage.REVIEW,
    Stage.COMMITTEE,
    Stage.WAITLISTED,
    Stage.COFUNDING,
    Stage.AGREEMENT,
    Stage.DISBURSEMENT,
    Stage.MONITORING,
]


@pytest.mark.parametrize("stage", STOP_AT, ids=[s.value for s in STOP_AT])
async def test_withdrawal_at_each_stage(lifecycle, stage):
    d, repo = lifecycle
    h = await d.bring_to(stage, f"W-{stage.value}".replace("_", "-"))
    answer = await d.withdraw(h)
    assert answer.stage == Stage.WITHDRAWN
    final = await h.result()
    assert final.stage == Stage.WITHDRAWN
    assert final.history[-2].stage == stage
    row = repo.get_application(h.id)
    assert row["stage"] == "withdrawn"
    # Money paid before a withdrawal is to be recovered.
    expected = Decimal("24000.00") if stage == Stage.MONITORING else None
    assert final.amount_to_recover == expected


async def test_termination_for_cause_records_the_amount_to_recover(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("ASSO-TERM"))
    await d.review_all(h)
    with pytest.raises(WorkflowUpdateFailedError) as e:  # not funded yet: terminate is not the tool
        await h.execute_update(ApplicationWorkflow.terminate, Termination(terminated_by="officer", reason="fraud"))
    assert "only a funded grant" in str(e.value.cause)
    await d.select(h)
    await d.sign(h)
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(
            ApplicationWorkflow.terminate,
            Termination(terminated_by="officer", reason="fraud", amount_to_recover=Decimal("30000.00")),
        )
    await h.execute_update(
        ApplicationWorkflow.terminate,
        Termination(terminated_by="officer", reason="funds diverted", amount_to_recover=Decimal("20000.00")),
    )
    final = await h.result()
    assert final.stage == Stage.TERMINATED and final.amount_to_recover == Decimal("20000.00")
    assert repo.get_application(h.id)["amount_to_recover"] == Decimal("20000.00")


async def test_site_visit_is_recorded_once_funded_and_refused_before(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("ASSO-VISIT"))
    await d.reach(h, Stage.REVIEW)
    visit = SiteVisit(visited_on=date(2024, 5, 2), visitor="inspector", findings="workshop running, 6 weavers")
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(ApplicationWorkflow.record_site_visit, visit)
    assert "no site visit in stage review" in str(e.value.cause)
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    answer = await h.execute_update(ApplicationWorkflow.record_site_visit, visit)
    assert "2024-05-02" in answer.message
    visits = [x for x in repo.get_application(h.id)["decisions"] if x["kind"] == "site_visit"]
    assert len(visits) == 1 and visits[0]["decided_by"] == "inspector"


async def test_cancellation_by_ops_needs_a_reason_and_closes_the_application(lifecycle):
    d, repo = lifecycle
    h = await d.start(make_submission("ASSO-CANCEL"))
    await d.reach(h, Stage.REVIEW)
    with pytest.raises(ValidationError, match="reason"):  # refused before it reaches the workflow
        Cancellation(cancelled_by="officer", reason="")
    answer = await h.execute_update(
        ApplicationWorkflow.cancel, Cancellation(cancelled_by="officer", reason="duplicate file")
    )
    assert answer.stage == Stage.CANCELLED
    final = await h.result()
    assert final.stage == Stage.CANCELLED and final.history[-1].note == "by officer: duplicate file"
    assert repo.get_application(h.id)["stage"] == "cancelled"
