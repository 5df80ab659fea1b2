"""Bank accounts never leave the auditor tools in clear: masked by key and wherever a RIB shows."""

import re
from collections.abc import Mapping
from typing import Any

from domain.rib import mask_rib

SENSITIVE_KEYS = frozenset({"bank_account", "rib"})
# 24 digits, possibly grouped with spaces or dashes (as written on a RIB); not inside a run of
# hexadecimal digits (a document's SHA-256 may hold 24 decimal digits in a row).
_RIB_LIKE = re.compile(r"(?<![0-9a-fA-F])\d(?:[ -]?\d){23}(?![0-9a-fA-F])")


def _mask(value: str) -> str:
    return mask_rib(re.sub(r"[ -]", "", value))


def text(value: str) -> str:
    return _RIB_LIKE.sub(lambda m: _mask(m[0]), value)


def redact(obj: Any) -> Any:
    """A copy of a JSON-like value with every bank account masked."""
    if isinstance(obj, Mapping):
        return {k: (_mask(str(v)) if k in SENSITIVE_KEYS and v else redact(v)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact(v) for v in obj]
    if isinstance(obj, str):
        return text(obj)
    return obj
