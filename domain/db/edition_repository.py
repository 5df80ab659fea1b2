"""What the edition workflow's activities read and write: the call, the committee's rounds, commitments.

The committee runs over the database, never by querying thousands of workflows: candidates,
commitments and the report are a few queries over `applications`, `reviews`, `awards`,
`ledger` and `committee_decisions`.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain.committee import Candidate, Placement
from domain.db import commitments
from domain.db.repository import PAYMENT, Repository
from domain.db.tables import (
    Application,
    AwardRow,
    CommitteeDecisionRow,
    EditionRow,
    LedgerRow,
    ProgressReportRow,
    ReviewRow,
    StageChange,
)
from domain.edition import Criterion, EditionSettings
from domain.envelopes import EnvelopeLine, envelope_of, ledger, left
from domain.models import Decision, Stage
from domain.money import mad
from domain.reference import LegalForm

BEFORE_COMMITTEE = (Stage.SUBMITTED, Stage.ELIGIBILITY, Stage.AWAITING_DOCUMENTS, Stage.REVIEW)


def _chunks(ids: list[str], size: int = 500) -> Iterator[list[str]]:
    """IN (…) lists of a bounded size: databases cap the number of bound parameters."""
    return (ids[i : i + size] for i in range(0, len(ids), size))


class EditionRepository(Repository):
    # --- the call ------------------------------------------------------------------------

    def open_edition(self, settings: EditionSettings, workflow_id: str, opened_by: str, at: datetime) -> bool:
        with self._tx(write=True) as s:
            return self._insert_ignore(
                s,
                EditionRow,
                {"edition": settings.edition},
                year=settings.year,
                settings=settings.model_dump(mode="json"),
                workflow_id=workflow_id,
                opened_by=opened_by,
                opened_at=at,
            )

    def close_call(self, edition: int, at: datetime) -> None:
        with self._tx(write=True) as s:
            s.execute(
                update(EditionRow)
                .where(EditionRow.edition == edition, EditionRow.call_closed_at.is_(None))
                .values(call_closed_at=at)
            )

    def confirm(self, edition: int, confirmed_by: str, at: datetime) -> None:
        with self._tx(write=True) as s:
            s.execute(
                update(EditionRow)
                .where(EditionRow.edition == edition, EditionRow.confirmed_at.is_(None))
                .values(confirmed_by=confirmed_by, confirmed_at=at)
            )

    def get_edition(self, edition: int) -> dict[str, Any] | None:
        with self._tx() as s:
            row = s.get(EditionRow, edition)
            return None if row is None else {c.name: getattr(row, c.name) for c in EditionRow.__table__.columns}

    def pending_before_committee(self, edition: int) -> int:
        with self._tx() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(Application)
                    .where(Application.edition == edition, Application.stage.in_([x.value for x in BEFORE_COMMITTEE]))
                )
                or 0
            )

    def oldest_unchecked(self, at: datetime) -> float:
        """Seconds the oldest application of an open call has waited in `submitted` for its
        eligibility check (0 if none): how far the workers are behind the applications' first
        steps, wherever those tasks wait (infra/backlog.py paces imports on it)."""
        with self._tx() as s:
            oldest = s.scalar(
                select(func.min(Application.stage_since)).where(
                    Application.edition.in_(select(EditionRow.edition).where(EditionRow.call_closed_at.is_(None))),
                    Application.stage == Stage.SUBMITTED.value,
                )
            )
        # (MIN keeps the column's type: an aware UTC datetime, domain/db/tables.UtcDateTime)
        return 0.0 if oldest is None else max(0.0, (at - oldest).total_seconds())

    # --- candidates --------------------------------------------------------------------------

    def candidates(self, edition: int, stage: Stage) -> list[Candidate]:
        """Applications of the edition in `stage`, as the committee sees them."""
        with self._tx() as s:
            apps = s.scalars(
                select(Application).where(Application.edition == edition, Application.stage == stage.value)
            ).all()
            innovation: dict[str, list[int]] = defaultdict(list)
            ids = [a.application_id for a in apps]
            for chunk in _chunks(ids):
                for app_id, scores in s.execute(
                    select(ReviewRow.application_id, ReviewRow.scores).where(ReviewRow.application_id.in_(chunk))
                ):
                    innovation[app_id].append(int(scores.get(Criterion.INNOVATION.value, 0)))
        return [
            Candidate(
                application_id=a.application_id,
                registration_number=a.registration_number,
                legal_form=LegalForm(a.legal_form),
                region_code=a.region_code,
                province=a.province,
                score=a.score if a.score is not None else Decimal(0),
                innovation=(
                    Decimal(sum(innovation[a.application_id])) / len(innovation[a.application_id])
                    if innovation[a.application_id]
                    else Decimal(0)
                ),
                jobs=int(a.submission["project"].get("jobs_created", 0)),
                requested=mad(a.requested_amount),
            )
            for a in apps
        ]

    def latest_decisions(self, edition: int) -> dict[str, CommitteeDecisionRow]:
        """Each application's latest committee round."""
        with self._tx() as s:
            rows = s.scalars(
                select(CommitteeDecisionRow)
                .where(CommitteeDecisionRow.edition == edition)
                .order_by(CommitteeDecisionRow.round)
            ).all()
        return {r.application_id: r for r in rows}

    # --- the committee's rounds ------------------------------------------------------------

    def commit_round(
        self,
        settings: EditionSettings,
        round_: int,
        at: datetime,
        plan: Callable[[dict[str, Decimal]], list[Placement]],
    ) -> int:
        """Record a committee round once, with the edition's money locked: `plan` gets what each
        envelope has left (domain/envelopes.left) and returns the round's placements; the selected
        ones are committed in the same transaction. A retried call finds the round and writes nothing."""
        with self._tx(write=True) as s:
            commitments.lock_edition(s, settings.edition)
            if s.scalar(
                select(func.count())
                .select_from(CommitteeDecisionRow)
                .where(CommitteeDecisionRow.edition == settings.edition, CommitteeDecisionRow.round == round_)
            ):
                return 0
            placements = plan(left(settings, commitments.committed(s, settings.edition)))
            return self._store_placements(s, settings.edition, round_, placements, at)

    def _store_placements(
        self, s: Session, edition: int, round_: int, placements: list[Placement], at: datetime
    ) -> int:
        new = 0
        apps = {
            a.application_id: a
            for chunk in _chunks([p.application_id for p in placements])
            for a in s.scalars(select(Application).where(Application.application_id.in_(chunk)))
        }
        for p in placements:
            new += self._insert_ignore(
                s,
                CommitteeDecisionRow,
                {"application_id": p.application_id, "round": round_},
                edition=edition,
                decision=p.decision.value,
                rank=p.rank,
                score=p.score,
                award=mad(p.award),
                funders={k: str(v) for k, v in p.funders.items()},
                draws={k: str(v) for k, v in p.draws.items()},
                honorary_award=p.honorary_award,
                reason=p.reason[:300],
                proposed_at=at,
            )
            if p.decision == Decision.SELECTED:
                commitments.hold(
                    s,
                    apps[p.application_id],
                    dict(p.funders),
                    at,
                    envelopes={f: envelope_of(f, p.draws) for f in p.funders},
                )
        return new

    def round_rows(self, edition: int, round_: int, unsent_only: bool = False) -> list[CommitteeDecisionRow]:
        q = select(CommitteeDecisionRow).where(
            CommitteeDecisionRow.edition == edition, CommitteeDecisionRow.round == round_
        )
        if unsent_only:
            q = q.where(CommitteeDecisionRow.sent_at.is_(None))
        with self._tx() as s:
            return list(s.scalars(q.order_by(CommitteeDecisionRow.rank)).all())

    def mark_sent(self, application_id: str, round_: int, at: datetime, note: str, applied: bool = True) -> None:
        """A decision delivered; one the application did not apply (closed meanwhile) gives back the
        money its placement held."""
        with self._tx(write=True) as s:
            if not applied:
                commitments.lock_edition(s, self._app(s, application_id).edition)
                commitments.resync(s, self._app(s, application_id, lock=True), at)
            s.execute(
                update(CommitteeDecisionRow)
                .where(
                    CommitteeDecisionRow.application_id == application_id,
                    CommitteeDecisionRow.round == round_,
                    CommitteeDecisionRow.sent_at.is_(None),
                )
                .values(sent_at=at, sent_note=note[:300])
            )

    def last_round(self, edition: int) -> int:
        with self._tx() as s:
            return (
                s.scalar(select(func.max(CommitteeDecisionRow.round)).where(CommitteeDecisionRow.edition == edition))
                or 0
            )

    def committed(self, edition: int) -> dict[str, Decimal]:
        """What each envelope has committed (domain/db/commitments.py)."""
        with self._tx() as s:
            return commitments.committed(s, edition)

    def envelope_ledger(self, settings: EditionSettings) -> list[EnvelopeLine]:
        """Each envelope: size, lent between the ministry's parts, committed, paid, left."""
        with self._tx() as s:
            return ledger(settings, commitments.committed(s, settings.edition), commitments.paid(s, settings.edition))

    # --- the programme report ------------------------------------------------------------

    def reached(self, edition: int) -> dict[str, int]:
        """How many of the edition's applications reached each stage, whatever came after (the
        programme report's funnel), from the stage history."""
        with self._tx() as s:
            counts = s.execute(
                select(StageChange.stage, func.count(func.distinct(StageChange.application_id)))
                .join(Application, Application.application_id == StageChange.application_id)
                .where(Application.edition == edition)
                .group_by(StageChange.stage)
            )
            return {stage: n for stage, n in counts}

    def report_rows(self, edition: int) -> dict[str, Any]:
        """Everything the programme report is computed from (domain/report.py): the columns it reads
        (never the stored submissions), the money and reports joined by edition (no id lists)."""
        of_edition = Application.edition == edition
        with self._tx() as s:
            core = s.connection()  # plain rows: no ORM loading for 10,000 tuples
            apps = core.execute(
                select(
                    Application.application_id,
                    Application.stage,
                    Application.region_code,
                    Application.province,
                    Application.sector,
                    Application.legal_form,
                    Application.rural,
                    Application.honorary_award,
                    Application.title,
                ).where(of_edition)
            ).all()
            awards: dict[str, Any] = defaultdict(dict)
            for a, f, amount in core.execute(
                select(AwardRow.application_id, AwardRow.funder, AwardRow.amount)
                .join(Application, Application.application_id == AwardRow.application_id)
                .where(of_edition)
            ):
                awards[a][f] = mad(amount)
            paid: dict[str, Any] = defaultdict(dict)
            for a, f, amount in core.execute(
                select(LedgerRow.application_id, LedgerRow.funder, func.sum(LedgerRow.amount))
                .join(Application, Application.application_id == LedgerRow.application_id)
                .where(of_edition, LedgerRow.kind == PAYMENT)
                .group_by(LedgerRow.application_id, LedgerRow.funder)
            ):
                paid[a][f] = mad(amount)
            reports = {}
            for a, _period, indicators in core.execute(
                select(ProgressReportRow.application_id, ProgressReportRow.period, ProgressReportRow.indicators)
                .join(Application, Application.application_id == ProgressReportRow.application_id)
                .where(of_edition, ProgressReportRow.status != "rejected")
                .order_by(ProgressReportRow.period)
            ):
                reports[a] = indicators  # the latest report's indicators are cumulative
            rows = [  # tuples unpacked: a Row's attribute access costs more than the query here
                {
                    "id": app_id,
                    "stage": stage,
                    "region_code": region_code,
                    "province": province,
                    "sector": sector,
                    "legal_form": legal_form,
                    "rural": rural,
                    "honorary_award": honorary_award,
                    "title": title,
                    "awards": awards.get(app_id, {}),
                    "paid": paid.get(app_id, {}),
                    "indicators": reports.get(app_id),
                }
                for app_id, stage, region_code, province, sector, legal_form, rural, honorary_award, title in apps
            ]
        return {"applications": rows}
