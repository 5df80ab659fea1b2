"""How a refused input names its field, the same at every door.

A field's own validator is located by pydantic (`loc`); a model-level rule cannot be, so the
domain's rules prefix their message with the field instead ("requested_amount: more than the
ceiling"). `located` turns either into the field's path and the message.

A refusal may echo what the sender gave (an unknown stage, a column, a key), never all of it:
`shown` quotes a value and `bounded` a name, each at most ECHO_LIMIT characters then "…", with
control and invisible characters escaped.
"""

import re
from collections.abc import Sequence

_PREFIXED = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.S)
ECHO_LIMIT = 40


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """A value the sender gave, as a refusal echoes it: quoted, its first `limit` characters then "…"."""
    text = str(value)
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def bounded(name: str, limit: int = ECHO_LIMIT) -> str:
    """A name the sender chose (a key, a column), as a refusal names it: the name itself when short
    and printable, else its first `limit` characters, escaped, then "…"."""
    if len(name) <= limit and name.isprintable():
        return name
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name[:limit])
    return escaped + ("…" if len(name) > limit else "")


def located(loc: Sequence[str | int], message: str) -> tuple[list[str], str]:
    """(path parts, message) of one pydantic error: `loc` plus the field a "field: …" message names."""
    # pydantic marks a mapping's key with "[key]" after the mapping's name; a first element is a field
    # name the sender chose, whatever it is (an unknown field called "[key]" is still named).
    path = [bounded(str(p)) for i, p in enumerate(loc) if p != "[key]" or i == 0]
    message = message.removeprefix("Value error, ")
    m = _PREFIXED.match(message)
    if m:
        if not path or path[-1] != m[1]:
            path.append(m[1])
        message = m[2]
    return path, message
