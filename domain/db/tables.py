"""Tables of the domain database (SQLAlchemy 2.0 declarative).

The schema is created only by the Alembic migrations in `domain/db/migrations`; this module is
the model they are checked against (tests compare the migrated schema with this metadata).
Money is NUMERIC(14,2) (Decimal MAD, never float); structured payloads are JSON written as
pydantic `model_dump(mode="json")`; timestamps are timezone-aware and stored in UTC.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp: naive values are refused, values come back in UTC.

    SQLite keeps no offset, so without this a value would come back naive there and aware on
    PostgreSQL; normalising to UTC on the way in makes both backends answer the same.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Money = Numeric(14, 2)  # up to 999,999,999,999.99 MAD; Decimal in and out
Score = Numeric(6, 2)

# The column kinds most tables share, declared once (`x: Mapped[Serial]` is the whole column;
# `Mapped[int]`, `Mapped[bool]` and `Mapped[datetime]` need no declaration: Base maps them).
Serial = Annotated[int, mapped_column(primary_key=True, autoincrement=True)]  # a row's surrogate key
# A row of an application. No ON DELETE CASCADE: decisions and money movements must never vanish
# with an application.
AppRef = Annotated[str, mapped_column(String(80), ForeignKey("applications.application_id"))]
Who = Annotated[str, mapped_column(String(100))]  # an actor: a login, a reviewer, a partner system
Note = Annotated[str, mapped_column(Text, default="")]  # free text, empty unless given

# Stable constraint names so later migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), Decimal: Money, dict[str, Any]: JSON, list[Any]: JSON}


class ApplicationRecord(Base):
    """A row about one application (a stage change, a decision, a payment …): its own key, then the
    application's (columns first whatever the table adds)."""

    __abstract__ = True

    id: Mapped[Serial] = mapped_column(sort_order=-2)
    application_id: Mapped[AppRef] = mapped_column(sort_order=-1)


class Application(Base):
    """An application as the programme knows it: the submission (its JSON, with the documents
    completed later), where its workflow has it (stage and since when), its score, award and what
    is to be recovered."""

    __tablename__ = "applications"
    __table_args__ = (
        # One application per applicant per edition, whatever id a caller makes up.
        UniqueConstraint("edition", "registration_number"),
        Index("ix_applications_edition_stage", "edition", "stage"),
        Index("ix_applications_edition_region_code", "edition", "region_code"),
    )

    application_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    edition: Mapped[int]
    registration_number: Mapped[str] = mapped_column(String(40))
    applicant_name: Mapped[str] = mapped_column(String(200), default="", server_default="")  # searched by the console
    legal_form: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(2))
    province: Mapped[str] = mapped_column(String(100))
    rural: Mapped[bool]
    sector: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    total_cost: Mapped[Decimal]
    requested_amount: Mapped[Decimal]
    own_contribution: Mapped[Decimal]
    workflow_id: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(30))
    stage_since: Mapped[datetime]
    score: Mapped[Decimal | None] = mapped_column(Score)
    award: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default=text("0"))
    honorary_award: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    amount_to_recover: Mapped[Decimal | None]
    submission: Mapped[dict[str, Any]]
    submitted_by: Mapped[Who]
    submitted_at: Mapped[datetime]


class StageChange(ApplicationRecord):
    """Each stage an application entered, in the order its workflow numbered them (seq 0: submitted),
    with the note the workflow gave."""

    __tablename__ = "stage_changes"
    # The workflow numbers its stage changes: a retried write hits this constraint and is a no-op.
    __table_args__ = (UniqueConstraint("application_id", "seq"),)

    seq: Mapped[int]
    stage: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    note: Mapped[Note]


