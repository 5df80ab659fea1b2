"""Running an activity from a workflow under its policy (activities/policies.py: timeouts, retries,
heartbeat, read from the activity's name): how every workflow here schedules one.

An activity run by an update's handler has someone waiting for its answer (a committee decision,
a signature, an import's batch): it goes with a higher Temporal priority, ahead of the background
steps in the task queue's backlog. Priority is not part of a history's determinism: no patch needed.
"""

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.common import Priority

with workflow.unsafe.imports_passed_through():
    from activities.policies import policy_for

URGENT = Priority(priority_key=1)  # 1 is the highest; unset means the default, 3


async def run_activity(fn: Callable[..., Any], *args: Any) -> Any:
    """Run the activity method `fn` with `args` under its policy; its result."""
    p = policy_for(fn.__name__)
    return await workflow.execute_activity_method(
        fn,
        args=list(args),
        start_to_close_timeout=p.start_to_close,
        schedule_to_close_timeout=p.schedule_to_close,
        retry_policy=p.retry,
        heartbeat_timeout=p.heartbeat,
        priority=URGENT if workflow.current_update_info() is not None else Priority.default,
    )
