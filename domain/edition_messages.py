"""What the EditionWorkflow takes, answers and reports: its input, updates, signal and status."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from domain.edition import EditionSettings
from domain.fields import Actor, Input, Text
from domain.models import ApplicationSubmission


class Phase(StrEnum):
    OPEN = "open"  # the call accepts submissions
    REVIEWING = "reviewing"  # call closed; waiting for eligibility and reviews to finish
    PROPOSED = "proposed"  # the committee's selection waits for ops to confirm it
    DECIDING = "deciding"  # decisions are being sent to the applications
    PROMOTING = "promoting"  # freed money goes to the waitlist until the waitlist closes
    CLOSED = "closed"


def edition_workflow_id(edition: int) -> str:
    return f"moazara-edition-{edition}"


class EditionState(BaseModel):
    """What a run hands to the next when it continues as new (the history stays bounded)."""

    phase: Phase = Phase.OPEN
    opened: bool = False
    submissions: int = 0
    duplicates: int = 0
    late_refused: int = 0
    call_closed_by: str | None = None
    call_closed_at: datetime | None = None  # when the call actually closed (ops may close it early)
    confirmed_by: str | None = None
    rounds: int = 0  # promotion rounds after the committee's proposal (round 0)
    decisions_sent_at: datetime | None = None
    runs: int = 1


class EditionInput(Input):
    settings: EditionSettings
    opened_by: Actor = "ops"
    state: EditionState = EditionState()
    # Continue as new past this many history events (kept small in tests to exercise it).
    max_history_events: int = Field(default=10_000, ge=20)


class SubmissionAnswer(BaseModel):
    application_id: str
    accepted: bool
    message: str
    refusal: Literal["", "duplicate", "late"] = ""  # why it was not accepted (answers before it: duplicates)

    @property
    def duplicate(self) -> bool:
        return not self.accepted and self.refusal != "late"


# Submissions per batch update (an import): each is about a kilobyte in the history, and the batch
# is one update and one activity instead of one each per application.
MAX_BATCH = 100


class SubmissionBatch(Input):
    """Several submissions in one update (bulk import): each gets its own answer, in order."""

    submissions: list[ApplicationSubmission] = Field(min_length=1, max_length=MAX_BATCH)


class BatchAnswer(BaseModel):
    answers: list[SubmissionAnswer]


class CloseCall(Input):
    """Ops close the call before its date (update close_call): the submissions in flight are
    answered, later ones refused and counted; the edition then waits for its reviews."""

    closed_by: Actor
    reason: Text = ""


class SelectionConfirmed(Input):
    """The committee confirms its stored proposal (update confirm_selection), never the one who
    closed the call (four eyes); the edition then sends each application its decision."""

    confirmed_by: Actor
    note: Text = ""


class SeatFreed(Input):
    """Sent by an application whose award no longer holds (withdrawn, lapsed, co-funding lost …)."""

    application_id: str
    reason: Text = ""


class ProposalSummary(BaseModel):
    round: int
    selected: int
    waitlisted: int
    rejected: int
    by_funder: dict[str, int] = {}  # selected projects per funder
    amounts: dict[str, Decimal] = {}  # awarded per envelope
    envelopes: dict[str, Decimal] = {}  # what each envelope holds
    honorary_awards: list[str] = []
    top: list[str] = []  # the first selected, for a glance


class EditionStatus(BaseModel):
    edition: int
    phase: Phase
    waiting_for: str | None = None
    since: datetime
    until: datetime | None = None
    submissions: int = 0
    duplicates: int = 0
    late_refused: int = 0
    pending_before_committee: int | None = None
    proposal: ProposalSummary | None = None
    confirmed_by: str | None = None
    call_closed_by: str | None = None
    promotions: list[str] = []
    rounds: int = 0
    runs: int = 1
