"""The PayloadCodec every client uses (temporal_connection.data_converter): AES-256-GCM.

Each payload is serialised whole (metadata and data) and encrypted with the primary key and a
random 96-bit nonce; the result carries `encoding: binary/encrypted` and the key id in its
metadata, so any configured key can decrypt it later. Payloads without that encoding (histories
written before encryption was turned on) pass through decode unchanged.
"""

import os
from collections.abc import Callable, Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from codec.keys import CodecKeyError, KeyRing

ENCODING = b"binary/encrypted"
CIPHER = b"AES256-GCM"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class AesGcmCodec(PayloadCodec):
    def __init__(self, key_ring: Callable[[], KeyRing]) -> None:
        # A callable, not a KeyRing: keys are looked up on every call, so a rotation in the
        # secrets file applies to a running worker, gateway or codec server.
        self._key_ring = key_ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        ring = self._key_ring()
        cipher = ring.cipher(ring.primary)
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is authenticated data: a payload cannot be relabelled to another key.
            sealed = cipher.encrypt(nonce, p.SerializeToString(), ring.primary.encode())
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, "encryption-cipher": CIPHER, KEY_ID: ring.primary.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        ring: KeyRing | None = None
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)  # clear payload of an older history
                continue
            ring = ring or self._key_ring()
            key_id = p.metadata.get(KEY_ID, b"").decode()
            if p.metadata.get("encryption-cipher", CIPHER) != CIPHER:
                raise CodecKeyError(f"payload cipher {p.metadata['encryption-cipher']!r} is not supported")
            plain = ring.cipher(key_id).decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], key_id.encode())
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out
