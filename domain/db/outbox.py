"""The outbox: every message the programme owes someone, written in the transaction that records
the event it tells of (so an event is never recorded without its messages, nor told twice), then
sent by activities (activities/outbound.py) until sent, or dead after a permanent failure or too
many attempts, where ops see it and may send it again (starter.py messages).

States: pending (to send; `next_attempt_at` spaces retries), sent, dead (permanent failure or
attempts exhausted), undeliverable (no address to send to: shown to ops, never retried).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.db.tables import Application, Base, EditionRow
from domain.edition_terms import EditionTerms
from domain.messages import Facts, Message

PENDING, SENT, DEAD, UNDELIVERABLE = "pending", "sent", "dead", "undeliverable"
EMAIL, WEBHOOK = "email", "webhook"
STATES = (PENDING, SENT, DEAD, UNDELIVERABLE)
DEADLINES = ("documents_deadline_days", "agreement_deadline_days", "cofunding_deadline_days")


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)  # domain/messages.message_id
    application_id: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10), server_default="email")  # email, webhook
    recipient_role: Mapped[str] = mapped_column(String(20))
    recipient_key: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(320))  # an email address; a webhook's subscriber
    language: Mapped[str] = mapped_column(String(5))
    params: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class WebhookSubscription(Base):
    """A partner system told of messages by webhook: the Region Council of a region (receives
    `region-NN`), the applicants' portal (receives `applicant`). Its signing secret is in the
    settings' secrets, by `key_id` (WEBHOOK_SECRETS), never in the database."""

    __tablename__ = "webhook_subscriptions"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    key_id: Mapped[str] = mapped_column(String(100))
    receives: Mapped[list[Any]]  # recipient keys: "applicant", "region-02", …
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


def post(s: Session, messages: list[Message], at: datetime) -> int:
    """Add messages not yet in the outbox (a retried event posts nothing twice), by email and to
    each partner system subscribed to their recipient; how many were new."""
    if not messages:  # most stage changes tell nobody: no subscription to read
        return 0
    subscribed: dict[str, list[str]] = {}
    for sub in s.scalars(select(WebhookSubscription).where(WebhookSubscription.active)):
        for key in sub.receives:
            subscribed.setdefault(key, []).append(sub.name)
    new = 0
    for m in messages:
        deliveries = [(m.id, EMAIL, m.recipient.address)]
        deliveries += [(f"{m.id}.{name}", WEBHOOK, name) for name in subscribed.get(m.recipient.key, [])]
        for message_id, channel, address in deliveries:
            if s.get(OutboxRow, message_id) is not None:
                continue
            s.add(
                OutboxRow(
                    id=message_id,
                    application_id=m.application_id,
                    kind=m.kind.value,
                    channel=channel,
                    recipient_role=m.recipient.role,
                    recipient_key=m.recipient.key,
                    address=address,
                    language=m.recipient.language,
                    params=dict(m.params),
                    state=PENDING if address else UNDELIVERABLE,
                    attempts=0,
                    last_error="" if address else "no address to send to",
                    created_at=at,
                    next_attempt_at=at,
                    sent_at=None,
                )
            )
            new += 1
    return new


def facts(s: Session, app: Application) -> Facts:
    """What messages about this application may say: its record and the terms of its edition."""
    applicant = (app.submission or {}).get("applicant", {})
    row = s.get(EditionRow, app.edition)
    terms = EditionTerms(row.settings if row is not None else None)
    partner = terms.partner(app.region_code)
    return Facts(
        application_id=app.application_id,
        edition=app.edition,
        title=app.title,
        applicant_name=app.applicant_name,
        applicant_email=applicant.get("email"),
        language=applicant.get("language", "fr"),
        region_code=app.region_code,
        region_email=partner.contact_email if partner is not None else None,
        day_length=terms.day_length,
        deadline_days={k: terms.days(k) for k in DEADLINES},
    )


def due(s: Session, now: datetime, limit: int) -> list[OutboxRow]:
    q = (
        select(OutboxRow)
        .where(OutboxRow.state == PENDING, OutboxRow.next_attempt_at <= now)
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    )
    return list(s.scalars(q))


def resend(s: Session, message_id: str, now: datetime) -> bool:
    """A dead (or undeliverable, once its address is fixed) message goes back to pending."""
    row = s.get(OutboxRow, message_id, with_for_update=True)
    if row is None or row.state not in (DEAD, UNDELIVERABLE) or not row.address:
        return False
    row.state, row.attempts, row.next_attempt_at, row.last_error = PENDING, 0, now, ""
    return True
