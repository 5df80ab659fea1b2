"""Who is calling: an API key, or an HMAC-SHA256 signature over the request with a timestamp.

API key: `X-API-Key: <key>` (optionally with `X-Client-Id`).
HMAC:    `X-Client-Id: <id>`, `X-Timestamp: <unix seconds>`,
         `X-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>\\n<METHOD>\\n<path>\\n" + body)>`;
         the timestamp must be within `gateway_signature_tolerance_seconds` of the gateway's clock,
         so a captured request cannot be replayed later (and within the window, the event id makes
         a replay a no-op).
Credentials come from `Settings.gateway_clients` as they are at each request: a rotated key (added
to the secrets file, the old one removed after the overlap) applies without a restart.
"""

import hmac
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from gateway.problems import unauthenticated
from infra.settings import GatewayClient, GatewayRole, Settings
from infra.signing import sign  # noqa: F401 - the recipe integrators read here too

# Declared as security schemes so the OpenAPI document says how to authenticate.
API_KEY = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ApiKey", description="the integration's API key"
)
SIGNATURE = APIKeyHeader(
    name="X-Signature",
    auto_error=False,
    scheme_name="HmacSignature",
    description='sha256=<hex HMAC-SHA256(secret, "<X-Timestamp>\\n<METHOD>\\n<path>\\n" + body)>, '
    "with X-Client-Id and X-Timestamp (unix seconds)",
)


@dataclass(frozen=True)
class Caller:
    client_id: str
    role: GatewayRole
    region_code: str | None
    method: str  # "api_key" or "hmac"


def _matches(presented: str, secrets) -> bool:
    found = False
    for s in secrets:  # every key compared, in constant time each
        found |= hmac.compare_digest(presented.encode(), s.get_secret_value().encode())
    return found


def _caller(client_id: str, client: GatewayClient, method: str) -> Caller:
    return Caller(client_id, client.role, client.region_code, method)


# Every credential header is bounded before it is looked at (a timestamp hundreds of digits long
# overflowed the clock arithmetic: a 500 before authentication).
BOUNDS = {"x-client-id": 100, "x-api-key": 200, "x-signature": 100, "x-timestamp": 12}


def authenticate(settings: Settings, headers, method: str, path: str, body: bytes, now: float | None = None) -> Caller:
    for name, longest in BOUNDS.items():
        if len(headers.get(name, "")) > longest:
            raise unauthenticated(f"{name}: longer than {longest} characters")
    clients = settings.gateway_clients
    client_id = headers.get("x-client-id")
    if client_id is not None and client_id not in clients:
        raise unauthenticated("unknown client id")
    api_key = headers.get("x-api-key")
    if api_key:
        candidates = {client_id: clients[client_id]} if client_id else clients
        for cid, client in candidates.items():
            if _matches(api_key, client.api_keys):
                return _caller(cid, client, "api_key")
        raise unauthenticated("invalid API key")
    signature = headers.get("x-signature")
    if signature:
        timestamp = headers.get("x-timestamp")
        if not client_id or not timestamp:
            raise unauthenticated("an HMAC signature needs the X-Client-Id and X-Timestamp headers")
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise unauthenticated("X-Timestamp: unix seconds expected")
        ts = int(timestamp)
        tolerance = settings.gateway_signature_tolerance_seconds
        if abs((time.time() if now is None else now) - ts) > tolerance:
            raise unauthenticated(f"X-Timestamp: more than {tolerance} s from the gateway's clock")
        client = clients[client_id]
        expected = [sign(s.get_secret_value(), timestamp, method, path, body) for s in client.hmac_secrets]
        if any(hmac.compare_digest(signature.encode(), e.encode()) for e in expected):
            return _caller(client_id, client, "hmac")
        raise unauthenticated("invalid signature")
    raise unauthenticated(
        "credentials required: X-API-Key, or an HMAC signature (X-Client-Id, X-Timestamp, X-Signature)"
    )


async def caller(
    request: Request,
    _key: Annotated[str | None, Security(API_KEY)] = None,
    _sig: Annotated[str | None, Security(SIGNATURE)] = None,
) -> Caller:
    """FastAPI dependency: the caller the gateway's front authenticated before the body was parsed
    (gateway/front.py). The security schemes are declared here so the OpenAPI document shows them."""
    found = getattr(request.state, "caller", None)
    if not isinstance(found, Caller):  # a route mounted outside the front: never answer unauthenticated
        raise unauthenticated("credentials required")
    return found
