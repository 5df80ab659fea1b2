"""The codec's key ring: every configured key decrypts, one (the primary) encrypts.

Keys come from `Settings.codec_keys` (environment or secrets file), each an id and the base64
of 32 random bytes. Rotation: add the new key, make it `codec_encrypt_key`, keep the old ones
for as long as histories encrypted with them must be read (auditors: for ever).
"""

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from infra.settings import Settings

KEY_BYTES = 32  # AES-256
TOKEN_INFO = b"moazara bank account token"


class CodecKeyError(ValueError):
    """The codec's keys are missing or unusable; the message names the key id, never the key."""


@dataclass(frozen=True)
class KeyRing:
    primary: str
    ciphers: dict[str, AESGCM]
    # Per key id, a key derived for keyed hashes (codec/at_rest.py's tokens), never the key itself.
    token_keys: dict[str, bytes] = field(default_factory=dict)

    def cipher(self, key_id: str) -> AESGCM:
        try:
            return self.ciphers[key_id]
        except KeyError:
            raise CodecKeyError(
                f"payload encrypted with key {key_id!r}, which is not configured (known: {sorted(self.ciphers)})"
            ) from None


def new_key() -> str:
    """A fresh key in the configuration's format (base64 of 32 random bytes)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def key_ring(settings: Settings) -> KeyRing:
    """The key ring of these settings; raises CodecKeyError naming what is wrong."""
    if not settings.codec_keys:
        raise CodecKeyError("no payload encryption key configured: set CODEC_KEYS or codec_keys in the secrets file")
    ciphers, token_keys = {}, {}
    for key_id, secret in settings.codec_keys.items():
        try:
            raw = base64.b64decode(secret.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"codec key {key_id!r}: not base64") from None
        if len(raw) != KEY_BYTES:
            raise CodecKeyError(f"codec key {key_id!r}: {len(raw)} bytes, AES-256 needs {KEY_BYTES}")
        ciphers[key_id] = AESGCM(raw)
        token_keys[key_id] = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=TOKEN_INFO).derive(raw)
    primary = settings.codec_encrypt_key or (next(iter(ciphers)) if len(ciphers) == 1 else None)
    if primary is None:
        raise CodecKeyError(f"several codec keys {sorted(ciphers)}: set codec_encrypt_key to the one that encrypts")
    if primary not in ciphers:
        raise CodecKeyError(f"codec_encrypt_key {primary!r} is not among the codec keys {sorted(ciphers)}")
    return KeyRing(primary, ciphers, token_keys)


def is_embedded_default(settings: Settings) -> bool:
    """A local dev server without TLS: the only setup where a key may be generated on the spot."""
    host = settings.temporal_address.rsplit(":", 1)[0]
    return host in ("localhost", "127.0.0.1", "::1", "[::1]") and not (
        settings.temporal_tls or settings.temporal_api_key or settings.temporal_tls_cert
    )


def ensure_dev_key(settings: Settings) -> bool:
    """Embedded default only: when no key is configured and there is no secrets file yet, create
    one with a random key (and a codec server token for staff), readable by its owner only.
    Production gets its keys from configuration: generating one per machine would make each
    worker write histories the others cannot read. True if a file was created."""
    if settings.codec_keys or not settings.secrets_file or not is_embedded_default(settings):
        return False
    path = Path(settings.secrets_file)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    key_id = f"dev-{datetime.now(UTC):%Y%m%d}"
    content = {
        "codec_keys": {key_id: new_key()},
        "codec_encrypt_key": key_id,
        "codec_server_tokens": {"staff": secrets.token_urlsafe(24)},
    }
    # Written aside, then linked into place: of two processes starting at once, one creates the
    # file and the other finds it whole (a link, unlike a write, is atomic and refuses to replace).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(content, f, indent=2)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
