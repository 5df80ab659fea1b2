"""Golden histories: every lifecycle path run for real, exported to tests/golden/*.json.

    .venv/bin/python -m audit.golden            # or: make golden
    .venv/bin/python -m audit.golden --only full --out /tmp/golden

Each scenario drives one application (simulation/driver.py) on the time-skipping test server with the
production worker (`worker.build_worker`: every workflow and activity, a SQLite database), checks
that it ended where the path ends, and writes its history as `temporal workflow show --output json`
does. The test suite replays them (tests/audit/test_audit_replay.py): a change to workflow code that
would break these in-flight shapes fails CI. Refreshing is legitimate only for a change that is
safe for workflows in flight (patched, or no running workflow can have the old shape): see docs/auditing.md,
"Auditing".

This is a development tool: it imports the test helpers (run it from the repository root).
"""

import asyncio
import concurrent.futures
import json
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from audit import histories
from codec.keys import new_key
from documents.store import DirectoryStore
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from infra.log_config import configure_logging
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import TEST_SERVER
from simulation.driver import Driver
from simulation.payment_system import FakePaymentSystem
from tests.golden_scenarios import SCENARIOS, Scenario
from worker import build_worker

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
# The golden histories are encrypted like any other, with a test-only key kept beside them, so
# that they replay on any machine (and a codec change that cannot read them fails the suite).
GOLDEN_SECRETS = GOLDEN / "codec-key.secrets"  # a secrets file (JSON); not *.json, which are histories


def golden_settings() -> Settings:
    """Settings whose payload key is the golden histories' test-only key (created on first use)."""
    if not GOLDEN_SECRETS.exists():
        GOLDEN_SECRETS.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_SECRETS.write_text(
            json.dumps(
                {"codec_keys": {"golden-test-only": new_key()}, "codec_encrypt_key": "golden-test-only"}, indent=2
            )
            + "\n"
        )
    return Settings(secrets_file=str(GOLDEN_SECRETS), codec_keys={}, codec_encrypt_key=None)


def golden_files() -> list[Path]:
    """Every golden history: this release's (tests/golden/*.json) and the older shapes kept in
    subdirectories until their patch is deprecated (audit/VERSIONING.md)."""
    return sorted(GOLDEN.rglob(f"*{histories.SUFFIX}"), key=lambda p: (len(p.parts), str(p)))


# --- running them ----------------------------------------------------------------------------------


async def run_scenarios(
    env: WorkflowEnvironment,
    repo: Repository,
    scenarios: list[Scenario],
    executor: concurrent.futures.Executor,
    on_done: Callable[[Scenario, list[WorkflowHandle]], Awaitable[None]] | None = None,
) -> dict[str, WorkflowHandle]:
    """Play each scenario (one after the other: time skipping is shared) on a production worker;
    check where it ended; terminate what is still running. Returns the main handle by scenario."""
    handles: dict[str, WorkflowHandle] = {}
    # A real payment system on loopback that takes every order, unless a scenario says otherwise;
    # a document store of their own for the agreements, advices and scans.
    with FakePaymentSystem() as payment_system, tempfile.TemporaryDirectory() as documents:
        settings = Settings(
            task_queue=f"golden-{uuid.uuid4().hex[:8]}",
            database_url=str(repo.engine.url),
            max_concurrent_activities=8,
            payment_system_url=payment_system.url,
            payment_system_timeout_seconds=1,
            documents_dir=documents,
            archive_keys={"golden-archive": new_key()},  # the archive scenario seals with it (none in var/ needed)
        )
        async with build_worker(env.client, repo, settings, executor):
            await _play(env, repo, settings, scenarios, payment_system, handles, on_done)
    return handles


async def _play(
    env: WorkflowEnvironment,
    repo: Repository,
    settings: Settings,
    scenarios: list[Scenario],
    payment_system: FakePaymentSystem,
    handles: dict[str, WorkflowHandle],
    on_done,
) -> None:
    for sc in scenarios:
        d = Driver(env, settings.task_queue, sc.settings())
        d.payment_system = payment_system  # type: ignore[attr-defined]
        d.repo = repo  # type: ignore[attr-defined]  # where a scenario writes reviewers' profiles
        d.store = DirectoryStore(Path(settings.documents_dir))  # type: ignore[attr-defined]  # where a scan is put
        try:
            played = await sc.play(d)
            mine = played if isinstance(played, list) else [played]
            if sc.ends is not None:
                final = await mine[0].result()
                if final.stage != sc.ends:
                    raise AssertionError(f"scenario {sc.name}: ended {final.stage.value}, expected {sc.ends.value}")
            handles[sc.name] = mine[0]
        finally:
            await d.cleanup()  # nothing left running to hold later time skipping
        if on_done:
            await on_done(sc, mine)


async def main(out: Path, only: list[str]) -> int:
    unknown = set(only) - {s.name for s in SCENARIOS}
    if unknown:
        print(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in SCENARIOS)}")
        return 2
    chosen = [s for s in SCENARIOS if not only or s.name in only]
    configure_logging("console", "WARNING")  # the scenarios' activity logs are not the point here
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter(golden_settings())
    )
    try:
        with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(8) as executor:
            staged = Path(tmp) / "golden"  # written here first: a failed run leaves tests/golden as it was
            engine = make_engine(f"sqlite:///{Path(tmp) / 'golden.db'}")
            migrate(engine)

            async def keep(sc: Scenario, handles: list[WorkflowHandle]) -> None:
                for h in handles:
                    path = histories.save(await histories.fetch(env.client, h.id), staged)
                    print(f"{sc.name:45} {sc.ends.value if sc.ends else '':13} {path.name}", flush=True)

            try:
                await run_scenarios(env, Repository(engine), chosen, executor, keep)
            finally:
                engine.dispose()
            out.mkdir(parents=True, exist_ok=True)
            if not only:  # a full refresh: histories of paths that no longer exist go too
                for old in out.glob(f"*{histories.SUFFIX}"):
                    old.unlink()
            for new in sorted(staged.glob(f"*{histories.SUFFIX}")):
                new.replace(out / new.name)
    finally:
        await env.shutdown()
    print(f"{len(list(out.glob('*' + histories.SUFFIX)))} golden histories in {out}")
    return 0


cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@cli.command()
def regenerate(
    out: Annotated[Path, typer.Option(help="directory to write")] = GOLDEN,
    only: Annotated[list[str] | None, typer.Option(help="a scenario name (repeatable); default: all")] = None,
) -> None:
    """Run every lifecycle path on the time-skipping server and write each history to tests/golden/."""
    raise typer.Exit(asyncio.run(main(out, only or [])))


if __name__ == "__main__":
    cli()
