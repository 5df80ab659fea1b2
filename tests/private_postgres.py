"""A private PostgreSQL cluster for fault tests: its own data directory and port, stopped and started
at will. Never the machine's shared server (127.0.0.1:5432), which other tests and people use.

Built with the server binaries of the machine's PostgreSQL (/usr/lib/postgresql/*/bin). PostgreSQL
refuses to run as root: as root, the cluster runs as the `postgres` user.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from simulation.processes import free_port


def server_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory holding initdb and pg_ctl, if any."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


class PrivatePostgres:
    def __init__(self) -> None:
        self.bin = server_bin()
        if self.bin is None:
            raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.as_user = "postgres" if os.geteuid() == 0 else None
        self.base = Path(tempfile.mkdtemp(prefix="moazara-pg-"))
        self.data, self.log = self.base / "data", self.base / "server.log"
        self.port = free_port()
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def init(self) -> "PrivatePostgres":
        # fsync off: a test database; an immediate stop (a crash of the server, not of the machine) loses nothing.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            "-o",
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        """As a crash: connections cut at once, nothing flushed politely."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.base, ignore_errors=True)
