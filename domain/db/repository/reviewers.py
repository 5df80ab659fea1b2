"""Reviewers: their profiles, who is assigned to which application, recusals.

Assignment reads each reviewer's load in the edition and writes the chosen rows in one
transaction under the edition's assignment lock, so two applications entering review at once do
not both count the same load. A round's rows answer a retried call: the same reviewers again.
Each assignment and recusal is also a decision on the application's audit chain.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from domain import messages
from domain.db.people_tables import ConsoleUser, ReviewAssignmentRow, ReviewerProfileRow
from domain.db.repository.base import DecisionRecord, NotFound, RepositoryBase
from domain.messages import Kind
from domain.models import ApplicationSubmission
from domain.reviewers import ReviewerProfile, choose_reviewers, refuse_requested

ASSIGNED, REVIEWED, RECUSED = "assigned", "reviewed", "recused"
REVIEW_LOCK = 0x4D5A5256  # the advisory lock's first key on PostgreSQL: "MZRV"


class ReviewerRefused(ValueError):
    """An officer named a reviewer who cannot review this application: nothing was written."""


class Reviewers(RepositoryBase):
    def set_reviewer(self, profile: ReviewerProfile, at: datetime, active: bool = True) -> None:
        """Create or replace a reviewer's profile."""
        values = profile.model_dump(mode="json")
        with self._tx(write=True) as s:
            row = s.get(ReviewerProfileRow, profile.reviewer_id)
            if row is None:
                row = ReviewerProfileRow(reviewer_id=profile.reviewer_id)
                s.add(row)
            row.sectors, row.organisation = values["sectors"], values["organisation"]
            row.declared_links, row.active, row.updated_at = values["declared_links"], active, at
            row.email = values["email"]

    def reviewer_pool(self) -> dict[str, ReviewerProfile]:
        """Active reviewers (a deactivated console user is not one), by id."""
        with self._tx() as s:
            return self._pool(s)

    def assign_reviewers(
        self, application_id: str, round: int, seats: int, requested: tuple[str, ...], assigned_by: str, at: datetime
    ) -> list[str]:
        """Assign the `requested` reviewers, then fill up to `seats` by the edition's rule; the ids
        assigned (fewer when the pool runs out). Raises ReviewerRefused for a requested one who cannot."""
        with self._tx(write=True) as s:
            done = self._round(s, application_id, round)
            if done:
                return done
            app = self._app(s, application_id)
            _lock_assignments(s, app.edition)
            submission = ApplicationSubmission.model_validate(app.submission)
            taken = set(s.scalars(select(ReviewAssignmentRow.reviewer_id).where(_of(application_id))))
            pool = self._pool(s)
            refusal = refuse_requested(requested, pool, submission.applicant, taken)
            if refusal:
                raise ReviewerRefused(refusal)
            load = dict(
                s.execute(
                    select(ReviewAssignmentRow.reviewer_id, func.count())
                    .where(ReviewAssignmentRow.edition == app.edition, ReviewAssignmentRow.state != RECUSED)
                    .group_by(ReviewAssignmentRow.reviewer_id)
                ).all()
            )
            chosen = list(requested) + choose_reviewers(
                pool.values(),
                submission.applicant,
                submission.project.sector,
                seats - len(requested),
                load,
                taken | set(requested),
            )
            for reviewer in chosen:
                s.add(
                    ReviewAssignmentRow(
                        application_id=application_id,
                        edition=app.edition,
                        reviewer_id=reviewer,
                        round=round,
                        state=ASSIGNED,
                        assigned_by=assigned_by,
                        assigned_at=at,
                    )
                )
            emails = {r: pool[r].email if r in pool else None for r in chosen}
            self._tell(
                s,
                application_id,
                at,
                lambda f: [messages.review_message(f, Kind.REVIEW_ASSIGNED, "assigned", r, emails[r]) for r in chosen],
            )
            payload = {"reviewers": chosen, "requested": list(requested), "seats": seats}
            self._decide(
                s, application_id, DecisionRecord("review_assignment", round, "assigned", payload, assigned_by, at)
            )
            return chosen

    def recuse_reviewer(
        self, application_id: str, reviewer_id: str, reason: str, by: str, seq: int, at: datetime
    ) -> None:
        with self._tx(write=True) as s:
            row = s.scalar(select(ReviewAssignmentRow).where(_of(application_id), _by(reviewer_id)))
            if row is None:
                raise NotFound(f"reviewer_id: {reviewer_id} is not assigned to {application_id}")
            row.state, row.reason = RECUSED, reason
            payload = {"reviewer_id": reviewer_id, "reason": reason}
            self._decide(s, application_id, DecisionRecord("recusal", seq, "recused", payload, by, at))

    def assignments(self, application_id: str) -> list[dict[str, Any]]:
        with self._tx() as s:
            rows = s.scalars(select(ReviewAssignmentRow).where(_of(application_id)).order_by(ReviewAssignmentRow.id))
            return [_assignment(r) for r in rows]

    def assignments_of(self, reviewer_id: str, edition: int | None = None) -> list[dict[str, Any]]:
        """A reviewer's assignments, oldest first (the console's reviewer page)."""
        with self._tx() as s:
            q = select(ReviewAssignmentRow).where(_by(reviewer_id))
            if edition is not None:
                q = q.where(ReviewAssignmentRow.edition == edition)
            return [_assignment(r) for r in s.scalars(q.order_by(ReviewAssignmentRow.assigned_at))]

    def assignment(self, assignment_id: int) -> dict[str, Any] | None:
        with self._tx() as s:
            row = s.get(ReviewAssignmentRow, assignment_id)
            return None if row is None else _assignment(row)

    @staticmethod
    def _round(s: Session, application_id: str, round: int) -> list[str]:
        q = select(ReviewAssignmentRow.reviewer_id).where(_of(application_id), ReviewAssignmentRow.round == round)
        return list(s.scalars(q.order_by(ReviewAssignmentRow.id)))

    @staticmethod
    def _pool(s: Session) -> dict[str, ReviewerProfile]:
        rows = s.execute(
            select(ReviewerProfileRow)
            .outerjoin(ConsoleUser, ConsoleUser.login == ReviewerProfileRow.reviewer_id)
            .where(ReviewerProfileRow.active, func.coalesce(ConsoleUser.active, True))
        ).scalars()
        return {
            r.reviewer_id: ReviewerProfile(
                reviewer_id=r.reviewer_id,
                sectors=tuple(r.sectors),
                organisation=r.organisation,
                declared_links=tuple(r.declared_links),
                email=r.email,
            )
            for r in rows
        }


