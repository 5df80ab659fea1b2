"""The document store in an S3-compatible bucket (AWS S3, MinIO, Ceph, …): production's store.

Each document is the object `<prefix><sha[:2]>/<sha>`, its name as metadata, so a hash names one
object and storing the same content twice writes nothing. The object is read back whole and
checked against the hash its key names before anything uses it (documents/store.checked): an
object replaced or altered in the bucket is refused, never handed out.

Credentials are boto3's own: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a role, a profile)
from the environment, never from the settings file.
"""

import base64
import hashlib
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from documents.store import SHA256, checked
from infra.settings import Settings

MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Store:
    def __init__(self, bucket: str, client: Any, prefix: str = "") -> None:
        self.bucket, self.client, self.prefix = bucket, client, prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> "S3Store":
        client = boto3.client(
            "s3",
            endpoint_url=settings.documents_s3_endpoint_url or None,
            region_name=settings.documents_s3_region,
            # Path-style addressing: what S3-compatible servers on a host:port all understand.
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )
        return cls(settings.documents_s3_bucket or "", client, settings.documents_s3_prefix or "")

    def key(self, sha: str) -> str:
        if not SHA256.fullmatch(sha):
            raise KeyError(sha)
        return f"{self.prefix}{sha[:2]}/{sha}"

    def put(self, content: bytes, name: str) -> tuple[str, str]:
        sha = hashlib.sha256(content).hexdigest()
        key = self.key(sha)
        if not self._exists(key):
            # A PUT is whole or absent; S3 checks the body against its SHA-256 on the way in.
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=content,
                ChecksumSHA256=_b64(sha),
                Metadata={"name": name.encode("ascii", "replace").decode()[:200]},
            )
        return sha, self._url(key)

    def get(self, sha: str) -> bytes:
        key = self.key(sha)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in MISSING:
                raise KeyError(sha) from None
            raise
        return checked(sha, body, self._url(key))

    def where(self, sha: str) -> str:
        key = self.key(sha)
        if not self._exists(key):
            raise KeyError(sha)
        return self._url(key)

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in MISSING:
                return False
            raise
        return True

    def _url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def _b64(sha: str) -> str:
    return base64.b64encode(bytes.fromhex(sha)).decode()
