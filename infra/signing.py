"""The one signature recipe of partner calls, both ways: the gateway checks it on what partners
send (gateway/auth.py), the outbox signs with it what the programme sends them (outbound/webhook.py).

    X-Signature: sha256=<hex of HMAC-SHA256(secret, "<X-Timestamp>\\n<METHOD>\\n<path>\\n" + body)>
"""

import hashlib
import hmac


def sign(secret: str, timestamp: int | str, method: str, path: str, body: bytes) -> str:
    """The X-Signature of a request (integrators: this is the whole recipe)."""
    message = f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