class EligibilityCheck(ApplicationRecord):
    """Each run of the eligibility rules on an application (a new attempt after documents came in):
    the rule set's version and the failures' codes and words."""

    __tablename__ = "eligibility_results"
    __table_args__ = (UniqueConstraint("application_id", "attempt"),)

    attempt: Mapped[int]
    eligible: Mapped[bool]
    rule_set_version: Mapped[str] = mapped_column(String(40))
    failures: Mapped[list[Any]]
    at: Mapped[datetime]


class ReviewRow(ApplicationRecord):
    """A reviewer's scores of an application on the edition's grid, their weighted score and
    comment; one per reviewer."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id"),)

    reviewer_id: Mapped[Who]
    scores: Mapped[dict[str, Any]]
    weighted_score: Mapped[Decimal] = mapped_column(Score)
    comment: Mapped[Note]
    at: Mapped[datetime]


class DecisionRow(ApplicationRecord):
    """A decision on an application (committee, co-funding, agreement, withdrawal …), numbered per
    kind, with its outcome, details and who took it."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("application_id", "kind", "seq"),)

    kind: Mapped[str] = mapped_column(String(30))  # committee, cofunding, agreement, withdrawal…
    seq: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    decided_by: Mapped[Who]
    at: Mapped[datetime]


class AwardRow(ApplicationRecord):
    """What one funder gives an application: the committee's award split by funder, as later
    reduced or covered."""

    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("application_id", "funder"),)

    funder: Mapped[str] = mapped_column(String(20))  # "ministry" or "region-NN"
    amount: Mapped[Decimal]
    # Set when the application closed without completing (withdrawn, cancelled, terminated …): the
    # award no longer holds; only what was paid on it stays committed (envelope_commitments).
    released_at: Mapped[datetime | None]


class EnvelopeCommitmentRow(Base):
    """What one funder of one application holds in one envelope of its edition (domain/envelopes.py).

    Written in the transaction that reserves or releases the money, with the edition locked, so the
    sum per envelope is always what the envelopes have given: the committee's and the waitlist's
    placements, a co-funding covered by the ministry, an award reduced or released (down to what
    was paid)."""

    __tablename__ = "envelope_commitments"
    __table_args__ = (
        UniqueConstraint("application_id", "funder"),
        Index("ix_envelope_commitments_edition_envelope", "edition", "envelope"),
    )

    id: Mapped[Serial]
    edition: Mapped[int]
    application_id: Mapped[AppRef]
    funder: Mapped[str] = mapped_column(String(20))  # "ministry" or "region-NN"
    envelope: Mapped[str] = mapped_column(String(30))  # "ministry", "ministry-priority" or "region-NN"
    amount: Mapped[Decimal]
    updated_at: Mapped[datetime]


class PaymentOrderRow(Base):
    """An order to pay one tranche of one funder's award, under its idempotency key, with the
    payment system's answer to its latest attempt."""

    __tablename__ = "payment_orders"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # the idempotency key
    application_id: Mapped[AppRef] = mapped_column(index=True)
    tranche: Mapped[int]
    funder: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal]
    bank_account: Mapped[str] = mapped_column(String(34))  # sensitive: never logged or listed
    attempt: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))  # sent, rejected, executed; unsent: not taken (escalated)
    reason: Mapped[Note]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LedgerRow(ApplicationRecord):
    """The money that moved: a payment the payment system executed (its order's key and the
    transfer's reference) or a recovery of what a terminated or withdrawn grant was paid."""

    __tablename__ = "ledger"
    __table_args__ = (Index("ix_ledger_application_id_funder", "application_id", "funder"),)

    funder: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))  # payment or recovery
    amount: Mapped[Decimal]
    # At most one movement per payment order (and one recovery per application): the last
    # line of defence against paying a tranche twice.
    order_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    reference: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime]


class ProgressReportRow(ApplicationRecord):
    """A progress report of a funded project for one period (its indicators and narrative), and
    its review by ops."""

    __tablename__ = "progress_reports"
    __table_args__ = (UniqueConstraint("application_id", "period"),)

    period: Mapped[int]
    indicators: Mapped[dict[str, Any]]
    narrative: Mapped[Note]
    submitted_by: Mapped[str] = mapped_column(String(100), default="portal")
    status: Mapped[str] = mapped_column(String(10))  # received, approved, rejected
    at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]


