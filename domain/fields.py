"""The field types every boundary model is made of, and their base: what a person may type in a
name, a reason or an actor; a registration number; a bank account. domain/models.py builds the
inputs from them (and re-exports them: `from domain.models import Actor` keeps working)."""

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from domain.rib import check_bank_account
from domain.text import ONE_LINE, PARAGRAPHS, VISIBLE, RefusesCharacters

# Text people type: NFC, no control or bidi-override characters, something visible (domain/text.py);
# their JSON schema states it (a pattern), so a client generating text from it is not refused.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE, VISIBLE]
Text = Annotated[str, StringConstraints(max_length=2000), PARAGRAPHS]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), PARAGRAPHS, VISIBLE]  # a required one
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), ONE_LINE, VISIBLE]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), ONE_LINE]
RegistrationNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9/-]{2,39}$")
]
# A bank account: its vault reference (what the front doors send), or a RIB (histories before).
Rib = Annotated[str, AfterValidator(check_bank_account)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class Input(RefusesCharacters):
    """Base of every boundary model: unknown fields are refused, values are immutable, and no text
    holds a control or bidi-override character (domain/text.py), checked before it is stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
