"""`python -m gateway.codec_server`: the codec server alone (codec/server.py), on GATEWAY_PORT + 1,
with the keys of every client and the staff tokens of the secrets file (re-read on change). The
gateway (`python -m gateway`) serves the same at /codec."""

import uvicorn

from codec.server import create_codec_app
from infra.live_settings import LiveSettings
from infra.log_config import configure_logging
from infra.settings import get_settings
from infra.temporal_connection import data_converter


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    codec = data_converter(settings, accept_clear=True).payload_codec
    live = LiveSettings(settings)
    app = create_codec_app(live.current, codec, settings.codec_server_origins)
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port + 1, log_config=None)


if __name__ == "__main__":
    main()
