"""The simulated people of the chaos run, phase by phase: officers submitting (one by one, and in a
bulk import's batches), reviewers, the committee closing the call and confirming, l'Oriental's
Region Council answering for its co-funding, officers recording signed agreements, the payment
system answering the orders it took, finance retrying the orders it did not take.

They read what staff read on the console's board (each application's stage in the domain
database) and act on what they see; every call is sent again until answered, under its own update
id (chaos/calls.py), as a person whose request failed sends it again."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError

from chaos.calls import bounded, query, robust, together, update
from chaos.edition import EDITION, PARTNER, REVIEWERS, Group, submission
from chaos.killer import Progress
from chaos.plan import AGREEMENTS, COMMITTEE, DECISIONS, PAYMENTS, REVIEWS, SUBMISSIONS
from chaos.stack import Stack
from domain.db.session import make_engine
from domain.db.tables import Application, PaymentOrderRow, StageChange
from domain.edition import EditionSettings
from domain.edition_messages import (
    CloseCall,
    EditionInput,
    ProposalSummary,
    SelectionConfirmed,
    SubmissionAnswer,
    SubmissionBatch,
    edition_workflow_id,
)
from domain.models import (
    CoFundingDecision,
    PaymentResult,
    PaymentRetry,
    Stage,
)
from simulation.driver import reach, signature
from simulation.factories import make_review, valid_rib
from workflows.application import ApplicationWorkflow as W
from workflows.edition import EditionWorkflow

AT_ONCE = 16  # calls in flight at a time, per phase
BATCH = 10  # submissions per import batch
LOOK_EVERY = 0.5  # seconds between two looks at the board
PHASE_BOUND = 2400.0  # seconds a phase may take before the run fails naming what never came (a hang)
RETRY_AFTER = 30.0  # seconds finance waits before retrying an order the payment system did not take again
OFFICER, DIRECTOR = "officer-chaos", "director-chaos"  # four eyes: who closes the call does not confirm


class Board:
    """What staff read on the console: each application's stage, the payment orders not taken."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)

    def _stages(self) -> dict[str, str]:
        with self.engine.connect() as c:
            rows = c.execute(
                select(Application.application_id, Application.stage).where(Application.edition == EDITION)
            )
            return {a: s for a, s in rows}

    async def stages(self) -> dict[str, str]:
        return await asyncio.to_thread(self._stages)

    def _reached(self) -> dict[str, str]:
        """Each application's stages so far (its stage history), "|"-joined: a stage it passed through
        counts, even if the people acting on it moved it on before this look."""
        with self.engine.connect() as c:
            rows = c.execute(
                select(StageChange.application_id, StageChange.stage)
                .join(Application, Application.application_id == StageChange.application_id)
                .where(Application.edition == EDITION)
            )
            out: dict[str, str] = {}
            for a, stage in rows:
                out[a] = f"{out.get(a, '')}|{stage}"
            return out

    async def reached(self) -> dict[str, str]:
        return await asyncio.to_thread(self._reached)

    def _unsent(self) -> list[tuple[str, str]]:
        with self.engine.connect() as c:
            q = select(PaymentOrderRow.application_id, PaymentOrderRow.key).where(PaymentOrderRow.status == "unsent")
            return [(a, k) for a, k in c.execute(q)]

    async def unsent(self) -> list[tuple[str, str]]:
        return await asyncio.to_thread(self._unsent)


