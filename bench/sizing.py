"""What one application costs, measured for docs/sizing.md: an edition of N applications on the
embedded default (the chaos run's stack and people, chaos/, without kills), from submission to
the first tranche paid, then every workflow's history fetched and counted, the domain database's
rows and bytes, the dev server's file, the CPU of server and worker, and a backup and restore of
it all (starter.py's, cli/backup_files.py) timed.

Also each workflow type's workflow tasks (time on the worker, p50/p99/max, how many over 1 s, the
run's first task apart: it builds the sandbox; time queued; timeouts and failures) and the peak
resident memory of server and worker.

    .venv/bin/python -m bench.sizing -n 100          # bench/results/sizing.json
    make bench-edition                               # -n 10000 --budget-minutes 90: past the
                                                     # budget, the rates reached and their extrapolation
"""

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, table

from bench.measuring import ROOT, cpu_seconds, percentile
from chaos import edition
from chaos.calls import together
from chaos.invariants import fetch_histories
from chaos.killer import Progress
from chaos.people import People
from chaos.stack import Stack
from cli.backup_files import Places, restore, take
from domain.db.session import make_engine, normalize_url

RESULTS = ROOT / "bench" / "results" / "sizing.json"
# Event kinds counted per history (the attribute a HistoryEvent carries for each).
KINDS = {
    "activity_task_scheduled_event_attributes": "activities",
    "activity_task_started_event_attributes": "activity_attempts",
    "workflow_task_completed_event_attributes": "workflow_tasks",
    "workflow_execution_update_accepted_event_attributes": "updates",
    "workflow_execution_signaled_event_attributes": "signals",
    "timer_started_event_attributes": "timers",
    "start_child_workflow_execution_initiated_event_attributes": "children",
    "marker_recorded_event_attributes": "markers",
    "workflow_execution_continued_as_new_event_attributes": "continued_as_new",
}


def history_shape(h: Any) -> dict[str, Any]:
    """Events, bytes (the protobuf's encoded size: what the server stores) and kinds of one run."""
    from temporalio.api.history.v1 import History

    c: Counter[str] = Counter()
    for e in h.events:
        for field, name in KINDS.items():
            if e.HasField(field):
                c[name] += 1
    first = h.events[0].workflow_execution_started_event_attributes
    return {
        "type": first.workflow_type.name,
        "events": len(h.events),
        "bytes": History(events=h.events).ByteSize(),
        **c,
    }


def workflow_tasks(h: Any) -> dict[str, list[float]]:
    """One run's workflow tasks: each one's time on the worker (started to completed, as the server
    recorded them) and in the queue (scheduled to started), in seconds, and the timed-out and failed
    ones' count."""
    scheduled: dict[int, float] = {}
    started: dict[int, float] = {}
    out: dict[str, list[float]] = {"first": [], "run": [], "queued": [], "timed_out": [], "failed": []}
    for e in h.events:
        at = e.event_time.ToMicroseconds() / 1e6
        if e.HasField("workflow_task_scheduled_event_attributes"):
            scheduled[e.event_id] = at
        elif e.HasField("workflow_task_started_event_attributes"):
            started[e.event_id] = at
            sched = e.workflow_task_started_event_attributes.scheduled_event_id
            if sched in scheduled:
                out["queued"].append(at - scheduled[sched])
        elif e.HasField("workflow_task_completed_event_attributes"):
            began = started.get(e.workflow_task_completed_event_attributes.started_event_id)
            if began is not None:  # a run's first task apart: it builds the workflow's sandbox
                out["first" if not out["run"] and not out["first"] else "run"].append(at - began)
        elif e.HasField("workflow_task_timed_out_event_attributes"):
            out["timed_out"].append(at)
        elif e.HasField("workflow_task_failed_event_attributes"):
            out["failed"].append(at)
    return out


