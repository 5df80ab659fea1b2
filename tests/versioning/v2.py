"""Version 2, deployed while version-1 workflows are in flight: a bank check before intake and a
notice before paying. Both changes are behind `workflow.patched`, so a workflow that already went
past them on version 1 keeps its version-1 shape on replay and takes the new code from then on."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.versioning.steps import bank_check, intake, notice, pay
    from tests.versioning.v1 import NAME, T


@workflow.defn(name=NAME)
class VersionedGrant:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.approved_by: str | None = None

    @workflow.run
    async def run(self, application_id: str) -> list[str]:
        if workflow.patched("bank-check-before-intake"):  # not for workflows already past intake
            self.steps.append(await workflow.execute_activity(bank_check, application_id, start_to_close_timeout=T))
        self.steps.append(await workflow.execute_activity(intake, application_id, start_to_close_timeout=T))
        await workflow.wait_condition(lambda: self.approved_by is not None)
        if workflow.patched("notice-before-pay"):  # every workflow that reaches this point on v2
            self.steps.append(await workflow.execute_activity(notice, application_id, start_to_close_timeout=T))
        self.steps.append(await workflow.execute_activity(pay, application_id, start_to_close_timeout=T))
        return self.steps

    @workflow.update
    def approve(self, by: str) -> str:
        self.approved_by = by
        return f"approved by {by}"

    @workflow.query
    def done(self) -> list[str]:
        return self.steps
