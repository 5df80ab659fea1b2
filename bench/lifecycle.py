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
its profile is written to bench/results/lifecycle-profile.txt.
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client, WorkflowHandle

from bench.floor import FloorPlan, FloorWorkflow
from bench.measuring import CpuMeter, Profiler, many, percentile, timed
from demo.services import SERVER_PERSISTENCE
from domain.edition import edition_4_settings
from domain.edition_messages import EditionInput, edition_workflow_id
from domain.models import (
    AgreementSigned,
    ApplicationInput,
    ApplicationStatus,
    CommitteeDecision,
    Decision,
    Indicators,
    PaymentResult,
    ProgressReport,
    ReportReview,
    Stage,
)
from domain.reference import MINISTRY
from infra.temporal_connection import connect
from simulation.dev_server import DevServer
from simulation.factories import make_review, make_submission, settings_with, valid_rib
from simulation.processes import client_settings, codec_settings, start_worker
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
AWARD = Decimal("40000.00")
POLL = 0.2  # seconds between two status queries of one workflow (same for floor and lifecycle)
# The embedded server as `make up` starts it (demo/services.py), persistence options included.
SERVER_ARGS: tuple[str, ...] = SERVER_PERSISTENCE


def bench_settings():
    # Programme days of a second: deadlines (21 days of review …) stay far beyond what the simulated
    # people need, so every application takes the same path; the reports are sent as soon as asked.
    # Reports go in as soon as asked: the window (report_window_days) covers the whole project.
    return edition_4_settings().model_copy(update={"day_length": timedelta(seconds=1), "report_window_days": 3650})


class Phase:
    """A fresh dev server with file persistence and one worker process."""

    def __init__(self, name: str, workdir: Path, worker_command: tuple[str, ...] = ("worker.py",)) -> None:
        self.name, self.dir = name, workdir / name
        self.dir.mkdir(parents=True)
        self.server = DevServer(self.dir / "temporal.db", self.dir / "temporal.log", SERVER_ARGS)
        self.env = {
            **codec_settings(),
            "TASK_QUEUE": f"bench-{name}",
            "DATABASE_URL": f"sqlite:///{self.dir / 'moazara.db'}",
            "MAX_CONCURRENT_ACTIVITIES": os.environ.get("MAX_CONCURRENT_ACTIVITIES", "32"),
            "ACTIVITY_THREADS": os.environ.get("ACTIVITY_THREADS", "32"),
            "LOG_LEVEL": "WARNING",
        }
        self.command = worker_command
        self.worker = None
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

    async def __aexit__(self, *exc) -> None:
        if self.worker:
            self.worker.stop()
        self.server.stop()


async def poll(h: WorkflowHandle, ready, query) -> object:
    while True:
        s = await h.query(query)
        if ready(s):
            return s
        await asyncio.sleep(POLL)


def waits(stage: Stage, what: str = ""):
    return lambda s: s.stage == stage and s.waiting_for is not None and what in s.waiting_for


async def one_lifecycle(client: Client, queue: str, i: int, tag: str, ops: list[float]) -> ApplicationStatus:
    """One application from submission to completion, every actor answering as soon as asked."""
    sub = make_submission(f"BENCH-{tag}-{i:05d}", duration_months=12)
    h = await client.start_workflow(
        ApplicationWorkflow.run,
        ApplicationInput(settings=bench_settings(), submission=sub, submitted_by="bench"),
        id=sub.application_id,
        task_queue=queue,
    )
    q = ApplicationWorkflow.get_status
    await poll(h, waits(Stage.REVIEW), q)
    for r in ("r1", "r2"):
        await h.execute_update(ApplicationWorkflow.submit_review, make_review(r, 7))
    await poll(h, waits(Stage.COMMITTEE), q)
    await timed(
        ops,
        h.execute_update(
            ApplicationWorkflow.decide,
            CommitteeDecision(
                decision=Decision.SELECTED, award=AWARD, funders={MINISTRY: AWARD}, decided_by="committee"
            ),
        ),
    )
    await poll(h, waits(Stage.AGREEMENT), q)
    await timed(
        ops,
        h.execute_update(
            ApplicationWorkflow.sign_agreement,
            AgreementSigned(signed_by="officer", signed_on=date(2024, 2, 1), bank_account=valid_rib(i)),
        ),
    )
    for period in (1, 2):
        s = await poll(h, waits(Stage.DISBURSEMENT, "payment system"), q)
        for o in s.orders:
            if o.status == "sent":
                await h.execute_update(
                    ApplicationWorkflow.payment_result,
                    PaymentResult(order_key=o.key, attempt=o.attempt, executed=True, reference=f"VIR-{i}-{o.tranche}"),
                )
        # Tranche 1 at signature, tranche 2 once the mid-term report (period 1 of 2) is approved.
        await poll(h, waits(Stage.MONITORING, f"progress report {period}"), q)
        report = ProgressReport(
            period=period, indicators=Indicators(jobs_created=2, beneficiaries=20, women=10, youth=4)
        )
        await h.execute_update(ApplicationWorkflow.submit_report, report)
        await timed(
            ops,
            h.execute_update(
                ApplicationWorkflow.review_report, ReportReview(period=period, approved=True, decided_by="officer")
            ),
        )
    final = await h.result()
    if final.stage != Stage.COMPLETED or final.paid_total != AWARD:
        raise RuntimeError(f"{h.id} ended {final.stage} with {final.paid_total} paid")
    return final


