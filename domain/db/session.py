"""Engines, sessions and migrations for the domain database (SQLite embedded, PostgreSQL in production).

Sessions are synchronous: activities that use them run in the worker's thread pool.
"""

import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_URL = "sqlite:///var/moazara.db"

# Execution option a writer sets so that SQLite takes the write lock at BEGIN (see below).
IMMEDIATE = "moazara_sqlite_immediate"
MIGRATION_LOCK = 0x6D6F617A  # "moaz": PostgreSQL advisory lock id held while migrating


def normalize_url(url: str | URL) -> URL:
    """`postgresql://` / `postgres://` mean psycopg 3 here (the only PostgreSQL driver installed)."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    u = normalize_url(url)
    # SQL parameters (bank accounts among them) stay out of exception messages, hence out of logs
    # and of Temporal failures.
    kwargs.setdefault("hide_parameters", True)
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u, **kwargs)
    # pre_ping: a briefly unreachable database costs a reconnect, not a failed activity.
    return create_engine(u, pool_pre_ping=True, **kwargs)


def _sqlite_engine(u: URL, **kwargs: Any) -> Engine:
    if u.database in (None, "", ":memory:"):
        # One in-memory database shared by every thread: a single pooled connection, so
        # activity threads take turns instead of each opening its own empty database.
        # Migrate it with migrate(engine), not migrate(url) (that would be another database).
        kwargs = {**kwargs, "poolclass": QueuePool, "pool_size": 1, "max_overflow": 0}
    elif not u.query.get("uri"):
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)  # e.g. var/ on a fresh checkout
    connect_args = {"check_same_thread": False, "timeout": 30, **kwargs.pop("connect_args", {})}
    engine = create_engine(u, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 driver (it would not BEGIN before SELECTs,
        # so a read-then-write would not be atomic); we emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers lock the database at BEGIN so two concurrent read-check-write transactions
        # serialise instead of both passing the check (SQLite has no SELECT ... FOR UPDATE).
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_WRITERS: "weakref.WeakKeyDictionary[Engine, threading.RLock]" = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def writer_lock(engine: Engine) -> AbstractContextManager[Any]:
    """What a write transaction holds in this process: for SQLite, one lock per database.

    SQLite has one writer at a time. Left to themselves, the worker's activity threads all BEGIN
    IMMEDIATE and the losers wait in SQLite's busy handler, which sleeps in steps of up to 100 ms
    whatever happens meanwhile: under load most of a write's time is that sleep. Queued on a
    Python lock, the next writer starts the moment the previous one commits. Other processes on
    the same file still meet BEGIN IMMEDIATE and the busy timeout. Other databases: no lock.
    A plain RLock, acquired in C: Temporal cancels a thread's activity by raising in it, and a
    lock written in Python (a queue that served urgent writers first was tried) can be left held."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _WRITERS_GUARD:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.RLock()
    return lock


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | URL | None = None) -> Any:
    """An Alembic Config built in code, so migrations run from an installed package and any cwd."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # `%` is interpolation syntax in Alembic's config parser.
        cfg.set_main_option("sqlalchemy.url", normalize_url(url).render_as_string(False).replace("%", "%%"))
    return cfg


def migrate(url_or_engine: str | URL | Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic upgrade). The only way production creates tables."""
    from alembic import command

    if isinstance(url_or_engine, Engine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = make_engine(url_or_engine), True
    try:
        # Several workers may start at once: take the write lock (SQLite) or an advisory lock
        # (PostgreSQL) first, so one migrates and the others then find the schema at head.
        with engine.execution_options(**{IMMEDIATE: True}).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        if owned:
            engine.dispose()
