"""A partner system on loopback that receives the programme's webhooks (outbound/webhook.py): it
verifies each call's signature as the gateway's recipe says (infra/signing.py), keeps what it
accepted and answers `status` (200 by default; 401 to a bad signature). The outbound tests and the
outbound benchmark (bench/outbound.py) use it."""

import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.signing import sign


class Receiver(ThreadingHTTPServer):
    secret, status = "receiver-secret", 200

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/moazara/events"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        server: Receiver = self.server  # type: ignore[assignment]
        data = self.rfile.read(int(self.headers["Content-Length"]))
        expected = sign(server.secret, self.headers["X-Timestamp"], "POST", self.path, data)
        verified = hmac.compare_digest(expected, self.headers["X-Signature"])
        if verified and server.status == 200:
            server.calls.append(
                {"key": self.headers["Idempotency-Key"], "key_id": self.headers["X-Key-Id"], **json.loads(data)}
            )
        self.send_response(server.status if verified else 401)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver serving on a free loopback port until the block ends."""
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
