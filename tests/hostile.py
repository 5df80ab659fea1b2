"""The hostile input every door is tried with, as one table of classes (issue 14).

Each class says which kinds of field it goes into and draws its values, as a JSON document carries
them (`values`) and as a person types them in a form or a command-line option (`typed`: text only;
a class no typed door can carry there has none). A door's property (tests/cli/test_hostile_cli.py,
tests/gateway/test_hostile_gateway.py, tests/console/test_hostile_console.py) sends a value of each
class into a field of its kind: every class is refused with the field named and nothing changed,
but `stored` ones (markup, SQL, formulas: text a person may write), which are accepted as typed and
shown inert. The model tests (tests/domain/test_bad_input_models.py) put any class's value, and
`STRAY` ones, into any field of any input model (HOSTILE).

Kinds of field: `name` (one line, required, something visible: a name, an actor, a required
reason), `text` (free text, may be empty), `id` (an identifier with a pattern), `amount` (MAD),
`count` (a whole number), `date`, `flag` (yes or no), `rib` (a bank account); and three that are not
one value: `unknown` (a field added, its name drawn), `missing` (a required field left out) and
`bytes` (a text field's bytes as sent, where a door reads bytes: a file, a request body).
"""

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from domain.money import CENT
from domain.rib import rib_key
from simulation.factories import valid_rib

RIB = valid_rib(4242)


def wrong_key_rib(seed: int) -> str:
    """24 digits whose key (the last two) is not the first 22's."""
    first_22 = f"{seed % 10**22:022d}"
    good = int(rib_key(first_22))
    return first_22 + f"{(good + 1 + seed % 96) % 97:02d}"


def utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class Hostile:
    """A class of hostile input: its values per kind of field, as sent in JSON and as typed."""

    values: dict[str, SearchStrategy[Any]]
    typed: dict[str, SearchStrategy[Any]] = field(default_factory=dict)
    stored: bool = False  # accepted as typed (it is text a person may write), shown inert

    def draw(self, kind: str, typed: bool) -> SearchStrategy[Any] | None:
        """Its values for a field of `kind` (None: this class does not go there)."""
        return (self.typed if typed else self.values).get(kind)

    @property
    def kinds(self) -> set[str]:
        return set(self.values) | set(self.typed)


def _for(kinds: str, strategy: SearchStrategy[Any]) -> dict[str, SearchStrategy[Any]]:
    return dict.fromkeys(kinds.split(), strategy)


def _inside(codes: SearchStrategy[int]) -> SearchStrategy[str]:
    """A short visible text with one character of `codes` somewhere in it."""
    return st.builds(
        lambda before, code, after: before + chr(code) + after,
        st.sampled_from(["", "ok ", "Association ", "جمعية "]),
        codes,
        st.sampled_from(["", " fin", "Al Amal", "الأمل"]),
    )


# C0 and C1 control characters but the line breaks and tab free text keeps (domain/text.py).
CONTROL = st.one_of(st.integers(0x00, 0x08), st.integers(0x0B, 0x0C), st.integers(0x0E, 0x1F), st.integers(0x7F, 0x9F))
BIDI = st.one_of(st.integers(0x202A, 0x202E), st.integers(0x2066, 0x2069))
# Nothing visible: zero-width characters, direction marks, word joiner (at least one; spaces alone
# are stripped to an empty text, which an optional field takes as "none").
INVISIBLE = st.text(
    st.sampled_from(["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u2060", " "]), min_size=1
).filter(str.strip)
# Exactly 12,000 characters (longer than any text field), repeated from a short visible seed.
HUGE = st.text(st.characters(categories=["L", "N", "P"]), min_size=1, max_size=8).map(
    lambda seed: (seed * 12_000)[:12_000]
)
# Negative, sub-centime or absurd amounts, and numbers that are not amounts.
AMOUNTS = st.one_of(
    st.sampled_from(["-0.01", "-40000", "0.001", "40000.005", "1e26", "9" * 40, "NaN", "-Infinity", "1e309"]),
    st.decimals(min_value=-(10**15), max_value=Decimal("-0.01"), places=2).map(str),
    st.decimals(min_value=0, max_value=10**6, places=3).filter(lambda d: d != d.quantize(CENT)).map(str),
)
RIBS = st.one_of(st.integers(0, 10**6).map(wrong_key_rib), st.sampled_from([RIB[:-1], RIB + "0", "0" * 23]))
MARKUP = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "'; DROP TABLE applications; --",
        "1' OR '1'='1",
        "[/x] [bold red]urgent[/]",
        '=HYPERLINK("http://evil.example","x")',
        "{{ 7*7 }} ${jndi:ldap://x}",
        "&lt;b&gt; & <b>gras</b>",
    ]
)
NOT_UTF8 = st.builds(
    lambda before, bad, after: before + bad + after,
    st.binary(max_size=8),
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xe9"]),
    st.binary(max_size=8),
).filter(lambda b: not utf8(b))
NOT_A_SCALAR = st.one_of(
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=8), st.integers(), max_size=2)
)
WORDS = st.sampled_from(["abc", "douze", "12abc", "١٢x", "[]", "{}", "1,5,0", "true"])
IMPOSSIBLE_DATES = st.sampled_from(["2024-13-01", "2024-02-30", "0000-00-00", "24/02/2024", "99999-01-01", "demain"])
FIELD_NAMES = st.one_of(
    st.sampled_from(["region_code", "__proto__", "bank_account", "stage", "amount ", "Reason"]),
    st.from_regex(r"[a-z_][a-z0-9_]{0,29}", fullmatch=True),
)

