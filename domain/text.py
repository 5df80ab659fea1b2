"""Text a person or partner sends, as the service stores it: one rule for every door.

Normalised to Unicode NFC (the same Arabic or accented name is one string however it was typed).
Refused, naming the character's code point: control characters (C0 and C1: NUL, escape …, and
in one-line fields also newline and tab), the bidirectional embeddings, overrides and isolates
(U+202A–U+202E, U+2066–U+2069: they reorder what a reader sees, e.g. a reason that displays other
than it reads), unpaired surrogates, and text with no visible character at all (a name made of
zero-width spaces). Accepted: everything real Arabic, French and Amazigh text uses — the marks
LRM, RLM and ALM, ZWJ and ZWNJ, combining marks, Tifinagh.

Markup, spreadsheet formulas and SQL-looking text are stored as typed; they are made inert where
they are shown: the CLI's consoles read no markup (cli/render.py), every CSV the service writes
passes its cells through `spreadsheet_cell` (a formula becomes text).
"""

import unicodedata
from collections.abc import Mapping
from typing import Any, get_origin

from pydantic import AfterValidator, BaseModel, model_validator
from pydantic.fields import FieldInfo

BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
LINE_BREAKS = frozenset("\n\r\t")
_INVISIBLE = ("Z", "C")  # separators (spaces) and other (controls, format, unassigned)
_MARK = "M"  # combining marks count only on a visible base


def _visible(ch: str) -> bool:
    return not unicodedata.category(ch).startswith((*_INVISIBLE, _MARK))


def _refused_character(text: str, multiline: bool) -> str | None:
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc" and not (multiline and ch in LINE_BREAKS):
            return f"contains a control character (U+{ord(ch):04X})"
        if ord(ch) in BIDI_CONTROLS:
            return f"contains a bidirectional override (U+{ord(ch):04X}); direction marks (LRM, RLM) are accepted"
        if category == "Cs":
            return f"contains an unpaired surrogate (U+{ord(ch):04X})"
    return None


def refuse_characters(fields: object, model_fields: Mapping[str, FieldInfo]) -> None:
    """Before any field is read (stripped, matched, parsed): every string among these input fields
    (a dict as sent), and in their lists and mappings, holds no refused character; raises
    ValueError("field: why"). Lines and tabs pass here: one-line types refuse them (ONE_LINE)."""
    if not isinstance(fields, dict):
        return
    for name in [n for n in fields if n in model_fields]:  # an unknown field is refused by its name
        mapping = get_origin(model_fields[name].annotation) in (dict, Mapping)
        for text in _strings(fields[name], mapping):
            if why := _refused_character(text, multiline=True):
                raise ValueError(f"{name}: {why}")


class RefusesCharacters(BaseModel):
    """A model none of whose strings, as sent, holds a refused character (checked before any
    field is stripped or matched); the base of every input and of the edition's settings."""

    @model_validator(mode="before")
    @classmethod
    def _no_refused_characters(cls, data: Any) -> Any:
        refuse_characters(data, cls.model_fields)
        return data


def _strings(value: object, mapping: bool) -> list[str]:
    """The strings of a field as sent: itself, its items, a mapping's keys and values (a nested
    model's are checked by its own validator, naming its own fields)."""
    if isinstance(value, dict):
        candidates = [*value.keys(), *value.values()] if mapping else list(value.keys())
    elif isinstance(value, list | tuple):
        candidates = list(value)
    else:
        candidates = [value]
    return [c for c in candidates if isinstance(c, str)]


def normalised(text: str, *, multiline: bool = False) -> str:
    """`text` in NFC; raises ValueError saying which character is refused, or that none is visible."""
    text = unicodedata.normalize("NFC", text)
    if why := _refused_character(text, multiline):
        raise ValueError(why)
    if text and not any(_visible(ch) for ch in text):
        raise ValueError("has no visible character")
    return text


# Validators to annotate a str with: Annotated[str, StringConstraints(...), ONE_LINE].
ONE_LINE = AfterValidator(normalised)  # a name, an actor, a reference
PARAGRAPHS = AfterValidator(lambda text: normalised(text, multiline=True))  # a reason, a comment


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|")


def spreadsheet_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text, never runs: a string starting like a formula gets a
    leading apostrophe (OWASP's advice); numbers, negative ones included, are left as they are."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value
