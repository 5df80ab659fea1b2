"""The lifecycle benchmark: how many applications per second the service runs end to end, against
Temporal's own floor on the same machine. Part of `make bench`; never a test.

    python -m bench.lifecycle [-n 200] [--import-n 300] [--profile]

Each phase gets a fresh embedded server (`temporal server start-dev` on a SQLite file, as in
production's embedded default) and its own worker process:

1. the floor — N `FloorWorkflow`s (bench/floor.py) with as many activities, updates and timers as
   one real lifecycle (counted from a real history first);
2. the lifecycle — N applications from submission to completion (12-month projects: reviews,
   committee decision, agreement, two tranches, two progress reports) on `python worker.py` and a
   SQLite domain database, the simulated reviewers, committee, officers and payment system
   answering as soon as each workflow waits for them; the latency of every ops update (committee
   decision, signature, report approval) is recorded;
3. bulk import — `starter.py import` of a JSONL file, straight to Temporal and through an open
   edition.

Prints the rates and their ratio, p50/p95 of an ops update, and the import rates; writes them to
bench/results/lifecycle.json. With --profile, py-spy samples the lifecycle's worker and the top of
its profile is written to bench/results/lifecycle-profile.txt (the floor's to floor-profile.txt).
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)

from bench.floor import FloorPlan, FloorWorkflow
from bench.imports import import_rate
from bench.measuring import CpuMeter, Profiler, compile_bytecode, database, many, percentile, timed, update_breakdown
from demo.services import SERVER_PERSISTENCE
from domain.edition import edition_4_settings
from domain.models import ApplicationStatus, Stage
from infra.settings import Settings
from infra.temporal_connection import connect
from simulation.dev_server import DevServer
from simulation.driver import Driver, reach
from simulation.factories import make_submission, valid_rib
from simulation.processes import client_settings, codec_settings, start_worker
from simulation.waiting import until
from workflows.names import ApplicationUpdate as U

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
AWARD = Decimal("40000.00")
POLL = 0.2  # seconds between two status queries of one workflow (same for floor and lifecycle)
SAMPLE = 50  # histories read for where the updates' time goes
PATIENCE = 3600.0  # seconds a simulated person waits for a workflow before the run fails
# The ops updates whose answer a person waits for: their latency is measured.
OPS_UPDATES = {U.DECIDE, U.SIGN_AGREEMENT, U.REVIEW_REPORT}
# The embedded server as `make up` starts it (demo/services.py), persistence options included.
SERVER_ARGS: tuple[str, ...] = SERVER_PERSISTENCE
WORKFLOW_TASK_SLOTS = Settings.model_fields["max_concurrent_workflow_tasks"].default  # the worker's default


def bench_settings():
    # Programme days of a second: deadlines (21 days of review …) stay far beyond what the simulated
    # people need, so every application takes the same path; the reports are sent as soon as asked.
    # Reports go in as soon as asked: the window (report_window_days) covers the whole project.
    return edition_4_settings().model_copy(update={"day_length": timedelta(seconds=1), "report_window_days": 3650})


class Phase:
    """A fresh dev server with file persistence and one worker process."""

    def __init__(
        self, name: str, workdir: Path, worker_command: tuple[str, ...] = ("worker.py",), database_url: str = ""
    ) -> None:
        self.name, self.dir = name, workdir / name
        self.dir.mkdir(parents=True)
        self.server = DevServer(self.dir / "temporal.db", self.dir / "temporal.log", SERVER_ARGS)
        self.env = {
            **codec_settings(),
            "TASK_QUEUE": f"bench-{name}",
            "DATABASE_URL": database_url or f"sqlite:///{self.dir / 'moazara.db'}",
            "MAX_CONCURRENT_ACTIVITIES": os.environ.get("MAX_CONCURRENT_ACTIVITIES", "32"),
            "ACTIVITY_THREADS": os.environ.get("ACTIVITY_THREADS", "32"),
            "MAX_CONCURRENT_WORKFLOW_TASKS": os.environ.get("MAX_CONCURRENT_WORKFLOW_TASKS", str(WORKFLOW_TASK_SLOTS)),
            "LOG_LEVEL": "WARNING",
        }
        self.command = worker_command
        self.worker = None
        self.editions = None  # `worker.py --editions`, started for the first import through an edition
        self.client: Client | None = None

    async def __aenter__(self) -> "Phase":
        await asyncio.to_thread(self.server.start)
        self.env["TEMPORAL_ADDRESS"] = self.server.address
        for _ in range(100):
            try:
                self.client = await connect(client_settings(self.env))
                break
            except RuntimeError:
                await asyncio.sleep(0.2)
        self.worker = start_worker(self.name, self.env, self.dir, self.command)
        if self.command == ("worker.py",):
            await self.worker.wait_ready()
        else:
            await asyncio.sleep(3)  # the floor's worker has no health endpoint: give it its start-up
        return self

    async def editions_queue(self) -> str:
        """The editions' own queue and its worker (EDITION_TASK_QUEUE), as deployed; the
        applications' queue when EDITION_WORKER=0 (one worker for both, the embedded default)."""
        if os.environ.get("EDITION_WORKER", "1") == "0":
            return self.env["TASK_QUEUE"]
        if self.editions is None:
            self.env["EDITION_TASK_QUEUE"] = f"{self.env['TASK_QUEUE']}-editions"
            self.editions = start_worker(f"{self.name}-editions", self.env, self.dir, ("worker.py", "--editions"))
            await self.editions.wait_ready()
        return self.env["EDITION_TASK_QUEUE"]

    async def __aexit__(self, *exc) -> None:
        for worker in (self.editions, self.worker):
            if worker:
                worker.stop()
        self.server.stop()


