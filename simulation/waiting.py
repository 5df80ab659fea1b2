"""The one way tests and simulated people wait for a workflow to get somewhere: poll a probe (a
query, a status) in real time until it says so, or fail naming what never came and what was seen.
Time on the time-skipping server moves only when asked (`env.sleep`); queries never move it."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    what: str,
    seconds: float = 20.0,
    every: float = 0.05,
) -> T:
    """`probe()` again and again until `done(result)`; the result. AssertionError after `seconds`,
    naming `what` and the last result."""
    deadline = time.monotonic() + seconds
    while True:
        seen = await probe()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"never {what} in {seconds:g} s; last seen: {seen!r}"[:2000])
        await asyncio.sleep(every)
