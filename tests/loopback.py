"""An ASGI app served on a loopback port for as long as a test needs it, by uvicorn (the server the
gateway and the console run on in production)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from simulation.processes import free_port
from simulation.waiting import until


@asynccontextmanager
async def serving(app, port: int | None = None) -> AsyncIterator[int]:
    """Serve `app` on 127.0.0.1 (`port`, or a free one); yields the port once it accepts connections."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():  # it could not start (the port taken, the app broken): say why
            task.result()
            raise AssertionError(f"the server on port {port} stopped before it started")
        return server.started

    try:
        await until(started, bool, f"a server started on port {port}", seconds=30)
        yield port
    finally:
        server.should_exit = True
        await task
