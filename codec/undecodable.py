"""A payload the codec could not open, and the error converting it raises.

The codec (aes_gcm.py) turns each payload it cannot decrypt into this marker instead of raising,
so that one bad payload fails only what reads it: the SDK refuses an update whose input does not
convert and drops such a signal, where an exception in the codec fails the whole workflow task.
The marker holds the reason only, never the bytes it was given.
"""

from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import EncodingPayloadConverter

ENCODING = "binary/undecodable"
REASON = "undecodable-reason"


class UndecodablePayload(ValueError):
    """Raised when a value is read from an undecodable payload; the message says why."""


def undecodable(reason: str) -> Payload:
    return Payload(metadata={"encoding": ENCODING.encode(), REASON: reason.encode()})


def reason_of(payload: Payload) -> str:
    return payload.metadata.get(REASON, b"").decode(errors="replace")


class _Undecodable(EncodingPayloadConverter):
    @property
    def encoding(self) -> str:
        return ENCODING

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never chosen to encode anything

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise UndecodablePayload(f"payload {reason_of(payload)}")


class PayloadConverter(PydanticPayloadConverter):
    """The pydantic converter, plus the undecodable marker (which raises with its reason)."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(*self.converters.values(), _Undecodable())