class People:
    def __init__(self, stack: Stack, progress: Progress, groups: dict[str, Group], settings: EditionSettings) -> None:
        self.stack, self.progress, self.groups, self.settings = stack, progress, groups, settings
        self.subs = {reg: submission(reg, g) for reg, g in groups.items()}
        self.group_of = {self.subs[reg].application_id: g for reg, g in groups.items()}
        client = stack.client
        self.handles = {a: client.get_workflow_handle(a) for a in self.group_of}
        self.edition = client.get_workflow_handle(edition_workflow_id(EDITION))
        self.answers: dict[str, list[SubmissionAnswer]] = {}  # application -> the answers it got
        self.board = Board(stack.database_url)
        self.proposal: ProposalSummary | None = None  # the committee's, as read before confirming

    def of(self, pred: Callable[[Group], bool]) -> list[str]:
        return [a for a, g in self.group_of.items() if pred(g)]

    # --- the call ----------------------------------------------------------------------------------

    async def open_edition(self) -> None:
        async def start() -> None:
            try:
                await self.stack.client.start_workflow(
                    EditionWorkflow.run,
                    EditionInput(settings=self.settings, opened_by=OFFICER),
                    id=self.edition.id,
                    task_queue=self.stack.env.get("EDITION_TASK_QUEUE") or self.stack.env["TASK_QUEUE"],
                )
            except WorkflowAlreadyStartedError:
                pass  # our own start, whose answer was lost with the server

        await robust(start, "open the edition")

    async def submissions(self) -> None:
        """Half one by one, half as an import sends them (batches of BATCH), side by side."""
        regs = list(self.subs)
        singles, batched = regs[0::2], regs[1::2]
        self.progress.begin(SUBMISSIONS, len(regs))

        async def one(reg: str) -> None:
            answer = await update(self.edition, EditionWorkflow.submit, self.subs[reg], f"submit-{reg}")
            self._answered([answer])

        async def batch(part: list[str]) -> None:
            b = SubmissionBatch(submissions=[self.subs[r] for r in part])
            answer = await update(self.edition, EditionWorkflow.submit_batch, b, f"batch-{part[0]}")
            self._answered(answer.answers)

        await together(
            bounded(AT_ONCE // 2, [one(r) for r in singles]),
            bounded(AT_ONCE // 4, [batch(batched[k : k + BATCH]) for k in range(0, len(batched), BATCH)]),
        )
        self.progress.end(SUBMISSIONS)

    def _answered(self, answers: list[SubmissionAnswer]) -> None:
        for a in answers:
            self.answers.setdefault(a.application_id, []).append(a)
        self.progress.step(SUBMISSIONS, len(answers))

    # --- reviews and the committee -----------------------------------------------------------------

    async def reviews(self) -> None:
        eligible = self.of(lambda g: g.score is not None)
        self.progress.begin(REVIEWS, len(eligible) * len(REVIEWERS))

        async def review(app: str) -> None:
            score = self.group_of[app].score
            assert score is not None
            for r in REVIEWERS:
                await update(self.handles[app], W.submit_review, make_review(r, score), f"review-{r}-{app}")
                self.progress.step(REVIEWS)

        await self._as_they_come(REVIEWS, {a: Stage.REVIEW for a in eligible}, review)
        self.progress.end(REVIEWS)

    async def reviewed(self) -> None:
        """Until every reviewed application waits for the committee, as the board shows it."""
        eligible = self.of(lambda g: g.score is not None)
        await self._until_board({a: Stage.COMMITTEE for a in eligible}, "reviewed applications wait for the committee")

    async def committee(self) -> None:
        """Once every reviewed application waits for the committee: ops close the call, the
        committee reads its proposal, a second person confirms it."""
        self.progress.begin(COMMITTEE, 3)
        await self.reviewed()
        await update(self.edition, EditionWorkflow.close_call, CloseCall(closed_by=OFFICER), "close-call")
        self.progress.step(COMMITTEE)
        deadline = time.monotonic() + PHASE_BOUND
        while (s := await query(self.edition, EditionWorkflow.get_status)).proposal is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no committee proposal after {PHASE_BOUND:g} s; the edition: {s!r}"[:2000])
            await asyncio.sleep(LOOK_EVERY)
        self.proposal = s.proposal
        self.progress.step(COMMITTEE)
        confirmed = SelectionConfirmed(confirmed_by=DIRECTOR)
        await update(self.edition, EditionWorkflow.confirm_selection, confirmed, "confirm-selection")
        self.progress.step(COMMITTEE)
        self.progress.end(COMMITTEE)

    async def decisions(self) -> None:
        """The edition sends every decision; the people watch them arrive on the board."""
        eligible = self.of(lambda g: g.score is not None)
        after = {a: self._decided(self.group_of[a]) for a in eligible}
        self.progress.begin(DECISIONS, len(after))
        await self._until_board(after, "decisions delivered", DECISIONS)
        self.progress.end(DECISIONS)

    @staticmethod
    def _decided(g: Group) -> Stage:
        if not g.funded:
            return g.ends_in
        return Stage.COFUNDING if g.cooperative else Stage.AGREEMENT

    # --- agreements and payments -------------------------------------------------------------------

    async def agreements(self) -> None:
        """The Region approves its co-funding; an officer records each signed agreement."""
        coops, funded = self.of(lambda g: g.cooperative), self.of(lambda g: g.funded)
        self.progress.begin(AGREEMENTS, len(coops) + len(funded))

        async def approve(app: str) -> None:
            answer = CoFundingDecision(region_code=PARTNER, approved=True, decided_by="region-oriental")
            await update(self.handles[app], W.cofunding_decision, answer, f"cofunding-{app}")
            self.progress.step(AGREEMENTS)

        async def sign(app: str) -> None:
            # The officer signs the agreement the application issued, naming it (its hash, on its page).
            s = await reach(self.handles[app], Stage.AGREEMENT, seconds=PHASE_BOUND, every=LOOK_EVERY)
            rib = valid_rib(int(app.rsplit("-", 1)[1]))
            signed = signature(s, rib, signed_by=OFFICER, signed_on=date.today())
            await update(self.handles[app], W.sign_agreement, signed, f"sign-{app}")
            self.progress.step(AGREEMENTS)

        await together(
            self._as_they_come(AGREEMENTS, {a: Stage.COFUNDING for a in coops}, approve),
            self._as_they_come(AGREEMENTS, {a: Stage.AGREEMENT for a in funded}, sign),
        )
        self.progress.end(AGREEMENTS)

    async def payments(self) -> None:
        """The payment system answers each order it took (executed); finance retries the orders it
        did not take (escalated), until every funded application has its first tranche."""
        funded = self.of(lambda g: g.funded)
        orders = {f"{a}:T1:{self.group_of[a].funder}": a for a in funded}
        self.progress.begin(PAYMENTS, len(orders))
        answered: set[str] = set()
        retried: dict[str, float] = {}  # when finance last retried an order
        deadline = time.monotonic() + PHASE_BOUND

        async def pay(key: str, attempt: int) -> None:
            result = PaymentResult(order_key=key, attempt=attempt, executed=True, reference=f"VIR-{key[-20:]}")
            await update(self.handles[orders[key]], W.payment_result, result, f"pay-{key}#{attempt}")
            self.progress.step(PAYMENTS)

        async def retry(app: str, key: str, at: float) -> None:
            ask = PaymentRetry(requested_by="finance", reason="the payment system did not take it")
            try:  # each retry a request of its own (its own id), repeated until answered
                await update(self.handles[app], W.retry_payment_orders, ask, f"retry-{key}-{at:.0f}")
            except WorkflowUpdateFailedError:
                pass  # still not taken (escalated again), or taken meanwhile: looked at again later

        async with asyncio.TaskGroup() as tg:
            while len(answered) < len(orders):
                for r in list(self.stack.payment_system.received):
                    key, _, attempt = r.key.rpartition("#")
                    if 200 <= r.answered < 300 and key in orders and key not in answered:
                        answered.add(key)
                        tg.create_task(pay(key, int(attempt)))
                for app, key in await self.board.unsent():
                    if key not in answered and time.monotonic() - retried.get(key, 0) > RETRY_AFTER:
                        retried[key] = time.monotonic()
                        tg.create_task(retry(app, key, retried[key]))
                if time.monotonic() > deadline:
                    missing = sorted(set(orders) - answered)[:5]
                    raise AssertionError(
                        f"the payment system never took {len(orders) - len(answered)} orders, e.g. {missing}"
                    )
                await asyncio.sleep(LOOK_EVERY)
        self.progress.end(PAYMENTS)

    async def settled(self) -> dict[str, str]:
        """Every application where its group ends: the board's last look."""
        return await self._until_board({a: g.ends_in for a, g in self.group_of.items()}, "every application ends")

    # --- looking at the board ----------------------------------------------------------------------

    async def _as_they_come(self, phase: str, todo: dict[str, Stage], act: Callable[[str], Awaitable[None]]) -> None:
        """`act(app)` for each application once the board shows it in its stage, AT_ONCE at a time."""
        sem = asyncio.Semaphore(AT_ONCE)

        async def one(app: str) -> None:
            async with sem:
                await act(app)

        pending, deadline = dict(todo), time.monotonic() + PHASE_BOUND
        async with asyncio.TaskGroup() as tg:
            while pending:
                stages = await self.board.stages()
                for app in [a for a, st in pending.items() if stages.get(a) == st.value]:
                    del pending[app]
                    tg.create_task(one(app))
                if pending:
                    if time.monotonic() > deadline:
                        raise AssertionError(self._never(phase, pending, stages))
                    await asyncio.sleep(LOOK_EVERY)

    async def _until_board(self, expected: dict[str, Stage], what: str, phase: str | None = None) -> dict[str, str]:
        """Until each application is in its stage (with `phase`: has been there, the phase's steps
        counted as they come)."""
        deadline, seen = time.monotonic() + PHASE_BOUND, 0
        while True:
            if phase is None:
                stages = await self.board.stages()
                there = sum(stages.get(a) == st.value for a, st in expected.items())
            else:
                stages = await self.board.reached()
                there = sum(f"|{st.value}" in stages.get(a, "") for a, st in expected.items())
            if phase is not None:
                self.progress.step(phase, there - seen)
                seen = there
            if there == len(expected):
                return stages
            if time.monotonic() > deadline:
                raise AssertionError(self._never(what, expected, stages))
            await asyncio.sleep(LOOK_EVERY)

    def _never(self, what: str, expected: dict[str, Stage], stages: dict[str, str]) -> str:
        wrong = [
            f"{a} in {stages.get(a)} (expected {st.value})" for a, st in expected.items() if not _in(stages, a, st)
        ]
        return (
            f"{what}: {len(wrong)} never there after {PHASE_BOUND:g} s, e.g. {wrong[:5]} ({datetime.now(UTC):%H:%M:%S})"
        )


def _in(stages: dict[str, str], app: str, stage: Stage) -> bool:
    """The application is in `stage` (or, in a stage history, was)."""
    return stages.get(app) == stage.value or f"|{stage.value}" in stages.get(app, "")
