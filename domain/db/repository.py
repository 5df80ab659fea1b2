"""The repository activities write through: short transactions, every write idempotent.

Temporal retries activities, so each write is keyed on a natural key (application, attempt,
reviewer, order key, period, notice key …) and a retried call writes nothing twice and
answers the same. Inserts use ON CONFLICT DO NOTHING (SQLite and PostgreSQL); read-check-write
sequences lock the application row first (SELECT … FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
on SQLite) so two concurrent calls cannot both pass a check, e.g. the award ceiling.

Amounts go in and come out as Decimal with two decimals. Bank accounts are stored for the
payment system but never returned by listings nor logged.
"""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.db import chain, commitments
from domain.db.session import IMMEDIATE, writer_lock
from domain.db.tables import (
    Application,
    AwardRow,
    Base,
    DecisionRow,
    EligibilityCheck,
    GatewayInboxRow,
    LedgerRow,
    NoticeRow,
    PaymentOrderRow,
    ProgressReportRow,
    ReviewRow,
    StageChange,
)
from domain.edition import EditionSettings
from domain.envelopes import CoFundingCover, cover_envelope, decide_cover
from domain.models import (
    FINAL_STAGES,
    ApplicationSubmission,
    Document,
    EligibilityResult,
    PaymentOrder,
    ProgressReport,
    Review,
    Stage,
)
from domain.money import mad
from domain.reference import MINISTRY

PAYMENT, RECOVERY = "payment", "recovery"
NOTICE_KINDS = ("request", "reminder", "escalation")
RECOVERABLE = (Stage.TERMINATED, Stage.WITHDRAWN)


class NotFound(LookupError):
    """An unknown application, payment order or report."""


class DuplicateApplication(ValueError):
    """The applicant already has an application (under another id) in this edition."""


class AwardExceeded(ValueError):
    """A payment would take a funder's payments above its award: nothing was written."""


def _amount(value: Decimal | int | str, what: str = "amount") -> Decimal:
    amount = mad(value)
    if amount < 0:
        raise ValueError(f"{what}: must not be negative ({amount})")
    return amount