TEXTS = "name text id"
CLASSES: dict[str, Hostile] = {
    "wrong type": Hostile(
        values=_for("name text id amount count date flag rib", NOT_A_SCALAR),
        typed=_for("amount count date", WORDS),
    ),
    "control character": Hostile(values=_for(TEXTS, _inside(CONTROL)), typed=_for(TEXTS, _inside(CONTROL))),
    "bidi override": Hostile(values=_for(TEXTS, _inside(BIDI)), typed=_for(TEXTS, _inside(BIDI))),
    "invisible only": Hostile(values=_for(TEXTS, INVISIBLE), typed=_for(TEXTS, INVISIBLE)),
    "12,000 characters": Hostile(values=_for(f"{TEXTS} rib", HUGE), typed=_for(f"{TEXTS} rib", HUGE)),
    "bad amount": Hostile(values=_for("amount", AMOUNTS), typed=_for("amount", AMOUNTS)),
    "impossible date": Hostile(values=_for("date", IMPOSSIBLE_DATES), typed=_for("date", IMPOSSIBLE_DATES)),
    "wrong RIB": Hostile(values=_for("rib", RIBS), typed=_for("rib", RIBS)),
    "unknown field": Hostile(values=_for("unknown", FIELD_NAMES), typed=_for("unknown", FIELD_NAMES)),
    "missing field": Hostile(values=_for("missing", st.just(None)), typed=_for("missing", st.just(None))),
    "not UTF-8": Hostile(values=_for("bytes", NOT_UTF8), typed=_for("bytes", NOT_UTF8)),
    "markup, SQL, formula": Hostile(values=_for("name text", MARKUP), typed=_for("name text", MARKUP), stored=True),
}

# Values that may be right or wrong depending on the field: for the model tests, which try any
# value in any field (a door's property sends only values that its field must refuse, or store).
STRAY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.text(max_size=40),  # any unicode: RTL marks, NUL, surrogates-free astral planes …
    st.text(min_size=2_001, max_size=12_000),  # longer than any text field
    st.sampled_from(["", " ", "٠١٢٣٤٥٦٧٨٩", "../../etc/passwd", "ministry", "region-99", "selected", "تعاونية"]),
)

# Any class's value in JSON, or a stray one: what the model tests put into any field.
HOSTILE = st.one_of(
    STRAY,
    *{
        id(s): s for c in CLASSES.values() if c.kinds - {"unknown", "missing", "bytes"} for s in c.values.values()
    }.values(),
)


def door_property(
    name: str,
    slots: list[Any],  # each with its kind, typed (text as typed, else a JSON value) and shown
    refused: Callable[[Any, Any], None],
    stored: Callable[[Any, Any], None],
    allowed: Callable[[Any, Any], bool] = lambda slot, value: True,
    examples: int = 6,
) -> Callable[[], None]:
    """The hypothesis property of a door for the class `name`: an example draws one of the door's
    `slots` of a kind the class goes into (for a stored class, one that is shown) and a value of
    the class for it, then checks it with `refused(slot, value)`, or `stored(slot, value)`. It runs
    `examples` examples (2 for a stored class: each stores something new). The doors' tests run it
    in a thread (asyncio.to_thread) while their servers' event loop runs."""
    hostile = CLASSES[name]
    fitting = [s for s in slots if hostile.draw(s.kind, s.typed) is not None and (s.shown or not hostile.stored)]
    assert fitting, f"{name}: no field of this door takes it"

    @settings(
        max_examples=2 if hostile.stored else examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        slot = data.draw(st.sampled_from(fitting), label="field")
        value = data.draw(hostile.draw(slot.kind, slot.typed), label="value")  # type: ignore[arg-type]
        assume(allowed(slot, value))
        (stored if hostile.stored else refused)(slot, value)

    return prop  # type: ignore[no-any-return]


def shown_as_text(page: str, value: str) -> None:
    """`value` is on the HTML `page` as text a person reads: there once unescaped, never as markup."""
    assert value in html.unescape(page), f"{value} is not shown"
    assert not {"<", "&"} & set(value) or value not in page, f"{value} is shown as markup, not as text"
