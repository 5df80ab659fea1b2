"""What a check of an edition's applications answers (reconcile, verify): how many it read, what it
found, ok when nothing; the CLI prints each finding after the check's LABEL, the console lists them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass
class Checked:
    applications: int
    LABEL: ClassVar[str]  # in front of each finding on the CLI's stderr, e.g. "MISMATCH"
    FOUND: ClassVar[str]  # the field holding the findings, e.g. "mismatches"

    @property
    def found(self) -> Sequence[object]:
        return getattr(self, self.FOUND)

    def details(self) -> dict[str, Any]:
        """The check's own part of its JSON answer."""
        raise NotImplementedError

    @property
    def ok(self) -> bool:
        return not self.found

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "applications": self.applications, **self.details()}
