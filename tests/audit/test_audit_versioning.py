"""Versioning practice (audit/VERSIONING.md): a workflow started on the old code, the worker
upgraded while it waits, completed on the new code; the change is behind `workflow.patched`, and
the same change without it would have broken the workflow in flight (the replayer says so)."""

import contextlib
import uuid

from temporalio.service import RPCError
from temporalio.worker import Worker

from audit import replay
from simulation.waiting import until
from tests.versioning import v1, v2, v2_unpatched
from tests.versioning.steps import ALL


async def _until(handle, steps: list[str]) -> None:
    await until(lambda: handle.query("done"), lambda done: done == steps, f"reached {steps}", seconds=10)


async def test_a_workflow_started_on_v1_completes_on_v2_after_a_mid_flight_upgrade(ts_env, executor):
    client, queue = ts_env.client, f"versioning-{uuid.uuid4().hex[:8]}"
    handles = []
    try:
        # No workflow cache on the old worker: once it stops, the next task goes straight to the
        # new one instead of waiting out the server's sticky-queue timeout.
        async with Worker(
            client,
            task_queue=queue,
            workflows=[v1.VersionedGrant],
            activities=ALL,
            activity_executor=executor,
            max_cached_workflows=0,
        ):
            old = await client.start_workflow(
                v1.NAME, "app-old", id=f"versioned-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            handles.append(old)
            await _until(old, ["intake"])  # in flight: intake done, waiting for approval
        in_flight = await old.fetch_history()

        # The change without patching cannot run this workflow any more: caught before deploying.
        [broken] = await replay.replay([in_flight], replayer_=replay.replayer([v2_unpatched.VersionedGrant]))
        assert broken.nondeterministic and broken.event_id is not None, broken.line()
        # The patched change replays it.
        [ok] = await replay.replay([in_flight], replayer_=replay.replayer([v2.VersionedGrant]))
        assert ok.ok, ok.line()

        async with Worker(
            client, task_queue=queue, workflows=[v2.VersionedGrant], activities=ALL, activity_executor=executor
        ):
            assert await old.execute_update("approve", "officer") == "approved by officer"
            # v1's path up to the upgrade (no bank check), v2's from then on (the notice).
            assert await old.result() == ["intake", "notice", "pay"]

            new = await client.start_workflow(
                v2.NAME, "app-new", id=f"versioned-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            handles.append(new)
            await _until(new, ["bank-check", "intake"])
            await new.execute_update("approve", "officer")
            assert await new.result() == ["bank-check", "intake", "notice", "pay"]

        # Both histories, the upgraded one and the new one, replay on v2: the golden-history check.
        outcomes = await replay.replay(
            [await old.fetch_history(), await new.fetch_history()], replayer_=replay.replayer([v2.VersionedGrant])
        )
        assert [o.ok for o in outcomes] == [True, True], [o.line() for o in outcomes]
        # The upgraded workflow's history carries the marker of the patch it took.
        markers = [
            e.marker_recorded_event_attributes.marker_name
            for e in (await old.fetch_history()).events
            if e.HasField("marker_recorded_event_attributes")
        ]
        assert markers == ["core_patch"]
    finally:
        for h in handles:  # nothing left running to hold later tests' time skipping
            with contextlib.suppress(RPCError):  # already closed
                await h.terminate("test finished")
