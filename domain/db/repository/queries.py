"""Read models: one application whole, listings, counts and totals per edition. Bank accounts of\norders are left out (masked: the bank code and last four digits)."""

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.db.document_tables import DocumentRow
from domain.db.repository.base import (
    PAYMENT,
    RepositoryBase,
    _as_dict,
    _opt,
)
from domain.db.tables import (
    Application,
    AwardRow,
    DecisionRow,
    EligibilityCheck,
    LedgerRow,
    NoticeRow,
    PaymentOrderRow,
    ProgressReportRow,
    ReviewRow,
    StageChange,
)
from domain.models import (
    PaymentOrder,
)
from domain.money import mad
from domain.rib import mask_rib

# What an application's documents are made of (documents/render.py, documents/issue.py): its
# record, awards, decisions (a changed bank account), orders and ledger (a payment advice).
FOR_DOCUMENTS = frozenset({"awards", "decisions", "orders", "ledger"})


# An application's lists as get_application reads them: (key, table, order, columns left out).
_ROW_IDS = ("id", "application_id")
_LISTS: tuple[tuple[str, Any, tuple[Any, ...], tuple[str, ...]], ...] = (
    ("history", StageChange, (StageChange.seq,), _ROW_IDS),
    ("eligibility", EligibilityCheck, (EligibilityCheck.attempt,), _ROW_IDS),
    ("reviews", ReviewRow, (ReviewRow.at, ReviewRow.id), _ROW_IDS),
    ("decisions", DecisionRow, (DecisionRow.at, DecisionRow.id), _ROW_IDS),
    ("orders", PaymentOrderRow, (PaymentOrderRow.tranche, PaymentOrderRow.funder), ("bank_account",)),
    ("ledger", LedgerRow, (LedgerRow.at, LedgerRow.id), ("application_id",)),
    ("reports", ProgressReportRow, (ProgressReportRow.period,), _ROW_IDS),
    ("notices", NoticeRow, (NoticeRow.at, NoticeRow.id), _ROW_IDS),
    ("documents", DocumentRow, (DocumentRow.at, DocumentRow.id), _ROW_IDS),
)


class Queries(RepositoryBase):
    def get_application(self, application_id: str, parts: frozenset[str] | None = None) -> dict[str, Any] | None:
        """Everything recorded about one application (bank accounts of orders left out); with
        `parts` (e.g. FOR_DOCUMENTS), the record and only those lists: fewer reads for a step
        that needs no more (the workflow issuing a document)."""

        def wanted(part: str) -> bool:
            return parts is None or part in parts

        def rows(s: Session, model: type[Any], *order_by: Any, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
            q = select(model).where(model.application_id == application_id).order_by(*order_by)
            return [_as_dict(r, exclude) for r in s.scalars(q)]

        with self._tx() as s:
            app = s.get(Application, application_id)
            if app is None:
                return None
            out = _as_dict(app)
            out["id"] = app.application_id
            if wanted("awards"):
                out["awards"] = rows(s, AwardRow, AwardRow.funder, exclude=_ROW_IDS)
                out["funders"] = {a["funder"]: mad(a["amount"]) for a in out["awards"] if a["released_at"] is None}
            if wanted("paid"):
                out["paid"] = self._paid(s, application_id)
                out["paid_total"] = sum(out["paid"].values(), Decimal("0.00"))
            for part, model, order, exclude in _LISTS:
                if wanted(part):
                    out[part] = rows(s, model, *order, exclude=exclude)
            if wanted("orders"):
                accounts = select(PaymentOrderRow.key, PaymentOrderRow.bank_account).filter_by(
                    application_id=application_id
                )
                masked = {key: account for key, account in s.execute(accounts)}
                for o in out["orders"]:  # the account each order goes to, as a person may see it
                    o["account_masked"] = mask_rib(masked[o["key"]])
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
                    "applicant_name": a.applicant_name,
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
