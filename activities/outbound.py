"""Sending the outbox (domain/db/outbox.py): each message due is rendered in its recipient's
language and handed to its channel, in its own short transaction.

Each message goes by its channel: email (outbound/email.py) or a partner's webhook
(outbound/webhook.py, signed, to the subscription its row names).

Exactly once, as the recipient sees it: a message is marked sent only after the SMTP server took
it; a worker killed in between leaves it pending, and the retry sends it again under the same
Message-ID (domain/messages.message_id, outbound/render.reference), so the recipient's mail
system sees one id per event. Transient failures are retried with a growing wait, at most
`outbox_max_attempts` times; a permanent one (SMTP 5xx) makes the message dead at once. Dead and
undeliverable messages wait for ops (`starter.py messages`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.group import ActivityGroup
from domain import messages
from domain.calendar import PROGRAMME_TZ
from domain.db import outbox
from domain.db.outbox import DEAD, PENDING, SENT, WEBHOOK, OutboxRow, WebhookSubscription
from domain.db.session import IMMEDIATE, writer_lock
from domain.db.tables import NoticeRow
from infra.settings import Settings
from outbound import email, webhook
from outbound.render import render

log = structlog.get_logger("moazara.outbound")
BATCH = 100


@dataclass(frozen=True)
class Due:
    """A message to send, read out of its row (sending happens outside the read's transaction)."""

    id: str
    kind: str
    channel: str
    application_id: str
    recipient: str
    address: str | None
    language: str
    params: dict[str, Any]
    attempts: int

    @classmethod
    def of(cls, r: OutboxRow) -> "Due":
        return cls(
            r.id,
            r.kind,
            r.channel,
            r.application_id,
            r.recipient_key,
            r.address,
            r.language,
            dict(r.params),
            r.attempts,
        )


class Sent(BaseModel):
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    more: bool = False  # a full batch: call again


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min … capped at an hour."""
    seconds: int = 30 * 2 ** max(attempts - 1, 0)
    return min(timedelta(seconds=seconds), timedelta(hours=1))


class OutboundActivities(ActivityGroup):
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    def _session(self) -> Session:
        return Session(self._writer, expire_on_commit=False)

    @activity.defn
    def send_due_messages(self) -> Sent:
        """Send up to a batch of the messages due now."""
        now = datetime.now(UTC)
        with Session(self.engine) as s:
            due = [Due.of(r) for r in outbox.due(s, now, BATCH)]
        result = Sent(more=len(due) == BATCH)
        for m in due:
            message_id, attempts = m.id, m.attempts
            activity.heartbeat(message_id)
            try:
                self._deliver(m)
            except email.SendFailed as e:
                dead = e.permanent or attempts + 1 >= self.settings.outbox_max_attempts
                self._mark(message_id, DEAD if dead else PENDING, attempts + 1, str(e), now + backoff(attempts + 1))
                result.dead += dead
                result.retrying += not dead
                log.warning("message not sent", message_id=message_id, reason=str(e)[:300], dead=dead)
                continue
            self._mark(message_id, SENT, attempts + 1, "", now)
            result.sent += 1
        return result

    @activity.defn
    def compile_digest(self, at: datetime) -> int:
        """The officers' digest of the 24 hours before `at`: one message per recipient into the outbox
        (sent by the next outbox run); how many escalations it lists."""
        since = at - timedelta(days=1)
        with writer_lock(self.engine), self._session() as s, s.begin():
            rows = s.execute(
                select(NoticeRow.application_id, NoticeRow.message)
                .where(NoticeRow.kind == "escalation", NoticeRow.at >= since, NoticeRow.at < at)
                .order_by(NoticeRow.at)
            ).all()
            day = at.astimezone(PROGRAMME_TZ).date().isoformat()
            listed = messages.digest(day, [(a, m) for a, m in rows], self.settings.digest_recipients)
            outbox.post(s, listed, datetime.now(UTC))  # due now, whatever day it tells of
        return len(rows)

    def _deliver(self, m: "Due") -> None:
        if m.channel == WEBHOOK:
            with Session(self.engine) as s:
                sub = s.get(WebhookSubscription, m.address or "")
                if sub is None or not sub.active:
                    raise email.SendFailed(f"no active webhook subscription {m.address!r}", permanent=True)
                url, key_id = sub.url, sub.key_id
            secret = self.settings.webhook_secrets.get(key_id)
            if secret is None:
                raise email.SendFailed(f"no secret for webhook key id {key_id!r} (WEBHOOK_SECRETS)", permanent=False)
            payload = webhook.body(m.id, m.kind, m.application_id, m.recipient, m.params)
            webhook.deliver(
                url, key_id, secret.get_secret_value(), m.id, payload, self.settings.webhook_timeout_seconds
            )
            return
        rendered = render(m.id, m.kind, m.language, m.params)
        email.send(email.compose(m.id, m.address or "", rendered, self.settings), self.settings)

    def _mark(self, message_id: str, state: str, attempts: int, error: str, next_at: datetime) -> None:
        with writer_lock(self.engine), self._session() as s, s.begin():
            row = s.get(OutboxRow, message_id)
            if row is None or row.state != PENDING:
                return  # ops changed it meanwhile
            row.state, row.attempts, row.last_error, row.next_attempt_at = state, attempts, error[:2000], next_at
            if state == SENT:
                row.sent_at = datetime.now(UTC)
