"""The codec server: the Temporal Web UI's "codec endpoint", so staff read decrypted payloads.

The UI posts `{"payloads": [...]}` (Temporal's proto JSON, bytes in base64) to `<endpoint>/decode`
and `<endpoint>/encode`, with an `X-Namespace` header. Only staff may: a bearer token from
`codec_server_tokens` (the UI's "pass the user access token") or the same token in a cookie set
by `/login` (the UI's "include cross-origin credentials", for a UI without its own login, like
the dev server's). CORS admits the configured Web UI origins only. Every decode is logged with
the staff member's name: who read which payloads is part of the audit trail.

The `temporal` CLI (Go's remote codec client) retries every answer but 200 until its 10 s deadline
and then prints only `context deadline exceeded`: a refusal's status and body never reach its user
(its codec error is a plain error, which the Go SDK's gRPC retry treats as retryable). So a Go
client asking `/decode` with no valid staff token gets, at once, a 200 whose payloads are a notice
saying that a token is needed and how to pass it (`--codec-auth 'Bearer <token>'`), with nothing
decoded; `temporal workflow show --detailed` prints it in place of every input. Every other client
(browsers and the Web UI, curl, scripts) gets the 401, and `/encode` always refuses: a notice there
would be stored in place of the sender's input.

Mounted at /codec by the gateway (`make gateway`) and by the Web UI's front (gateway/web_ui.py);
`python -m gateway.codec_server` runs it alone. It reads the configuration it is given (any object
with the fields of `ServerSettings`, infra's Settings in practice) and imports none of it.
"""

import hmac
import html
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Protocol
from urllib.parse import parse_qs

import structlog
from cryptography.exceptions import InvalidTag
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads

from codec.aes_gcm import AesGcmCodec
from codec.keys import CodecKeyError

COOKIE = "moazara_codec"
NO_TOKEN_NOTICE = (
    "moazara codec: not decoded, a staff token is needed: --codec-auth 'Bearer <staff token>' "
    "(one of codec_server_tokens in the secrets file)"
)
log = structlog.get_logger("moazara.codec_server")

_LOGIN_FORM = """<!doctype html><title>Moazara codec server</title>
<form method="post" action="login"><label>Staff token <input name="token" type="password" autofocus></label>
<button>Sign in</button></form><p>A staff token is one of <code>codec_server_tokens</code> (the secrets file).
Then open the Temporal Web UI served at this origin: payloads show decoded, with no setting to change.</p>"""


class ServerSettings(Protocol):
    """What the codec server reads of the configuration, current at each request."""

    @property
    def codec_server_tokens(self) -> Mapping[str, SecretStr]: ...

    @property
    def temporal_namespace(self) -> str: ...

    @property
    def gateway_max_body_bytes(self) -> int: ...


def staff_member(settings: ServerSettings, token: str | None) -> str | None:
    """The staff member this token belongs to, or None. Constant-time comparisons."""
    if not token:
        return None
    found = None
    for name, secret in settings.codec_server_tokens.items():
        if hmac.compare_digest(token.encode(), secret.get_secret_value().encode()):
            found = name
    return found


def notice() -> Payload:
    """What the Go client shows in place of a payload it may not read: the notice, as JSON text."""
    return Payload(
        metadata={"encoding": b"json/plain"},  # any other key and the CLI shows it as base64
        data=json.dumps(NO_TOKEN_NOTICE).encode(),
    )


def create_codec_app(current_settings: Callable[[], ServerSettings], codec: AesGcmCodec, origins: list[str]) -> FastAPI:
    app = FastAPI(title="Moazara codec server", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
    )

    def staff_of(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies.get(COOKIE)
        return staff_member(current_settings(), token)

    def authorised(request: Request) -> str:
        settings = current_settings()
        name = staff_of(request)
        if name is None:
            log.warning("codec request refused", reason="no valid staff token", origin=request.headers.get("origin"))
            raise HTTPException(
                401,
                "a staff token is required (Authorization: Bearer, or sign in at /login; "
                "the temporal CLI: --codec-auth 'Bearer <token>')",
                headers={"WWW-Authenticate": "Bearer"},
            )
        namespace = request.headers.get("x-namespace")
        if namespace is not None and namespace != settings.temporal_namespace:
            log.warning("codec request refused", staff=name, reason="namespace", namespace=namespace)
            raise HTTPException(403, f"this codec server serves namespace {settings.temporal_namespace!r} only")
        return name

    async def payloads_of(request: Request) -> Payloads:
        """The posted payloads: at most gateway_max_body_bytes (413), JSON that parses within
        Python's nesting limit and in Temporal's shape (400 otherwise, never a 500)."""
        limit = current_settings().gateway_max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
            raise HTTPException(413, f"body: more than {limit} bytes")
        body = await request.body()
        if len(body) > limit:
            raise HTTPException(413, f"body: more than {limit} bytes")
        try:
            return json_format.ParseDict(json.loads(body), Payloads())
        except (ValueError, RecursionError, json_format.ParseError) as e:
            raise HTTPException(
                400, f'expected {{"payloads": [...]}} in Temporal\'s JSON: {type(e).__name__}'
            ) from None

    def answer(payloads: list, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(json_format.MessageToDict(Payloads(payloads=payloads)), headers=headers)

    def go_client_without_token(request: Request) -> bool:
        """The temporal CLI (or tctl) with no valid token: Go's HTTP client, no browser's Origin."""
        return (
            request.headers.get("user-agent", "").startswith("Go-http-client/")
            and "origin" not in request.headers
            and staff_of(request) is None
        )

    @app.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        if go_client_without_token(request):
            incoming = await payloads_of(request)
            log.warning("codec request refused", reason="no valid staff token", client="Go remote codec")
            return answer([notice() for _ in incoming.payloads], headers={"WWW-Authenticate": "Bearer"})
        staff = authorised(request)
        incoming = await payloads_of(request)
        try:
            decoded = await codec.decode(incoming.payloads)
        except (CodecKeyError, ValueError) as e:
            raise HTTPException(422, str(e)) from None
        except (InvalidTag, DecodeError):  # tampered with, or another key under the same id
            raise HTTPException(422, "a payload failed authentication: tampered with or not ours") from None
        log.info("payloads decoded", staff=staff, count=len(decoded), namespace=request.headers.get("x-namespace"))
        return answer(decoded)

    @app.post("/encode")
    async def encode(request: Request, staff: Annotated[str, Depends(authorised)]) -> JSONResponse:
        incoming = await payloads_of(request)
        log.info("payloads encoded", staff=staff, count=len(incoming.payloads))
        return answer(await codec.encode(incoming.payloads))

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> str:
        name = staff_member(current_settings(), request.cookies.get(COOKIE))
        return f"<!doctype html><p>Signed in as {html.escape(name)}.</p>" if name else _LOGIN_FORM

    @app.post("/login")
    async def login(request: Request) -> RedirectResponse:
        token = parse_qs((await request.body()).decode(errors="replace")).get("token", [""])[0]
        name = staff_member(current_settings(), token)
        if name is None:
            log.warning("codec sign-in refused")
            raise HTTPException(401, "unknown staff token")
        log.info("codec sign-in", staff=name)
        response = RedirectResponse("login", status_code=303)
        # HttpOnly: scripts cannot read it; Lax: sent by the Web UI on the same site (any port).
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https", max_age=12 * 3600
        )
        return response

    return app
