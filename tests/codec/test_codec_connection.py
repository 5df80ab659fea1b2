"""The one connection (temporal_connection.py): every client gets the codec; TLS, mTLS and API key
options come from environment variables, as an operator sets them for a secured cluster or Cloud."""

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.client import TLSConfig

from codec.aes_gcm import AesGcmCodec
from infra.settings import Settings
from infra.temporal_connection import data_converter, rpc_metadata, tls_config


def self_signed(tmp_path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_environment_variables_configure_mtls_with_a_private_ca(tmp_path, monkeypatch):
    ca, _ = self_signed(tmp_path, "moazara-ca")
    cert, key = self_signed(tmp_path, "moazara-worker")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.moazara.internal:7233")
    monkeypatch.setenv("TEMPORAL_TLS_CA", ca)
    monkeypatch.setenv("TEMPORAL_TLS_CERT", cert)
    monkeypatch.setenv("TEMPORAL_TLS_KEY", key)
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "frontend.temporal.internal")
    tls = tls_config(Settings(_env_file=None))
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert.startswith(b"-----BEGIN CERTIFICATE-----")
    assert tls.client_cert == Path(cert).read_bytes() and b"PRIVATE KEY" in tls.client_private_key
    assert tls.domain == "frontend.temporal.internal"


def test_tls_modes(tmp_path):
    cert, _ = self_signed(tmp_path, "half")
    assert tls_config(Settings(_env_file=None)) is False  # the embedded dev server
    assert tls_config(Settings(_env_file=None, temporal_tls=True)) is True  # system CAs
    cloud = Settings(_env_file=None, temporal_api_key="cloud-api-key", temporal_namespace="moazara.abcde")
    assert tls_config(cloud) is True  # an API key implies TLS
    assert rpc_metadata(cloud) == {"temporal-namespace": "moazara.abcde"}
    with pytest.raises(ValueError, match="needs both"):
        tls_config(Settings(_env_file=None, temporal_tls_cert=cert))


def test_every_client_gets_the_encrypting_codec():
    converter = data_converter()  # what worker, CLI, gateway, tests and auditor tools use
    assert isinstance(converter.payload_codec, AesGcmCodec)