class NoticeRow(ApplicationRecord):
    """A reminder, request or escalation the workflow sent about an application, once per key (the
    officers' digest lists the escalations)."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("application_id", "key"),)

    key: Mapped[str] = mapped_column(String(120))  # e.g. "report-2-escalation"
    kind: Mapped[str] = mapped_column(String(20))  # reminder or escalation
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class AuditEntry(ApplicationRecord):
    """One link of an application's hash chain over its decisions and money movements.

    Appended by the repository in the same transaction as the row it records; `hash` covers
    this row's content and `prev_hash`, so an edited or deleted row breaks the chain there
    (see domain/db/chain.py and `python -m audit verify`). Never updated, never deleted.
    """

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("application_id", "seq"),)

    seq: Mapped[int]  # 1, 2, 3 … per application
    kind: Mapped[str] = mapped_column(String(30))  # decision, award, payment_order, payment …
    ref: Mapped[str] = mapped_column(String(160))  # natural key of the recorded row
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


metadata = Base.metadata


# --- Editions and the committee (domain/committee.py) -------------------------------------------


class EditionRow(Base):
    """An edition: its settings as opened (EditionSettings' JSON, read by domain/edition_terms.py),
    its workflow, and who opened its call and confirmed its committee's proposal."""

    __tablename__ = "editions"

    edition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    year: Mapped[int]
    settings: Mapped[dict[str, Any]]
    workflow_id: Mapped[str] = mapped_column(String(200))
    opened_by: Mapped[Who]
    opened_at: Mapped[datetime]
    call_closed_at: Mapped[datetime | None]
    confirmed_by: Mapped[Who | None]
    confirmed_at: Mapped[datetime | None]


class CommitteeDecisionRow(Base):
    """The committee's proposal (round 0) and each waitlist promotion round, one row per application."""

    __tablename__ = "committee_decisions"
    __table_args__ = (
        UniqueConstraint("application_id", "round"),
        Index("ix_committee_decisions_edition_round", "edition", "round"),
    )

    id: Mapped[Serial]
    edition: Mapped[int] = mapped_column(Integer, ForeignKey("editions.edition"))
    application_id: Mapped[AppRef]
    round: Mapped[int]
    decision: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int]
    score: Mapped[Decimal] = mapped_column(Score)
    award: Mapped[Decimal]
    funders: Mapped[dict[str, Any]]
    draws: Mapped[dict[str, Any]]
    honorary_award: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reason: Mapped[str] = mapped_column(String(300))
    proposed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    sent_note: Mapped[str | None] = mapped_column(String(300))


class GatewayInboxRow(Base):
    """Every event the integration gateway accepted for processing, and the answer it gave.

    (source, event_id) is unique: a repeated event finds its row and gets the stored answer,
    without a second update. `fingerprint` (a hash of the kind, target and body) tells a repeat
    from a different event reusing an id. `pending` rows are events whose answer is not yet
    known (Temporal unreachable, gateway stopped): a retry sends the update again under the
    same Temporal update id, which Temporal itself deduplicates.
    """

    __tablename__ = "gateway_inbox"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[Serial]
    source: Mapped[Who]  # the gateway client id
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    application_id: Mapped[str] = mapped_column(String(80), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # pending, answered
    http_status: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


# The tables of who acts and with what (bank accounts, the console's people), of the outbox and of
# the documents are in their own modules, on the same metadata: imported here so that `metadata`
# holds every table.
import domain.db.archive_tables  # noqa: E402, F401
import domain.db.document_tables  # noqa: E402, F401
import domain.db.outbox  # noqa: E402, F401
import domain.db.people_tables  # noqa: E402, F401
