"""Version 1 of a small grant workflow: intake, wait for ops' approval, pay."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.versioning.steps import intake, pay

NAME = "VersionedGrant"
T = timedelta(seconds=30)


@workflow.defn(name=NAME)
class VersionedGrant:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.approved_by: str | None = None

    @workflow.run
    async def run(self, application_id: str) -> list[str]:
        self.steps.append(await workflow.execute_activity(intake, application_id, start_to_close_timeout=T))
        await workflow.wait_condition(lambda: self.approved_by is not None)
        self.steps.append(await workflow.execute_activity(pay, application_id, start_to_close_timeout=T))
        return self.steps

    @workflow.update
    def approve(self, by: str) -> str:
        self.approved_by = by
        return f"approved by {by}"

    @workflow.query
    def done(self) -> list[str]:
        return self.steps