class _TimedOps(Interceptor):
    def __init__(self, ops: list[float]) -> None:
        self.ops = ops

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        ops = self.ops

        class Timed(OutboundInterceptor):
            async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle:
                call = super().start_workflow_update(input)  # waits for the answer (execute_update)
                return await (timed(ops, call) if input.update in OPS_UPDATES else call)

        return Timed(next)


def timing(client: Client, ops: list[float]) -> Client:
    """The same client, the latency of each ops update it sends appended to `ops`."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], _TimedOps(ops)]
    return Client(**config)


class BenchDriver(Driver):
    """The tests' simulated people (simulation/driver.py) on a real server: each looks every POLL
    seconds for as long as it takes, and answers as soon as asked."""

    async def reach(
        self, handle: WorkflowHandle, stage: Stage, waiting: str | None = None, tries: int = 0
    ) -> ApplicationStatus:
        return await reach(handle, stage, waiting, seconds=PATIENCE, every=POLL)


async def one_lifecycle(client: Client, queue: str, i: int, tag: str, ops: list[float]) -> ApplicationStatus:
    """One application from submission to completion, every actor answering as soon as asked."""
    d = BenchDriver(timing(client, ops), queue, bench_settings())
    h = await d.start(make_submission(f"BENCH-{tag}-{i:05d}", duration_months=12))
    await d.review_all(h)
    await d.select(h, AWARD)
    await d.sign(h, valid_rib(i))
    for period in (1, 2):
        await d.pay_pending(h)
        # Tranche 1 at signature, tranche 2 once the mid-term report (period 1 of 2) is approved.
        await d.reach(h, Stage.MONITORING, f"progress report {period}")
        await d.report(h, period, approve=True)
    final = await h.result()
    if final.stage != Stage.COMPLETED or final.paid_total != AWARD:
        raise RuntimeError(f"{h.id} ended {final.stage} with {final.paid_total} paid")
    return final


async def one_floor(client: Client, queue: str, i: int, plan: FloorPlan, ops: list[float]) -> None:
    h = await client.start_workflow(FloorWorkflow.run, plan, id=f"floor-{i:05d}", task_queue=queue)
    for k in range(1, plan.updates + 1):
        await until(
            lambda: h.query(FloorWorkflow.waiting_for), lambda s, k=k: s == k, f"update {k} awaited", PATIENCE, POLL
        )
        await timed(ops, h.execute_update(FloorWorkflow.answer, k))
    await h.result()


async def shape_of(h: WorkflowHandle) -> dict[str, int]:
    """Activities, updates and timers in a history (what the floor mirrors)."""
    c: Counter = Counter()
    async for e in h.fetch_history_events():
        for field, name in (
            ("activity_task_scheduled_event_attributes", "activities"),
            ("workflow_execution_update_accepted_event_attributes", "updates"),
            ("timer_started_event_attributes", "timers"),
            ("timer_fired_event_attributes", "timers_fired"),
        ):
            if e.HasField(field):
                c[name] += 1
        c["events"] += 1
    return dict(c)


async def main(args) -> dict:
    compile_bytecode()
    work = Path(tempfile.mkdtemp(prefix="moazara-bench-"))
    try:
        return await (imports_alone(args, work) if args.only_import else measure(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the servers' and workers' files: nothing to keep


async def imports_alone(args, work: Path) -> dict:
    """The bulk import alone (A/B runs, nothing written): straight to Temporal, then through the
    open edition, each with the CPU seconds server and worker used until the CLI was done."""
    out: dict = {}
    async with Phase("import", work) as ph:
        for through in (False, True):
            cpu = CpuMeter(ph)
            rate, recorded = await import_rate(ph, args.import_n, through)
            out["through_edition" if through else "direct"] = {
                "per_second": round(rate, 2),
                "recorded_per_second": round(recorded, 2),
                "cpu_seconds": cpu.used(),
            }
    print(f"bulk import of {args.import_n}: {out}", flush=True)
    return out


async def lifecycle_and_imports(args, ph: "Phase", out: dict, work: Path) -> tuple[dict[str, int], str]:
    """The lifecycle phase (and the imports unless --only-lifecycle) on one server and worker: the
    figures go into `out`; returns the lifecycle's shape (for the floor) and the worker's profile."""
    profile = ""
    # One lifecycle first, alone: its history is the shape the floor copies.
    ops: list[float] = []
    await one_lifecycle(ph.client, ph.env["TASK_QUEUE"], 0, "SHAPE", ops)
    shape = await shape_of(ph.client.get_workflow_handle("moazara-4-BENCH-SHAPE-00000"))
    out["shape"] = shape
    ops.clear()
    profiler = Profiler(ph.worker.proc.pid, work / "profile.raw") if args.profile else None
    cpu = CpuMeter(ph)
    elapsed = await many(
        args.n, args.concurrency, lambda i: one_lifecycle(ph.client, ph.env["TASK_QUEUE"], i + 1, "RUN", ops)
    )
    used = cpu.used()
    if profiler:
        profile = profiler.stop()
    out["lifecycle"] = {
        "seconds": round(elapsed, 2),
        "per_second": round(args.n / elapsed, 3),
        "cpu_seconds": used,
        "ops_update_p50_ms": round(1000 * percentile(ops, 50), 1),
        "ops_update_p95_ms": round(1000 * percentile(ops, 95), 1),
        "ops_updates": len(ops),
        "ops_update_in_history": await update_breakdown(
            [ph.client.get_workflow_handle(f"moazara-4-BENCH-RUN-{i + 1:05d}") for i in range(min(args.n, SAMPLE))],
            {str(u) for u in OPS_UPDATES},
        ),
    }
    print(
        f"lifecycle: {args.n} applications end to end in {elapsed:.1f}s = {args.n / elapsed:.2f}/s; "
        f"ops update p50 {out['lifecycle']['ops_update_p50_ms']} ms, p95 {out['lifecycle']['ops_update_p95_ms']} ms; "
        f"CPU s {used}",
        flush=True,
    )
    if args.only_lifecycle:
        if profile:
            (RESULTS / "lifecycle-profile.txt").write_text(profile + "\n")
        return shape, ""
    (direct, direct_recorded), (through, through_recorded) = [
        await import_rate(ph, args.import_n, via) for via in (False, True)
    ]
    out["import"] = {
        "direct_per_second": round(direct, 2),
        "through_edition_per_second": round(through, 2),
        "ratio": round(through / direct, 3),
        # until every application is in the domain database, both ways
        "direct_recorded_per_second": round(direct_recorded, 2),
        "through_edition_recorded_per_second": round(through_recorded, 2),
        "recorded_ratio": round(through_recorded / direct_recorded, 3),
        "applications": args.import_n,
    }
    print(
        f"bulk import of {args.import_n}: {direct:.1f}/s straight to Temporal, {through:.1f}/s through the "
        f"open edition (until recorded: {direct_recorded:.1f}/s and {through_recorded:.1f}/s)",
        flush=True,
    )
    return shape, profile


async def measure(args, work: Path) -> dict:
    out: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "n": args.n,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "worker": {
            "max_concurrent_activities": int(os.environ.get("MAX_CONCURRENT_ACTIVITIES", "32")),
            "activity_threads": int(os.environ.get("ACTIVITY_THREADS", "32")),
            "max_concurrent_workflow_tasks": int(os.environ.get("MAX_CONCURRENT_WORKFLOW_TASKS", WORKFLOW_TASK_SLOTS)),
        },
        "label": args.label,
        "server_args": list(SERVER_ARGS),
    }
    profile = ""
    with database(str(work), args.postgresql) as url:
        out["database"] = "postgresql" if args.postgresql else "sqlite"
        async with Phase("lifecycle", work, database_url=url) as ph:
            shape, profile = await lifecycle_and_imports(args, ph, out, work)
        if args.only_lifecycle:
            return out

    plan = FloorPlan(activities=shape["activities"], updates=shape["updates"], timers=shape.get("timers", 0))
    async with Phase("floor", work, ("-m", "bench.floor")) as ph:
        ops = []
        profiler = Profiler(ph.worker.proc.pid, work / "floor-profile.raw") if args.profile else None
        cpu = CpuMeter(ph)
        elapsed = await many(
            args.n, args.concurrency, lambda i: one_floor(ph.client, ph.env["TASK_QUEUE"], i, plan, ops)
        )
        if profiler:
            (RESULTS / "floor-profile.txt").write_text(profiler.stop() + "\n")
        out["floor"] = {
            "seconds": round(elapsed, 2),
            "per_second": round(args.n / elapsed, 3),
            "cpu_seconds": cpu.used(),
            "plan": plan.model_dump(mode="json"),
            "update_p50_ms": round(1000 * percentile(ops, 50), 1),
            "update_p95_ms": round(1000 * percentile(ops, 95), 1),
            "update_in_history": await update_breakdown(
                [ph.client.get_workflow_handle(f"floor-{i:05d}") for i in range(min(args.n, SAMPLE))], {"answer"}
            ),
        }
        print(
            f"floor: {args.n} workflows of {plan.activities} activities, {plan.updates} updates, {plan.timers} timers "
            f"in {elapsed:.1f}s = {args.n / elapsed:.2f}/s; CPU s {out['floor']['cpu_seconds']}",
            flush=True,
        )
    out["ratio"] = round(out["lifecycle"]["per_second"] / out["floor"]["per_second"], 3)
    print(f"ratio lifecycle / floor: {out['ratio']:.2f}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    name = "lifecycle-postgresql.json" if args.postgresql else "lifecycle.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n")
    if profile:
        (RESULTS / "lifecycle-profile.txt").write_text(profile + "\n")
        print(f"profile: {RESULTS / 'lifecycle-profile.txt'}")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="applications (and floor workflows)")
    parser.add_argument("--import-n", type=int, default=300, help="applications per bulk import")
    parser.add_argument("--concurrency", type=int, default=100, help="applications driven at once")
    parser.add_argument(
        "--profile", action="store_true", help="sample the lifecycle's and the floor's workers with py-spy"
    )
    parser.add_argument(
        "--only-lifecycle", action="store_true", help="the lifecycle phase alone, nothing written (A/B runs)"
    )
    parser.add_argument("--only-import", action="store_true", help="the bulk imports alone, nothing written (A/B runs)")
    parser.add_argument("--label", default="", help="a note stored with the figures (e.g. before/after a change)")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="`temporal server start-dev` arguments instead of the embedded default's persistence "
        "options (--server-arg=--log-level --server-arg=warn: the SQLite file in its default mode)",
    )
    parser.add_argument(
        "--postgresql", metavar="URL", help="the domain database in a scratch schema of this PostgreSQL server"
    )
    parser.add_argument("--poll", type=float, default=POLL, help="seconds between two status queries")
    parsed = parser.parse_args()
    POLL = parsed.poll
    if parsed.server_arg:
        SERVER_ARGS = tuple(parsed.server_arg)
    result = asyncio.run(main(parsed))
    sys.stdout.flush()
    os._exit(0)  # a plain exit can abort in the Temporal client's teardown (sdk-python#300)
