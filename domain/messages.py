"""What the programme tells people, as data: which event of an application becomes which message
to whom. Pure: the repository calls these in the transaction that records the event and posts
what they return to the outbox (domain/db/outbox.py), which activities send (outbound/).

A message's id is derived from the event it tells of (application, event key, recipient), so it
is the same however often the event's activity is retried, and the recipient sees one id per
event: the email's Message-ID, the webhook's idempotency key.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.models import Stage

Language = Literal["fr", "ar", "en"]


class Kind(StrEnum):
    SUBMISSION_RECEIVED = "submission_received"
    DOCUMENTS_MISSING = "documents_missing"
    INELIGIBLE = "ineligible"
    SELECTED = "selected"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    NOT_SELECTED = "not_selected"
    COFUNDING_REQUESTED = "cofunding_requested"
    AGREEMENT_READY = "agreement_ready"
    TRANCHE_PAID = "tranche_paid"
    REPORT_OVERDUE = "report_overdue"
    REPORT_APPROVED = "report_approved"
    REPORT_REJECTED = "report_rejected"
    REVIEW_ASSIGNED = "review_assigned"
    REVIEW_REMINDER = "review_reminder"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
    COMPLETED = "completed"
    DIGEST = "digest"  # the officers' daily digest of escalations


class Recipient(BaseModel):
    """Who is told: their role toward the application, where (none: undeliverable, shown to ops)
    and in which language."""

    model_config = ConfigDict(frozen=True)
    role: Literal["applicant", "region", "reviewer", "officers"]
    key: str  # distinguishes recipients of one event: "applicant", "region-02", a reviewer's login
    address: str | None
    language: Language = "fr"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    kind: Kind
    application_id: str
    recipient: Recipient
    params: dict[str, str]  # already words or ISO values: the template formats them per language


class Facts(BaseModel):
    """What messages about an application may say, read from its record."""

    model_config = ConfigDict(frozen=True)
    application_id: str
    edition: int
    title: str
    applicant_name: str
    applicant_email: str | None
    language: Language = "fr"
    region_code: str
    region_email: str | None = None  # the Region Council's contact (the edition's settings)
    day_length: timedelta = timedelta(days=1)
    deadline_days: dict[str, int] = {}  # stage -> the edition's deadline for it, in programme days


# Stages that tell the applicant, and the deadline (a setting of the edition) they mention.
STAGE_TO_APPLICANT: dict[Stage, tuple[Kind, str | None]] = {
    Stage.AWAITING_DOCUMENTS: (Kind.DOCUMENTS_MISSING, "documents_deadline_days"),
    Stage.INELIGIBLE: (Kind.INELIGIBLE, None),
    Stage.NOT_SELECTED: (Kind.NOT_SELECTED, None),
    Stage.LAPSED: (Kind.NOT_SELECTED, None),
    Stage.AGREEMENT: (Kind.AGREEMENT_READY, "agreement_deadline_days"),
    Stage.WITHDRAWN: (Kind.WITHDRAWN, None),
    Stage.CANCELLED: (Kind.CANCELLED, None),
    Stage.TERMINATED: (Kind.TERMINATED, None),
    Stage.COMPLETED: (Kind.COMPLETED, None),
}
DECISIONS = {"selected": Kind.SELECTED, "waitlisted": Kind.WAITLISTED, "rejected": Kind.REJECTED}


def message_id(application_id: str, event: str, recipient: str) -> str:
    return f"{application_id}.{event}.{recipient}"


def _applicant(f: Facts) -> Recipient:
    return Recipient(role="applicant", key="applicant", address=f.applicant_email, language=f.language)


def _common(f: Facts) -> dict[str, str]:
    return {"application_id": f.application_id, "title": f.title, "name": f.applicant_name, "edition": str(f.edition)}


def _to_applicant(f: Facts, kind: Kind, event: str, **params: str) -> list[Message]:
    return [
        Message(
            id=message_id(f.application_id, event, "applicant"),
            kind=kind,
            application_id=f.application_id,
            recipient=_applicant(f),
            params=_common(f) | params,
        )
    ]


def on_submission(f: Facts) -> list[Message]:
    return _to_applicant(f, Kind.SUBMISSION_RECEIVED, "submitted")


def tells_on_stage(stage: Stage) -> bool:
    """Whether entering `stage` tells anyone (most stage changes do not: no facts to read)."""
    return stage in STAGE_TO_APPLICANT


def on_stage(f: Facts, stage: Stage, seq: int, at: datetime, note: str) -> list[Message]:
    """The stage change numbered `seq` (the workflow's own numbering): a message to the applicant
    when the stage is one they must hear of, with the deadline it starts."""
    if not tells_on_stage(stage):
        return []
    kind, deadline_setting = STAGE_TO_APPLICANT[stage]
    params = {"note": note[:500]}
    if kind == Kind.AGREEMENT_READY:  # entering the stage: its first version (on_agreement_version: the next)
        params["version"] = "1"
    if deadline_setting and deadline_setting in f.deadline_days:
        params["deadline"] = (at + f.deadline_days[deadline_setting] * f.day_length).isoformat()
    return _to_applicant(f, kind, f"stage-{seq}", **params)


def on_agreement_version(f: Facts, version: int, stage_since: datetime) -> list[Message]:
    """A new version of the unsigned agreement (what it states changed): the applicant is told it
    is ready, with its version; the deadline to sign is the stage's, unchanged."""
    params = {"version": str(version)}
    if "agreement_deadline_days" in f.deadline_days:
        params["deadline"] = (stage_since + f.deadline_days["agreement_deadline_days"] * f.day_length).isoformat()
    return _to_applicant(f, Kind.AGREEMENT_READY, f"agreement-v{version}", **params)


def tells_on_decision(kind: str, outcome: str) -> bool:
    """Whether a decision tells anyone: the committee's outcomes do."""
    return kind == "committee" and outcome in DECISIONS


def on_decision(f: Facts, kind: str, seq: int, outcome: str, award: Decimal | None) -> list[Message]:
    if not tells_on_decision(kind, outcome):
        return []
    params = {"award": str(award)} if award else {}
    return _to_applicant(f, DECISIONS[outcome], f"committee-{seq}", **params)


def on_notice(
    f: Facts, key: str, kind: str, message: str, at: datetime, reviewers: dict[str, str | None]
) -> list[Message]:
    """Reminders and requests the workflow records (escalations go to the officers' digest)."""
    if kind == "request" and key.startswith("cofunding-request-"):
        region = key.removeprefix("cofunding-request-")
        params = _common(f) | {"region": region, "note": message[:500]}
        if "cofunding_deadline_days" in f.deadline_days:
            params["deadline"] = (at + f.deadline_days["cofunding_deadline_days"] * f.day_length).isoformat()
        to = Recipient(role="region", key=f"region-{region}", address=f.region_email, language="fr")
        return [Message(id=message_id(f.application_id, key, to.key), kind=Kind.COFUNDING_REQUESTED,
                        application_id=f.application_id, recipient=to, params=params)]  # fmt: skip
    if kind == "reminder" and key.startswith("report-"):
        return _to_applicant(f, Kind.REPORT_OVERDUE, key, period=key.split("-")[1])
    if kind == "reminder" and key == "review-reminder":
        return [review_message(f, Kind.REVIEW_REMINDER, key, r, email) for r, email in reviewers.items()]
    return []


def on_report_review(f: Facts, period: int, approved: bool) -> list[Message]:
    kind = Kind.REPORT_APPROVED if approved else Kind.REPORT_REJECTED
    return _to_applicant(f, kind, f"report-{period}-{'approved' if approved else 'rejected'}", period=str(period))


def on_payment(f: Facts, order_key: str, tranche: int, amount: Decimal, reference: str) -> list[Message]:
    params = {"tranche": str(tranche), "amount": str(amount), "reference": reference}
    return _to_applicant(f, Kind.TRANCHE_PAID, f"paid-{order_key}", **params)


def review_message(f: Facts, kind: Kind, event: str, reviewer: str, email: str | None) -> Message:
    """To a reviewer: the project's title only (review may be blind)."""
    to = Recipient(role="reviewer", key=reviewer, address=email, language="fr")
    params = {"title": f.title, "edition": str(f.edition)}
    return Message(id=message_id(f.application_id, event, reviewer), kind=kind, application_id=f.application_id,
                   recipient=to, params=params)  # fmt: skip


def digest(
    day: str, escalations: list[tuple[str, str]], recipients: list[str], language: Language = "fr"
) -> list[Message]:
    """The officers' digest of a day: one message per recipient, the day's escalations (application,
    what), none when nothing escalated. Its id is the day's: the digest is sent once a day."""
    if not escalations:
        return []
    items = "\n".join(f"- {app}: {what}" for app, what in escalations[:200])
    if len(escalations) > 200:
        items += f"\n… (+{len(escalations) - 200})"
    params = {"day": day, "count": str(len(escalations)), "items": items}
    return [
        Message(
            id=message_id("digest", day, address),
            kind=Kind.DIGEST,
            application_id="",
            recipient=Recipient(role="officers", key=f"officers:{address}", address=address, language=language),
            params=params,
        )
        for address in recipients
    ]
