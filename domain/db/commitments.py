"""Envelope commitments in the database: the one place money is reserved, covered and released.

Every change of what an application holds in its edition's envelopes runs inside a write
transaction that first takes the edition's lock (`lock_edition`): on PostgreSQL a transaction-
scoped advisory lock per edition, so two workers committing money at the same moment take turns
and the second sees what the first committed; on SQLite the write transaction already holds the
database's single write lock. The arithmetic (loans between the ministry's parts, what is left)
is domain/envelopes.py's.

Lock order, to never deadlock: the edition first, then the application's row.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from domain.db.tables import Application, AwardRow, EnvelopeCommitmentRow, LedgerRow
from domain.money import mad

EDITION_LOCK = 0x656E76  # "env": the first key of the PostgreSQL advisory lock, the edition the second
PAYMENT = "payment"  # the ledger kind of money paid out


def lock_edition(s: Session, edition: int) -> None:
    """Hold the edition's money lock until the transaction ends."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k, :e)"), {"k": EDITION_LOCK, "e": edition})


def committed(s: Session, edition: int) -> dict[str, Decimal]:
    """What each envelope of the edition has committed."""
    rows = s.execute(
        select(EnvelopeCommitmentRow.envelope, func.sum(EnvelopeCommitmentRow.amount))
        .where(EnvelopeCommitmentRow.edition == edition)
        .group_by(EnvelopeCommitmentRow.envelope)
    )
    return {envelope: mad(total) for envelope, total in rows}


def paid(s: Session, edition: int) -> dict[str, Decimal]:
    """What each envelope of the edition has paid out (the ledger's payments, by the envelope they hold)."""
    rows = s.execute(
        select(EnvelopeCommitmentRow.envelope, func.sum(LedgerRow.amount))
        .join(
            LedgerRow,
            (LedgerRow.application_id == EnvelopeCommitmentRow.application_id)
            & (LedgerRow.funder == EnvelopeCommitmentRow.funder),
        )
        .where(EnvelopeCommitmentRow.edition == edition, LedgerRow.kind == PAYMENT)
        .group_by(EnvelopeCommitmentRow.envelope)
    )
    return {envelope: mad(total) for envelope, total in rows}


def held(s: Session, application_id: str) -> dict[str, EnvelopeCommitmentRow]:
    """The application's commitments, by funder."""
    return {
        r.funder: r
        for r in s.scalars(select(EnvelopeCommitmentRow).where(EnvelopeCommitmentRow.application_id == application_id))
    }


def hold(
    s: Session, app: Application, amounts: dict[str, Decimal], at: datetime, envelopes: dict[str, str] | None = None
) -> None:
    """Set what each funder of the application holds (a funder not named holds nothing), in the
    envelope `envelopes` names for it, else the one it already draws on, else its own. The caller
    holds the edition's lock."""
    rows = held(s, app.application_id)
    for funder, row in rows.items():
        if amounts.get(funder, Decimal(0)) <= 0:
            s.delete(row)
    for funder, amount in amounts.items():
        if amount <= 0:
            continue
        envelope = (envelopes or {}).get(funder)
        existing = rows.get(funder)
        if existing is None:
            s.add(
                EnvelopeCommitmentRow(
                    edition=app.edition,
                    application_id=app.application_id,
                    funder=funder,
                    envelope=envelope or funder,
                    amount=mad(amount),
                    updated_at=at,
                )
            )
        else:
            existing.amount, existing.updated_at = mad(amount), at
            if envelope is not None:
                existing.envelope = envelope
    s.flush()


def paid_by_funder(s: Session, application_id: str) -> dict[str, Decimal]:
    """What each funder of the application has paid (the ledger's payments)."""
    rows = s.execute(
        select(LedgerRow.funder, func.sum(LedgerRow.amount))
        .where(LedgerRow.application_id == application_id, LedgerRow.kind == PAYMENT)
        .group_by(LedgerRow.funder)
    )
    return {funder: mad(total) for funder, total in rows}


def release(s: Session, app: Application, at: datetime) -> None:
    """The application's award no longer holds: only what was paid on it stays committed, and its
    award rows say when it was released. The caller holds the edition's lock."""
    hold(s, app, paid_by_funder(s, app.application_id), at)
    for row in s.scalars(
        select(AwardRow).where(AwardRow.application_id == app.application_id, AwardRow.released_at.is_(None))
    ):
        row.released_at = at


def resync(s: Session, app: Application, at: datetime) -> None:
    """Commitments back to what the application's own award says (after a placement it never
    applied, e.g. a decision refused because it had closed meanwhile)."""
    awards = {
        r.funder: mad(r.amount)
        for r in s.scalars(
            select(AwardRow).where(AwardRow.application_id == app.application_id, AwardRow.released_at.is_(None))
        )
    }
    hold(s, app, awards or paid_by_funder(s, app.application_id), at)
