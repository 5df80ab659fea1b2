"""The one way every process (worker, CLI, tests' tools) connects to Temporal.

Always with the pydantic data converter, so domain models cross the wire as they are.
"""

from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.converter import DataConverter
from temporalio.contrib.pydantic import pydantic_data_converter

from settings import Settings, get_settings


def data_converter(settings: Settings | None = None) -> DataConverter:
    """The data converter of every client (worker, CLI, tests, auditor tools): pydantic models."""
    return pydantic_data_converter


def tls_config(settings: Settings) -> TLSConfig | bool:
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        return TLSConfig(
            client_cert=Path(settings.temporal_tls_cert).read_bytes(),
            client_private_key=Path(settings.temporal_tls_key).read_bytes(),
        )
    # An API key implies TLS (Temporal Cloud).
    return settings.temporal_tls or bool(settings.temporal_api_key)


async def connect(settings: Settings | None = None) -> Client:
    settings = settings or get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=tls_config(settings),
        data_converter=data_converter(settings),
    )
