"""Test-only fault injection for real worker processes: never imported by production code.

`python -m tests.fault_injection` is `python worker.py` with one more activity interceptor, driven
by environment variables, so a test can make a SIGKILL land inside a given activity:

    FAULT_HOLD_ACTIVITY=create_payment_order   the activity to hold
    FAULT_HOLD_SECONDS=120                      how long to hold it once its body has run
    FAULT_MARKER=/tmp/…/held                    file written when the hold starts (the test waits for it)

The hold comes after the activity's body (its database rows written, the payment system called) and
before its completion reaches Temporal: the worst moment for a crash, since the retry on another
worker runs every side effect again.
"""

import asyncio
import functools
import os
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


class _Hold(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await self.next.execute_activity(input)
        if activity.info().activity_type == os.environ.get("FAULT_HOLD_ACTIVITY"):
            marker = os.environ.get("FAULT_MARKER")
            if marker:  # written whole, then renamed: a test waiting for the file never reads it half written
                part = Path(f"{marker}.part")
                part.write_text(f"{activity.info().workflow_id} attempt {activity.info().attempt}\n")
                part.replace(marker)
            await asyncio.sleep(float(os.environ.get("FAULT_HOLD_SECONDS", "120")))
        return result


class HoldActivity(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Hold(next)


if __name__ == "__main__":
    import worker

    worker.build_worker = functools.partial(worker.build_worker, interceptors=[HoldActivity()])
    asyncio.run(worker.main())
