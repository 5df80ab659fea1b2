"""Replaying many histories on every core: a pool of processes, each with its own Replayer.

The SDK's Replayer runs one history at a time in one interpreter, and most of a replay is Python
(the workflow code in its sandbox, the data converter, the codec), so one process uses one core.
`ReplayPool` hands the histories to worker processes a few at a time, as serialized protobuf (a
fraction of the JSON's cost to move), and gives back one `Outcome` per history in the order given,
as `audit.replay.replay` does. Where the histories come from (files, the server, an archive) is the
caller's: the pool takes `WorkflowHistory` objects, or files it reads in its processes (`load`).

Few histories (or `jobs=1`) are replayed in this process: starting a process costs more than
replaying a handful.
"""

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from audit import histories as files
from audit.replay import Outcome, aiter_histories, quiet_runtime, replay, replayer

CHUNK = 4  # histories per task sent to a process: fewer round trips, still an even spread
IN_PROCESS_BELOW = 2 * CHUNK  # fewer histories than this: replayed here, no process started


def default_replayer() -> Replayer:
    """The worker's workflows and every client's converter (`audit.replay.replayer`), quiet."""
    return replayer(runtime=quiet_runtime())


@dataclass(frozen=True)
class Packed:
    """A history on its way to a process: its id and its events as protobuf bytes."""

    workflow_id: str
    events: bytes

    @classmethod
    def of(cls, h: WorkflowHistory) -> "Packed":
        return cls(h.workflow_id, History(events=h.events).SerializeToString())

    def history(self) -> WorkflowHistory:
        return WorkflowHistory(self.workflow_id, list(History.FromString(self.events).events))


# --- in each process ----------------------------------------------------------------------------

# The process's event loop and one replay stream for its whole life: the histories of each task are
# put on `todo`, their outcomes come back on `done` (a Replayer's stream costs ~0.2 s to open).
_here: dict[str, Any] = {}


def _start(make: Callable[[], Replayer]) -> None:
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)  # each failure is an Outcome
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    todo: asyncio.Queue[WorkflowHistory] = asyncio.Queue()
    done: asyncio.Queue[Outcome] = asyncio.Queue()

    async def stream() -> AsyncIterator[WorkflowHistory]:
        while True:
            yield await todo.get()

    _here.update(loop=loop, todo=todo, done=done)
    _here["stream"] = loop.create_task(replay(stream(), replayer_=make(), on_outcome=done.put_nowait))


async def _outcomes(chunk: list[Packed]) -> list[Outcome]:
    for p in chunk:
        _here["todo"].put_nowait(p.history())
    out = []
    for _ in chunk:
        got = asyncio.ensure_future(_here["done"].get())
        await asyncio.wait({got, _here["stream"]}, return_when=asyncio.FIRST_COMPLETED)
        if not got.done():  # the stream itself ended: its error, raised in the caller
            got.cancel()
            _here["stream"].result()
            raise RuntimeError("the replay stream ended")
        out.append(got.result())
    return out


def _replay_chunk(chunk: list[Packed]) -> list[Outcome]:
    return _here["loop"].run_until_complete(_outcomes(chunk))


def _load(paths: list[str]) -> list[Packed]:
    return [Packed.of(files.load(Path(p))) for p in paths]


# --- the pool ---------------------------------------------------------------------------------------


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ReplayPool:
    """`async with ReplayPool(jobs) as pool: outcomes = await pool.replay(histories)`; processes
    start on first use and stop on leaving the block."""

    def __init__(self, jobs: int | None = None, make_replayer: Callable[[], Replayer] = default_replayer) -> None:
        self.jobs = max(1, jobs or default_jobs())
        self.make_replayer = make_replayer
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._local: Replayer | None = None

    async def __aenter__(self) -> "ReplayPool":
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._executor is None:
            # spawn: this process runs Temporal's core threads, which a fork would copy half-way.
            self._executor = concurrent.futures.ProcessPoolExecutor(
                self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(self.make_replayer,),
            )
        return self._executor

    def _here(self) -> Replayer:
        if self._local is None:
            self._local = self.make_replayer()
        return self._local

    async def load(self, paths: Sequence[Path]) -> list[Packed]:
        """Read history files in the processes, in order; the first that is not a history raises
        `audit.histories.NotAHistory` before anything is replayed."""
        if self.jobs == 1 or len(paths) < IN_PROCESS_BELOW:
            return _load([str(p) for p in paths])
        loop = asyncio.get_running_loop()
        parts = [[str(p) for p in paths[k : k + CHUNK]] for k in range(0, len(paths), CHUNK)]
        done = await asyncio.gather(*(loop.run_in_executor(self._pool(), _load, part) for part in parts))
        return [p for part in done for p in part]

    async def replay(
        self,
        items: Iterable[WorkflowHistory | Packed] | AsyncIterator[WorkflowHistory | Packed],
        on_outcome: Callable[[Outcome], None] | None = None,
        total: int | None = None,
    ) -> list[Outcome]:
        """One Outcome per history, in the order given; `on_outcome` is called in that order too."""
        if self.jobs == 1 or (total is not None and total < IN_PROCESS_BELOW):
            plain = (i.history() if isinstance(i, Packed) else i async for i in aiter_histories(items))
            return await replay(plain, replayer_=self._here(), on_outcome=on_outcome)
        loop = asyncio.get_running_loop()
        pending: deque[asyncio.Future[list[Outcome]]] = deque()
        out: list[Outcome] = []

        async def drain(keep: int) -> None:
            while len(pending) > keep:
                for o in await pending.popleft():
                    out.append(o)
                    if on_outcome:
                        on_outcome(o)

        chunk: list[Packed] = []
        async for item in aiter_histories(items):
            chunk.append(item if isinstance(item, Packed) else Packed.of(item))
            if len(chunk) == CHUNK:
                pending.append(loop.run_in_executor(self._pool(), _replay_chunk, chunk))
                chunk = []
                await drain(4 * self.jobs)  # a few tasks queued per process, the rest not yet read
        if chunk:
            pending.append(loop.run_in_executor(self._pool(), _replay_chunk, chunk))
        await drain(0)
        return out
