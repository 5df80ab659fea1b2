"""Telling a partner system by webhook: a signed POST of the message as JSON, the way the gateway
verifies what partners send us (infra/signing.py: HMAC-SHA256 over timestamp, method, path and
body, with the key id), and an Idempotency-Key per message, the same on every resend.

https only, but for a receiver on loopback (the embedded default and the tests). A 2xx is
delivered; 408, 429, 5xx and no answer are transient (retried); any other 4xx is permanent.
"""

import json
import time
from functools import cache
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import httpx

from infra.signing import sign
from outbound.email import SendFailed
from outbound.render import reference

LOOPBACK_NAMES = {"localhost"}
TRANSIENT = {408, 425, 429}


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@cache
def _client() -> httpx.Client:
    """One client for the process: making one loads the CA bundle (about 0.2 s, forty times a call
    to a receiver on loopback: bench/outbound.py); httpx's Client may be shared between threads."""
    return httpx.Client()


def body(message_id: str, kind: str, application_id: str, recipient: str, params: dict[str, Any]) -> bytes:
    payload = {
        "id": reference(message_id),
        "event": kind,
        "application_id": application_id,
        "recipient": recipient,
        "params": params,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


def deliver(url: str, key_id: str, secret: str, message_id: str, payload: bytes, timeout: float) -> None:
    """POST the signed message; raises SendFailed saying whether to retry."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname or "")):
        raise SendFailed(f"webhook URL must be https: {parts.scheme}://{parts.hostname}", permanent=True)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Key-Id": key_id,
        "X-Timestamp": str(timestamp),
        "X-Signature": sign(secret, timestamp, "POST", parts.path or "/", payload),
        "Idempotency-Key": reference(message_id),
    }
    try:
        r = _client().post(url, content=payload, headers=headers, timeout=timeout)
    except httpx.HTTPError as e:
        raise SendFailed(f"{type(e).__name__}: {e}"[:300], permanent=False) from None
    if 200 <= r.status_code < 300:
        return
    transient = r.status_code >= 500 or r.status_code in TRANSIENT
    raise SendFailed(f"HTTP {r.status_code}: {r.text[:200]}", permanent=not transient)
