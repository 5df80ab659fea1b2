"""The embedded default as separate processes, to kill: the dev server on its SQLite file
(simulation/dev_server.py, persisted as `make up` persists it), `python worker.py` processes
(simulation/processes.py) on a SQLite domain database, and a payment system on loopback
(simulation/payment_system.py) that records every order it is sent.

A killed worker is replaced at once, as an orchestrator replaces a crashed container; a killed
server is started again on the same file and port after its outage. A worker that exits on its own
is replaced too, and counted: nothing should make it exit."""

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from temporalio.client import Client

from audit.replay import quiet_runtime
from chaos.calls import robust
from chaos.plan import SERVER, Kill
from demo.services import SERVER_PERSISTENCE
from infra.temporal_connection import connect
from simulation.dev_server import DevServer
from simulation.payment_system import FakePaymentSystem
from simulation.processes import WorkerProcess, client_settings, codec_settings, start_worker


class Stack:
    def __init__(self, workdir: Path, say: Callable[[str], None], editions_worker: bool = False) -> None:
        """`editions_worker`: the edition workflow on a queue and worker of its own, as deployed
        (`worker.py --editions`); that worker is not killed."""
        self.dir, self.say = workdir, say
        self.dir.mkdir(parents=True, exist_ok=True)
        self.server = DevServer(self.dir / "temporal.db", self.dir / "temporal.log", SERVER_PERSISTENCE)
        self.payment_system = FakePaymentSystem()
        self.database_url = f"sqlite:///{self.dir / 'moazara.db'}"
        self.env = {
            **codec_settings(),
            "TASK_QUEUE": f"chaos-{uuid.uuid4().hex[:8]}",
            "DATABASE_URL": self.database_url,
            "DOCUMENTS_DIR": str(self.dir / "documents"),  # the agreements and advices it issues
            "LOG_LEVEL": "WARNING",
            "MAX_CONCURRENT_ACTIVITIES": "16",
            "ACTIVITY_THREADS": "16",
        }
        if editions_worker:
            self.env["EDITION_TASK_QUEUE"] = f"{self.env['TASK_QUEUE']}-editions"
        self.editions_worker: WorkerProcess | None = None
        self.workers: list[WorkerProcess] = []
        self.exited_on_their_own: list[str] = []  # "worker-3 exited with 1"
        self.client: Client
        self._watch: asyncio.Task[None] | None = None

    @property
    def worker(self) -> WorkerProcess:
        return self.workers[-1]

    async def __aenter__(self) -> "Stack":
        self.payment_system.__enter__()
        self.env["PAYMENT_SYSTEM_URL"] = self.payment_system.url
        await asyncio.to_thread(self.server.start)
        self.env["TEMPORAL_ADDRESS"] = self.server.address
        # The client's own retries are its business: its core logs only errors (audit/replay.py's runtime).
        runtime = quiet_runtime()
        self.client = await robust(lambda: connect(client_settings(self.env), runtime), "connect", 60)
        if "EDITION_TASK_QUEUE" in self.env:
            self.editions_worker = start_worker("editions-worker", self.env, self.dir, ("worker.py", "--editions"))
            await self.editions_worker.wait_ready(tries=600)
        await self._new_worker()
        self._watch = asyncio.create_task(self._replace_exited_workers())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._watch is not None:
            self._watch.cancel()
        for w in [*self.workers, *filter(None, [self.editions_worker])]:
            await asyncio.to_thread(w.stop)
        await asyncio.to_thread(self.server.stop)
        self.payment_system.__exit__()

    async def _new_worker(self) -> WorkerProcess:
        w = start_worker(f"worker-{len(self.workers) + 1}", self.env, self.dir)
        self.workers.append(w)
        await w.wait_ready(tries=600)
        return w

    async def _replace_exited_workers(self) -> None:
        while True:
            await asyncio.sleep(1)
            w = self.worker
            if w.proc.poll() is not None and w.proc.returncode != -9:
                self.exited_on_their_own.append(f"{w.name} exited with {w.proc.returncode} (log {w.log})")
                self.say(f"  ! {w.name} exited on its own with {w.proc.returncode}: a new one is started")
                await self._new_worker()

    async def kill(self, k: Kill) -> str:
        """Kill as `k` says, bring the process back; what happened, for the log."""
        began = time.monotonic()
        if k.target == SERVER:
            await asyncio.to_thread(self.server.kill)
            await asyncio.sleep(k.down)
            await asyncio.to_thread(self.server.start)
            return f"server SIGKILL, down {k.down:.1f} s, listening again after {time.monotonic() - began:.1f} s"
        old = self.worker
        await asyncio.to_thread(old.kill)
        new = await self._new_worker()
        return f"{old.name} (pid {old.proc.pid}) SIGKILL, {new.name} ready after {time.monotonic() - began:.1f} s"
