"""Replay histories against the current workflow code with the SDK's Replayer.

The replayer gets the worker's own workflow list (`worker.WORKFLOWS`) and the data converter of
every client (`temporal_connection.data_converter`, which decrypts payloads), so it runs the
workflows exactly as a worker would. A history that the code no longer reproduces fails with the
SDK's non-determinism message; the event it stopped at is taken from that message or, when the
message does not name it, found by replaying prefixes of the history (`locate`).
"""

import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from infra.workflow_runner import CompiledSandboxRunner

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    workflow_id: str
    run_id: str
    events: int
    error: str | None = None  # the SDK's message
    event_id: int | None = None  # where replay stopped, when the message names it
    nondeterministic: bool = False  # False with an error: replay could not run (unknown type, no key …)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "non-deterministic" if self.nondeterministic else "failed"

    def line(self) -> str:
        if self.ok:
            return f"ok                {self.workflow_id} ({self.events} events)"
        if not self.nondeterministic:
            return f"FAILED            {self.workflow_id}: could not replay: {self.error}"
        where = f"at event {self.event_id}" if self.event_id is not None else "(event not named)"
        return f"NON-DETERMINISTIC {self.workflow_id} {where}: {self.error}"


def quiet_runtime() -> Runtime:
    """A runtime whose core logs only errors: the CLI prints each failure itself, once."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )


def replayer(
    workflows: Sequence[type] | None = None,
    converter: DataConverter | None = None,
    runtime: Runtime | None = None,
) -> Replayer:
    if workflows is None:
        from worker import (
            WORKFLOWS,  # the worker's list: every workflow type a history may name
        )

        workflows = WORKFLOWS
    if converter is None:
        from infra.temporal_connection import data_converter

        converter = data_converter(accept_clear=True)  # histories from before encryption too
    return Replayer(
        workflows=list(workflows), data_converter=converter, runtime=runtime, workflow_runner=CompiledSandboxRunner()
    )


_INNER = re.compile(r'message: "(.*?)", source:')


def sdk_message(err: BaseException) -> str:
    """The SDK's own words: the core failure's message when wrapped in its debug dump."""
    text = str(err)
    m = _INNER.search(text)
    return m.group(1) if m else f"{type(err).__name__}: {text}"


# The core SDK names the history event it could not match, e.g. "HistoryEvent(id: 8, …)" or
# "… event 8 …"; the first number found is the event to look at.
_EVENT = re.compile(r"HistoryEvent\(id: (\d+)|[Ee]vent(?: id)?[ :#]+(\d+)|event_id[=: ]+(\d+)")


def event_of(message: str) -> int | None:
    m = _EVENT.search(message)
    return next((int(g) for g in m.groups() if g), None) if m else None


async def locate(r: Replayer, history: WorkflowHistory) -> int | None:
    """The event where replay diverges, for SDK messages that do not name it: replay growing
    prefixes of the history (cut before each workflow task starts; binary search, a prefix that
    fails keeps failing) and name the first command event of the first task that fails."""
    events = list(history.events)
    cuts = [i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED][1:]
    cuts.append(len(events))

    async def fails(cut: int) -> bool:
        res = await r.replay_workflow(WorkflowHistory(history.workflow_id, events[:cut]), raise_on_replay_failure=False)
        return isinstance(res.replay_failure, NondeterminismError)

    lo, hi = 0, len(cuts) - 1
    if not await fails(cuts[hi]):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if await fails(cuts[mid]):
            hi = mid
        else:
            lo = mid + 1
    start = cuts[lo - 1] if lo > 0 else 0
    task = events[start : cuts[lo]]
    done = [e for e in task if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    after = [e for e in task if done and e.event_id > done[-1].event_id]
    return (after or done or task)[0].event_id


async def aiter_histories(items: Iterable[T] | AsyncIterator[T]) -> AsyncIterator[T]:
    """A list or an async stream of histories, as an async stream."""
    if hasattr(items, "__aiter__"):
        async for h in items:  # type: ignore[union-attr]
            yield h
    else:
        for h in items:  # type: ignore[union-attr]
            yield h


async def replay(
    histories: Iterable[WorkflowHistory] | AsyncIterator[WorkflowHistory],
    *,
    replayer_: Replayer | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Replay every history (one replayer, histories streamed); one Outcome each, in order."""
    r = replayer_ or replayer()
    out: list[Outcome] = []
    async with r.workflow_replay_iterator(aiter_histories(histories)) as results:
        async for res in results:
            h = res.history
            err = res.replay_failure
            o = Outcome(h.workflow_id, h.run_id, len(h.events))
            if err is not None:
                nd = isinstance(err, NondeterminismError)
                at = event_of(str(err))
                if nd and at is None:
                    at = await locate(r, h)
                o = Outcome(h.workflow_id, h.run_id, len(h.events), sdk_message(err), at, nd)
            out.append(o)
            if on_outcome:
                on_outcome(o)
    return out
