"""Encryption at rest of the bank accounts the domain database holds (domain/db/bank_accounts.py),
with the payload keys (codec/keys.py): one key ring, one rotation, for data in flight and at rest.

Tokens are HMAC-SHA256 under a key derived from the primary key (KeyRing.token_keys), so equal
RIBs get equal references under one key, and nothing about a RIB can be computed without it.
"""

import hashlib
import hmac
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag

from codec.keys import CodecKeyError, KeyRing

NONCE_BYTES = 12


class AtRest:
    def __init__(self, key_ring: Callable[[], KeyRing]) -> None:
        self._ring = key_ring  # looked up on every call: a rotation applies without a restart

    def token(self, value: bytes) -> str:
        ring = self._ring()
        return hmac.new(ring.token_keys[ring.primary], value, hashlib.sha256).hexdigest()[:16]

    def seal(self, plain: bytes, bound_to: bytes) -> tuple[str, bytes]:
        ring = self._ring()
        nonce = os.urandom(NONCE_BYTES)
        return ring.primary, nonce + ring.cipher(ring.primary).encrypt(nonce, plain, bound_to)

    def open(self, key_id: str, sealed: bytes, bound_to: bytes) -> bytes:
        try:
            return self._ring().cipher(key_id).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to)
        except InvalidTag:
            raise ValueError(f"it does not decrypt with key {key_id!r}") from None
        except CodecKeyError as e:
            raise ValueError(str(e)) from None
