"""Text at the door (issue 14, item 14): what no person should store is refused, naming the field;
what real Arabic, French and Amazigh text uses is accepted, stored in NFC; what may be stored
(markup, formulas) is inert where it is shown.

The rule lives in domain/text.py and every input model's text types use it, so every door (CLI,
gateway, workflow updates) applies the same one; the doors' own tests (test_starter,
test_gateway) check it end to end.
"""

import unicodedata
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.models import Applicant, Project, Withdrawal
from domain.text import normalised, spreadsheet_cell
from tests.domain.test_bad_input_models import MODELS, PROPERTY, VALID, field_errors, leaf_paths, replaced
from tests.hostile import BIDI, CONTROL, INVISIBLE


def _value(data, path):
    for p in path:
        data = data[p]
    return data


def _is_text(value) -> bool:
    """A string of the JSON form that is not a number (amounts and shares travel as strings too)."""
    try:
        Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return isinstance(value, str)
    return False


TEXT_PATHS = [(m, p) for m in MODELS for p in leaf_paths(VALID[m]) if _is_text(_value(VALID[m], p))]


def _named(err: ValidationError, path: tuple) -> bool:
    """The error names the field, or the list or mapping the value is an item of."""
    named = {e.field for e in field_errors(err)}
    return any(".".join(map(str, path[:n])) in named for n in (len(path), len(path) - 1) if n)


@PROPERTY
@given(data=st.data(), code=st.one_of(CONTROL, BIDI))
def test_a_control_or_bidi_character_anywhere_in_any_text_field_is_refused_naming_it(data, code):
    model, path = data.draw(st.sampled_from(TEXT_PATHS), label="field")
    text = _value(VALID[model], path)
    at = data.draw(st.integers(0, len(text)), label="at")
    with pytest.raises(ValidationError) as e:
        model.model_validate(replaced(VALID[model], path, text[:at] + chr(code) + text[at:]))
    assert _named(e.value, path), (path, field_errors(e.value))


@PROPERTY
@given(invisible=INVISIBLE)
def test_a_name_or_an_actor_made_only_of_invisible_characters_is_refused(invisible):
    for model, field in [(Applicant, "name"), (Project, "title"), (Withdrawal, "requested_by")]:
        with pytest.raises(ValidationError) as e:
            model.model_validate({**VALID[model], field: invisible})
        assert _named(e.value, (field,)), field_errors(e.value)


REAL = [
    "جمعية الأمل للتنمية",  # Arabic
    "تعاونية\u200cالنور",  # with ZWNJ
    "Coopérative Tiwizi – Aït Ourir",  # French, Amazigh place name
    "ⵜⴰⵎⵓⵏⵜ ⵏ ⵜⵉⴳⵎⵉ",  # Tifinagh
    "\u200fجمعية 2024\u200e",  # RLM, LRM around digits
    "مشروع\u061c 12",  # ALM
    "क्\u200dष",  # ZWJ in a conjunct
]


@pytest.mark.parametrize("name", REAL)
def test_real_arabic_french_and_amazigh_names_are_accepted_as_typed(name):
    applicant = Applicant.model_validate({**VALID[Applicant], "name": name})
    assert applicant.name == unicodedata.normalize("NFC", name.strip())


def test_text_is_stored_in_nfc_whatever_the_keyboard_sent():
    decomposed = "Coope\u0301rative de l'e\u0301te\u0301"  # é as e + combining acute
    stored = Project.model_validate({**VALID[Project], "title": decomposed}).title
    assert stored == "Coopérative de l'été" and len(stored) == len(decomposed) - 3


def test_free_text_keeps_its_lines_and_a_name_does_not():
    reason = "Ligne 1\nالسطر 2\tfin"
    assert Withdrawal.model_validate({**VALID[Withdrawal], "reason": reason}).reason == reason
    with pytest.raises(ValidationError) as e:
        Withdrawal.model_validate({**VALID[Withdrawal], "requested_by": "amina\nadmin"})
    assert "control character (U+000A)" in str(e.value)


def test_the_reason_names_the_character_never_echoes_the_text():
    with pytest.raises(ValueError, match=r"bidirectional override \(U\+202E\)"):
        normalised("secret-\u202eevil")


@pytest.mark.parametrize(
    "cell, shown",
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("-40000.00", "-40000.00"),  # a negative amount stays a number
        ("Région de l'Oriental", "Région de l'Oriental"),
        (42, 42),
    ],
)
def test_a_csv_cell_starting_like_a_formula_is_shown_as_text(cell, shown):
    assert spreadsheet_cell(cell) == shown
