"""The application lifecycle on the time-skipping test server, path by path, with a real database."""

import uuid
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from domain.edition import edition_4_settings
from domain.models import Stage
from tests.driver import Driver
from tests.factories import make_submission
from workflows.application import ApplicationWorkflow


@pytest.fixture
async def run(ts_env, sqlite_repo, executor):
    """A worker on its own task queue; yields a Driver and the repository behind the activities."""
    queue = f"lifecycle-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ApplicationWorkflow],
        activities=ApplicationActivities(sqlite_repo).all(),
        activity_executor=executor,
    ):
        yield Driver(ts_env, queue, edition_4_settings()), sqlite_repo


async def test_complete_24_month_lifecycle(run):
    d, repo = run
    sub = make_submission("ASSO-FULL")
    h = await d.start(sub)
    await d.review_all(h, score=8)
    await d.select(h, Decimal("40000.00"))
    await d.sign(h)
    paid_first = await d.pay_pending(h)
    assert paid_first == [f"{sub.application_id}:T1:ministry"]
    s = await d.reach(h, Stage.MONITORING, "progress report 1")
    assert s.paid_total == Decimal("24000.00")  # 60% at signature

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


async def test_ineligible_application_ends_with_reasons(run):
    d, repo = run
    h = await d.start(make_submission("ASSO-CEIL", requested=Decimal("60000.00"), total=Decimal("80000.00"), own=Decimal("20000.00")))
    final = await h.result()
    assert final.stage == Stage.INELIGIBLE
    assert [r.code for r in final.reasons] == ["CEILING_EXCEEDED"]
    assert repo.get_application(h.id)["stage"] == "ineligible"


async def test_review_refuses_conflict_of_interest_and_duplicates(run):
    d, _ = run
    sub = make_submission("ASSO-COI")
    h = await d.start(sub)
    await d.reach(h, Stage.REVIEW)
    from tests.factories import make_review

    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(ApplicationWorkflow.submit_review, make_review("r1", organisation="ASSO-COI"))
    assert "conflict of interest" in str(e.value.cause)
    await h.execute_update(ApplicationWorkflow.submit_review, make_review("r1"))
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(ApplicationWorkflow.submit_review, make_review("r1"))
    assert "already reviewed" in str(e.value.cause)
    s = await d.status(h)
    assert s.reviews == 1 and s.stage == Stage.REVIEW
