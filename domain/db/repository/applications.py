"""Submissions, stages and closing, eligibility, documents, reviews and decisions of an application."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from domain import messages
from domain.db import chain, commitments
from domain.db.repository.base import (
    RECOVERABLE,
    RECOVERY,
    REPORT_REVIEW,
    DecisionRecord,
    DuplicateApplication,
    RepositoryBase,
    _amount,
    _opt,
)
from domain.db.repository.monitoring import Monitoring
from domain.db.repository.reviewers import mark_reviewed
from domain.db.tables import (
    Application,
    EligibilityCheck,
    LedgerRow,
    NoticeRow,
    ReviewRow,
    StageChange,
)
from domain.models import (
    FINAL_STAGES,
    ApplicationSubmission,
    Document,
    EligibilityResult,
    Review,
    Stage,
)
from domain.money import mad

# set_stage's statements, built once (it runs at every stage change).
_NEWEST_STAGE = select(func.max(StageChange.seq)).where(StageChange.application_id == bindparam("app"))
_APPLICATIONS: Table = Application.__table__  # type: ignore[assignment]  # declarative tables are Tables
_MOVE = (
    update(_APPLICATIONS)
    .where(_APPLICATIONS.c.application_id == bindparam("app"))
    .values(
        stage=bindparam("to", type_=_APPLICATIONS.c.stage.type),
        stage_since=bindparam("since", type_=_APPLICATIONS.c.stage_since.type),
    )
)


class Applications(RepositoryBase):
    def record_submission(
        self, application_id: str, workflow_id: str, submission: ApplicationSubmission, submitted_by: str, at: datetime
    ) -> bool:
        """Record the application (stage 'submitted'); False if it already was."""
        a, p = submission.applicant, submission.project
        try:
            with self._tx(write=True) as s:
                new = self._insert_new(
                    s,
                    Application,
                    {"application_id": application_id},
                    edition=submission.edition,
                    registration_number=a.registration_number,
                    applicant_name=a.name,
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
                if new is not None:  # seq 0: the workflow numbers its own stage changes from 1
                    key = {"application_id": application_id, "seq": 0}
                    self._insert_ignore(s, StageChange, key, stage=Stage.SUBMITTED.value, at=at, note="")
                    # The first link of the application's audit chain (same transaction).
                    chain.append(s, chain.of_submission(new), at)
                    self._tell(s, application_id, at, messages.on_submission)
                return new is not None
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
            self._check_app(s, application_id, lock=True)
            key = {"application_id": application_id, "seq": seq}
            row = self._insert_new(s, StageChange, key, stage=stage, at=at, note=note)
            if row is None:  # a retry: its change was applied
                return
            # An older seq arriving late must not move the application back.
            if seq == s.connection().execute(_NEWEST_STAGE, {"app": application_id}).scalar():
                s.connection().execute(_MOVE, {"app": application_id, "to": stage, "since": at})
            chain.append(s, chain.of_stage(row), at)
            if messages.tells_on_stage(Stage(stage)):
                self._tell(s, application_id, at, lambda f: messages.on_stage(f, Stage(stage), seq, at, note))

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
                key = {"order_key": f"recovery-{application_id}"}
                if self._insert_ignore(
                    s,
                    LedgerRow,
                    key,
                    application_id=application_id,
                    funder=",".join(funders),
                    kind=RECOVERY,
                    amount=recover,
                    at=at,
                ):
                    chain.append(s, chain.of_recovery(self._row(s, LedgerRow, **key)), at)

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
            self._check_app(s, application_id)
            key = {"application_id": application_id, "attempt": attempt}
            row = self._insert_new(
                s,
                EligibilityCheck,
                key,
                eligible=result.eligible,
                rule_set_version=result.rule_set_version,
                failures=[f.model_dump(mode="json") for f in result.failures],
                at=at,
            )
            if row is not None:
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
            self._check_app(s, application_id)
            key = {"application_id": application_id, "reviewer_id": review.reviewer_id}
            scores = review.model_dump(mode="json")["scores"]
            row = self._insert_new(
                s, ReviewRow, key, scores=scores, weighted_score=mad(weighted_score), comment=review.comment, at=at
            )
            if row is not None:
                chain.append(s, chain.of_review(row), at)
                mark_reviewed(s, application_id, review.reviewer_id)
            return row is not None

    def set_score(self, application_id: str, score: Decimal | None) -> None:
        with self._tx(write=True) as s:
            self._app(s, application_id, lock=True).score = _opt(score)

    def record_decision(self, application_id: str, decision: DecisionRecord) -> bool:
        """The decision, its audit entry and its messages; False if it was already recorded."""
        with self._tx(write=True) as s:
            self._check_app(s, application_id)
            new = self._decide(s, application_id, decision)
            if new and decision.kind == REPORT_REVIEW:  # the review moves its report in the same write, once:
                # a late retry of an earlier review never moves a report sent again since
                period, approved = int(decision.payload["period"]), decision.outcome == "approved"
                Monitoring._review(s, application_id, period, approved, decision.at)
            return new
