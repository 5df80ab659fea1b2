"""Running an activity from a workflow under its policy (activities/policies.py: timeouts, retries,
heartbeat, read from the activity's name): how every workflow here schedules one."""

from collections.abc import Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.policies import policy_for


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
    )
