"""How a refused input names its field, the same at every door.

A field's own validator is located by pydantic (`loc`); a model-level rule cannot be, so the
domain's rules prefix their message with the field instead ("requested_amount: more than the
ceiling"). `located` turns either into the field's path and the message.
"""

import re
from collections.abc import Sequence

_PREFIXED = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.S)


def located(loc: Sequence[str | int], message: str) -> tuple[list[str], str]:
    """(path parts, message) of one pydantic error: `loc` plus the field a "field: …" message names."""
    # pydantic marks a mapping's key with "[key]" after the mapping's name; a first element is a field
    # name the sender chose, whatever it is (an unknown field called "[key]" is still named).
    path = [str(p) for i, p in enumerate(loc) if p != "[key]" or i == 0]
    message = message.removeprefix("Value error, ")
    m = _PREFIXED.match(message)
    if m:
        if not path or path[-1] != m[1]:
            path.append(m[1])
        message = m[2]
    return path, message
