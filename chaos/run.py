"""One chaos run: the edition, its people, the kills, then the invariants, all printed."""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chaos import edition, plan
from chaos.calls import together
from chaos.invariants import Check, Invariants, fetch_histories
from chaos.killer import Done, Progress, kill_as_planned
from chaos.people import People
from chaos.stack import Stack


def say(line: str) -> None:
    print(line, flush=True)


def command(seed: int, applications: int, kills: int) -> str:
    return f"python -m chaos --seed {seed} --applications {applications} --kills {kills}"


@dataclass
class Report:
    seed: int
    applications: int
    kills: list[Done] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds each phase of the people took
    error: str | None = None  # the run could not finish (a phase never came to its end)
    seconds: float = 0.0  # the whole run
    edition_seconds: float = 0.0  # until every application had settled, kills included (0: never)
    workdir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[str]:
        return ([self.error] if self.error else []) + [c.line() for c in self.checks if not c.ok]


async def run(
    seed: int, applications: int = 500, kills: int = 100, workdir: Path | None = None, out: Callable[[str], None] = say
) -> Report:
    """The edition of `applications` under `kills` kills drawn from `seed`; what it found."""
    kill_plan = plan.draw(seed, kills)
    groups = edition.plan(applications)
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"chaos-{seed}-"))
    report = Report(seed, applications, workdir=workdir)
    out(f"chaos: seed {seed}, {applications} applications, {plan.summary(kill_plan)}")
    out(f"chaos: processes, databases and logs in {workdir}")
    progress = Progress()
    began = time.monotonic()
    async with Stack(workdir, out) as stack:
        settings = edition.settings(datetime.now(UTC).date(), groups)
        people = People(stack, progress, groups, settings)
        killer = asyncio.create_task(kill_as_planned(kill_plan, stack, progress, out))
        try:
            await _act(people, report, out)
            report.kills = await killer
            await _timed("settling", people.settled(), report, out)
            report.edition_seconds = time.monotonic() - began
            out("chaos: checking")
            histories = await fetch_histories(people)
            for check in await Invariants(people).all(histories):
                report.checks.append(check)
                out(check.line())
            exited = stack.exited_on_their_own
            started = f"{len(stack.workers)} workers started, each killed by the driver or still running"
            report.checks.append(Check("no worker exited on its own", not exited, "; ".join(exited) or started))
            out(report.checks[-1].line())
        except Exception as e:  # noqa: BLE001 - whatever stopped the run is its finding, with the seed
            report.error = explain(e)
            out(f"chaos: the run did not finish: {report.error}")
        finally:
            killer.cancel()
    report.seconds = time.monotonic() - began
    if report.edition_seconds:
        rate = applications / report.edition_seconds * 60
        out(
            f"chaos: {len(report.kills)} kills; the edition took {report.edition_seconds:.0f} s ({rate:.1f} "
            f"applications a minute), the checks {report.seconds - report.edition_seconds:.0f} s"
        )
    if report.ok:
        out(f"chaos: every invariant holds (seed {seed})")
    else:
        out(f"chaos: FAILED (seed {seed}); replay it with: {command(seed, applications, kills)}")
    return report


async def _act(people: People, report: Report, out: Callable[[str], None]) -> None:
    """The people act side by side where the programme lets them: reviewers while submissions still
    come in; after the committee, officers, the Region and the payment system on each application as
    soon as its decision has come. Each phase's kills come at points of its own work."""
    await people.open_edition()
    call = together(people.submissions(), people.reviews())
    await _timed(f"{plan.SUBMISSIONS} and {plan.REVIEWS}", call, report, out)
    await _timed(plan.COMMITTEE, people.committee(), report, out)
    after = together(people.decisions(), people.agreements(), people.payments())
    await _timed(f"{plan.DECISIONS}, {plan.AGREEMENTS} and {plan.PAYMENTS}", after, report, out)


def explain(e: BaseException) -> str:
    """The first failure inside task groups, with the cause a refused update carries."""
    while isinstance(e, BaseExceptionGroup):
        e = e.exceptions[0]
    cause = f": {e.__cause__}" if e.__cause__ is not None and not isinstance(e, AssertionError) else ""
    return f"{type(e).__name__}: {e}{cause}"[:3000]


async def _timed(name: str, step: Awaitable[object], report: Report, out: Callable[[str], None]) -> None:
    began = time.monotonic()
    await step
    report.phases[name] = time.monotonic() - began
    out(f"chaos: {name} done in {report.phases[name]:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="the kills' seed (default: a new one, printed)")
    parser.add_argument("--applications", type=int, default=500)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where the processes keep their files (default: a new temporary directory)",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "big")
    report = asyncio.run(run(seed, args.applications, args.kills, args.dir))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
