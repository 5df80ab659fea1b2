"""Sign-in with the ministry's identity provider: OpenID Connect, the authorization code flow with
PKCE (RFC 7636), when `CONSOLE_OIDC_ISSUER` is set (docs/configuration.md).

The provider proves who the person is; the console decides what they may do. The ID token's
`CONSOLE_OIDC_LOGIN_CLAIM` (email by default) must name an active console user, whom an admin
created with their roles (`starter.py users add --oidc`): roles stay on the console's access
trail, never in the provider's hands. The token is checked here: signature against the provider's
published keys, issuer, audience (this client), expiry and the nonce of this browser's request.
State, nonce and PKCE verifier ride in a short-lived HttpOnly cookie (SameSite=Lax: the provider
sends the browser back with a top-level GET from its own site).
"""

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from console.web import SESSION_COOKIE, ConsoleState, state
from infra.settings import Settings

router = APIRouter()
log = structlog.get_logger("moazara.console")
FLOW_COOKIE = "moazara_oidc"
FLOW_SECONDS = 600
ALGORITHMS = ["RS256", "PS256", "ES256"]


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in (the message is for the log, not the page)."""


class Provider:
    """One OpenID provider: its discovery document and keys, fetched once and refreshed on a key miss."""

    def __init__(self, settings: Settings) -> None:
        assert settings.console_oidc_issuer and settings.console_oidc_client_id
        self.issuer = settings.console_oidc_issuer.rstrip("/")
        self.client_id = settings.console_oidc_client_id
        secret = settings.console_oidc_client_secret
        self.client_secret = secret.get_secret_value() if secret else ""
        self.login_claim = settings.console_oidc_login_claim
        self._meta: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    async def _get(self, url: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.get(url)
            r.raise_for_status()
            return r.json()  # type: ignore[no-any-return]

    async def metadata(self) -> dict[str, Any]:
        if self._meta is None:
            meta = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if meta.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInRefused(f"the provider says its issuer is {meta.get('issuer')!r}")
            self._meta = meta
        return self._meta

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(await self._get((await self.metadata())["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    async def authorize_url(self, redirect_uri: str, flow: dict[str, str]) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(flow["verifier"].encode()).digest()).rstrip(b"=")
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
        return f"{(await self.metadata())['authorization_endpoint']}?{urlencode(query)}"

    async def login_of(self, code: str, redirect_uri: str, flow: dict[str, str]) -> str:
        """The console login the provider vouches for, from the ID token the code is exchanged for."""
        meta = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        form["code_verifier"] = flow["verifier"]
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(meta["token_endpoint"], data=form, auth=(self.client_id, self.client_secret))
        if r.status_code != 200 or "id_token" not in r.json():
            raise SignInRefused(f"token endpoint answered {r.status_code}")
        claims = await self._verified(r.json()["id_token"], flow["nonce"])
        login = claims.get(self.login_claim)
        if not isinstance(login, str) or not login:
            raise SignInRefused(f"the ID token has no {self.login_claim!r} claim")
        return login

    async def _verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                token = jwt.decode(id_token, await self.keys(), algorithms=ALGORITHMS)
            except JoseError:  # the provider may have rotated its keys since we fetched them
                token = jwt.decode(id_token, await self.keys(refresh=True), algorithms=ALGORITHMS)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as e:
            raise SignInRefused(f"ID token refused: {type(e).__name__}: {e}") from None
        return dict(token.claims)


def provider_of(s: ConsoleState) -> Provider:
    if not s.settings.console_oidc_issuer:
        raise HTTPException(404, "no identity provider configured")
    if s.oidc is None:
        s.oidc = Provider(s.settings)
    return s.oidc  # type: ignore[no-any-return]


def _callback_url(request: Request, s: ConsoleState) -> str:
    base = (s.settings.console_public_url or str(request.base_url)).rstrip("/")
    return f"{base}/login/oidc/callback"


def _next(value: object) -> str:
    path = str(value or "/")
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@router.get("/login/oidc")
async def start(request: Request) -> Response:
    s = state(request)
    provider = provider_of(s)
    flow = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "next": _next(request.query_params.get("next")),
        "until": str(int(time.time()) + FLOW_SECONDS),
    }
    response = RedirectResponse(await provider.authorize_url(_callback_url(request, s), flow), status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        _pack(flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        secure=s.settings.console_secure_cookies,
        samesite="lax",
        path="/login/oidc",
    )
    return response


@router.get("/login/oidc/callback")
async def callback(request: Request) -> Response:
    s = state(request)
    provider = provider_of(s)
    flow = unpack(request.cookies.get(FLOW_COOKIE, ""))
    fresh = flow.get("until", "").isdigit() and int(flow["until"]) >= time.time()
    given = request.query_params.get("state", "")
    if not fresh or not given or not secrets.compare_digest(given, flow.get("state", "")):
        return _failed("expired")
    code = request.query_params.get("code")
    try:
        if not code:
            raise SignInRefused(f"no code: {request.query_params.get('error', '?')[:60]}")
        login = await provider.login_of(code, _callback_url(request, s), flow)
    except (SignInRefused, httpx.HTTPError) as e:
        log.warning("OpenID Connect sign-in refused", reason=str(e)[:300])
        return _failed("refused")
    user = s.accounts.get(login[:100])  # None when unknown or deactivated
    if user is None:
        log.warning("OpenID Connect sign-in of a person with no console account", login=login[:100])
        return _failed("unknown")
    token, _ = s.accounts.open_session(user.login)
    response = RedirectResponse(flow["next"], status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(s.accounts.session_ttl.total_seconds()),
        httponly=True,
        secure=s.settings.console_secure_cookies,
        samesite="strict",
        path="/",
    )
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response


def _pack(flow: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(flow).encode()).decode()


def unpack(cookie: str) -> dict[str, str]:
    """The flow a cookie holds; empty for anything else."""
    try:
        flow = json.loads(base64.urlsafe_b64decode(cookie.encode()))
    except ValueError:
        return {}
    return {k: v for k, v in flow.items() if isinstance(v, str)} if isinstance(flow, dict) else {}


# Why a sign-in failed, as the sign-in page says it (message ids, console/locale).
FAILURES = {
    "expired": "Sign-in expired: try again",
    "refused": "The identity provider did not sign you in",
    "unknown": "No console account for you: ask an administrator",
}


def _failed(why: str) -> Response:
    response = RedirectResponse(f"/login?failed={why}", status_code=303)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response
