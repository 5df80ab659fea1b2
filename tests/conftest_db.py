"""Database fixtures: a migrated repository on SQLite and on PostgreSQL.

Load with `pytest_plugins = ["tests.conftest_db"]` (tests/conftest.py does). `repo` is
parametrized over both backends; `db_url` is the URL of the migrated database behind it.
PostgreSQL: TEST_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test; each
test gets its own schema (search_path set in the URL), dropped afterwards; if the server
does not answer, the PostgreSQL variant is skipped with the reason.
"""

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from domain.db.repository import Repository
from domain.db.session import make_engine, migrate, normalize_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> URL:
    return normalize_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres_admin():
    """An engine on the test PostgreSQL server, or a skip saying why there is none."""
    url = postgres_url()
    engine = make_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as e:  # noqa: BLE001 - any failure to connect means "no server"
        engine.dispose()
        pytest.skip(f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: {e}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgresql_db_url(postgres_admin) -> Iterator[URL]:
    """A fresh, empty schema on the test server; the URL's search_path points into it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url().update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with postgres_admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def sqlite_db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'moazara.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str | URL:
    """An empty database on each backend (not migrated)."""
    return request.getfixturevalue(f"{request.param}_db_url")


@pytest.fixture
def db_engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def repo(db_engine) -> Repository:
    """A Repository on a database migrated to head by Alembic (never create_all)."""
    migrate(db_engine)
    return Repository(db_engine)