def _opt(value: Decimal | None) -> Decimal | None:
    return None if value is None else mad(value)


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Writers take SQLite's write lock at BEGIN (see session.make_engine); ignored elsewhere.
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    # --- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Session]:
        with writer_lock(self.engine) if write else nullcontext():
            with Session(self._writer if write else self.engine, expire_on_commit=False) as s, s.begin():
                yield s

    @staticmethod
    def _insert_ignore(s: Session, model: type[Base], keys: list[str], **values: Any) -> bool:
        """INSERT … ON CONFLICT (keys) DO NOTHING; True if the row is new."""
        table: Table = model.__table__  # type: ignore[assignment]  # declarative tables are Tables
        dialect = s.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            ins = pg_insert if dialect == "postgresql" else sqlite_insert
            stmt = ins(table).values(**values).on_conflict_do_nothing(index_elements=keys)
            # RETURNING rather than rowcount: psycopg reports -1 for these; a skipped row returns none.
            return s.execute(stmt.returning(table.c[keys[0]])).first() is not None
        # Other databases: check then insert (a concurrent duplicate raises IntegrityError).
        cols = [getattr(model, k) == values[k] for k in keys]
        if s.scalar(select(func.count()).select_from(model).where(*cols)):
            return False
        s.execute(insert(table).values(**values))
        return True

    @staticmethod
    def _app(s: Session, application_id: str, lock: bool = False) -> Application:
        q = select(Application).where(Application.application_id == application_id)
        # Locking reads refresh what the session may already hold: the row may have changed.
        app = s.scalar(q.with_for_update().execution_options(populate_existing=True) if lock else q)
        if app is None:
            raise NotFound(f"unknown application {application_id!r}")
        return app

    @classmethod
    def _app_with_money(cls, s: Session, application_id: str) -> Application:
        """The application's row, locked after its edition's money lock (domain/db/commitments.py)."""
        commitments.lock_edition(s, cls._app(s, application_id).edition)
        return cls._app(s, application_id, lock=True)

    @staticmethod
    def _order(s: Session, key: str, lock: bool = False) -> PaymentOrderRow:
        q = select(PaymentOrderRow).where(PaymentOrderRow.key == key)
        order = s.scalar(q.with_for_update().execution_options(populate_existing=True) if lock else q)
        if order is None:
            raise NotFound(f"unknown payment order {key!r}")
        return order

    @staticmethod
    def _row(s: Session, model: type[Base], **keys: Any) -> Any:
        """The row just written under its natural key (for its audit entry)."""
        s.flush()
        return s.scalars(select(model).filter_by(**keys)).one()

    @staticmethod
    def _paid(s: Session, application_id: str) -> dict[str, Decimal]:
        rows = s.execute(
            select(LedgerRow.funder, func.sum(LedgerRow.amount))
            .where(LedgerRow.application_id == application_id, LedgerRow.kind == PAYMENT)
            .group_by(LedgerRow.funder)
        )
        return {funder: mad(total) for funder, total in rows}

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

    # --- submission and stages ---------------------------------------------------------------

    def record_submission(
        self, application_id: str, workflow_id: str, submission: ApplicationSubmission, submitted_by: str, at: datetime
    ) -> bool:
        """Record the application (stage 'submitted'); False if it already was."""
        a, p = submission.applicant, submission.project
        try:
            with self._tx(write=True) as s:
                new = self._insert_ignore(
                    s,
                    Application,
                    ["application_id"],
                    application_id=application_id,
                    edition=submission.edition,
                    registration_number=a.registration_number,
                    legal_form=a.legal_form.value,
                    region_code=a.region_code,
                    province=a.province,
                    rural=a.rural,
                    sector=p.sector.value,
                    title=p.title,
                    total_cost=_amount(p.total_cost),
                    requested_amount=_amount(p.requested_amount),
                    own_contribution=_amount(p.own_contribution),
                    workflow_id=workflow_id,
                    stage=Stage.SUBMITTED.value,
                    stage_since=at,
                    award=Decimal("0.00"),
                    honorary_award=False,
                    submission=submission.model_dump(mode="json"),
                    submitted_by=submitted_by,
                    submitted_at=at,
                )
                if new:  # seq 0: the workflow numbers its own stage changes from 1
                    self._insert_ignore(
                        s,
                        StageChange,
                        ["application_id", "seq"],
                        application_id=application_id,
                        seq=0,
                        stage=Stage.SUBMITTED.value,
                        at=at,
                        note="",
                    )
                    # The first link of the application's audit chain (same transaction).
                    chain.append(s, chain.of_submission(self._row(s, Application, application_id=application_id)), at)
                return new
        except IntegrityError:
            # (edition, registration_number) is taken. By this very application (a concurrent
            # retry that won the race on the other unique index)? Then it is a repeat.
            with self._tx() as s:
                same = s.scalar(
                    select(Application.application_id).where(
                        Application.edition == submission.edition,
                        Application.registration_number == a.registration_number,
                    )
                )
            if same == application_id:
                return False
            raise DuplicateApplication(
                f"applicant {a.registration_number} already applied to edition {submission.edition} ({same})"
            ) from None

    def set_stage(self, application_id: str, seq: int, stage: str, at: datetime, note: str = "") -> None:
        stage = Stage(stage).value  # an unknown stage is a ValueError, not a row
        with self._tx(write=True) as s:
            app = self._app(s, application_id, lock=True)
            new = self._insert_ignore(
                s,
                StageChange,
                ["application_id", "seq"],
                application_id=application_id,
                seq=seq,
                stage=stage,
                at=at,
                note=note,
            )
            # A retry (row already there) already applied its change; an older seq arriving
            # late must not move the application back.
            newest = s.scalar(select(func.max(StageChange.seq)).where(StageChange.application_id == application_id))
            if new and seq == newest:
                app.stage, app.stage_since = stage, at
            if new:
                chain.append(s, chain.of_stage(self._row(s, StageChange, application_id=application_id, seq=seq)), at)

    def close(self, application_id: str, stage: str, amount_to_recover: Decimal | None, at: datetime) -> None:
        """Put the application in its final stage; a termination or withdrawal with money to
        recover adds one 'recovery' movement to the ledger."""
        final = Stage(stage)
        if final not in FINAL_STAGES:
            raise ValueError(f"stage: {stage!r} is not a final stage")
        recover = None if amount_to_recover is None else _amount(amount_to_recover, "amount_to_recover")
        with self._tx(write=True) as s:
            app = self._app_with_money(s, application_id)
            before = (app.stage, app.amount_to_recover)
            if final != Stage.COMPLETED:
                commitments.release(s, app, at)
            if app.stage != final.value:
                app.stage, app.stage_since = final.value, at
            app.amount_to_recover = recover
            if (app.stage, app.amount_to_recover) != before:  # a retry changes nothing, logs nothing
                chain.append(s, chain.of_close(app), at)
            if final in RECOVERABLE and recover:
                funders = sorted(self._paid(s, application_id)) or ["ministry"]
                if self._insert_ignore(
                    s,
                    LedgerRow,
                    ["order_key"],
                    application_id=application_id,
                    funder=",".join(funders),
                    kind=RECOVERY,
                    amount=recover,
                    order_key=f"recovery-{application_id}",
                    reference="",
                    at=at,
                ):
                    ledger = self._row(s, LedgerRow, order_key=f"recovery-{application_id}")
                    chain.append(s, chain.of_recovery(ledger), at)

    # --- eligibility, documents, reviews, decisions --------------------------------------

    def overdue_obligations(self, registration_number: str, before_edition: int) -> int:
        """Earlier-edition debts of an applicant: terminated grants with money to recover, and
        escalated (overdue) progress reports of grants still in monitoring."""
        prior = (
            func.upper(Application.registration_number) == registration_number.strip().upper(),
            Application.edition < before_edition,
        )
        with self._tx() as s:
            terminated = s.scalar(
                select(func.count())
                .select_from(Application)
                .where(*prior, Application.stage == Stage.TERMINATED.value, Application.amount_to_recover > 0)
            )
            escalated = s.scalar(
                select(func.count())
                .select_from(NoticeRow)
                .join(Application, Application.application_id == NoticeRow.application_id)
                .where(
                    *prior,
                    Application.stage == Stage.MONITORING.value,
                    NoticeRow.kind == "escalation",
                    NoticeRow.key.startswith("report-", autoescape=True),
                )
            )
        return int(terminated or 0) + int(escalated or 0)

    def record_eligibility(self, application_id: str, attempt: int, result: EligibilityResult, at: datetime) -> None:
        with self._tx(write=True) as s:
            self._app(s, application_id)
            if self._insert_ignore(
                s,
                EligibilityCheck,
                ["application_id", "attempt"],
                application_id=application_id,
                attempt=attempt,
                eligible=result.eligible,
                rule_set_version=result.rule_set_version,
                failures=[f.model_dump(mode="json") for f in result.failures],
                at=at,
            ):
                row = self._row(s, EligibilityCheck, application_id=application_id, attempt=attempt)
                chain.append(s, chain.of_eligibility(row), at)

    def add_documents(self, application_id: str, documents: list[Document], at: datetime) -> None:
        """Merge documents into the stored submission, one per kind (a newer one replaces)."""
        with self._tx(write=True) as s:
            app = self._app(s, application_id, lock=True)
            submission = dict(app.submission)
            by_kind = {d["kind"]: d for d in submission.get("documents", [])}
            for d in documents:
                by_kind[d.kind.value] = d.model_dump(mode="json")
            submission["documents"] = list(by_kind.values())
            if submission != app.submission:
                app.submission = submission  # a new object, so the JSON column is written

    def record_review(self, application_id: str, review: Review, weighted_score: Decimal, at: datetime) -> bool:
        with self._tx(write=True) as s:
            self._app(s, application_id)
            new = self._insert_ignore(
                s,
                ReviewRow,
                ["application_id", "reviewer_id"],
                application_id=application_id,
                reviewer_id=review.reviewer_id,
                scores=review.model_dump(mode="json")["scores"],
                weighted_score=mad(weighted_score),
                comment=review.comment,
                at=at,
            )
            if new:
                row = self._row(s, ReviewRow, application_id=application_id, reviewer_id=review.reviewer_id)
                chain.append(s, chain.of_review(row), at)
            return new

    def set_score(self, application_id: str, score: Decimal | None) -> None:
        with self._tx(write=True) as s:
            self._app(s, application_id, lock=True).score = _opt(score)

    def record_decision(
        self,
        application_id: str,
        kind: str,
        seq: int,
        outcome: str,
        payload: dict[str, Any],
        decided_by: str,
        at: datetime,
    ) -> bool:
        with self._tx(write=True) as s:
            self._app(s, application_id)
            new = self._insert_ignore(
                s,
                DecisionRow,
                ["application_id", "kind", "seq"],
                application_id=application_id,
                kind=kind,
                seq=seq,
                outcome=outcome,
                payload=to_jsonable_python(payload),
                decided_by=decided_by,
                at=at,
            )
            if new:
                row = self._row(s, DecisionRow, application_id=application_id, kind=kind, seq=seq)
                chain.append(s, chain.of_decision(row), at)
            return new

    # --- money -------------------------------------------------------------------------------

    def set_award(self, application_id: str, funders: dict[str, Decimal], honorary_award: bool = False) -> None:
        """Replace the award split. Refused if it would leave a funder below what it already paid."""
        amounts = {f: _amount(v, f"funders.{f}") for f, v in funders.items()}
        with self._tx(write=True) as s:
            app = self._app_with_money(s, application_id)
            for funder, paid in self._paid(s, application_id).items():
                if amounts.get(funder, Decimal("0.00")) < paid:
                    raise ValueError(
                        f"award: {funder} already paid {paid} MAD, more than its new amount "
                        f"{amounts.get(funder, Decimal('0.00'))} MAD"
                    )
            self._write_award(s, app, amounts, honorary_award)

    def _write_award(self, s: Session, app: Application, amounts: dict[str, Decimal], honorary_award: bool) -> None:
        """Award rows, the application's total and its envelope commitments, in the caller's transaction
        (which holds the edition's money lock)."""
        application_id = app.application_id
        rows = {r.funder: r for r in s.scalars(select(AwardRow).where(AwardRow.application_id == application_id))}
        before = ({f: mad(r.amount) for f, r in rows.items()}, app.honorary_award)
        for funder, row in rows.items():
            if funder not in amounts:
                s.delete(row)
        for funder, amount in amounts.items():
            if funder in rows:
                rows[funder].amount = amount
            else:
                s.add(AwardRow(application_id=application_id, funder=funder, amount=amount))
        app.award = sum(amounts.values(), Decimal("0.00"))
        app.honorary_award = honorary_award
        commitments.hold(s, app, amounts, datetime.now(UTC))
        if (amounts, honorary_award) != before:  # no time argument: the entry is stamped now
            s.flush()
            awards = list(s.scalars(select(AwardRow).where(AwardRow.application_id == application_id)))
            chain.append(s, chain.of_award(app, awards), datetime.now(UTC))

    def cover_cofunding(
        self, application_id: str, settings: EditionSettings, region_funder: str, approved: Decimal, at: datetime
    ) -> CoFundingCover:
        """The ministry covers what a Region did not approve, within its envelope (domain/envelopes.py),
        in one transaction with the edition's money locked. Recorded once (decision 'cofunding_cover',
        one per Region): a retry answers what the first call decided."""
        seq = int(region_funder.removeprefix("region-"))
        with self._tx(write=True) as s:
            app = self._app_with_money(s, application_id)
            done = s.scalar(
                select(DecisionRow).where(
                    DecisionRow.application_id == application_id,
                    DecisionRow.kind == "cofunding_cover",
                    DecisionRow.seq == seq,
                )
            )
            if done is not None:
                return CoFundingCover.model_validate(done.payload)
            awards = {
                r.funder: mad(r.amount)
                for r in s.scalars(select(AwardRow).where(AwardRow.application_id == application_id))
            }
            held = commitments.held(s, application_id)
            envelope = cover_envelope(settings, app.province, held[MINISTRY].envelope if MINISTRY in held else None)
            cover = decide_cover(
                settings, commitments.committed(s, app.edition), envelope, awards, region_funder, mad(approved)
            )
            if cover.outcome != "waitlist":
                if MINISTRY not in held and cover.covered > 0:  # the cover's envelope, before the award is written
                    commitments.hold(
                        s,
                        app,
                        {**{f: r.amount for f, r in held.items()}, MINISTRY: cover.covered},
                        at,
                        envelopes={MINISTRY: envelope},
                    )
                self._write_award(s, app, cover.funders, app.honorary_award)
            self._insert_ignore(
                s,
                DecisionRow,
                ["application_id", "kind", "seq"],
                application_id=application_id,
                kind="cofunding_cover",
                seq=seq,
                outcome=cover.outcome,
                payload=cover.model_dump(mode="json"),
                decided_by="ministry",
                at=at,
            )
            chain.append(
                s,
                chain.of_decision(
                    self._row(s, DecisionRow, application_id=application_id, kind="cofunding_cover", seq=seq)
                ),
                at,
            )
            return cover

    def create_payment_order(self, order: PaymentOrder, bank_account: str, at: datetime) -> PaymentOrder:
        """Store the order under its idempotency key; an existing key returns the stored order."""
        with self._tx(write=True) as s:
            self._app(s, order.application_id)
            if self._insert_ignore(
                s,
                PaymentOrderRow,
                ["key"],
                key=order.key,
                application_id=order.application_id,
                tranche=order.tranche,
                funder=order.funder,
                amount=_amount(order.amount),
                bank_account=bank_account,
                attempt=order.attempt,
                status="sent",
                reason="",
                created_at=at,
                updated_at=at,
            ):
                chain.append(s, chain.of_order("created", self._row(s, PaymentOrderRow, key=order.key)), at)
            return self._to_order(self._order(s, order.key))

    def retry_payment_order(self, key: str, attempt: int, bank_account: str, at: datetime) -> PaymentOrder:
        """Re-send a rejected order with fixed bank details, once per (newer) attempt."""
        with self._tx(write=True) as s:
            order = self._order(s, key, lock=True)
            if attempt > order.attempt and order.status != "executed":
                order.attempt, order.bank_account, order.status, order.reason = attempt, bank_account, "sent", ""
                order.updated_at = at
                chain.append(s, chain.of_order("retried", order), at)
            return self._to_order(order)

    def mark_payment_rejected(self, key: str, attempt: int, reason: str, at: datetime) -> PaymentOrder:
        with self._tx(write=True) as s:
            order = self._order(s, key, lock=True)
            # A late rejection of an older attempt, or of an executed order, changes nothing.
            if attempt >= order.attempt and order.status != "executed":
                if (order.status, order.reason, order.attempt) != ("rejected", reason, attempt):
                    order.status, order.reason, order.attempt, order.updated_at = "rejected", reason, attempt, at
                    chain.append(s, chain.of_order("rejected", order), at)
            return self._to_order(order)

    def mark_payment_unsent(self, key: str, attempt: int, reason: str, at: datetime) -> PaymentOrder | None:
        """The payment system did not take this attempt within its retry policy (escalated to ops).
        None when the order was never stored (the database was down too); an order answered meanwhile
        (rejected, executed) or re-sent with a newer attempt is left as it is."""
        with self._tx(write=True) as s:
            try:
                order = self._order(s, key, lock=True)
            except NotFound:
                return None
            if order.status == "sent" and order.attempt == attempt:
                order.status, order.reason, order.updated_at = "unsent", reason[:500], at
                chain.append(s, chain.of_order("unsent", order), at)
            return self._to_order(order)

    def mark_payment_sent(self, key: str, attempt: int, at: datetime) -> PaymentOrder:
        """An unsent order that the payment system has now taken (ops retried it)."""
        with self._tx(write=True) as s:
            order = self._order(s, key, lock=True)
            if order.status == "unsent" and order.attempt == attempt:
                order.status, order.reason, order.updated_at = "sent", "", at
                chain.append(s, chain.of_order("resent", order), at)
            return self._to_order(order)

    def record_payment(self, key: str, attempt: int, reference: str, at: datetime) -> bool:
        """The payment system executed the order: one ledger row per order, never above the award."""
        with self._tx(write=True) as s:
            app_id = self._order(s, key).application_id
            self._app(s, app_id, lock=True)  # serialises payments of this application
            order = self._order(s, key, lock=True)
            if s.scalar(select(LedgerRow.id).where(LedgerRow.order_key == key)) is not None:
                return False
            award = s.scalar(
                select(AwardRow.amount).where(AwardRow.application_id == app_id, AwardRow.funder == order.funder)
            )
            award = mad(award or 0)
            paid = self._paid(s, app_id).get(order.funder, Decimal("0.00"))
            if paid + order.amount > award:
                raise AwardExceeded(
                    f"{key}: paying {mad(order.amount)} MAD would take {order.funder}'s payments to "
                    f"{paid + order.amount} MAD, above its award of {award} MAD"
                )
            new = self._insert_ignore(
                s,
                LedgerRow,
                ["order_key"],
                application_id=app_id,
                funder=order.funder,
                kind=PAYMENT,
                amount=mad(order.amount),
                order_key=key,
                reference=reference,
                at=at,
            )
            order.status, order.reason, order.updated_at = "executed", "", at
            if new:
                chain.append(s, chain.of_payment(self._row(s, LedgerRow, order_key=key), order), at)
            return new

    # --- monitoring ----------------------------------------------------------------------------

    def record_report(self, application_id: str, period: int, report: ProgressReport, at: datetime) -> bool:
        if report.period != period:
            raise ValueError(f"period: {period} does not match the report's period {report.period}")
        with self._tx(write=True) as s:
            self._app(s, application_id)
            stored = s.scalar(
                select(ProgressReportRow)
                .where(ProgressReportRow.application_id == application_id, ProgressReportRow.period == period)
                .with_for_update()
            )
            if stored is not None and stored.status == "rejected":
                # A rejected report is replaced by the applicant's corrected one.
                stored.indicators = report.indicators.model_dump(mode="json")
                stored.narrative, stored.submitted_by = report.narrative, report.submitted_by
                stored.status, stored.at, stored.reviewed_at = "received", at, None
                return True
            return self._insert_ignore(
                s,
                ProgressReportRow,
                ["application_id", "period"],
                application_id=application_id,
                period=period,
                indicators=report.indicators.model_dump(mode="json"),
                narrative=report.narrative,
                submitted_by=report.submitted_by,
                status="received",
                at=at,
            )

    def review_report(self, application_id: str, period: int, approved: bool, at: datetime) -> None:
        status = "approved" if approved else "rejected"
        with self._tx(write=True) as s:
            report = s.scalar(
                select(ProgressReportRow)
                .where(ProgressReportRow.application_id == application_id, ProgressReportRow.period == period)
                .with_for_update()
            )
            if report is None:
                raise NotFound(f"no progress report {period} for application {application_id!r}")
            if report.status != status:
                report.status, report.reviewed_at = status, at

    def record_notice(self, application_id: str, key: str, kind: str, message: str, at: datetime) -> bool:
        if kind not in NOTICE_KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {NOTICE_KINDS}")
        with self._tx(write=True) as s:
            self._app(s, application_id)
            return self._insert_ignore(
                s,
                NoticeRow,
                ["application_id", "key"],
                application_id=application_id,
                key=key,
                kind=kind,
                message=message,
                at=at,
            )

    # --- queries -------------------------------------------------------------------------------

    def get_application(self, application_id: str) -> dict[str, Any] | None:
        """Everything recorded about one application (bank accounts of orders left out)."""

        def rows(s: Session, model: type[Any], *order_by: Any, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
            q = select(model).where(model.application_id == application_id).order_by(*order_by)
            return [_as_dict(r, exclude) for r in s.scalars(q)]

        with self._tx() as s:
            app = s.get(Application, application_id)
            if app is None:
                return None
            out = _as_dict(app)
            out["id"] = app.application_id
            out["awards"] = rows(s, AwardRow, AwardRow.funder, exclude=("id", "application_id"))
            out["funders"] = {a["funder"]: mad(a["amount"]) for a in out["awards"] if a["released_at"] is None}
            out["paid"] = self._paid(s, application_id)
            out["paid_total"] = sum(out["paid"].values(), Decimal("0.00"))
            out["history"] = rows(s, StageChange, StageChange.seq, exclude=("id", "application_id"))
            out["eligibility"] = rows(s, EligibilityCheck, EligibilityCheck.attempt, exclude=("id", "application_id"))
            out["reviews"] = rows(s, ReviewRow, ReviewRow.at, ReviewRow.id, exclude=("id", "application_id"))
            out["decisions"] = rows(s, DecisionRow, DecisionRow.at, DecisionRow.id, exclude=("id", "application_id"))
            out["orders"] = rows(
                s, PaymentOrderRow, PaymentOrderRow.tranche, PaymentOrderRow.funder, exclude=("bank_account",)
            )
            out["ledger"] = rows(s, LedgerRow, LedgerRow.at, LedgerRow.id, exclude=("application_id",))
            out["reports"] = rows(s, ProgressReportRow, ProgressReportRow.period, exclude=("id", "application_id"))
            out["notices"] = rows(s, NoticeRow, NoticeRow.at, NoticeRow.id, exclude=("id", "application_id"))
            return out

    def list_applications(
        self, edition: int | None = None, stage: str | None = None, region_code: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        paid = (
            select(LedgerRow.application_id, func.sum(LedgerRow.amount).label("paid"))
            .where(LedgerRow.kind == PAYMENT)
            .group_by(LedgerRow.application_id)
            .subquery()
        )
        q = select(Application, paid.c.paid).outerjoin(paid, paid.c.application_id == Application.application_id)
        if edition is not None:
            q = q.where(Application.edition == edition)
        if stage is not None:
            q = q.where(Application.stage == stage)
        if region_code is not None:
            q = q.where(Application.region_code == region_code)
        q = q.order_by(Application.edition, Application.application_id).limit(limit)
        with self._tx() as s:
            return [
                {
                    "id": a.application_id,
                    "edition": a.edition,
                    "registration_number": a.registration_number,
                    "legal_form": a.legal_form,
                    "region_code": a.region_code,
                    "province": a.province,
                    "rural": a.rural,
                    "sector": a.sector,
                    "title": a.title,
                    "stage": a.stage,
                    "stage_since": a.stage_since,
                    "score": _opt(a.score),
                    "award": mad(a.award),
                    "honorary_award": a.honorary_award,
                    "paid": mad(p or 0),
                }
                for a, p in s.execute(q)
            ]

    def paid_by_funder(self, application_id: str) -> dict[str, Decimal]:
        with self._tx() as s:
            return self._paid(s, application_id)

    def payment_orders(self, application_id: str) -> list[PaymentOrder]:
        with self._tx() as s:
            q = (
                select(PaymentOrderRow)
                .where(PaymentOrderRow.application_id == application_id)
                .order_by(PaymentOrderRow.tranche, PaymentOrderRow.funder)
            )
            return [self._to_order(r) for r in s.scalars(q)]

    def stage_counts(self, edition: int) -> dict[str, int]:
        with self._tx() as s:
            q = (
                select(Application.stage, func.count())
                .where(Application.edition == edition)
                .group_by(Application.stage)
            )
            return {stage: int(n) for stage, n in s.execute(q)}

    def ledger_total(self, edition: int) -> dict[str, Decimal]:
        """Paid per funder over the edition (payments only; recoveries are receivables)."""
        with self._tx() as s:
            q = (
                select(LedgerRow.funder, func.sum(LedgerRow.amount))
                .join(Application, Application.application_id == LedgerRow.application_id)
                .where(Application.edition == edition, LedgerRow.kind == PAYMENT)
                .group_by(LedgerRow.funder)
            )
            return {funder: mad(total) for funder, total in s.execute(q)}

    # --- gateway inbox: each integration event once ------------------------------------------

    def inbox_claim(
        self, source: str, event_id: str, kind: str, application_id: str, fingerprint: str, at: datetime
    ) -> tuple[bool, dict[str, Any]]:
        """Record an event as pending unless (source, event_id) is already there.
        Returns (new, the row): an existing row carries the first fingerprint and answer."""
        with self._tx(write=True) as s:
            new = self._insert_ignore(
                s,
                GatewayInboxRow,
                ["source", "event_id"],
                source=source,
                event_id=event_id,
                kind=kind,
                application_id=application_id,
                fingerprint=fingerprint,
                status="pending",
                received_at=at,
            )
            row = s.scalar(
                select(GatewayInboxRow).where(GatewayInboxRow.source == source, GatewayInboxRow.event_id == event_id)
            )
            assert row is not None  # inserted above, or already there
            return new, _as_dict(row)

    def inbox_answer(
        self, source: str, event_id: str, http_status: int, answer: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        """Store the answer of a pending event; the first stored answer wins. Returns the row."""
        with self._tx(write=True) as s:
            q = select(GatewayInboxRow).where(GatewayInboxRow.source == source, GatewayInboxRow.event_id == event_id)
            row = s.scalar(q.with_for_update().execution_options(populate_existing=True))
            if row is None:
                raise NotFound(f"no inbox event {event_id!r} from {source!r}")
            if row.status == "pending":
                row.status, row.http_status, row.answered_at = "answered", http_status, at
                row.answer = to_jsonable_python(answer)
            return _as_dict(row)

    def inbox_event(self, source: str, event_id: str) -> dict[str, Any] | None:
        with self._tx() as s:
            q = select(GatewayInboxRow).where(GatewayInboxRow.source == source, GatewayInboxRow.event_id == event_id)
            row = s.scalar(q)
            return None if row is None else _as_dict(row)

    def inbox_count(self, application_id: str) -> int:
        with self._tx() as s:
            q = (
                select(func.count())
                .select_from(GatewayInboxRow)
                .where(GatewayInboxRow.application_id == application_id)
            )
            return int(s.scalar(q) or 0)


def _as_dict(row: Base, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as a plain dict; money columns quantized to centimes."""
    out: dict[str, Any] = {}
    for col in row.__table__.columns:
        if col.key in exclude:
            continue
        value = getattr(row, col.key)
        out[col.key] = mad(value) if isinstance(value, Decimal) else value
    return out
