"""A deliberately non-deterministic change to ApplicationWorkflow, under the same workflow name.

It waits one second before recording each stage change: a new timer where the histories have an
activity. Code like this must never reach a worker while applications are in flight; replaying
the golden histories against it must fail and say where.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import ApplicationInput, ApplicationStatus
    from workflows.application import ApplicationWorkflow


@workflow.defn(name="ApplicationWorkflow")
class BrokenApplicationWorkflow(ApplicationWorkflow):
    @workflow.run
    async def run(self, inp: ApplicationInput) -> ApplicationStatus:  # the SDK wants run on the class itself
        return await super().run(inp)

    async def _enter(self, stage, note: str = "") -> None:
        await workflow.sleep(timedelta(seconds=1))  # the unpatched change
        await super()._enter(stage, note)
