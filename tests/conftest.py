"""Shared fixtures: real Temporal servers from PyPI packages (nothing downloaded), a migrated database."""

import concurrent.futures
import uuid

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.edition import edition_4_settings
from infra.actor_header import ActorHeader
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER, TEST_SERVER  # noqa: F401 - DEV_SERVER: tests import it from here
from simulation.driver import Driver
from workflows.application import ApplicationWorkflow

pytest_plugins = ["tests.conftest_db"]


@pytest_asyncio.fixture(scope="module")
async def ts_env():
    """The time-skipping test server, one per test module: a workflow left running by one module's
    tests (its worker gone) would otherwise hold the time skipping of every later module."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter(), interceptors=[ActorHeader()]
    )  # as infra.temporal_connection.connect makes every client: the front door's actor in its header
    yield env
    await env.shutdown()


@pytest.fixture
def sqlite_repo(tmp_path) -> Repository:
    engine = make_engine(f"sqlite:///{tmp_path / 'moazara.db'}")
    migrate(engine)
    return Repository(engine)


@pytest.fixture
def worker_settings() -> Settings:
    return Settings(task_queue=f"test-{uuid.uuid4().hex[:8]}", database_url="sqlite://")


@pytest.fixture(scope="session")
def executor():
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        yield ex


@pytest.fixture
async def lifecycle_queue(ts_env, sqlite_repo, executor):
    """A worker running the application workflow and its activities (on `sqlite_repo`) on a task
    queue of its own, for the test's life; yields the queue's name."""
    queue = f"lifecycle-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ApplicationWorkflow],
        activities=ApplicationActivities(sqlite_repo).all(),
        activity_executor=executor,
    ):
        yield queue


@pytest.fixture
async def lifecycle(ts_env, lifecycle_queue, sqlite_repo):
    """A Driver of 4th-edition applications on that worker, and the repository behind its activities."""
    driver = Driver(ts_env, lifecycle_queue, edition_4_settings())
    yield driver, sqlite_repo
    await driver.cleanup()
