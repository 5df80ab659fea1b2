"""The Temporal SDK runtime with a Prometheus endpoint: http://OBSERVABILITY_HOST:METRICS_PORT/metrics.

It serves the SDK's own metrics (temporal_workflow_completed, temporal_activity_execution_latency,
temporal_worker_task_slots_available, … with the `temporal_` prefix) and every counter created on
the runtime's metric meter, which is where observability.counters puts the service's counters
(`moazara_` prefix). Install it before the first Temporal client is created: clients made before
keep the runtime they were made with.
"""

import structlog
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from infra.settings import Settings
from infra.temporal_connection import core_logging, logging_runtime

log = structlog.get_logger("moazara.metrics")


def metrics_address(settings: Settings) -> str | None:
    """host:port of the metrics endpoint, or None when METRICS_PORT is 0 (off)."""
    if settings.metrics_port == 0:
        return None
    return f"{settings.observability_host}:{settings.metrics_port}"


def install_metrics_runtime(settings: Settings) -> str | None:
    """Make the default Temporal runtime export Prometheus metrics; the address it serves, or None.

    A port already taken (a second worker on the same machine with the same METRICS_PORT) is not
    fatal: the worker runs without metrics and says so, as a warning, once. Without metrics the
    default runtime still forwards the core's logs to Python logging.
    """
    address = metrics_address(settings)
    if address is None:
        log.info("metrics off (METRICS_PORT=0)")
        Runtime.set_default(logging_runtime(), error_if_already_set=False)
        return None
    try:
        # The core's own logs go through Python logging (and its masking of personal data), as in
        # every other process of the service.
        runtime = Runtime(
            telemetry=TelemetryConfig(logging=core_logging(), metrics=PrometheusConfig(bind_address=address))
        )
    except (ValueError, RuntimeError) as e:
        log.warning("metrics endpoint not started: this worker runs without metrics", address=address, error=str(e))
        Runtime.set_default(logging_runtime(), error_if_already_set=False)
        return None
    Runtime.set_default(runtime, error_if_already_set=False)
    log.info("metrics endpoint started", url=f"http://{address}/metrics")
    return address
