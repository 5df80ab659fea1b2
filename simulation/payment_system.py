"""A payment system for tests: a real HTTP server on loopback that takes, refuses, fails or hangs.

It records every request it receives (idempotency key and body), so a test can say what the
payment system saw: how many attempts, under which keys, and which orders it took.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TAKE, DOWN, HANG, REFUSE = "take", "down", "hang", "refuse"


@dataclass
class Received:
    key: str
    body: dict
    answered: int  # the HTTP status it got (0: none, the call hung)


@dataclass
class FakePaymentSystem:
    mode: str = TAKE
    hang_seconds: float = 5.0
    # When set, an order is taken (recorded) at once but answered only once `answer_when` is set: a
    # payment system whose answer to the order's result can come before its answer to the order.
    answer_when: threading.Event | None = None
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1/payment-orders"

    def taken(self) -> list[str]:
        """Distinct idempotency keys the payment system took (answered 2xx)."""
        return sorted({r.key for r in self.received if 200 <= r.answered < 300})

    def __enter__(self) -> "FakePaymentSystem":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                key = self.headers.get("Idempotency-Key", "")
                mode = fake.mode
                if mode == HANG:
                    fake.received.append(Received(key, body, 0))
                    time.sleep(fake.hang_seconds)
                    return
                status = {TAKE: 201, DOWN: 503, REFUSE: 422}[mode]
                if mode == TAKE and key in fake.taken():
                    status = 409  # this key was taken before: the idempotent repeat
                fake.received.append(Received(key, body, status))
                if fake.answer_when is not None:
                    fake.answer_when.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
