"""The PayloadCodec every client uses (temporal_connection.data_converter): AES-256-GCM.

Each payload is serialised whole (metadata and data) and encrypted with the primary key and a
random 96-bit nonce; the result carries `encoding: binary/encrypted` and the key id in its
metadata, so any configured key can decrypt it later.

Decode never raises for one payload: what it cannot decrypt (an unknown key id, a wrong key, a
forged or altered payload) and, unless `accept_clear`, what arrives unencrypted, becomes an
`undecodable` payload carrying the reason (codec/undecodable.py). Raising here would fail the
worker's whole workflow task (a client's forged update would block the workflow); the payload
converter raises instead, where the SDK refuses the one update or drops the one signal. Clear
payloads are accepted only by readers of histories written before encryption was turned on (the
auditor's tools, the codec server) and where settings say so (accept_unencrypted_payloads).
"""

import os
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from codec.keys import CodecKeyError, KeyRing
from codec.undecodable import undecodable

ENCODING = b"binary/encrypted"
CIPHER = b"AES256-GCM"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class AesGcmCodec(PayloadCodec):
    def __init__(self, key_ring: Callable[[], KeyRing], accept_clear: bool = True) -> None:
        # A callable, not a KeyRing: keys are looked up on every call, so a rotation in the
        # secrets file applies to a running worker, gateway or codec server.
        self._key_ring = key_ring
        self._accept_clear = accept_clear

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
                if self._accept_clear:
                    out.append(p)  # clear payload of a history written before encryption
                else:
                    out.append(undecodable("was sent unencrypted: a client must encode it with the service's codec"))
                continue
            ring = ring or self._key_ring()  # a ring that cannot be built is the operator's to fix: raises
            out.append(self._open(ring, p))
        return out

    @staticmethod
    def _open(ring: KeyRing, p: Payload) -> Payload:
        key_id = p.metadata.get(KEY_ID, b"").decode(errors="replace")[:40]
        if p.metadata.get("encryption-cipher", CIPHER) != CIPHER:
            return undecodable(f"cipher {p.metadata['encryption-cipher'][:40]!r} is not supported")
        try:
            plain = ring.cipher(key_id).decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], key_id.encode())
            decoded = Payload()
            decoded.ParseFromString(plain)
        except CodecKeyError as e:
            return undecodable(str(e).removeprefix("payload "))
        except (InvalidTag, ValueError, DecodeError):
            return undecodable(f"could not be decrypted with key {key_id!r}: a wrong key, or an altered payload")
        return decoded
