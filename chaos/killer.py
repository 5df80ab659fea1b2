"""The killer: each kill of the plan when the edition's work reaches its point, one after the other
(a kill comes after the previous one's process is back, and its pause), while the people act."""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from chaos.plan import PHASES, Kill
from chaos.stack import Stack


class Progress:
    """How far each phase of the edition is: steps done out of its total."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}
        self.done: Counter[str] = Counter()
        self.ended: set[str] = set()
        self.started = time.monotonic()

    def begin(self, phase: str, total: int) -> None:
        self.total[phase] = total

    def step(self, phase: str, n: int = 1) -> None:
        self.done[phase] += n

    def end(self, phase: str) -> None:
        self.ended.add(phase)

    def reached(self, k: Kill) -> bool:
        if k.phase in self.ended:
            return True
        return k.phase in self.total and self.done[k.phase] >= k.step(self.total[k.phase])

    def where(self, phase: str) -> str:
        return f"{self.done[phase]}/{self.total.get(phase, '?')} {phase}"

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class Done:
    kill: Kill
    at: float  # seconds since the run began
    phase: str  # the phase it came in (its own, unless that phase ended first)
    where: str  # e.g. "312/800 reviews"
    what: str  # what was killed and how it came back

    def line(self, n: int, total: int) -> str:
        return f"kill {n:>3}/{total} at {self.at:7.1f} s, {self.where}: {self.what}"


async def kill_as_planned(plan: list[Kill], stack: Stack, progress: Progress, say: Callable[[str], None]) -> list[Done]:
    """Each kill once its point of its phase's work is reached (phases run side by side: the first
    reached comes first, in the plan's order among those reached), after its pause."""
    done: list[Done] = []
    pending = list(plan)
    while pending:
        await asyncio.sleep(pending[0].pause)
        while not (ready := [k for k in pending if progress.reached(k)]):
            await asyncio.sleep(0.05)
        k = ready[0]
        pending.remove(k)
        # The phase the people are in: the kill's own, or the one after it when it ended first.
        phase = k.phase if k.phase not in progress.ended else _current(progress)
        where = progress.where(phase)
        at = progress.elapsed()
        what = await stack.kill(k)
        done.append(Done(k, at, phase, where, what))
        say(done[-1].line(len(done), len(plan)))
    return done


def _current(progress: Progress) -> str:
    going = [p for p in PHASES if p in progress.total and p not in progress.ended]
    return going[0] if going else "settling"
