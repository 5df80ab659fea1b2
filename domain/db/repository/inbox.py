"""The integration gateway's inbox: each event of each client applied once, its answer kept."""

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select

from domain.db.repository.base import (
    NotFound,
    RepositoryBase,
    _as_dict,
)
from domain.db.tables import (
    GatewayInboxRow,
)


class Inbox(RepositoryBase):
    def inbox_claim(
        self, source: str, event_id: str, kind: str, application_id: str, fingerprint: str, at: datetime
    ) -> tuple[bool, dict[str, Any]]:
        """Record an event as pending unless (source, event_id) is already there.
        Returns (new, the row): an existing row carries the first fingerprint and answer."""
        with self._tx(write=True) as s:
            key = {"source": source, "event_id": event_id}
            new = self._insert_ignore(
                s,
                GatewayInboxRow,
                key,
                kind=kind,
                application_id=application_id,
                fingerprint=fingerprint,
                status="pending",
                received_at=at,
            )
            return new, _as_dict(self._row(s, GatewayInboxRow, **key))  # inserted above, or already there

    def inbox_answer(
        self, source: str, event_id: str, http_status: int, answer: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        """Store the answer of a pending event; the first stored answer wins. Returns the row."""
        with self._tx(write=True) as s:
            row = self._find(s, GatewayInboxRow, lock=True, source=source, event_id=event_id)
            if row is None:
                raise NotFound(f"no inbox event {event_id!r} from {source!r}")
            if row.status == "pending":
                row.status, row.http_status, row.answered_at = "answered", http_status, at
                row.answer = to_jsonable_python(answer)
            return _as_dict(row)

    def inbox_event(self, source: str, event_id: str) -> dict[str, Any] | None:
        with self._tx() as s:
            row = self._find(s, GatewayInboxRow, source=source, event_id=event_id)
            return None if row is None else _as_dict(row)

    def inbox_count(self, application_id: str) -> int:
        with self._tx() as s:
            q = (
                select(func.count())
                .select_from(GatewayInboxRow)
                .where(GatewayInboxRow.application_id == application_id)
            )
            return int(s.scalar(q) or 0)