def task_latencies(histories: list[Any]) -> dict[str, Any]:
    """Workflow tasks of every run, by workflow type: how long each took (p50, p99, max, how many
    over 1 s) and waited, and how many timed out or failed. Issue 16's target: p99 under 250 ms,
    none over 1 s, no timeouts."""
    by_type: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for h in histories:
        kind = h.events[0].workflow_execution_started_event_attributes.workflow_type.name
        for k, v in workflow_tasks(h).items():
            by_type[kind][k] += v
    out: dict[str, Any] = {}
    for kind, t in sorted(by_type.items()):
        first, later, queued = t["first"], t["run"], t["queued"]
        run = first + later
        out[kind] = {
            "tasks": len(run),
            "run_ms": {"p50": ms(run, 50), "p99": ms(run, 99), "max": ms(run, 100)},
            "first_run_ms": {"p50": ms(first, 50), "p99": ms(first, 99)},
            "later_run_ms": {"p50": ms(later, 50), "p99": ms(later, 99)},
            "over_1s": sum(1 for x in run if x > 1),
            "queued_ms": {"p50": ms(queued, 50), "p99": ms(queued, 99), "max": ms(queued, 100)},
            "timed_out": len(t["timed_out"]),
            "failed": len(t["failed"]),
        }
    return out


def reached(progress: Progress, phase: str, phase_seconds: float, total_seconds: float, n: int) -> dict[str, Any]:
    """Where an edition stopped by the budget was: each step of the phase done out of its total, its
    rate, and the phase's and the whole edition's time extrapolated linearly from it."""
    steps = {k: (progress.done[k], t) for k, t in progress.total.items() if k not in progress.ended}
    fraction = min((done / t for done, t in steps.values() if t), default=0.0)
    return {
        "phase": phase,
        "seconds_in_phase": round(phase_seconds, 1),
        "steps": {k: f"{done}/{t}" for k, (done, t) in steps.items()},
        "per_second": {k: round(done / phase_seconds, 2) for k, (done, _) in steps.items() if phase_seconds},
        "phase_seconds_extrapolated": round(phase_seconds / fraction, 0) if fraction else None,
        "seconds_before_phase": round(total_seconds - phase_seconds, 1),
        "applications": n,
    }


