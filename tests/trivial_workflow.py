"""A workflow that does nothing: the tasks a test puts in a task queue (and a worker takes) when
only the queue itself is under test (infra/backlog.py, observability/backlog.py)."""

from temporalio import workflow


@workflow.defn(name="Nothing")
class Nothing:
    @workflow.run
    async def run(self) -> None:
        return None
