"""The gateway's front: every request to an authenticated route is bounded and authenticated before
any of it is parsed (issue 14, items 10, 12 and 18).

An ASGI middleware, not a FastAPI dependency: FastAPI parses a route's JSON body before it runs the
route's dependencies, so a malformed or huge body from anyone would be answered 422 (naming field
"0" or "1") before the caller was known. Here the body is read once, up to `max_body` bytes (413
beyond, and at once when Content-Length says so), the caller authenticated on it (401 otherwise),
and the same bytes handed on to the route, which finds the caller in `request.state.caller`. A
JSON body with a key given twice, or nested too deeply, is refused here too (422 naming the key).
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import authenticate
from gateway.problems import GatewayError
from infra import strict_json

OPEN_PATHS = ("/v1/health",)  # answered to anyone; everything else under /v1/ needs credentials


async def _answer(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    raw = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    head += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": raw})


class AuthenticateFirst:
    def __init__(self, app: ASGIApp, gateway: Callable[[], Any], max_body: Callable[[], int]) -> None:
        self.app, self.gateway, self.max_body = app, gateway, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/") or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.max_body()
        too_large = {"code": "too_large", "detail": f"body: more than {limit} bytes", "field": "body"}
        declared = headers.get("content-length", "")
        if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
            await _answer(send, 413, too_large)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _answer(send, 413, too_large)
                return
        gw = self.gateway()
        try:
            caller = authenticate(gw.settings(), headers, scope["method"], path, bytes(body))
        except GatewayError as e:
            gw.log.warning("authentication refused", reason=str(e.body.get("detail")), path=path[:200])
            await _answer(send, e.status, e.body, e.headers)
            return
        if body:
            try:
                strict_json.loads(bytes(body))
            except strict_json.NotStrictJson as e:  # a key twice (the last would win), or too deep
                detail = str(e) if e.field else f"body: {e}"
                await _answer(send, 422, {"code": "invalid_body", "detail": detail, "field": e.field or "body"})
                return
            except ValueError:
                pass  # not JSON: the route answers 422 as for any invalid body
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: a disconnect, when it comes

    return replayed
