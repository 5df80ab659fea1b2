"""`python -m console` (make console): the console on uvicorn, with the configured Temporal,
database and keys (infra/settings.py)."""

import uvicorn

from console.app import console_state, create_app
from infra.startup import start_process


def main() -> None:
    settings, engine = start_process()
    app = create_app(console_state(settings, engine))
    # log_config=None: uvicorn's loggers propagate to the root handler, through the log masking.
    uvicorn.run(app, host=settings.console_host, port=settings.console_port, log_config=None)


if __name__ == "__main__":
    main()