async def one_floor(client: Client, queue: str, i: int, plan: FloorPlan, ops: list[float]) -> None:
    h = await client.start_workflow(FloorWorkflow.run, plan, id=f"floor-{i:05d}", task_queue=queue)
    for k in range(1, plan.updates + 1):
        await poll(h, lambda s, k=k: s == k, FloorWorkflow.waiting_for)
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


async def import_rate(phase: Phase, m: int, through_edition: bool) -> float:
    """`starter.py import` of m generated applications; applications per second (CLI start to end)."""
    edition = 90 if through_edition else 91
    settings = settings_with(
        edition=edition,
        call_opens=date.today() - timedelta(days=1),
        call_closes=date.today() + timedelta(days=30),
        day_length=timedelta(seconds=1),
    )
    settings_file = phase.dir / f"edition-{edition}.json"
    settings_file.write_text(settings.model_dump_json())
    if through_edition:
        await phase.client.start_workflow(
            EditionWorkflow.run,
            EditionInput(settings=settings, opened_by="bench"),
            id=edition_workflow_id(edition),
            task_queue=phase.env["TASK_QUEUE"],
        )
    path = phase.dir / f"import-{edition}.jsonl"
    path.write_text(
        "\n".join(make_submission(f"IMP-{edition}-{i:05d}", edition=edition).model_dump_json() for i in range(m))
    )
    env = {**os.environ, **phase.env, "SECRETS_FILE": ""}
    t = time.perf_counter()
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "starter.py", "import", str(path), "--settings", str(settings_file), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    elapsed = time.perf_counter() - t
    counts = json.loads(run.stdout)["counts"] if run.returncode == 0 else {"error": run.stderr[-500:]}
    if counts.get("started") != m:
        raise RuntimeError(f"import through_edition={through_edition}: {counts}")
    return m / elapsed


async def main(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="moazara-bench-"))
    try:
        return await measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the servers' and workers' files: nothing to keep


async def measure(args, work: Path) -> dict:
    out: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "n": args.n,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "worker": {
            "max_concurrent_activities": int(os.environ.get("MAX_CONCURRENT_ACTIVITIES", "32")),
            "activity_threads": int(os.environ.get("ACTIVITY_THREADS", "32")),
        },
        "label": args.label,
        "server_args": list(SERVER_ARGS),
    }
    profile = ""
    async with Phase("lifecycle", work) as ph:
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
            return out
        out["import"] = {
            "direct_per_second": round(await import_rate(ph, args.import_n, False), 2),
            "through_edition_per_second": round(await import_rate(ph, args.import_n, True), 2),
            "applications": args.import_n,
        }
        print(
            f"bulk import of {args.import_n}: {out['import']['direct_per_second']}/s straight to Temporal, "
            f"{out['import']['through_edition_per_second']}/s through the open edition",
            flush=True,
        )

    plan = FloorPlan(activities=shape["activities"], updates=shape["updates"], timers=shape.get("timers", 0))
    async with Phase("floor", work, ("-m", "bench.floor")) as ph:
        ops = []
        cpu = CpuMeter(ph)
        elapsed = await many(
            args.n, args.concurrency, lambda i: one_floor(ph.client, ph.env["TASK_QUEUE"], i, plan, ops)
        )
        out["floor"] = {
            "seconds": round(elapsed, 2),
            "per_second": round(args.n / elapsed, 3),
            "cpu_seconds": cpu.used(),
            "plan": plan.model_dump(mode="json"),
            "update_p50_ms": round(1000 * percentile(ops, 50), 1),
            "update_p95_ms": round(1000 * percentile(ops, 95), 1),
        }
        print(
            f"floor: {args.n} workflows of {plan.activities} activities, {plan.updates} updates, {plan.timers} timers "
            f"in {elapsed:.1f}s = {args.n / elapsed:.2f}/s; CPU s {out['floor']['cpu_seconds']}",
            flush=True,
        )
    out["ratio"] = round(out["lifecycle"]["per_second"] / out["floor"]["per_second"], 3)
    print(f"ratio lifecycle / floor: {out['ratio']:.2f}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lifecycle.json").write_text(json.dumps(out, indent=2) + "\n")
    if profile:
        (RESULTS / "lifecycle-profile.txt").write_text(profile + "\n")
        print(f"profile: {RESULTS / 'lifecycle-profile.txt'}")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="applications (and floor workflows)")
    parser.add_argument("--import-n", type=int, default=300, help="applications per bulk import")
    parser.add_argument("--concurrency", type=int, default=100, help="applications driven at once")
    parser.add_argument("--profile", action="store_true", help="sample the lifecycle's worker with py-spy")
    parser.add_argument(
        "--only-lifecycle", action="store_true", help="the lifecycle phase alone, nothing written (A/B runs)"
    )
    parser.add_argument("--label", default="", help="a note stored with the figures (e.g. before/after a change)")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="`temporal server start-dev` arguments instead of the embedded default's persistence "
        "options (--server-arg=--log-level --server-arg=warn: the SQLite file in its default mode)",
    )
    parsed = parser.parse_args()
    if parsed.server_arg:
        SERVER_ARGS = tuple(parsed.server_arg)
    result = asyncio.run(main(parsed))
    sys.stdout.flush()
    os._exit(0)  # a plain exit can abort in the Temporal client's teardown (sdk-python#300)
