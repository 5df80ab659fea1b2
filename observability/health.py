"""Liveness and readiness of the worker: a small Starlette app served by uvicorn on the worker's own
event loop (the libraries the gateway uses).

    GET /healthz  200 while the process serves requests and its worker has not died; 503 otherwise
    GET /readyz   200 when every check passes: Temporal answers, the database answers, the worker
                  polls its task queue; 503 otherwise, naming what is not ready

Both answer JSON, e.g. {"ready": false, "checks": {"temporal": "connecting to temporal:7233: …",
"database": "ok", "worker": "not started"}}. Because the server runs on the worker's event loop,
a loop that is blocked stops answering /healthz, which is what a liveness probe must notice.
The gateway exposes the same two paths on its own port (deploy/README.md, "Health endpoints").
"""

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Generator
from datetime import timedelta

import structlog
import uvicorn
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.worker import Worker

log = structlog.get_logger("moazara.health")

CHECK_TIMEOUT = 3.0  # seconds per check: a probe must answer within its own timeout
Check = Callable[[], Awaitable[None]]  # raises (with a reason) when not ready


class Health:
    """What the endpoints answer. Each readiness check is a pending note until its check is set."""

    def __init__(self, *names: str) -> None:
        self._checks: dict[str, Check | str] = {name: "not started" for name in names}
        self._dead: str | None = None

    def note(self, name: str, reason: str) -> None:
        """Not ready yet, and why (e.g. 'connecting to temporal:7233: connection refused')."""
        self._checks[name] = reason

    def set_check(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def died(self, reason: str) -> None:
        """The process can no longer do its work: liveness fails from now on."""
        self._dead = reason

    def liveness(self) -> tuple[bool, dict]:
        if self._dead is not None:
            return False, {"alive": False, "reason": self._dead}
        return True, {"alive": True}

    async def readiness(self) -> tuple[bool, dict]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(self._checks[n]) for n in names))
        checks = dict(zip(names, results, strict=False))
        ready = all(r == "ok" for r in results)
        return ready, {"ready": ready, "checks": checks}

    @staticmethod
    async def _run(check: Check | str) -> str:
        if isinstance(check, str):
            return check
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT:g}s"
        except Exception as e:  # noqa: BLE001 - any failure is "not ready", with its reason
            return f"{type(e).__name__}: {e}"[:300]
        return "ok"


def temporal_check(client: Client) -> Check:
    async def check() -> None:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=CHECK_TIMEOUT))

    return check


def database_check(engine: Engine) -> Check:
    def select_one() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def check() -> None:
        await asyncio.to_thread(select_one)

    return check


def worker_check(worker: Worker) -> Check:
    async def check() -> None:
        if not worker.is_running:
            raise RuntimeError("the worker is not polling its task queue")

    return check


# --- The HTTP server ------------------------------------------------------------------------------------


def health_app(health: Health) -> Starlette:
    """/healthz (alive) and /readyz (ready to work): 200 or 503 with the reasons, as JSON."""

    async def healthz(request: Request) -> JSONResponse:
        ok, body = health.liveness()
        return JSONResponse(body, status_code=200 if ok else 503)

    async def readyz(request: Request) -> JSONResponse:
        ok, body = await health.readiness()
        return JSONResponse(body, status_code=200 if ok else 503)

    return Starlette(
        routes=[Route("/healthz", healthz, methods=["GET", "HEAD"]), Route("/readyz", readyz, methods=["GET", "HEAD"])]
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn on the worker's own event loop: the worker handles SIGTERM and SIGINT itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HealthServer:
    def __init__(self, server: _EmbeddedServer, task: asyncio.Task[None]) -> None:
        self._server, self._task = server, task

    def close(self) -> None:
        self._server.should_exit = True

    async def wait_closed(self) -> None:
        await self._task


async def start_health_server(health: Health, host: str, port: int) -> HealthServer | None:
    """Serve /healthz and /readyz on host:port; None when port is 0 (off) or already taken."""
    if port == 0:
        log.info("health endpoints off (HEALTH_PORT=0)")
        return None
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:  # bound here: uvicorn would exit the process on a port already taken
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        log.warning("health endpoints not started: this worker runs without them", host=host, port=port, error=str(e))
        return None
    config = uvicorn.Config(health_app(health), log_config=None, access_log=False, lifespan="off")
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    log.info(
        "health endpoints started", liveness=f"http://{host}:{port}/healthz", readiness=f"http://{host}:{port}/readyz"
    )
    return HealthServer(server, task)
