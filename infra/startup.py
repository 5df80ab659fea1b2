"""What every serving process (gateway, console) does first: settings, masked logging, the domain
database (migrated when MIGRATE_ON_START), and Temporal's core logs through the same masking."""

from sqlalchemy import Engine
from temporalio.runtime import Runtime

from domain.db.session import make_engine, migrate
from infra.log_config import configure_logging
from infra.settings import Settings, get_settings
from infra.temporal_connection import logging_runtime


def start_process() -> tuple[Settings, Engine]:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    engine = make_engine(settings.database_url)
    if settings.migrate_on_start:
        migrate(engine)
    # Before the first client: the core's logs go through the log masking too.
    Runtime.set_default(logging_runtime(), error_if_already_set=False)
    return settings, engine
