"""Awards, the co-funding cover, payment orders and the ledger: money never above an award, never\npaid twice, every commitment of an envelope changed with the edition's money locked."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import messages
from domain.db import chain, commitments
from domain.db.repository.base import (
    PAYMENT,
    AwardExceeded,
    NotFound,
    RepositoryBase,
    _amount,
)
from domain.db.tables import (
    Application,
    AwardRow,
    DecisionRow,
    LedgerRow,
    PaymentOrderRow,
)
from domain.edition import EditionSettings
from domain.envelopes import CoFundingCover, cover_envelope, decide_cover
from domain.models import (
    PaymentOrder,
)
from domain.money import mad
from domain.reference import MINISTRY


class Money(RepositoryBase):
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
            key = {"application_id": application_id, "kind": "cofunding_cover", "seq": seq}
            payload = cover.model_dump(mode="json")
            self._insert_ignore(
                s, DecisionRow, key, outcome=cover.outcome, payload=payload, decided_by="ministry", at=at
            )
            chain.append(s, chain.of_decision(self._row(s, DecisionRow, **key)), at)
            return cover

    def create_payment_order(self, order: PaymentOrder, bank_account: str, at: datetime) -> PaymentOrder:
        """Store the order under its idempotency key; an existing key returns the stored order."""
        with self._tx(write=True) as s:
            self._check_app(s, order.application_id)
            row = self._insert_new(
                s,
                PaymentOrderRow,
                {"key": order.key},
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
            )
            if row is not None:
                chain.append(s, chain.of_order("created", row), at)
            return self._to_order(row or self._order(s, order.key))

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
            self._check_app(s, app_id, lock=True)  # serialises payments of this application
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
            row = self._insert_new(
                s,
                LedgerRow,
                {"order_key": key},
                application_id=app_id,
                funder=order.funder,
                kind=PAYMENT,
                amount=mad(order.amount),
                reference=reference,
                at=at,
            )
            order.status, order.reason, order.updated_at = "executed", "", at
            if row is not None:
                chain.append(s, chain.of_payment(row, order), at)
                amount, tranche = mad(order.amount), order.tranche
                self._tell(s, app_id, at, lambda f: messages.on_payment(f, key, tranche, amount, reference))
            return row is not None
