"""Reviews of an application: who reviews it and their scores.

In an edition that assigns its reviewers (domain/reviewers.py), only an assigned reviewer may
score, an officer assigns (naming reviewers, or letting the edition's rule fill the seats), and a
reviewer who recuses is replaced by the rule. In an `open` edition any reviewer takes a free seat.
"""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.application import ApplicationActivities as A
    from domain.edition import ReviewAssignment
    from domain.models import Answer, Review, Stage
    from domain.refusals import Refusal
    from domain.reviewers import Recusal, ReviewerAssignment
    from domain.scoring import conflict_refusal

from workflows.actor import who
from workflows.application.state import ApplicationState

EDITION = "edition"  # who assigns when the edition's rule does


class Reviews(ApplicationState):
    def _assigning(self) -> bool:
        return self.settings.review_assignment != ReviewAssignment.OPEN

    def _free_seats(self) -> int:
        return self.settings.reviewers_per_application - len(self._assigned) - self._seats_pending

    async def _assign(self, seats: int, requested: tuple[str, ...], by: str) -> list[str]:
        """Fill `seats` (the requested reviewers first); an escalation when the pool runs short."""
        self._assign_round += 1
        self._seats_pending += seats  # held before the await: a concurrent assignment sees them taken
        try:
            chosen: list[str] = await self._act(
                A.assign_reviewers, self.app_id, self._assign_round, seats, list(requested), by, self._now()
            )
        except ActivityError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError) and cause.type == "ReviewerRefused":
                raise ApplicationError(cause.message, type="Refused", non_retryable=True) from None
            raise
        finally:
            self._seats_pending -= seats
        self._assigned.extend(chosen)
        self.status.reviewers = list(self._assigned)
        if len(chosen) < seats:
            await self._notice(
                f"reviewers-short-{self._assign_round}",
                "escalation",
                f"{seats - len(chosen)} review seat(s) found no reviewer free of conflict: an officer assigns one",
            )
        return chosen

    @workflow.update
    async def assign_reviewers(self, inp: ReviewerAssignment) -> Answer:
        self._guard(self._check_assignment, inp)
        chosen = await self._assign(len(inp.reviewers) or self._free_seats(), inp.reviewers, who(inp.assigned_by))
        return self._answer(f"reviewers assigned: {', '.join(chosen) or 'none free of conflict'}")

    @assign_reviewers.validator
    def _check_assignment(self, inp: ReviewerAssignment) -> None:
        self._expect_assigning()
        free = self._free_seats()
        if free <= 0:
            raise Refusal("reviewers.all_assigned", k=self.settings.reviewers_per_application)
        if len(inp.reviewers) > free:
            raise Refusal("reviewers.too_many", named=len(inp.reviewers), free=free)
        for reviewer in inp.reviewers:
            if reviewer in self._assigned or reviewer in self._recused:
                raise Refusal("reviewers.already_asked", reviewer=reviewer)

    @workflow.update
    async def recuse(self, inp: Recusal) -> Answer:
        self._guard(self._check_recusal, inp)
        self._assigned.remove(inp.reviewer_id)
        self._recused.add(inp.reviewer_id)
        self.status.reviewers = list(self._assigned)
        by = who(inp.recused_by)
        seq = self._next_seq("recusal")
        await self._act(A.recuse_reviewer, self.app_id, inp.reviewer_id, inp.reason, by, seq, self._now())
        chosen = await self._assign(1, (), EDITION)
        instead = f"replaced by {chosen[0]}" if chosen else "no reviewer free of conflict: an officer assigns one"
        return self._answer(f"{inp.reviewer_id} recused; {instead}")

    @recuse.validator
    def _check_recusal(self, inp: Recusal) -> None:
        self._expect_assigning()
        if inp.reviewer_id not in self._assigned:
            raise Refusal("review.not_assigned", reviewer=inp.reviewer_id)
        if inp.reviewer_id in self._reviews:
            raise Refusal("review.already_reviewed", reviewer=inp.reviewer_id)

    def _expect_assigning(self) -> None:
        self._expect(Stage.REVIEW)
        if not self._assigning():
            raise Refusal("review.open_seats")

    @workflow.update
    async def submit_review(self, review: Review) -> Answer:
        self._guard(self._check_review, review)
        self._reviews[review.reviewer_id] = None  # reserve the seat before the await
        score = await self._act(A.record_review, self.app_id, review, dict(self.settings.review_grid), self._now())
        self._reviews[review.reviewer_id] = score
        self.status.reviews = len(self._reviews)
        return self._answer(f"review by {review.reviewer_id} recorded: {score}/100")

    @submit_review.validator
    def _check_review(self, review: Review) -> None:
        self._expect(Stage.REVIEW)
        if review.reviewer_id in self._reviews:
            raise Refusal("review.already_reviewed", reviewer=review.reviewer_id)
        if self._assigning() and review.reviewer_id not in self._assigned:
            raise Refusal("review.not_assigned", reviewer=review.reviewer_id)
        if len(self._reviews) >= self.settings.reviewers_per_application:
            raise Refusal("review.all_in", k=self.settings.reviewers_per_application)
        if set(review.scores) != set(self.settings.review_grid):
            missing = sorted(c.value for c in set(self.settings.review_grid) - set(review.scores))
            raise Refusal("review.scores_incomplete", missing=", ".join(missing))
        conflict = conflict_refusal(review, self.submission.applicant)
        if conflict is not None:
            raise conflict
