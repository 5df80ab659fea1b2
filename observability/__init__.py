"""What operators watch: Prometheus metrics (the SDK runtime's and the service's own counters) and the
worker's liveness and readiness endpoints.

    metrics.py   the Temporal runtime that serves /metrics (SDK metrics and the counters below)
    counters.py  the service's own counters, kept by a worker interceptor (stages, payments, refusals)
    health.py    /healthz and /readyz: a tiny HTTP server on the worker's event loop
    probe.py     `python -m observability.probe URL`: exit 0 on HTTP 200 (container health checks)
"""
