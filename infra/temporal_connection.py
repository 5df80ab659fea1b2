"""The one way every process (worker, CLI, gateway, tests' and auditors' tools) connects to Temporal.

Always with the pydantic data converter, so domain models cross the wire as they are, and with
the AES-256-GCM payload codec, so personal and banking data is encrypted before it reaches the
Temporal server (codec/). Connection security (TLS, mTLS, API key) comes from settings.
"""

import dataclasses
import logging
from functools import cache
from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from codec.aes_gcm import AesGcmCodec
from codec.undecodable import PayloadConverter
from infra.actor_header import ActorHeader
from infra.failure_converter import InputFailureConverter
from infra.payload_keys import live_keys
from infra.settings import Settings, get_settings


def data_converter(settings: Settings | None = None, accept_clear: bool | None = None) -> DataConverter:
    """The data converter of every client: pydantic models, encrypted with the configured keys.

    Unencrypted payloads are refused (a client must go through the codec) unless `accept_clear`,
    by default settings.accept_unencrypted_payloads: readers of histories written before
    encryption (the auditor's tools, the codec server) pass True.
    Raises codec.keys.CodecKeyError when no usable key is configured (outside the embedded
    default, which generates one into the secrets file on first use)."""
    settings = settings or get_settings()
    ring = live_keys(settings)
    clear = settings.accept_unencrypted_payloads if accept_clear is None else accept_clear
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=PayloadConverter,
        payload_codec=AesGcmCodec(ring, accept_clear=clear),
        failure_converter_class=InputFailureConverter,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS options: False (plain, the dev server), True (system CAs) or a TLSConfig with a custom
    CA, a client certificate (mTLS) and/or a server name."""
    if bool(settings.temporal_tls_cert) != bool(settings.temporal_tls_key):
        raise ValueError("temporal_tls_cert and temporal_tls_key: mTLS needs both the certificate and its key")
    custom = settings.temporal_tls_cert or settings.temporal_tls_ca or settings.temporal_tls_server_name
    if custom:

        def read(p):
            return Path(p).read_bytes() if p else None

        return TLSConfig(
            server_root_ca_cert=read(settings.temporal_tls_ca),
            domain=settings.temporal_tls_server_name,
            client_cert=read(settings.temporal_tls_cert),
            client_private_key=read(settings.temporal_tls_key),
        )
    # An API key implies TLS (Temporal Cloud).
    return settings.temporal_tls or bool(settings.temporal_api_key)


def rpc_metadata(settings: Settings) -> dict[str, str]:
    # Temporal Cloud routes API-key calls on regional endpoints by this header.
    return {"temporal-namespace": settings.temporal_namespace} if settings.temporal_api_key else {}


def core_logging() -> LoggingConfig:
    """Temporal's core (Rust) logs forwarded to Python logging, hence through the log masking:
    left to itself the core prints, e.g., a workflow task failure quoting the value that failed to
    decode, bank account included. Whoever builds a Runtime (observability/metrics.py) passes
    this as its TelemetryConfig's `logging`."""
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )


@cache
def logging_runtime() -> Runtime:
    """A runtime with only the core's logs forwarded (processes without a metrics runtime: the gateway)."""
    return Runtime(telemetry=TelemetryConfig(logging=core_logging()))


async def connect(
    settings: Settings | None = None, runtime: Runtime | None = None, accept_clear: bool | None = None
) -> Client:
    """A client of the configured cluster, encrypting; on `runtime`, else the process's default
    Temporal runtime (the worker installs one serving metrics before connecting). `accept_clear`:
    see data_converter."""
    settings = settings or get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=tls_config(settings),
        rpc_metadata=rpc_metadata(settings),
        data_converter=data_converter(settings, accept_clear),
        runtime=runtime,
        interceptors=[ActorHeader()],  # the front door's actor rides in its updates' headers
    )