def awaited_reviewers(s: Session, application_id: str) -> dict[str, str | None]:
    """The reviewers assigned whose review is still to come, with their email addresses."""
    q = (
        select(ReviewAssignmentRow.reviewer_id, ReviewerProfileRow.email)
        .outerjoin(ReviewerProfileRow, ReviewerProfileRow.reviewer_id == ReviewAssignmentRow.reviewer_id)
        .where(_of(application_id), ReviewAssignmentRow.state == ASSIGNED)
    )
    return {reviewer: email for reviewer, email in s.execute(q)}


def mark_reviewed(s: Session, application_id: str, reviewer_id: str) -> None:
    """Within a review's transaction: its assignment, if any, is done."""
    row = s.scalar(select(ReviewAssignmentRow).where(_of(application_id), _by(reviewer_id)))
    if row is not None and row.state == ASSIGNED:
        row.state = REVIEWED


def _of(application_id: str) -> Any:
    return ReviewAssignmentRow.application_id == application_id


def _by(reviewer_id: str) -> Any:
    return ReviewAssignmentRow.reviewer_id == reviewer_id


def _lock_assignments(s: Session, edition: int) -> None:
    """Hold the edition's assignment lock until the transaction ends (SQLite: the write lock)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k, :e)"), {"k": REVIEW_LOCK, "e": edition})


def _assignment(r: ReviewAssignmentRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "application_id": r.application_id,
        "edition": r.edition,
        "reviewer_id": r.reviewer_id,
        "state": r.state,
        "assigned_by": r.assigned_by,
        "assigned_at": r.assigned_at,
        "reason": r.reason,
    }
