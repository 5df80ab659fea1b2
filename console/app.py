"""The console's web application: pages (console/pages.py) over the domain database, actions
through the front door, security headers on every answer.

    python -m console            # the embedded default: http://127.0.0.1:8090 (make console)
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from temporalio.client import Client

from console import admin_pages, audit_pages, edition_pages, messages_pages, oidc, reviews
from console.accounts import Accounts
from console.pages import router
from console.web import ConsoleState, SignInRequired, render, signed_in
from domain.db.repository import Repository
from infra.settings import Settings
from infra.temporal_connection import connect
from infra.vault import bank_accounts
from observability.readiness import readiness

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    # Only the console's own files: no inline script or style, no other origin, never framed.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def console_state(settings: Settings, engine: Engine) -> ConsoleState:
    return ConsoleState(
        settings=settings,
        accounts=Accounts(engine, settings.console_session_hours),
        repo=Repository(engine),
        vault=bank_accounts(settings, engine),
    )


def create_app(s: ConsoleState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if s.client is None:
            s.client = await connect(s.settings)
        yield

    app = FastAPI(title="Moazara console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.console = s
    app.include_router(router)
    app.include_router(edition_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(reviews.router)
    app.include_router(oidc.router)
    app.include_router(messages_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if s.settings.console_secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"alive": True})

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        async def client() -> Client:
            return s.temporal()

        ready, body = await readiness(client, s.repo.engine)
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _: SignInRequired) -> Response:
        if request.method == "GET" and not request.url.path.endswith("/live"):
            return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
        return Response("sign in", status_code=401)

    @app.exception_handler(HTTPException)
    async def refused(request: Request, e: HTTPException) -> Response:
        try:
            who = signed_in(request)
        except SignInRequired:
            who = None
        return render(request, "error.html", who, http_status=e.status_code, code=e.status_code, detail=str(e.detail))

    return app
