"""`python -m gateway` (make gateway): the gateway and its codec server on uvicorn, with the
configured Temporal, database and keys (infra/settings.py; secrets file re-read on change)."""

import uvicorn
from temporalio.runtime import Runtime

from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from gateway.app import create_app
from infra.live_settings import LiveSettings
from infra.log_config import configure_logging
from infra.settings import get_settings
from infra.temporal_connection import connect, data_converter, logging_runtime


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    engine = make_engine(settings.database_url)
    if settings.migrate_on_start:
        migrate(engine)
    # Before the first client: the core's logs go through the log masking too.
    Runtime.set_default(logging_runtime(), error_if_already_set=False)
    live = LiveSettings(settings)
    codec = data_converter(
        settings, accept_clear=True
    ).payload_codec  # the same keys as every client's; old clear payloads shown as they are
    app = create_app(live.current, Repository(engine), lambda: connect(settings), codec)
    # log_config=None: uvicorn's loggers propagate to the root handler, through the log masking.
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port, log_config=None)


if __name__ == "__main__":
    main()
