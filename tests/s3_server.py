"""A real S3 API server on loopback for the tests of the S3 document store: moto's server
(`moto.server.ThreadedMotoServer`, the S3 REST API over HTTP on 127.0.0.1 and a free port), with a
bucket of its own, and the settings that point the store at it. boto3 talks to it as to any
S3-compatible endpoint (MinIO, Ceph); credentials come from the environment, as in production."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from infra.settings import Settings
from simulation.processes import free_port

# What boto3 reads from the environment (moto accepts any key; production's come from the secret store).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "moazara-test", "AWS_SECRET_ACCESS_KEY": "moazara-test-secret"}


@contextmanager
def s3_server() -> Iterator[tuple[Settings, Any]]:
    """Start moto's S3 server on loopback with a fresh bucket; yields the store's settings (the
    bucket, its endpoint, a region) and a boto3 client of the same server, to look into the bucket
    as an operator would. The server is stopped and the environment restored on the way out."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        bucket = f"moazara-documents-{uuid.uuid4().hex[:8]}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3")
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        settings = Settings(
            documents_s3_bucket=bucket,
            documents_s3_endpoint_url=endpoint,
            documents_s3_region="eu-west-3",
            documents_s3_prefix="moazara/",
        )
        yield settings, client
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def s3_env(settings: Settings) -> dict[str, str]:
    """The environment a process needs to use that bucket (DOCUMENTS_S3_* and the credentials)."""
    return {
        **CREDENTIALS,
        "DOCUMENTS_S3_BUCKET": settings.documents_s3_bucket or "",
        "DOCUMENTS_S3_ENDPOINT_URL": settings.documents_s3_endpoint_url or "",
        "DOCUMENTS_S3_REGION": settings.documents_s3_region,
        "DOCUMENTS_S3_PREFIX": settings.documents_s3_prefix or "",
    }
