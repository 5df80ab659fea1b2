"""The autoscaler's signal on a worker's /metrics: the task queue's waiting workflow tasks, as the
dev server counts them, rising while no worker takes them and falling once one does."""

import asyncio
import urllib.request
import uuid

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from observability.backlog import BACKLOG, BACKLOG_AGE, publish_backlog
from simulation.dev_server import DEV_SERVER
from simulation.processes import free_port, parse_metrics, total
from simulation.waiting import until
from tests.trivial_workflow import Nothing


async def test_the_backlog_gauges_follow_the_queue():
    port = free_port()
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}")))
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(DEV_SERVER), runtime=runtime)
    queue = f"q-{uuid.uuid4().hex[:8]}"
    publishing = asyncio.create_task(publish_backlog(env.client, queue, runtime.metric_meter, every=0.5))

    async def gauges() -> tuple[float, float]:
        def scrape() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.read().decode()

        samples = parse_metrics(await asyncio.to_thread(scrape))
        return total(samples, BACKLOG, task_queue=queue), total(samples, BACKLOG_AGE, task_queue=queue)

    try:
        for i in range(25):  # an import with no worker to take its applications
            await env.client.start_workflow("Nothing", id=f"{queue}-{i}", task_queue=queue)
        tasks, age = await until(gauges, lambda g: g[0] >= 25, "25 tasks shown waiting", seconds=30)
        assert tasks == 25 and age > 0
        client = await Client.connect(env.client.service_client.config.target_host)
        async with Worker(client, task_queue=queue, workflows=[Nothing], workflow_runner=UnsandboxedWorkflowRunner()):
            await until(gauges, lambda g: g[0] == 0, "the backlog drained", seconds=30)
    finally:
        publishing.cancel()
        await env.shutdown()
