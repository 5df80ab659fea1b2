"""Property tests: every update of ApplicationWorkflow, sent malformed or out of place through the
time-skipping server, is refused with a reason; the workflow stays healthy and its state unchanged.

The production worker (worker.build_worker: its interceptors and the service's data converter) runs
applications parked in five stages. Hypothesis sends each update as raw JSON, bypassing every
client-side check (as a script, another SDK or the Web UI could): one field replaced by a hostile
value, a required field missing, an unknown field, or no object at all. Then every update, well
formed, to stages that do not take it. Each time: refused (WorkflowUpdateFailedError) with a reason
naming the field or the stage, `get_status` identical before and after; at the end no workflow task
failed in any history, and each application still takes its next valid input.
"""

import asyncio
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import to_json
from temporalio import workflow
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain.edition import edition_4_settings
from domain.models import Answer, ApplicationStatus, Stage
from infra.settings import Settings
from simulation.driver import Driver
from simulation.factories import make_review, make_submission
from tests.domain.test_bad_input_models import VALID, leaf_paths, removed, replaced
from tests.hostile import HOSTILE
from worker import build_worker
from workflows.application import ApplicationWorkflow

UPDATES = workflow._Definition.from_class(ApplicationWorkflow).updates
MODEL = {name: d.arg_types[0] for name, d in UPDATES.items()}
PARKED = [Stage.REVIEW, Stage.COMMITTEE, Stage.AGREEMENT, Stage.DISBURSEMENT, Stage.MONITORING]


@pytest.fixture(scope="module")
async def parked(ts_env, tmp_path_factory, executor):
    """One application waiting in each of PARKED, on the production worker."""
    from domain.db.repository import Repository
    from domain.db.session import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('badupdates') / 'moazara.db'}")
    migrate(engine)
    config = Settings(
        task_queue=f"bad-{uuid.uuid4().hex[:8]}", database_url=str(engine.url), max_concurrent_activities=8
    )
    async with build_worker(ts_env.client, Repository(engine), config, executor):
        d = Driver(ts_env, config.task_queue, edition_4_settings())
        handles: dict[Stage, WorkflowHandle] = {}
        for stage in PARKED:
            h = await d.start(make_submission(f"BAD-{stage.value.upper()[:8]}"))
            if stage != Stage.REVIEW:
                await d.review_all(h)
            if stage in (Stage.AGREEMENT, Stage.DISBURSEMENT, Stage.MONITORING):
                await d.select(h)
            if stage in (Stage.DISBURSEMENT, Stage.MONITORING):
                await d.sign(h)
            if stage == Stage.MONITORING:
                await d.pay_pending(h)
            await d.reach(h, stage)
            handles[stage] = h
        yield d, handles
        await d.cleanup()
    engine.dispose()


def run(coro, loop: asyncio.AbstractEventLoop):
    """Hypothesis runs in a thread; the client and the worker live on the test's event loop."""
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)


async def refused_unchanged(h: WorkflowHandle, name: str, payload) -> str:
    before: ApplicationStatus = await h.query(ApplicationWorkflow.get_status)
    try:
        answer = await h.execute_update(name, payload, result_type=Answer)
    except WorkflowUpdateFailedError as e:
        reason = getattr(e.cause, "message", None) or str(e.cause)
    else:
        raise AssertionError(f"{name} accepted {payload!r:.200} in {before.stage}: {answer}")
    assert await h.query(ApplicationWorkflow.get_status) == before
    return reason


def malformed(name: str):
    """Raw JSON for the update that its model refuses."""
    base = VALID[MODEL[name]]
    one_field = st.builds(lambda p, v: replaced(base, p, v), st.sampled_from(leaf_paths(base)), HOSTILE)
    missing = st.sampled_from([removed(base, f) for f, info in MODEL[name].model_fields.items() if info.is_required()])
    unknown = st.builds(
        lambda k, v: {**base, k: v}, st.text(min_size=1, max_size=20).filter(lambda k: k not in base), HOSTILE
    )
    not_an_object = st.one_of(st.none(), st.integers(), st.text(max_size=30), st.lists(st.integers(), max_size=3))
    return st.one_of(one_field, missing, unknown, not_an_object)


