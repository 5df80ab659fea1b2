"""Measuring a run: the bytecode compiled first, CPU seconds of a process, latencies and their
percentiles, a bounded pool of concurrent runs, the sampling profiler's summary (bench/lifecycle.py
uses them), and a phase's peak resident memory (bench/outbound.py)."""

import asyncio
import compileall
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from domain.db.session import make_engine, normalize_url

ROOT = Path(__file__).resolve().parent.parent


def compile_bytecode() -> None:
    """The project's bytecode, as the image compiles it (deploy/Dockerfile): the workflow sandbox
    imports the workflow modules anew for each workflow it creates, and where PYTHONDONTWRITEBYTECODE
    left no .pyc (this machine, the image) it would compile their source every time."""
    for package in ("workflows", "bench", "domain", "activities"):
        compileall.compile_dir(ROOT / package, quiet=1)


def _stat(pid: int | str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU time a process and (unless `children` is False) its children (the worker's
    rendering processes) have used so far (Linux /proc)."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if not children:
        return ticks / os.sysconf("SC_CLK_TCK")
    ticks += int(fields[13]) + int(fields[14])  # its children's that ended
    for proc in Path("/proc").glob("[0-9]*"):
        child = _stat(proc.name)
        if child and child[1] == str(pid):  # a living child
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Where the machine's CPU went during a phase: Temporal server, worker (its rendering processes
    included, and also given apart: `renderer`), the simulated people."""

    def __init__(self, phase: Any) -> None:  # a bench.lifecycle.Phase
        self.pids = {"temporal_server": phase.server.proc.pid, "worker": phase.worker.proc.pid, "driver": os.getpid()}
        self.start = {k: self.cpu(k) for k in [*self.pids, "renderer"]}

    def cpu(self, name: str) -> float:
        if name == "renderer":  # the worker's children: the processes laying out its PDFs
            worker = self.pids["worker"]
            return cpu_seconds(worker) - cpu_seconds(worker, children=False)
        # the driver's children are the server and the worker: counted on their own
        return cpu_seconds(self.pids[name], children=name != "driver")

    def used(self) -> dict[str, float]:
        return {k: round(self.cpu(k) - self.start[k], 1) for k in [*self.pids, "renderer"]}


async def timed(latencies: list[float], coro):
    t = time.perf_counter()
    result = await coro
    latencies.append(time.perf_counter() - t)
    return result


async def many(n: int, concurrency: int, make) -> float:
    """Run `make(i)` for i < n, `concurrency` at a time; the wall time."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int):
        async with sem:
            return await make(i)

    t = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - t


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Profiler:
    """py-spy sampling the worker process while a phase runs: the thread holding the GIL (--gil),
    i.e. where the worker's Python CPU goes; waits on the database or the network are not in it."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "50",
                "--gil",
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return summarize_profile(self.out)


def summarize_profile(raw: Path, top: int = 25) -> str:
    """Self and inclusive sample counts per function of our code and of the big libraries."""
    if not raw.exists():
        return "(no profile: py-spy could not attach; it needs ptrace permission)"
    self_: Counter = Counter()
    incl: Counter = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            f.split(" (")[0]
            + " ("
            + f.split(" (")[1].split(":")[0].split("/site-packages/")[-1].replace(str(ROOT) + "/", "")
            + ")"
            if " (" in f
            else f
            for f in stack.split(";")
        ]
        self_[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    lines = [f"{total} samples", "", "self (where the time is spent):"]
    lines += [f"  {c / total:6.1%}  {f}" for f, c in self_.most_common(top)]
    lines += ["", "inclusive (what it is spent for):"]
    lines += [f"  {c / total:6.1%}  {f}" for f, c in incl.most_common(top * 2)]
    return "\n".join(lines)


def reset_peak_rss() -> None:
    """Start this process's peak resident memory afresh (Linux: /proc/self/clear_refs), so that
    `peak_rss_mb` tells of the phase that follows; silently nothing where it is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started or since `reset_peak_rss` (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


@contextmanager
def database(tmp: str, postgresql: str | None) -> Iterator[str]:
    """The domain database's URL: a SQLite file in `tmp`, or a scratch schema on the PostgreSQL
    server (search_path set in the URL, as tests/conftest_db.py does), dropped afterwards."""
    if postgresql is None:
        yield f"sqlite:///{tmp}/bench.db"
        return
    admin = make_engine(normalize_url(postgresql), connect_args={"connect_timeout": 3})
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = normalize_url(postgresql).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def update_breakdown(handles: list[Any], names: set[str]) -> dict[str, dict[str, float]]:
    """Where the time of the updates named goes, from their workflows' histories: from the update's
    acceptance to its completion, the activities it ran waiting to start (queued) and running, and
    the rest (the workflow tasks around them). p50 / p95 in ms of each part, over every such update.
    The time before acceptance (the client's call, the workflow task that validates) is not in the
    history: the client-side latency minus `accepted_to_completed` is that."""
    parts: dict[str, list[float]] = {"accepted_to_completed": [], "activity_queued": [], "activity_run": [], "rest": []}
    for h in handles:
        events = [e async for e in h.fetch_history_events()]
        at = {e.event_id: e.event_time.ToMicroseconds() / 1e6 for e in events}
        open_: dict[int, float] = {}  # accepted event id -> its time, for the updates named
        in_update: dict[int, int] = {}  # activity scheduled id -> the update accepted id it ran in
        queued: dict[int, float] = defaultdict(float)
        run: dict[int, float] = defaultdict(float)
        started: dict[int, float] = {}
        for e in events:
            if e.HasField("workflow_execution_update_accepted_event_attributes"):
                if e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name in names:
                    open_[e.event_id] = at[e.event_id]
            elif e.HasField("activity_task_scheduled_event_attributes") and open_:
                in_update[e.event_id] = max(open_)  # handlers here run one at a time per workflow
            elif e.HasField("activity_task_started_event_attributes"):
                s = e.activity_task_started_event_attributes.scheduled_event_id
                started[s] = at[e.event_id]
                if s in in_update:
                    queued[in_update[s]] += at[e.event_id] - at[s]
            elif e.HasField("activity_task_completed_event_attributes"):
                s = e.activity_task_completed_event_attributes.scheduled_event_id
                if s in in_update and s in started:
                    run[in_update[s]] += at[e.event_id] - started[s]
            elif e.HasField("workflow_execution_update_completed_event_attributes"):
                a = e.workflow_execution_update_completed_event_attributes.accepted_event_id
                if a in open_:
                    total = at[e.event_id] - open_.pop(a)
                    parts["accepted_to_completed"].append(total)
                    parts["activity_queued"].append(queued[a])
                    parts["activity_run"].append(run[a])
                    parts["rest"].append(total - queued[a] - run[a])
    return {
        k: {"p50_ms": round(1000 * percentile(v, 50), 1), "p95_ms": round(1000 * percentile(v, 95), 1)}
        for k, v in parts.items()
        if v
    }
