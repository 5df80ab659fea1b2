"""Alembic environment: online migrations only, URL from the caller or DATABASE_URL.

`migrate()` passes an open connection in `config.attributes["connection"]`; the CLI
(`alembic -c domain/db/migrations/alembic.ini upgrade head`) reads DATABASE_URL.
"""

import os
from logging.config import fileConfig

from alembic import context

from domain.db.session import DEFAULT_URL, make_engine
from domain.db.tables import metadata

config = context.config

if config.config_file_name is not None:  # the CLI; migrate() leaves the app's logging alone
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: later migrations copy-and-move tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")
run_migrations_online()
