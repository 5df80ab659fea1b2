"""The worker: runs ApplicationWorkflow, EditionWorkflow, OutboxWorkflow, DigestWorkflow and
ArchiveWorkflow (the last three on their schedules) and their activities against the configured Temporal and database.

python worker.py            # embedded default: dev server on localhost:7233, SQLite under var/
EDITION_TASK_QUEUE=moazara-editions python worker.py --editions   # a worker of the editions' own
                            # queue (imports then do not wait behind the applications' first steps)
# metrics on 127.0.0.1:9464/metrics, /healthz and /readyz on 127.0.0.1:9465 (observability/)
TEMPORAL_ADDRESS=… DATABASE_URL=postgresql+psycopg://… python worker.py
"""

import asyncio
import concurrent.futures
import functools
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.runtime import Runtime
from temporalio.worker import Interceptor, Worker

from activities.application import ApplicationActivities
from activities.archive import ArchiveActivities
from activities.database_errors import DatabaseErrors
from activities.edition import EditionActivities
from activities.outbound import OutboundActivities
from activities.payment_system import PaymentSystem
from documents.render import render_in_processes
from documents.store import open_store
from domain.db.bank_accounts import BankAccounts
from domain.db.edition_repository import EditionRepository
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from infra import archive_seal, vault
from infra.backlog import Admission
from infra.log_config import configure_logging
from infra.payload_keys import is_embedded_default
from infra.settings import Settings, get_settings
from infra.temporal_connection import connect
from infra.workflow_runner import CompiledSandboxRunner
from observability.backlog import publish_backlog
from observability.counters import ServiceCounters
from observability.health import Health, database_check, start_health_server, temporal_check, worker_check
from observability.metrics import install_metrics_runtime
from workflows.actor import ActorFromHeader
from workflows.application import ApplicationWorkflow
from workflows.archive import ARCHIVE_WORKFLOW_ID, ArchiveRun, ArchiveWorkflow
from workflows.edition import EditionWorkflow
from workflows.missing_inputs import RefuseMissingInputs
from workflows.outbox import OUTBOX_WORKFLOW_ID, DigestRun, DigestWorkflow, OutboxRun, OutboxWorkflow

OUTBOX_SCHEDULE_ID = "moazara-outbox-schedule"
DIGEST_SCHEDULE_ID = "moazara-digest-schedule"
DIGEST_WORKFLOW_ID = "moazara-digest"
ARCHIVE_SCHEDULE_ID = "moazara-archive-schedule"

WORKFLOWS = [ApplicationWorkflow, EditionWorkflow, OutboxWorkflow, DigestWorkflow, ArchiveWorkflow]


def activities_for(
    client: Client,
    repo: Repository,
    payment_system: PaymentSystem | None = None,
    bank_accounts: BankAccounts | None = None,
    settings: Settings | None = None,
) -> list:
    """Every activity the worker runs: the application's, the edition's, the outbox's, the archive's."""
    settings = settings or Settings()
    store = open_store(settings)
    editions = EditionRepository(repo.engine)
    return (
        ApplicationActivities(repo, payment_system, bank_accounts, store).all()
        + EditionActivities(
            editions,
            client,
            settings.task_queue if settings.edition_task_queue else None,
            Admission(
                client,
                settings.task_queue,
                settings.application_backlog_seconds,
                lambda: editions.oldest_unchecked(datetime.now(UTC)),
            ),
        ).all()
        + OutboundActivities(repo.engine, settings).all()
        + ArchiveActivities(client, repo.engine, store, functools.partial(archive_seal.seal, settings=settings)).all()
    )


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """The outbox's schedule (OutboxWorkflow every `outbox_interval_seconds`), the officers' daily
    digest (DigestWorkflow at `digest_hour`, programme time) and the histories' daily archive
    (ArchiveWorkflow at `archive_hour`), skipped while a run goes on. Created once, kept in step
    with the settings (every worker may call this)."""
    outbox_every = ScheduleSpec(
        intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.outbox_interval_seconds))]
    )
    daily = ScheduleSpec(
        calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(settings.digest_hour)])], time_zone_name="Africa/Casablanca"
    )
    nightly = ScheduleSpec(
        calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(settings.archive_hour)])],
        time_zone_name="Africa/Casablanca",
    )
    for schedule_id, action, spec in (
        (OUTBOX_SCHEDULE_ID, ScheduleActionStartWorkflow(OutboxWorkflow.run, OutboxRun(), id=OUTBOX_WORKFLOW_ID, task_queue=settings.task_queue), outbox_every),
        (DIGEST_SCHEDULE_ID, ScheduleActionStartWorkflow(DigestWorkflow.run, DigestRun(), id=DIGEST_WORKFLOW_ID, task_queue=settings.task_queue), daily),
        (ARCHIVE_SCHEDULE_ID, ScheduleActionStartWorkflow(ArchiveWorkflow.run, ArchiveRun(), id=ARCHIVE_WORKFLOW_ID, task_queue=settings.task_queue), nightly),
    ):  # fmt: skip
        schedule = Schedule(action=action, spec=spec, policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(schedule_id).update(lambda _, s=schedule: ScheduleUpdate(schedule=s))


def build_worker(
    client: Client,
    repo: Repository,
    settings: Settings,
    executor: concurrent.futures.Executor,
    interceptors: Sequence[Interceptor] = (),
    task_queue: str | None = None,
) -> Worker:
    """`interceptors` run after the service's counters (tests add fault injection there, never production).
    `task_queue`: the applications' (default) or the editions' (`--editions`)."""
    payment_system = PaymentSystem(settings.payment_system_url, settings.payment_system_timeout_seconds)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=CompiledSandboxRunner(),  # the SDK's sandbox, its code strings compiled once
        activities=activities_for(client, repo, payment_system, vault.bank_accounts(settings, repo.engine), settings),
        activity_executor=executor,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_schedule_to_start_seconds),
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
        # The service's own counters (observability/counters.py) see the activity's own outcome;
        # database errors are then made short and free of SQL parameters (activities/database_errors.py).
        # An update with no input is refused with that reason (workflows/missing_inputs.py).
        interceptors=[ServiceCounters(), DatabaseErrors(), RefuseMissingInputs(), ActorFromHeader(), *interceptors],
    )


