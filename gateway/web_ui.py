"""The Temporal Web UI with the codec server at the same origin, so a signed-in staff member sees
payloads decoded as shipped (issue 14, item 6).

The UI's server-wide codec endpoint is called by the browser without credentials when it is on
another origin (the gateway's port): decoding then needed a browser-level endpoint and "include
cross-origin credentials" ticked by hand. Here the UI is served through this front, which answers
`/codec/*` itself (codec/server.py) and forwards everything else to the UI; the UI's codec endpoint
is `<this origin>/codec`, a same-origin request, which carries the staff member's codec cookie
(set at `/codec/login`). Without it the codec answers 401 and the UI shows ciphertext; `/codec/login`
says how to sign in.

    python -m gateway.web_ui     # make up runs it on :8233, the UI itself on :8234
"""

from collections.abc import Callable

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from codec.aes_gcm import AesGcmCodec
from codec.server import create_codec_app
from infra.live_settings import LiveSettings
from infra.settings import Settings
from infra.startup import start_process
from infra.temporal_connection import data_converter

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def create_web_ui_app(current_settings: Callable[[], Settings], codec: AesGcmCodec, upstream: str) -> FastAPI:
    app = FastAPI(title="Temporal Web UI with Moazara's codec", openapi_url=None, docs_url=None, redoc_url=None)
    app.mount("/codec", create_codec_app(current_settings, codec, origins=[]))
    client = httpx.AsyncClient(base_url=upstream, timeout=60)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
    async def forward(request: Request, path: str) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream_request = client.build_request(
            request.method, "/" + path, params=request.query_params, headers=headers, content=await request.body()
        )
        answer = await client.send(upstream_request, stream=True)
        out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code, headers=out, background=BackgroundTask(answer.aclose)
        )

    return app


def main() -> None:
    settings, _ = start_process()
    codec = data_converter(settings, accept_clear=True).payload_codec
    assert isinstance(codec, AesGcmCodec)
    app = create_web_ui_app(LiveSettings(settings).current, codec, settings.web_ui_upstream)
    uvicorn.run(app, host=settings.web_ui_host, port=settings.web_ui_port, log_config=None)


if __name__ == "__main__":
    main()
