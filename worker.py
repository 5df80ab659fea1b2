"""The worker: runs ApplicationWorkflow and its activities against the configured Temporal and database.

    python worker.py            # embedded default: dev server on localhost:7233, SQLite under var/
    TEMPORAL_ADDRESS=… DATABASE_URL=postgresql+psycopg://… python worker.py
"""

import asyncio
import concurrent.futures
import signal

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from log_config import configure_logging
from settings import Settings, get_settings
from temporal_connection import connect
from workflows.application import ApplicationWorkflow

WORKFLOWS = [ApplicationWorkflow]


def build_worker(client: Client, repo: Repository, settings: Settings, executor: concurrent.futures.Executor) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=ApplicationActivities(repo).all(),
        activity_executor=executor,
        max_concurrent_activities=settings.max_concurrent_activities,
    )


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    log = structlog.get_logger("moazara.worker")
    engine = make_engine(settings.database_url)
    if settings.migrate_on_start:
        migrate(engine)
    client = await connect(settings)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    with concurrent.futures.ThreadPoolExecutor(settings.activity_threads) as executor:
        worker = build_worker(client, Repository(engine), settings, executor)
        log.info("worker started", address=settings.temporal_address, namespace=settings.temporal_namespace,
                 task_queue=settings.task_queue, database=engine.url.render_as_string(hide_password=True))
        async with worker:
            await stop.wait()
        log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