T = TypeVar("T")


async def until_ok(
    step: Callable[[], Awaitable[T]],
    name: str,
    transient: tuple[type[BaseException], ...],
    health: Health,
    stop: asyncio.Event,
    log,
) -> T | None:
    """Run a start-up step until it succeeds (a database or Temporal still starting is not fatal);
    readiness names what it waits for meanwhile. None when asked to stop first."""
    delay = 0.5
    while not stop.is_set():
        try:
            return await step()
        except transient as e:
            reason = f"waiting: {type(e).__name__}: {e}"[:300]
            health.note(name, reason)
            log.warning("not ready, retrying", waiting_for=name, error=reason, retry_in=delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        delay = min(delay * 2, 10.0)
    return None


async def main(editions: bool = False) -> None:
    settings = get_settings()
    if editions and not settings.edition_task_queue:
        raise SystemExit("worker.py --editions: set EDITION_TASK_QUEUE (the editions' own task queue)")
    queue = settings.editions_queue if editions else settings.task_queue
    configure_logging(settings.log_format, settings.log_level)
    log = structlog.get_logger("moazara.worker")
    metrics = install_metrics_runtime(settings)  # before the first client: SDK metrics and the service's counters
    health = Health("database", "temporal", "worker")
    health_server = await start_health_server(health, settings.observability_host, settings.health_port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    # One pooled connection per activity thread (the default pool, 5 + 10 overflow, made threads
    # wait for a connection under load, and time out after 30 s on PostgreSQL).
    engine = make_engine(settings.database_url, pool_size=settings.activity_threads, max_overflow=4)
    database = engine.url.render_as_string(hide_password=True)
    if settings.migrate_on_start:

        async def migrated() -> bool:
            await asyncio.to_thread(migrate, engine)
            return True

        if not await until_ok(migrated, "database", (OperationalError, InterfaceError), health, stop, log):
            return
    health.set_check("database", database_check(engine))
    health.note("temporal", f"connecting to {settings.temporal_address}")
    client = await until_ok(lambda: connect(settings), "temporal", (RuntimeError, OSError), health, stop, log)
    if client is None:
        return
    health.set_check("temporal", temporal_check(client))
    await ensure_schedules(client, settings)
    renderers = render_in_processes(settings.render_processes)  # documents/render.py: why
    with concurrent.futures.ThreadPoolExecutor(settings.activity_threads) as executor:
        worker = build_worker(client, Repository(engine), settings, executor, task_queue=queue)
        health.set_check("worker", worker_check(worker))
        run = asyncio.create_task(worker.run())
        # The autoscaler's signal: this queue's waiting workflow tasks (observability/backlog.py).
        backlog = (
            asyncio.create_task(publish_backlog(client, queue, Runtime.default().metric_meter)) if metrics else None
        )
        log.info(
            "worker started",
            address=settings.temporal_address,
            namespace=settings.temporal_namespace,
            task_queue=queue,
            database=database,
        )
        if archive_seal.seals_with_payload_keys(settings) and not is_embedded_default(settings):
            log.warning(  # production: the archives outlive the payload keys' rotations (docs/configuration.md)
                "no archive key: histories are archived with the payload keys",
                fix="ARCHIVE_KEYS, or archive_keys in the secrets file (deploy/secrets_file.py add-key --archive)",
            )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if run.done():  # the worker failed on its own: liveness says so, and the process exits non-zero
            stopping.cancel()
            error = run.exception()
            health.died(f"worker stopped: {error!r}")
            log.error("worker failed", error=repr(error))
            raise SystemExit(1)
        log.info(
            "stopping: activities in flight get their grace period",
            grace_seconds=settings.worker_shutdown_grace_seconds,
        )
        if backlog is not None:
            backlog.cancel()
        await worker.shutdown()
        await run
    if renderers is not None:
        renderers.shutdown(cancel_futures=True)
    if health_server is not None:
        health_server.close()
        await health_server.wait_closed()
    engine.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main(editions="--editions" in sys.argv[1:]))
