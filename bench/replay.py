"""Benchmark (not a test): histories replayed per second, the service's against a minimal workflow's
of the same shape, in the same run, on every core and in one process.

    .venv/bin/python -m bench.replay [--histories 200] [--jobs N] [--out bench/results/replay.json]

The service's histories are the golden set (tests/golden: every lifecycle path, the edition's and
the outbox's workflows too, decrypted with its test-only key). Its floor is one `FloorWorkflow`
history (bench/floor.py: activities, updates and timers and nothing else) per golden history, with
that history's counts of each, run first on a fresh embedded server through the same data converter
(pydantic + AES-256-GCM). Both sets are replayed round after round until `--histories` of each have
been, by `audit.replay_pool.ReplayPool` as `python -m audit replay` does (`--jobs` processes), then
by one Replayer in this process; the ratio is of events per second.
"""

import asyncio
import json
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import temporalio
import typer
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, Worker

from audit import histories, replay
from audit.replay_pool import ReplayPool, default_jobs
from bench.floor import FloorPlan, FloorWorkflow, floor_step
from bench.measuring import compile_bytecode
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import DevServer
from simulation.waiting import until

# The golden histories the tests replay (tests/golden_histories.py writes them): read here as data.
GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
RESULTS = Path(__file__).resolve().parent / "results"


def golden_settings() -> Settings:
    return Settings(secrets_file=str(GOLDEN / "codec-key.secrets"), codec_keys={}, codec_encrypt_key=None)


def both_replayer() -> Replayer:
    """The worker's workflows and the floor's, with the golden key (made in each process)."""
    from worker import WORKFLOWS

    return replay.replayer(
        [*WORKFLOWS, FloorWorkflow], converter=data_converter(golden_settings()), runtime=replay.quiet_runtime()
    )


def plan_of(h: WorkflowHistory) -> FloorPlan:
    c: Counter = Counter()
    for e in h.events:
        c["activities"] += e.HasField("activity_task_scheduled_event_attributes")
        c["updates"] += e.HasField("workflow_execution_update_accepted_event_attributes")
        c["timers"] += e.HasField("timer_started_event_attributes")
    return FloorPlan(activities=c["activities"], updates=c["updates"], timers=max(c["timers"], c["updates"]))


async def floor_histories(plans: list[FloorPlan], work: Path) -> list[WorkflowHistory]:
    """One FloorWorkflow per plan, run to its end on a fresh embedded server; their histories."""
    server = DevServer(work / "temporal.db", work / "temporal.log")
    await asyncio.to_thread(server.start)
    try:
        client = await Client.connect(server.address, data_converter=data_converter(golden_settings()))
        with ThreadPoolExecutor(8) as threads:
            async with Worker(
                client,
                task_queue="bench-replay",
                workflows=[FloorWorkflow],
                activities=[floor_step],
                activity_executor=threads,
            ):

                async def one(i: int, plan: FloorPlan) -> WorkflowHistory:
                    h = await client.start_workflow(
                        FloorWorkflow.run, plan, id=f"floor-{i:03d}", task_queue="bench-replay"
                    )
                    for k in range(1, plan.updates + 1):
                        await until(
                            lambda: h.query(FloorWorkflow.waiting_for), lambda s, k=k: s == k, f"update {k}", 120, 0.05
                        )
                        await h.execute_update(FloorWorkflow.answer, k)
                    await h.result()
                    return await h.fetch_history()

                return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(plans))))
    finally:
        server.stop()


async def rate(pool: ReplayPool, batch: list) -> dict:
    start = time.perf_counter()
    outcomes = await pool.replay(batch, total=len(batch))
    seconds = time.perf_counter() - start
    failed = [o.line() for o in outcomes if not o.ok]
    if failed:
        raise SystemExit("replay failed:\n" + "\n".join(failed[:5]))
    events = sum(o.events for o in outcomes)
    return {
        "histories": len(outcomes),
        "events": events,
        "seconds": round(seconds, 2),
        "histories_per_second": round(len(outcomes) / seconds, 1),
        "events_per_second": round(events / seconds),
    }


async def bench(n: int, jobs: int) -> dict:
    files = sorted(GOLDEN.rglob(f"*{histories.SUFFIX}"))
    if not files:
        raise SystemExit("no golden histories: run `make golden`")
    golden = [histories.load(p) for p in files]
    work = Path(tempfile.mkdtemp(prefix="moazara-bench-replay-"))
    try:
        floor = await floor_histories([plan_of(h) for h in golden], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours = [golden[i % len(golden)] for i in range(n)]
    theirs = [floor[i % len(floor)] for i in range(n)]
    out: dict = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "distinct_histories": len(golden),
        "events_per_history": {
            "ours": round(sum(len(h.events) for h in golden) / len(golden), 1),
            "floor": round(sum(len(h.events) for h in floor) / len(floor), 1),
        },
    }
    for label, j in ((f"{jobs} processes", jobs), ("1 process", 1)):
        async with ReplayPool(j, both_replayer) as pool:
            # Warm up: the processes start and import the workflows' code once.
            await pool.replay(golden[: 2 * j * 4] + floor[: 2 * j * 4], total=16 * j)
            # Floor, ours, ours, floor: a load that drifts during the run weighs on both alike.
            f1, o1 = await rate(pool, theirs[: n // 2]), await rate(pool, ours[: n // 2])
            o2, f2 = await rate(pool, ours[n // 2 :]), await rate(pool, theirs[n // 2 :])
        ours_eps = (o1["events"] + o2["events"]) / (o1["seconds"] + o2["seconds"])
        floor_eps = (f1["events"] + f2["events"]) / (f1["seconds"] + f2["seconds"])
        out[label] = {
            "ours": {
                "histories_per_second": round(n / (o1["seconds"] + o2["seconds"]), 1),
                "events_per_second": round(ours_eps),
            },
            "floor": {
                "histories_per_second": round(n / (f1["seconds"] + f2["seconds"]), 1),
                "events_per_second": round(floor_eps),
            },
            "ratio_events_per_second": round(ours_eps / floor_eps, 3),
        }
    out["histories_each"] = n
    out["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "temporalio": temporalio.__version__,
    }
    out["notes"] = (
        "sandboxed workflow runner, payloads decrypted (AES-256-GCM) by the service's data converter; "
        "ours: the golden histories; floor: FloorWorkflow histories with each golden history's activities, "
        "updates and timers"
    )
    return out


cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@cli.command()
def main(
    n: Annotated[int, typer.Option("--histories", min=2, help="histories of each set to replay")] = 200,
    jobs: Annotated[int, typer.Option("--jobs", min=0, help="replay processes (0: one per core)")] = 0,
    out: Annotated[Path, typer.Option("--out", help="where to write the result (JSON)")] = RESULTS / "replay.json",
    label: Annotated[str, typer.Option("--label", help="a note stored with the figures")] = "",
) -> None:
    """Replay the golden histories and their floor's; report each one's rate and the ratio."""
    compile_bytecode()
    result = asyncio.run(bench(n, jobs or default_jobs()))
    result["label"] = label
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key in (k for k in result if k.endswith(("processes", "process"))):
        r = result[key]
        print(
            f"{key}: ours {r['ours']['histories_per_second']} histories/s ({r['ours']['events_per_second']} events/s), "
            f"floor {r['floor']['histories_per_second']}/s ({r['floor']['events_per_second']} events/s): "
            f"ratio {r['ratio_events_per_second']}"
        )
    print(f"events per history: {result['events_per_history']}  -> {out}")


if __name__ == "__main__":
    cli()
