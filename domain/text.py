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

The JSON schema of a text field states the same rule, so that a client generating text from the
gateway's OpenAPI document is not refused what the document allows: a `pattern` (computed from the
same character tables, ECMA-262 with the `u` flag or Python `re`) admitting only text with no
refused character that is blank (stripped to nothing) or, with VISIBLE (a required text), has a
visible character.
"""

import unicodedata
from collections.abc import Mapping
from functools import cache
from typing import Any, get_origin

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler, model_validator
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

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


# --- The rule as a JSON schema pattern ----------------------------------------------------------------


def _char(code: int) -> str:
    """One character of a regex class: \\uXXXX in the BMP (every dialect reads it), else itself."""
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class(codes: list[int]) -> str:
    ranges: list[list[int]] = []
    for c in codes:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


@cache
def text_pattern(multiline: bool, required: bool) -> str:
    """The rule as a JSON schema pattern, for a text stripped before it is checked (the input
    models strip): no refused character but in what stripping removes (a one-line text may end in
    a newline), and a visible character (required) or else nothing but what stripping removes."""
    refused, visible, stripped = [], [], []
    for code in range(0x110000):
        ch = chr(code)
        if ch.isspace() and not _refused_character(ch, multiline=True):
            stripped.append(code)
        if 0xD800 <= code <= 0xDFFF:
            continue  # unpaired surrogates: refused, but no JSON text holds one and not every dialect names one
        if _refused_character(ch, multiline):
            refused.append(code)
        elif _visible(ch):
            visible.append(code)
    ends, allowed = f"[{_class(stripped)}]*", f"[^{_class(refused)}]*"
    some_visible = f"{ends}{allowed}[{_class(visible)}]{allowed}{ends}"
    return f"^{some_visible}$" if required else f"^(?:{ends}|{some_visible})$"


class _Normalised:
    """`normalised` as a validator of a str, and the rule as its JSON schema's pattern."""

    def __init__(self, multiline: bool) -> None:
        self.multiline = multiline

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            lambda text: normalised(text, multiline=self.multiline), handler(source)
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out["pattern"] = text_pattern(self.multiline, required=False)
        return out


class _Visible:
    """Marks a text that must hold a visible character (min_length after stripping says no more):
    its JSON schema's pattern requires one. Annotated after ONE_LINE or PARAGRAPHS."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        multiline = out.get("pattern") == text_pattern(True, required=False)
        out["pattern"] = text_pattern(multiline, required=True)
        out.setdefault("description", "stripped; at least one visible character")
        return out


# To annotate a str with: Annotated[str, StringConstraints(...), ONE_LINE, VISIBLE].
ONE_LINE = _Normalised(multiline=False)  # a name, an actor, a reference
PARAGRAPHS = _Normalised(multiline=True)  # a reason, a comment
VISIBLE = _Visible()  # a required text: something visible, not only spaces or invisible characters


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
