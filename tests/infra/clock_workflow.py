"""A workflow the sandbox must refuse (tests/infra/test_workflow_runner.py): it reads the clock."""

from datetime import date

from temporalio import workflow


@workflow.defn
class LooksAtTheClock:
    @workflow.run
    async def run(self) -> str:
        return date.today().isoformat()  # not allowed in a workflow: workflow.now() is
