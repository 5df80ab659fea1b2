"""`python -m gateway` (make gateway): the gateway and its codec server on uvicorn, with the
configured Temporal, database and keys (infra/settings.py; secrets file re-read on change)."""

import uvicorn

from domain.db.repository import Repository
from gateway.app import create_app
from infra.live_settings import LiveSettings
from infra.startup import start_process
from infra.temporal_connection import connect, data_converter


def main() -> None:
    settings, engine = start_process()
    live = LiveSettings(settings)
    # The same keys as every client's; payloads of histories from before encryption shown as they are.
    codec = data_converter(settings, accept_clear=True).payload_codec
    app = create_app(live.current, Repository(engine), lambda: connect(settings), codec)
    # log_config=None: uvicorn's loggers propagate to the root handler, through the log masking.
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port, log_config=None)


if __name__ == "__main__":
    main()
