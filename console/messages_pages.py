"""What the programme sent, for ops: the outbox by state (domain/db/outbox.py), a dead message's
reason, and sending it again once its address or the mail server is fixed (the same Message-ID
goes out: the recipient's mail system sees one message per event)."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.pages import Form, State, Who
from console.web import render, require
from domain.db import outbox
from domain.db.outbox import STATES, OutboxRow

router = APIRouter()
READERS = ("officer", "finance", "auditor", "admin")
LIMIT = 500


def _messages(s: Session, state: str | None, application: str | None) -> list[dict[str, Any]]:
    q = select(OutboxRow).order_by(OutboxRow.created_at.desc()).limit(LIMIT)
    if state:
        q = q.where(OutboxRow.state == state)
    if application:
        q = q.where(OutboxRow.application_id == application[:80])
    return [
        {
            "id": r.id,
            "application_id": r.application_id,
            "kind": r.kind,
            "to": r.recipient_key,
            "address": r.address,
            "language": r.language,
            "state": r.state,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "at": r.sent_at or r.created_at,
        }
        for r in s.scalars(q)
    ]


@router.get("/messages")
def messages(
    request: Request, s: State, who: Who, state: str | None = None, application: str | None = None
) -> Response:
    require(who, *READERS)
    if state not in (None, "", *STATES):
        raise HTTPException(422, "state")
    with Session(s.repo.engine) as db:
        rows = _messages(db, state or None, application or None)
    return render(
        request, "messages.html", who, rows=rows, state=state or "", states=STATES, application=application or "",
        done=request.query_params.get("done"),
    )  # fmt: skip


@router.post("/messages/resend")
def resend(request: Request, s: State, who: Who, form: Form) -> Response:
    require(who, "officer", "admin")
    message_id = str(form.get("id", ""))[:300]
    with Session(s.repo.engine) as db, db.begin():
        if not outbox.resend(db, message_id, datetime.now(UTC)):
            raise HTTPException(409, "not a dead message")
    return RedirectResponse("/messages?state=pending&done=resent", status_code=303)
