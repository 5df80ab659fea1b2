"""An edition's terms as its stored settings hold them (the editions table's JSON), read a few at a time.

A message's deadlines, the board's overdue stages and a document's tranches each need a handful of
an edition's rules: `EditionTerms` reads only those keys, each validated as EditionSettings
validates that field, with EditionSettings' default where the JSON leaves it out or for an edition
not on record (None). Pure, and cheap enough to run for every event: validating the whole settings
(provinces, partners, grid, the coherence checks) is the edition's own business when it opens.
"""

from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from typing import Annotated, Any, cast

from pydantic import TypeAdapter

from domain.edition import EditionSettings, PartnerRegion


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    """How EditionSettings validates its field `name` (its type and constraints)."""
    field = EditionSettings.model_fields[name]
    kind: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return TypeAdapter(kind)


class EditionTerms:
    def __init__(self, stored: Mapping[str, Any] | None) -> None:
        self.stored: Mapping[str, Any] = stored or {}

    def get(self, name: str) -> Any:
        """The term `name` (a field of EditionSettings) as the edition holds it."""
        if name not in self.stored:
            return EditionSettings.model_fields[name].get_default(call_default_factory=True)
        return _adapter(name).validate_python(self.stored[name])

    @property
    def day_length(self) -> timedelta:
        return cast(timedelta, self.get("day_length"))

    def days(self, name: str) -> int:
        """A term counted in programme days (`documents_deadline_days` …)."""
        return cast(int, self.get(name))

    def duration(self, name: str) -> timedelta:
        """A term counted in programme days, as a duration (a programme day lasts `day_length`)."""
        return self.days(name) * self.day_length

    def partner(self, region_code: str) -> PartnerRegion | None:
        """The partner Region Council of this region, if the edition has one (only its entry is read)."""
        entry = next((p for p in self.stored.get("partners", ()) if p.get("region_code") == region_code), None)
        return None if entry is None else PartnerRegion.model_validate(entry)
