"""An activity with the urgent Temporal priority (workflows/run_activity.py: an update's, someone
waits for it) marks its database writes urgent: they are handed the writer lock before the
background's (domain/db/writers.py). Registered by worker.build_worker."""

from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from domain.db.writers import urgent

URGENT_KEY = 1  # workflows/run_activity.URGENT's priority_key


class _Mark(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if activity.info().priority.priority_key != URGENT_KEY:
            return await self.next.execute_activity(input)
        token = urgent.set(True)  # copied into the activity's thread with the context
        try:
            return await self.next.execute_activity(input)
        finally:
            urgent.reset(token)


class Urgency(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Mark(next)
