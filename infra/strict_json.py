"""JSON as every door reads it: fractional numbers as Decimal (never float), a key given twice
refused naming the key (the last one silently winning changed which applicant was started), and
nesting beyond Python's limit refused as such rather than crashing the reader."""

import json
from decimal import Decimal
from typing import Any

from domain.errors import bounded


class NotStrictJson(ValueError):
    """A duplicate key or nesting too deep; `field` names the key when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise NotStrictJson(f"{bounded(key)}: given twice in the same object", field=bounded(key))
        out[key] = value
    return out


def loads(text: str | bytes) -> Any:
    """Raises json.JSONDecodeError for what is not JSON, NotStrictJson for the above."""
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_pairs)
    except RecursionError:
        raise NotStrictJson("nested too deeply") from None
