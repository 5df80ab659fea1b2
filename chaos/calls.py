"""Calls to Temporal as a person makes them while its servers are being killed: asked again until
answered, an update always under its own id, so that Temporal applies it once however often it is
sent (the first answer comes back to every repeat)."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from infra.failure_converter import asks_to_resend

T = TypeVar("T")
RPC_TIMEOUT = timedelta(seconds=10)


async def robust(call: Callable[[], Awaitable[T]], what: str, seconds: float = 600) -> T:
    """`call()` again (every half second) while Temporal does not answer: the server down or
    restarting, an update not answered within its RPC timeout (the workflow's worker just died, the
    restarted server replays the workflow first), or refused only for now (the edition continuing
    as new). AssertionError naming `what` after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await call()
        except (RPCError, RuntimeError, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateFailedError) as e:
            # A connect refused while the server starts is a RuntimeError ("Failed client connect").
            if isinstance(e, RuntimeError) and "Failed client connect" not in str(e):
                raise
            if isinstance(e, WorkflowUpdateFailedError) and not asks_to_resend(e):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what}: still failing after {seconds:g} s: {e}") from e
            await asyncio.sleep(0.5)


async def update(handle: WorkflowHandle[Any, Any], fn: Any, arg: Any, uid: str, seconds: float = 600) -> Any:
    """An update sent until answered, always as `uid`: applied once, its first answer returned."""
    return await robust(lambda: handle.execute_update(fn, arg, id=uid, rpc_timeout=RPC_TIMEOUT), uid, seconds)


async def query(handle: WorkflowHandle[Any, Any], fn: Any, seconds: float = 600) -> Any:
    return await robust(lambda: handle.query(fn, rpc_timeout=RPC_TIMEOUT), f"{handle.id}: query", seconds)


async def bounded(n: int, coros: list[Awaitable[T]]) -> list[T]:
    """Every coroutine, at most `n` at a time; their results in order."""
    sem = asyncio.Semaphore(n)

    async def one(c: Awaitable[T]) -> T:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def together(*steps: Coroutine[Any, Any, Any]) -> None:
    """Side by side; the first failure stops the others."""
    async with asyncio.TaskGroup() as tg:
        for step in steps:
            tg.create_task(step)
