"""The gateway application: routes, error answers, the codec server at /codec, and what they share."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from temporalio.client import Client

from codec.aes_gcm import AesGcmCodec
from codec.server import create_codec_app
from domain.db.repository import Repository
from gateway import problems
from gateway.front import AuthenticateFirst
from gateway.routes import router
from gateway.workflow_updates import TemporalLink
from infra.settings import Settings
from observability.readiness import readiness

DESCRIPTION = """Status events from Moazara's integrations, each applied to its application's workflow
exactly once and answered with the workflow's own answer.

**Authentication**: `X-API-Key`, or an HMAC signature: `X-Client-Id`, `X-Timestamp` (unix seconds) and
`X-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>\\n<METHOD>\\n<path>\\n" + body)>`.

**Exactly once**: every event carries an `event_id`, unique per sender; sending it again returns the
first answer (`duplicate: true`) without applying it twice. After a 503, retry with the same id.

**Answers**: 200 accepted by the workflow · 401 credentials · 403 role, territory or applicant ·
404 unknown application or order · 409 refused by the workflow (`wrong_stage`, `refused`) or event id
reused · 422 invalid body, naming the field (nothing was sent) · 503 retry later.
"""


class Health(BaseModel):
    status: str  # ok, degraded
    temporal: str  # reachable, unreachable


@dataclass
class Gateway:
    """What every route needs: current settings (keys rotate), the database, Temporal."""

    settings: Callable[[], Settings]
    repo: Repository
    temporal: TemporalLink
    log: Any = field(default_factory=lambda: structlog.get_logger("moazara.gateway"))


def create_app(
    settings: Callable[[], Settings],
    repo: Repository,
    connect: Callable[[], Awaitable[Client]],
    codec: AesGcmCodec | None = None,
) -> FastAPI:
    """`settings` is called at each request (LiveSettings.current: rotation without restart);
    `connect` makes the Temporal client, on first use; `codec`, when given, is served at /codec."""
    app = FastAPI(title="Moazara integration gateway", version="1", description=DESCRIPTION)
    app.state.gateway = Gateway(settings, repo, TemporalLink(connect))
    app.add_exception_handler(problems.GatewayError, problems.on_gateway_error)
    app.add_exception_handler(RequestValidationError, problems.on_invalid_request)
    app.add_exception_handler(HTTPException, problems.on_http_error)
    app.include_router(router)
    # Bounded and authenticated before any body is parsed (gateway/front.py).
    app.add_middleware(
        AuthenticateFirst, gateway=lambda: app.state.gateway, max_body=lambda: settings().gateway_max_body_bytes
    )

    @app.get(
        "/v1/health",
        tags=["operations"],
        summary="Is the gateway up, and can it reach Temporal?",
        response_model=Health,
        responses={503: {"model": Health, "description": "Temporal unreachable"}},
    )
    async def health() -> JSONResponse:
        try:
            client = await app.state.gateway.temporal.client()
            await client.service_client.check_health()
            return JSONResponse({"status": "ok", "temporal": "reachable"})
        except Exception:  # noqa: BLE001 - health answers, it does not fail
            return JSONResponse({"status": "degraded", "temporal": "unreachable"}, status_code=503)

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process serves requests", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"alive": True})

    @app.get(
        "/readyz", tags=["operations"], summary="Readiness: Temporal and the database answer", include_in_schema=False
    )
    async def readyz() -> JSONResponse:
        ready, body = await readiness(app.state.gateway.temporal.client, app.state.gateway.repo.engine)
        return JSONResponse(body, status_code=200 if ready else 503)

    if codec is not None:
        app.mount("/codec", create_codec_app(settings, codec, settings().codec_server_origins))
    return app
