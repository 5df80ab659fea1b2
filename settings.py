"""Configuration from the environment (pydantic-settings), read by worker, starter and tests.

Every setting has the embedded default: the Temporal dev server on this machine and a SQLite
file under var/. Production points the same code elsewhere with environment variables.
"""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    temporal_address: str = Field("localhost:7233", description="Temporal frontend host:port")
    temporal_namespace: str = Field("default", description="Temporal namespace")
    temporal_tls: bool = Field(False, description="connect with TLS (server CA from the system)")
    temporal_tls_cert: str | None = Field(None, description="client certificate (PEM file) for mTLS")
    temporal_tls_key: str | None = Field(None, description="client private key (PEM file) for mTLS")
    temporal_api_key: str | None = Field(None, description="API key (Temporal Cloud)")
    task_queue: str = Field("moazara-applications", description="task queue of the application workflows")
    database_url: str = Field("sqlite:///var/moazara.db", description="domain database (SQLAlchemy URL)")
    migrate_on_start: bool = Field(True, description="worker runs Alembic migrations at start (embedded default)")
    log_format: str = Field("console", description="'console' or 'json'")
    log_level: str = Field("INFO", description="log level")
    max_concurrent_activities: int = Field(32, ge=1, description="activity slots per worker")
    activity_threads: int = Field(32, ge=1, description="threads running the (synchronous) activities")


@cache
def get_settings() -> Settings:
    return Settings()
