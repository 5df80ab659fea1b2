"""The audit log's hash chain: what an entry says about a recorded row, its hash, and the append.

Each application has its own chain (seq 1, 2, 3 …). An entry's hash is SHA-256 over the canonical
JSON of (application, seq, kind, ref, payload, at, prev_hash), so changing any entry, or removing
one, no longer adds up from that point on. The repository appends in the same transaction as the
row it records; the auditor's `audit.verify` walks the chains and compares them with the rows.

The `of_*` functions describe a row as an entry; they are used when writing and again when
verifying (the entry must still describe the row it recorded). Bank accounts appear masked.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Numeric, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from domain.db.tables import (
    Application,
    AuditEntry,
    AwardRow,
    DecisionRow,
    EligibilityCheck,
    LedgerRow,
    PaymentOrderRow,
    ReviewRow,
    StageChange,
)
from domain.money import mad
from domain.rib import mask_rib

GENESIS = "0" * 64  # prev_hash of an application's first entry


@dataclass(frozen=True)
class Entry:
    application_id: str
    kind: str  # submission, stage, eligibility, review, decision, award, payment_order, payment, recovery, close
    ref: str  # natural key of the recorded row, e.g. "decision:committee:1", "order:<key>"
    payload: dict[str, Any]


def canonical(value: Any) -> str:
    """One JSON spelling per value: sorted keys, no spaces, Decimals and datetimes as strings."""
    return json.dumps(to_jsonable_python(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utc_iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def entry_hash(application_id: str, seq: int, kind: str, ref: str, payload: Any, at: datetime, prev_hash: str) -> str:
    body = canonical(
        {
            "application_id": application_id,
            "seq": seq,
            "kind": kind,
            "ref": ref,
            "payload": payload,
            "at": utc_iso(at),
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def row_hash(row: AuditEntry) -> str:
    """The hash a stored entry should carry, recomputed from its columns."""
    return entry_hash(row.application_id, row.seq, row.kind, row.ref, row.payload, row.at, row.prev_hash)


# Built once: append runs in every write that the chain records (a tenth of a worker's time went
# to building and running these through the ORM).
# The application's id by its id (`app`): whether it is there, and, FOR UPDATE, its row lock
# (also the repository's, domain/db/repository/base.py).
APPLICATION_ID = select(Application.application_id).where(Application.application_id == bindparam("app"))
LOCK_APPLICATION = APPLICATION_ID.with_for_update()
_LAST = (
    select(AuditEntry.seq, AuditEntry.hash)
    .where(AuditEntry.application_id == bindparam("app"))
    .order_by(AuditEntry.seq.desc())
    .limit(1)
)
_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]  # declarative tables are Tables
_INSERT = insert(_TABLE)


def append(s: Session, entry: Entry, at: datetime) -> str:
    """Add `entry` at the end of its application's chain, inside the caller's transaction; its hash."""
    c = s.connection()
    # Next seq and prev_hash are read-then-write: lock the application row (PostgreSQL) so two
    # concurrent appends cannot fork the chain. SQLite has no row locks: its writers already hold
    # the database's (BEGIN IMMEDIATE).
    if c.dialect.name != "sqlite":
        c.execute(LOCK_APPLICATION, {"app": entry.application_id})
    last = c.execute(_LAST, {"app": entry.application_id}).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    payload = to_jsonable_python(entry.payload)
    digest = entry_hash(entry.application_id, seq, entry.kind, entry.ref, payload, at, prev)
    c.execute(
        _INSERT,
        {
            "application_id": entry.application_id,
            "seq": seq,
            "kind": entry.kind,
            "ref": entry.ref,
            "payload": payload,
            "at": at,
            "prev_hash": prev,
            "hash": digest,
        },
    )
    return digest


# --- what an entry says about each recorded row -------------------------------------------------


def _money(value: Decimal | int | str | None) -> str | None:
    return None if value is None else str(mad(value))


def _columns(row: Any, *names: str) -> dict[str, Any]:
    """These columns of the row as an entry states them: amounts and scores (NUMERIC) to the centime,
    in a string."""
    numeric = {c.key for c in row.__table__.columns if isinstance(c.type, Numeric)}
    return {name: _money(getattr(row, name)) if name in numeric else getattr(row, name) for name in names}


def of_submission(app: Application) -> Entry:
    state = _columns(app, "edition", "registration_number", "requested_amount", "submitted_by")
    return Entry(app.application_id, "submission", "submission", state)


def of_stage(row: StageChange) -> Entry:
    return Entry(row.application_id, "stage", f"stage:{row.seq}", _columns(row, "stage", "note"))


def of_eligibility(row: EligibilityCheck) -> Entry:
    state = _columns(row, "eligible", "rule_set_version") | {"failures": [f.get("code") for f in row.failures]}
    return Entry(row.application_id, "eligibility", f"eligibility:{row.attempt}", state)


def of_review(row: ReviewRow) -> Entry:
    return Entry(
        row.application_id, "review", f"review:{row.reviewer_id}", _columns(row, "reviewer_id", "weighted_score")
    )


def of_decision(row: DecisionRow) -> Entry:
    state = _columns(row, "kind", "seq", "outcome", "decided_by", "payload")
    return Entry(row.application_id, "decision", f"decision:{row.kind}:{row.seq}", state)


def of_award(app: Application, rows: list[AwardRow]) -> Entry:
    return Entry(
        app.application_id,
        "award",
        "award",
        {
            "funders": {r.funder: _money(r.amount) for r in sorted(rows, key=lambda r: r.funder)},
            "total": _money(app.award),
            "honorary_award": app.honorary_award,
        },
    )


def order_state(row: PaymentOrderRow) -> dict[str, Any]:
    state = _columns(row, "key", "tranche", "funder", "amount", "attempt", "status", "reason")
    return state | {"bank_account": mask_rib(row.bank_account)}


def ledger_state(row: LedgerRow) -> dict[str, Any]:
    return _columns(row, "kind", "funder", "amount", "order_key", "reference")


def of_order(event: str, row: PaymentOrderRow) -> Entry:
    """event: created, retried (fixed bank details), rejected (by the payment system), unsent (not
    taken by the payment system within its retry policy) or resent (taken when ops retried it)."""
    return Entry(row.application_id, "payment_order", f"order:{row.key}", {"event": event, "order": order_state(row)})


def of_payment(ledger: LedgerRow, order: PaymentOrderRow) -> Entry:
    return Entry(
        ledger.application_id,
        "payment",
        f"ledger:{ledger.order_key}",
        {"ledger": ledger_state(ledger), "order": order_state(order)},
    )


def of_recovery(ledger: LedgerRow) -> Entry:
    return Entry(ledger.application_id, "recovery", f"ledger:{ledger.order_key}", {"ledger": ledger_state(ledger)})


def of_close(app: Application) -> Entry:
    return Entry(app.application_id, "close", f"close:{app.stage}", _columns(app, "stage", "amount_to_recover"))


# --- the rows an application's entries describe, as `audit verify` reads them back ---------------


@dataclass(frozen=True)
class Recorded:
    """An application's rows that its chain records: those an entry states whole (stage changes after
    the submission, eligibility checks, reviews, decisions: each with its table and the entry it
    should have), and the payment orders, ledger rows and awards, whose entries state them in part."""

    described: list[tuple[str, Entry]]
    orders: list[PaymentOrderRow]
    ledger: list[LedgerRow]
    awards: list[AwardRow]


def recorded(s: Session, application_id: str) -> Recorded:
    def rows(model: Any, *order_by: Any) -> list[Any]:
        return list(s.scalars(select(model).where(model.application_id == application_id).order_by(*order_by)))

    # seq 0 is written with the submission, which has its own entry
    described = [("stage_changes", of_stage(row)) for row in rows(StageChange, StageChange.seq) if row.seq > 0]
    for table, model, of in (
        ("eligibility_results", EligibilityCheck, of_eligibility),
        ("reviews", ReviewRow, of_review),
        ("decisions", DecisionRow, of_decision),
    ):
        described += [(table, of(row)) for row in rows(model, model.id)]
    return Recorded(
        described,
        rows(PaymentOrderRow, PaymentOrderRow.key),
        rows(LedgerRow, LedgerRow.id),
        rows(AwardRow, AwardRow.funder),
    )
