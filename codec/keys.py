"""The codec's key ring: every configured key decrypts, one (the primary) encrypts.

Keys come from the configuration (`Settings.codec_keys` and `codec_encrypt_key` in infra/settings.py,
environment or secrets file), each an id and the base64 of 32 random bytes; the codec reads them
from whatever object it is given and knows nothing of where they were configured. Rotation: add the
new key, make it `codec_encrypt_key`, keep the old ones for as long as histories encrypted with them
must be read (auditors: for ever).
"""

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

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


class KeySettings(Protocol):
    """What the key ring is built from (infra's Settings has both)."""

    @property
    def codec_keys(self) -> Mapping[str, SecretStr]: ...

    @property
    def codec_encrypt_key(self) -> str | None: ...


def raw_keys(keys: Mapping[str, SecretStr], what: str = "codec") -> dict[str, bytes]:
    """Each configured key's 32 bytes, by key id; CodecKeyError naming the `what` key id that is
    not base64 of 32 bytes (never the key)."""
    out = {}
    for key_id, secret in keys.items():
        try:
            raw = base64.b64decode(secret.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"{what} key {key_id!r}: not base64") from None
        if len(raw) != KEY_BYTES:
            raise CodecKeyError(f"{what} key {key_id!r}: {len(raw)} bytes, AES-256 needs {KEY_BYTES}")
        out[key_id] = raw
    return out


def key_ring(settings: KeySettings) -> KeyRing:
    """The key ring of these settings; raises CodecKeyError naming what is wrong."""
    if not settings.codec_keys:
        raise CodecKeyError("no payload encryption key configured: set CODEC_KEYS or codec_keys in the secrets file")
    ciphers, token_keys = {}, {}
    for key_id, raw in raw_keys(settings.codec_keys).items():
        ciphers[key_id] = AESGCM(raw)
        token_keys[key_id] = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=TOKEN_INFO).derive(raw)
    primary = settings.codec_encrypt_key or (next(iter(ciphers)) if len(ciphers) == 1 else None)
    if primary is None:
        raise CodecKeyError(f"several codec keys {sorted(ciphers)}: set codec_encrypt_key to the one that encrypts")
    if primary not in ciphers:
        raise CodecKeyError(f"codec_encrypt_key {primary!r} is not among the codec keys {sorted(ciphers)}")
    return KeyRing(primary, ciphers, token_keys)
