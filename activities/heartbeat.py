"""A long step of a synchronous activity with heartbeats: the step runs in a thread of its own while
the activity's thread reports to Temporal every few seconds. A step that takes a minute on a loaded
worker is not cut short, and an attempt whose worker died (or whose answer was lost while the
Temporal server was down) is retried at the heartbeat timeout rather than at start-to-close."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from temporalio import activity

T = TypeVar("T")
EVERY = 5.0  # seconds between two heartbeats (the SDK throttles them to its own pace)


def while_beating(step: Callable[[], T], every: float = EVERY) -> T:
    """`step()`, heartbeating while it runs; its result, or what it raised."""
    with ThreadPoolExecutor(1, thread_name_prefix="beating") as pool:
        running = pool.submit(step)
        while True:
            try:
                return running.result(timeout=every)
            except TimeoutError:
                activity.heartbeat()
