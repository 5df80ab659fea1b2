"""A timeline's entries (audit/timeline.py builds them from a history; the console and the CLI
show them)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

Kind = Literal["workflow", "stage", "update", "signal", "activity", "payment", "notice", "timer", "document"]


class Entry(BaseModel):
    event_id: int
    at: datetime
    kind: Kind
    actor: str  # who: a person or partner for inputs, "workflow" for its own steps, "timer"
    summary: str
    accepted: bool | None = None  # updates: accepted (True) or refused by the handler (False)
    detail: dict[str, Any] = {}
    message: str | None = None  # a document's line: DOCUMENT_LINES' sentence, `summary` its English
    params: dict[str, str] = {}


class Timeline(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    entries: list[Entry]
