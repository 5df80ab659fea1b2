"""The gateway's request and response bodies: pydantic models, validated before anything else.

Requests reuse the domain's constrained types (money, actors, documents, indicators); who sends
an event (the region, the integration) comes from its credentials, never from the body.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.fields import Actor, Input, Name, Reason, RegistrationNumber, Text
from domain.models import Indicators
from domain.money import MAD
from domain.reference import DocumentKind
from domain.text import ONE_LINE, VISIBLE

# Chosen by the sender, unique per sender: a repeat of the same event carries the same id.
EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
ApplicationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,79}$")]
OrderKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9:-]{0,119}$")]


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, json_schema_extra={"examples": list(examples)}
    )


class CoFundingEvent(Input):
    """A Region Council's answer to a co-funding request (its region comes from its credentials)."""

    model_config = _examples(
        {"event_id": "oriental-2024-000123", "approved": True, "amount": "40000.00", "decided_by": "council session 12"}
    )
    event_id: EventId
    approved: bool
    amount: MAD | None = None  # when approved: the Region's amount (default: as asked)
    decided_by: Actor
    reason: Text = ""


class PaymentExecutedEvent(Input):
    model_config = _examples({"event_id": "pay-000981", "attempt": 1, "reference": "VIR-2024-55812"})
    event_id: EventId
    attempt: int = Field(ge=1, le=1000)
    reference: Annotated[str, StringConstraints(min_length=1, max_length=100), ONE_LINE, VISIBLE]


class PaymentRejectedEvent(Input):
    model_config = _examples({"event_id": "pay-000982", "attempt": 1, "reason": "account closed"})
    event_id: EventId
    attempt: int = Field(ge=1, le=1000)
    reason: Reason


class VerifiedDocument(Input):
    kind: DocumentKind
    reference: Name  # the document store's, as Document.reference


class DocumentsVerifiedEvent(Input):
    model_config = _examples(
        {"event_id": "dms-7731", "documents": [{"kind": "budget", "reference": "dms/7731"}], "verified_by": "dms"}
    )
    event_id: EventId
    documents: tuple[VerifiedDocument, ...] = Field(min_length=1, max_length=20)
    verified_by: Actor


class ProgressReportEvent(Input):
    """A progress report from the applicants' portal, for the applicant signed in there."""

    model_config = _examples(
        {
            "event_id": "portal-5512",
            "applicant": "COOP-0001",
            "period": 1,
            "indicators": {"jobs_created": 3, "beneficiaries": 40, "women": 25, "youth": 10},
        }
    )
    event_id: EventId
    applicant: RegistrationNumber  # registration number of the applicant the portal signed in
    period: int = Field(ge=1, le=100)
    indicators: Indicators
    narrative: Text = ""


class EventAnswer(BaseModel):
    """The workflow's answer to an event (or, for a repeated event id, the first answer)."""

    event_id: str
    application_id: str
    accepted: bool
    message: str
    stage: str
    duplicate: bool = False


class Problem(BaseModel):
    """Why an event was refused. `code`: unauthenticated, forbidden, not_found, invalid_body,
    wrong_stage, refused (by the workflow), event_id_reused, unavailable."""

    code: str
    detail: str
    field: str | None = None
    event_id: str | None = None
    application_id: str | None = None
    duplicate: bool = False
