"""Real worker processes for tests: `python worker.py` started as an operator starts it, with its
configuration in environment variables, and what an operator reads from it (health endpoints,
Prometheus metrics, its log).

Used by tests/faults/test_workers.py and tests/observability/test_observability.py.
"""

import asyncio
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CODEC_KEY_ID = "test-key-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def codec_settings() -> dict[str, str]:
    """One fresh payload key for the test's client and its workers (environment form)."""
    key = base64.b64encode(os.urandom(32)).decode()
    return {"CODEC_KEYS": json.dumps({CODEC_KEY_ID: key}), "CODEC_ENCRYPT_KEY": CODEC_KEY_ID, "SECRETS_FILE": ""}


def client_settings(env: dict[str, str]) -> Settings:
    """The Settings a process started with `env` reads (for the test's own client)."""
    return Settings(
        _env_file=None,
        codec_keys=json.loads(env["CODEC_KEYS"]),
        codec_encrypt_key=env["CODEC_ENCRYPT_KEY"],
        secrets_file=None,
        temporal_address=env.get("TEMPORAL_ADDRESS", "localhost:7233"),
        task_queue=env.get("TASK_QUEUE", "moazara-applications"),
    )


@dataclass
class WorkerProcess:
    name: str
    proc: subprocess.Popen
    metrics_port: int
    health_port: int
    log: Path

    @property
    def identity(self) -> str:
        """How Temporal histories name this worker (the SDK's default identity: pid@host)."""
        return f"{self.proc.pid}@{socket.gethostname()}"

    def get(self, path: str, port: int | None = None) -> tuple[int, str]:
        url = f"http://127.0.0.1:{port or self.health_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    async def aget(self, path: str, port: int | None = None) -> tuple[int, str]:
        return await asyncio.to_thread(self.get, path, port)

    async def metrics(self) -> str:
        status, text = await self.aget("/metrics", self.metrics_port)
        assert status == 200, text
        return text

    async def wait_answering(self, path: str = "/healthz", tries: int = 300) -> tuple[int, dict]:
        """Poll (bounded) until the endpoint answers at all; its status and JSON body."""
        for _ in range(tries):
            self.assert_running()
            try:
                status, body = await self.aget(path)
                return status, json.loads(body)
            except OSError:
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name}: {path} never answered\n{self.log_tail()}")

    async def wait_ready(self, tries: int = 300) -> dict:
        body: dict = {}
        for _ in range(tries):
            status, body = await self.wait_answering("/readyz")
            if status == 200:
                return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} never ready: {body}\n{self.log_tail()}")

    def assert_running(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}\n{self.log_tail()}")

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log.read_text("utf-8", errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"event": line})
        return lines

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server; what a crashed machine looks like."""
        self.proc.kill()
        self.proc.wait(30)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as an orchestrator stops a container; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def start_worker(
    name: str, env: dict[str, str], logdir: Path, command: tuple[str, ...] = ("worker.py",)
) -> WorkerProcess:
    """`python worker.py` with `env` on top of a clean environment (no stray TEMPORAL_* etc.).
    `command`: e.g. ("-m", "tests.fault_injection"), the worker with a test-only fault injected."""
    metrics_port, health_port = free_port(), free_port()
    fields = {f.upper() for f in Settings.model_fields}
    base = {k: v for k, v in os.environ.items() if k not in fields}
    full = {
        **base,
        "OBSERVABILITY_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        "HEALTH_PORT": str(health_port),
        "LOG_FORMAT": "json",
        "MAX_CONCURRENT_ACTIVITIES": "8",
        "ACTIVITY_THREADS": "8",
        **env,
    }
    log = logdir / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=full,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    return WorkerProcess(name, proc, metrics_port, health_port, log)


# --- Prometheus text format ------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict
    value: float


def parse_metrics(text: str) -> list[Sample]:
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            samples.append(Sample(m[1], dict(_LABEL.findall(m[2] or "")), float(m[3])))
    return samples


def total(samples: list[Sample], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (over workers, stages …)."""
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))
