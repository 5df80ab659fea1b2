"""The document store: each document kept once under its SHA-256, so a hash names exactly one
content. The embedded default is a directory (`DOCUMENTS_DIR`, var/documents); production may use
an S3-compatible bucket (to come: issue 15)."""

import hashlib
import re
from pathlib import Path


class DirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, content: bytes, name: str) -> tuple[str, Path]:
        """(SHA-256, path) of the stored document; storing the same content again changes nothing."""
        sha = hashlib.sha256(content).hexdigest()
        path = self.root / sha[:2] / f"{sha}-{name}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(content)
            tmp.replace(path)  # whole or absent, never half written
        return sha, path

    def path(self, sha: str) -> Path:
        """Where the document of this SHA-256 is kept; KeyError when the store does not hold it."""
        found = sorted((self.root / sha[:2]).glob(f"{sha}-*")) if re.fullmatch(r"[0-9a-f]{64}", sha) else []
        if not found:
            raise KeyError(sha)
        return found[0]

    def get(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()
