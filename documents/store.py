"""The document store: each document kept once under its SHA-256, so a hash names exactly one
content, and checked against it on every read. The embedded default is a directory
(`DOCUMENTS_DIR`, var/documents); production uses an S3-compatible bucket (`DOCUMENTS_S3_BUCKET`,
documents/s3_store.py). Both answer the same three calls: put, get, where."""

import hashlib
import re
from pathlib import Path
from typing import Protocol

from infra.settings import Settings

SHA256 = re.compile(r"[0-9a-f]{64}")


class TamperedDocument(ValueError):
    """What the store holds under a SHA-256 no longer has that hash: refused, never handed out."""


class DocumentStore(Protocol):
    def put(self, content: bytes, name: str) -> tuple[str, str]:
        """(SHA-256, where it is kept) of the stored content; storing the same content again
        changes nothing."""
        ...

    def get(self, sha: str) -> bytes:
        """The content of this SHA-256, checked against it (TamperedDocument otherwise); KeyError
        when the store does not hold it."""
        ...

    def where(self, sha: str) -> str:
        """Where the content of this SHA-256 is kept (a path, an s3:// URL); KeyError if absent."""
        ...


def checked(sha: str, content: bytes, where: str) -> bytes:
    """`content` if its SHA-256 is `sha`; TamperedDocument naming both hashes otherwise."""
    found = hashlib.sha256(content).hexdigest()
    if found != sha:
        raise TamperedDocument(f"{where}: SHA-256 mismatch: recorded {sha}, the stored content has {found}")
    return content


class DirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, content: bytes, name: str) -> tuple[str, str]:
        sha = hashlib.sha256(content).hexdigest()
        path = self.root / sha[:2] / f"{sha}-{name}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(content)
            tmp.replace(path)  # whole or absent, never half written
        return sha, str(path)

    def path(self, sha: str) -> Path:
        """Where the document of this SHA-256 is kept; KeyError when the store does not hold it."""
        found = sorted((self.root / sha[:2]).glob(f"{sha}-*")) if SHA256.fullmatch(sha) else []
        if not found:
            raise KeyError(sha)
        return found[0]

    def where(self, sha: str) -> str:
        return str(self.path(sha))

    def get(self, sha: str) -> bytes:
        path = self.path(sha)
        return checked(sha, path.read_bytes(), str(path))


def open_store(settings: Settings) -> DocumentStore:
    """The store the settings name: the bucket when `documents_s3_bucket` is set, else the directory."""
    if settings.documents_s3_bucket:
        from documents.s3_store import S3Store  # boto3 loads only where a bucket is used

        return S3Store.from_settings(settings)
    return DirectoryStore(Path(settings.documents_dir))