def ms(xs: list[float], p: float) -> float:
    return round(1000 * percentile(xs, p), 1) if xs else 0.0


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (Linux: VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def summarise(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in shapes:
        by_type[s["type"]].append(s)
    out = {}
    for kind, runs in sorted(by_type.items()):
        keys = sorted({k for r in runs for k in r} - {"type"})
        out[kind] = {
            "runs": len(runs),
            "mean": {k: round(sum(r.get(k, 0) for r in runs) / len(runs), 1) for k in keys},
            "max": {k: max(r.get(k, 0) for r in runs) for k in keys},
        }
    return out


def domain_rows(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as c:
        return {
            t: c.scalar(select(func.count()).select_from(table(t))) or 0
            for t in sorted(inspect(engine).get_table_names())
        }


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def run(
    n: int, work: Path, budget: float | None = None, editions_worker: bool = True, task_slots: int | None = None
) -> dict[str, Any]:
    groups = edition.plan(n)
    settings = edition.settings(date.today(), groups)
    phases: dict[str, float] = {}
    unfinished: dict[str, Any] | None = None
    stack = Stack(work / "live", print, editions_worker)
    if task_slots is not None:
        stack.env["MAX_CONCURRENT_WORKFLOW_TASKS"] = str(task_slots)
    async with stack:
        pids = {"temporal_server": stack.server.proc, "worker": stack.worker.proc}
        if stack.editions_worker is not None:
            pids["editions_worker"] = stack.editions_worker.proc
        cpu0 = {k: cpu_seconds(p.pid) for k, p in pids.items()}
        progress = Progress()
        people = People(stack, progress, groups, settings)
        began = time.monotonic()
        steps = {
            "open": people.open_edition,
            "submissions_and_reviews": lambda: together(people.submissions(), people.reviews()),
            "committee": people.committee,
            "decisions_agreements_payments": lambda: together(
                people.decisions(), people.agreements(), people.payments()
            ),
            "settling": people.settled,
        }
        for name, step in steps.items():
            t = time.monotonic()
            left = None if budget is None else max(0.0, budget - (t - began))
            try:
                if left == 0:
                    raise TimeoutError
                await asyncio.wait_for(step(), left)
            except TimeoutError:  # past the budget: the rates reached, and what they extrapolate to
                unfinished = reached(progress, name, time.monotonic() - t, time.monotonic() - began, n)
                print(f"budget of {budget:.0f} s spent in {name}: {unfinished}", flush=True)
                break
            phases[name] = round(time.monotonic() - t, 1)
        edition_seconds = round(time.monotonic() - began, 1)
        cpu = {k: round(cpu_seconds(p.pid) - cpu0[k], 1) for k, p in pids.items()}
        peak = {k: peak_rss_mb(p.pid) for k, p in pids.items()}
        histories = [h for hs in (await fetch_histories(people)).values() for h in hs]
        shapes = [history_shape(h) for h in histories]
        tasks = task_latencies(histories)
        places = Places(stack.dir / "temporal.db", normalize_url(stack.database_url), stack.dir / "documents", None)
        backup = take(places, work / "backup")  # while the server and worker still run
        rows = domain_rows(stack.database_url)
        live = {"temporal_db": file_bytes(stack.dir / "temporal.db"), "domain_db": file_bytes(stack.dir / "moazara.db")}
    # The backup's copies: each database as one file without its write-ahead log.
    sizes = {w: sum(f["bytes"] for f in backup["files"] if f["what"] == w) for w in ("temporal", "domain", "document")}
    fresh = work / "restored"
    restored = restore(
        work / "backup",
        Places(fresh / "temporal.db", normalize_url(f"sqlite:///{fresh / 'm.db'}"), fresh / "documents", None),
    )
    return {
        "command": f"python -m bench.sizing -n {n}"
        + ("" if editions_worker else " --one-worker")
        + ("" if task_slots is None else f" --workflow-task-slots {task_slots}"),
        "editions_worker": editions_worker,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "applications": n,
        "edition_seconds": edition_seconds,
        "phases_seconds": phases,
        "unfinished": unfinished,
        "cpu_seconds": cpu,
        "peak_memory_mb": peak,
        "workflow_tasks": tasks,
        "histories": summarise(shapes),
        "history_totals": {
            "runs": len(shapes),
            "events": sum(s["events"] for s in shapes),
            "bytes": sum(s["bytes"] for s in shapes),
        },
        "domain_rows": rows,
        "bytes": sizes,
        "bytes_live_with_wal": live,
        "bytes_per_application": {k: round(v / n) for k, v in sizes.items()},
        "backup": {
            "seconds": backup["seconds"],
            "files": len(backup["files"]),
            "bytes": sum(f["bytes"] for f in backup["files"]),
        },
        "restore_seconds": {"checked": restored["checked_seconds"], "total": restored["restore_seconds"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__)
    parser.add_argument("-n", type=int, default=100, help="applications in the edition")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="stop the edition after this long and report the rates reached and their extrapolation",
    )
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="the edition on the applications' worker (before EDITION_TASK_QUEUE; deployments have two)",
    )
    parser.add_argument(
        "--workflow-task-slots", type=int, default=None, help="MAX_CONCURRENT_WORKFLOW_TASKS of the workers"
    )
    args = parser.parse_args()
    budget = None if args.budget_minutes is None else 60 * args.budget_minutes
    tmp = Path(tempfile.mkdtemp(prefix="sizing-"))
    try:
        result = asyncio.run(run(args.n, tmp, budget, not args.one_worker, args.workflow_task_slots))
    except BaseException:
        # The server's file, the databases and the workers' logs stay for whoever looks into it.
        print(f"the run failed: its files are kept in {tmp}", flush=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    # One entry per edition size: the per-application cost is the difference between two sizes.
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs[str(args.n)] = result
    RESULTS.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
