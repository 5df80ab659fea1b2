"""Readiness of a process that serves requests (the gateway, the console): Temporal and the domain
database both answer. Their `/readyz` answer with this; probes and deploy/README.md rely on it."""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client


async def readiness(client: Callable[[], Awaitable[Client]], engine: Engine) -> tuple[bool, dict[str, Any]]:
    """(ready, {"ready": …, "checks": {"temporal": "ok" | "unreachable: …", "database": …}})."""
    checks = {}
    try:
        await (await client()).service_client.check_health()
        checks["temporal"] = "ok"
    except Exception as e:  # noqa: BLE001 - readiness answers, it does not fail
        checks["temporal"] = f"unreachable: {type(e).__name__}"
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        checks["database"] = "ok"
    except Exception as e:  # noqa: BLE001
        checks["database"] = f"unreachable: {type(e).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return ready, {"ready": ready, "checks": checks}
