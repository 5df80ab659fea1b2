"""What every part of the repository stands on: short transactions (`_tx`), idempotent inserts
(`_insert_ignore`), locked reads of an application or a payment order, and the errors it raises.

Temporal retries activities, so each write is keyed on a natural key (application, attempt,
reviewer, order key, period, notice key …) and a retried call writes nothing twice and
answers the same. Inserts use ON CONFLICT DO NOTHING (SQLite and PostgreSQL); read-check-write
sequences lock the application row first (SELECT … FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
on SQLite) so two concurrent calls cannot both pass a check, e.g. the award ceiling.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple, TypeVar

from pydantic_core import to_jsonable_python
from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain import messages
from domain.db import chain, commitments, outbox
from domain.db.session import IMMEDIATE, writer_lock
from domain.db.tables import (
    Application,
    Base,
    DecisionRow,
    PaymentOrderRow,
)
from domain.messages import Facts, Message
from domain.models import (
    PaymentOrder,
    Stage,
)
from domain.money import mad

PAYMENT = commitments.PAYMENT  # a ledger movement paid out (the ledger's kinds: payment, recovery)
RECOVERY = "recovery"
NOTICE_KINDS = ("request", "reminder", "escalation")
RECOVERABLE = (Stage.TERMINATED, Stage.WITHDRAWN)


class NotFound(LookupError):
    """An unknown application, payment order or report."""


class DuplicateApplication(ValueError):
    """The applicant already has an application (under another id) in this edition."""


class AwardExceeded(ValueError):
    """A payment would take a funder's payments above its award: nothing was written."""


REPORT_REVIEW = "report_review"  # a decision kind: a progress report approved or rejected (payload: ReportReview)


class DecisionRecord(NamedTuple):
    """A decision on an application as the decisions table records it: its kind and number (with
    the application, its natural key), its outcome and details, who took it and when."""

    kind: str  # committee, cofunding, agreement, withdrawal, review_assignment, recusal …
    seq: int
    outcome: str
    payload: dict[str, Any]
    decided_by: str
    at: datetime


_Row = TypeVar("_Row", bound=Base)


def _amount(value: Decimal | int | str, what: str = "amount") -> Decimal:
    amount = mad(value)
    if amount < 0:
        raise ValueError(f"{what}: must not be negative ({amount})")
    return amount


def _opt(value: Decimal | None) -> Decimal | None:
    return None if value is None else mad(value)


class RepositoryBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Writers take SQLite's write lock at BEGIN (see session.make_engine); ignored elsewhere.
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Session]:
        with writer_lock(self.engine) if write else nullcontext():
            with Session(self._writer if write else self.engine, expire_on_commit=False) as s, s.begin():
                yield s

    @staticmethod
    def _insert_ignore(s: Session, model: type[Base], key: dict[str, Any], **values: Any) -> bool:
        """INSERT the row `key` names (its natural key: column -> value) with `values`, ON CONFLICT
        on that key DO NOTHING; True if the row is new."""
        table: Table = model.__table__  # type: ignore[assignment]  # declarative tables are Tables
        stmt = _upsert_or_none(s, table, key, key | values)
        if stmt is None:  # other databases: check then insert (a concurrent duplicate raises IntegrityError)
            if s.scalar(select(func.count()).select_from(model).filter_by(**key)):
                return False
            s.execute(insert(table).values(**key, **values))
            return True
        # RETURNING rather than rowcount: psycopg reports -1 for these; a skipped row returns none.
        return s.connection().execute(stmt.returning(table.c[next(iter(key))])).first() is not None

    @classmethod
    def _insert_new(cls, s: Session, model: type[_Row], key: dict[str, Any], **values: Any) -> _Row | None:
        """`_insert_ignore` answering the new row as the database stored it (RETURNING its columns),
        for its audit entry without reading it back; None if the key was taken. The row is not in
        the session: it is a description, to read."""
        table: Table = model.__table__  # type: ignore[assignment]
        stmt = _upsert_or_none(s, table, key, key | values)
        if stmt is None:
            return cls._row(s, model, **key) if cls._insert_ignore(s, model, key, **values) else None
        stored = s.connection().execute(stmt.returning(*table.c)).first()
        if stored is None:
            return None
        return model(**{attr: stored[i] for i, attr in enumerate(_attributes(model))})

    @staticmethod
    def _find(s: Session, model: type[_Row], lock: bool = False, **key: Any) -> _Row | None:
        """The row under `key`, or None; `lock`: SELECT … FOR UPDATE, refreshing what the session may
        already hold (the row may have changed)."""
        q = select(model).filter_by(**key)
        return s.scalar(q.with_for_update().execution_options(populate_existing=True) if lock else q)

    @classmethod
    def _get(cls, s: Session, model: type[_Row], what: str, lock: bool = False, **key: Any) -> _Row:
        """The row under `key` (see _find); NotFound, naming `what` and the key, when there is none."""
        row = cls._find(s, model, lock, **key)
        if row is None:
            raise NotFound(f"unknown {what} {', '.join(map(repr, key.values()))}")
        return row

    @classmethod
    def _app(cls, s: Session, application_id: str, lock: bool = False) -> Application:
        return cls._get(s, Application, "application", lock, application_id=application_id)

    @staticmethod
    def _check_app(s: Session, application_id: str, lock: bool = False) -> None:
        """NotFound unless the application is there; `lock`: SELECT … FOR UPDATE (PostgreSQL). Its id
        alone, for writes that need no more of it (cheaper than loading the row)."""
        stmt = chain.LOCK_APPLICATION if lock else chain.APPLICATION_ID
        if s.connection().execute(stmt, {"app": application_id}).first() is None:
            raise NotFound(f"unknown application {application_id!r}")

    @classmethod
    def _app_with_money(cls, s: Session, application_id: str) -> Application:
        """The application's row, locked after its edition's money lock (domain/db/commitments.py)."""
        commitments.lock_edition(s, cls._app(s, application_id).edition)
        return cls._app(s, application_id, lock=True)

    @classmethod
    def _order(cls, s: Session, key: str, lock: bool = False) -> PaymentOrderRow:
        return cls._get(s, PaymentOrderRow, "payment order", lock, key=key)

    @staticmethod
    def _row(s: Session, model: type[_Row], **keys: Any) -> _Row:
        """The row just written under its natural key (for its audit entry)."""
        s.flush()
        return s.scalars(select(model).filter_by(**keys)).one()

    @staticmethod
    def _tell(s: Session, application_id: str, at: datetime, event: Callable[[Facts], list[Message]]) -> None:
        """Post the messages an event owes people to the outbox, in the event's own transaction."""
        app = s.get(Application, application_id)
        if app is not None:
            outbox.post(s, event(outbox.facts(s, app)), at)

    @classmethod
    def _decide(cls, s: Session, application_id: str, d: DecisionRecord) -> bool:
        """A decision row under (application, kind, seq), its audit entry and the messages it owes
        people; False if already there."""
        key = {"application_id": application_id, "kind": d.kind, "seq": d.seq}
        payload = to_jsonable_python(d.payload)
        row = cls._insert_new(s, DecisionRow, key, outcome=d.outcome, payload=payload, decided_by=d.decided_by, at=d.at)
        if row is None:
            return False
        chain.append(s, chain.of_decision(row), d.at)
        if messages.tells_on_decision(d.kind, d.outcome):
            award = d.payload.get("award") if isinstance(d.payload, dict) else None
            amount = Decimal(str(award)) if award not in (None, "") else None
            cls._tell(s, application_id, d.at, lambda f: messages.on_decision(f, d.kind, d.seq, d.outcome, amount))
        return True

    @staticmethod
    def _paid(s: Session, application_id: str) -> dict[str, Decimal]:
        return commitments.paid_by_funder(s, application_id)

    @staticmethod
    def _to_order(row: PaymentOrderRow) -> PaymentOrder:
        return PaymentOrder(
            key=row.key,
            application_id=row.application_id,
            tranche=row.tranche,
            funder=row.funder,
            amount=mad(row.amount),
            attempt=row.attempt,
            status=row.status,
        )


def _upsert_or_none(s: Session, table: Table, key: dict[str, Any], row: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING where the database has it (PostgreSQL, SQLite)."""
    dialect = s.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        return None
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    return ins(table).values(**row).on_conflict_do_nothing(index_elements=list(key))


@cache
def _attributes(model: type[Base]) -> tuple[str, ...]:
    """The mapped attribute of each of the model's table columns, in the table's order."""
    mapper = sa_inspect(model)
    return tuple(mapper.get_property_by_column(c).key for c in model.__table__.columns)


def _as_dict(row: Base, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as a plain dict; money columns quantized to centimes."""
    out: dict[str, Any] = {}
    for col in row.__table__.columns:
        if col.key in exclude:
            continue
        value = getattr(row, col.key)
        out[col.key] = mad(value) if isinstance(value, Decimal) else value
    return out