@pytest.mark.parametrize("name", sorted(UPDATES))
async def test_a_malformed_update_is_refused_with_a_reason_and_changes_nothing(parked, name):
    _, handles = parked
    loop = asyncio.get_running_loop()
    sent: list[Stage] = []

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(payload=malformed(name), stage=st.sampled_from(PARKED))
    def prop(payload, stage):
        try:
            wire = to_json(payload)  # as the client's pydantic converter sends it
        except Exception:  # noqa: BLE001 - a value no client could send (e.g. a NaN): not this test's case
            assume(False)
        if payload is not None:
            try:
                MODEL[name].model_validate_json(wire)
                assume(False)  # a hostile value the model may rightly accept: not this test's case
            except ValidationError:
                pass
        sent.append(stage)
        reason = run(refused_unchanged(handles[stage], name, payload), loop)
        assert reason.startswith("invalid input:") or "needs its input" in reason, reason
        assert len(reason) <= 1_100 and "input_value" not in reason  # fields and messages, no echo

    await asyncio.to_thread(prop)
    assert len(sent) >= 15, sent  # the examples reached the workflows (few were filtered out)


# Well-formed inputs sent to stages that do not take them, and the reason each gives.
OUT_OF_PLACE = {
    Stage.REVIEW: [
        "decide",
        "cofunding_decision",
        "sign_agreement",
        "payment_result",
        "fix_bank_details",
        "approve_bank_details",
        "retry_payment_orders",
        "submit_report",
        "review_report",
        "record_site_visit",
        "terminate",
        "complete_documents",
    ],
    Stage.COMMITTEE: [
        "submit_review",
        "cofunding_decision",
        "sign_agreement",
        "payment_result",
        "submit_report",
        "record_site_visit",
        "terminate",
        "complete_documents",
    ],
    Stage.AGREEMENT: [  # fix_bank_details is taken: a new version of the agreement (test_agreement_reissue.py)
        "submit_review",
        "decide",
        "cofunding_decision",
        "payment_result",
        "approve_bank_details",
        "submit_report",
        "review_report",
        "terminate",
    ],
    Stage.DISBURSEMENT: [
        "submit_review",
        "decide",
        "sign_agreement",
        "fix_bank_details",
        "approve_bank_details",
        "retry_payment_orders",
        "review_report",
        "complete_documents",
    ],
    Stage.MONITORING: [
        "submit_review",
        "decide",
        "cofunding_decision",
        "sign_agreement",
        "payment_result",
        "fix_bank_details",
        "approve_bank_details",
        "retry_payment_orders",
        "review_report",
        "complete_documents",
    ],
}


@pytest.mark.parametrize("stage", PARKED, ids=[s.value for s in PARKED])
async def test_a_well_formed_input_out_of_place_is_refused_with_the_reason_and_changes_nothing(parked, stage):
    _, handles = parked
    for name in OUT_OF_PLACE[stage]:
        payload = VALID[MODEL[name]]
        if name == "submit_review":
            payload = make_review("late-reviewer", 7).model_dump(mode="json")
        reason = await refused_unchanged(handles[stage], name, payload)
        field = reason.split(":")[0]
        assert field in MODEL[name].model_fields or field in ("stage", "period", "orders", "order_key", "input"), (
            name,
            stage,
            reason,
        )


async def test_after_all_that_every_application_is_healthy_and_takes_its_next_input(parked):
    d, handles = parked
    for h in handles.values():
        failed = [e async for e in h.fetch_history_events() if e.HasField("workflow_task_failed_event_attributes")]
        assert failed == [], h.id
    review = await handles[Stage.REVIEW].execute_update(ApplicationWorkflow.submit_review, make_review("r-after", 6))
    assert "review by r-after recorded" in review.message
    await d.pay_pending(handles[Stage.DISBURSEMENT])
    s = await d.reach(handles[Stage.DISBURSEMENT], Stage.MONITORING)
    assert s.paid_total == Decimal("24000.00")
