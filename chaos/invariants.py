"""What ops and an auditor check after the chaos run, each printed as a line: where every
application is, that nothing was started, decided, sent or paid twice, that no money went beyond an
award or an envelope, and the auditor's own tools (audit verify, audit reconcile, replay)."""

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from temporalio.client import WorkflowHistory

from audit import reconcile as rc
from audit import replay as rp
from audit import verify as vf
from chaos.calls import bounded, query, robust, update
from chaos.edition import AWARD, EDITION, FIRST_TRANCHE, REVIEWERS
from chaos.people import People
from domain.db.edition_repository import EditionRepository
from domain.db.repository import Repository
from domain.db.tables import (
    Application,
    AwardRow,
    CommitteeDecisionRow,
    DecisionRow,
    LedgerRow,
    PaymentOrderRow,
    ReviewRow,
    StageChange,
)
from domain.edition import EditionSettings
from domain.envelopes import overspent
from domain.models import Stage
from simulation.factories import make_submission
from workflows.application import ApplicationWorkflow as W
from workflows.edition import EditionWorkflow


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"  {'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _check(name: str, wrong: list[str], detail: str) -> Check:
    return Check(name, not wrong, detail if not wrong else f"{len(wrong)} wrong, e.g. {'; '.join(wrong[:5])}")


def _per_app(rows: Iterable[Any]) -> dict[str, int]:
    return {a: n for a, n in rows}


class Invariants:
    def __init__(self, people: People) -> None:
        self.p = people
        self.engine = people.board.engine
        self.ids = set(people.group_of)

    def _rows(self, q: Any) -> list[Any]:
        with self.engine.connect() as c:
            return list(c.execute(q))

    async def rows(self, q: Any) -> list[Any]:
        return await asyncio.to_thread(self._rows, q)

    async def all(self, histories: dict[str, list[WorkflowHistory]]) -> list[Check]:
        return [
            await self.stages(),
            await self.started_once(),
            await self.inputs_once(),
            await self.orders_once(),
            await self.ledgers(),
            await self.envelopes(),
            await asyncio.to_thread(self.verify),
            await self.reconcile(histories),
            await self.replay(histories),
        ]

    async def stages(self) -> Check:
        """The workflow, the database and its stage history agree, and say what the inputs say."""
        p = self.p
        statuses = await bounded(8, [query(p.handles[a], W.get_status) for a in sorted(self.ids)])
        db = _per_app(await self.rows(select(Application.application_id, Application.stage)))
        last_seq = select(StageChange.application_id, func.max(StageChange.seq)).group_by(StageChange.application_id)
        last = {(a, s) for a, s in await self.rows(last_seq)}
        history = {
            a: st
            for a, seq, st in await self.rows(select(StageChange.application_id, StageChange.seq, StageChange.stage))
            if (a, seq) in last
        }
        wrong = []
        for s in statuses:
            expected = p.group_of[s.application_id].ends_in.value
            seen = {s.stage.value, db.get(s.application_id), history.get(s.application_id)}
            if seen != {expected}:
                wrong.append(
                    f"{s.application_id}: workflow {s.stage.value}, database {db.get(s.application_id)}, stage history {history.get(s.application_id)}, expected {expected}"
                )
        counts = Counter(s.stage.value for s in statuses)
        detail = f"{len(statuses)} applications: " + ", ".join(f"{n} {st}" for st, n in sorted(counts.items()))
        return _check("every application in exactly one stage, where its inputs put it", wrong, detail)

    async def started_once(self) -> Check:
        """One workflow run and one record per application, each submission answered accepted, the
        edition counting each once; a submission after the close refused and not started."""
        p, wrong = self.p, []
        runs = Counter(
            w.id
            for w in await robust(
                lambda: _listed(p, f'WorkflowId STARTS_WITH "moazara-{EDITION}-"'), "list the workflows"
            )
        )
        wrong += [f"{a}: {n} runs" for a, n in runs.items() if n != 1] + [
            f"{a}: no workflow" for a in self.ids - set(runs)
        ]
        wrong += [f"{a}: a workflow no one submitted" for a in set(runs) - self.ids]
        records = Counter(
            a for (a,) in await self.rows(select(Application.application_id).where(Application.edition == EDITION))
        )
        wrong += [f"{a}: {records[a]} records" for a in self.ids if records[a] != 1]
        for a in sorted(self.ids):
            answers = p.answers.get(a, [])
            if not answers or not all(x.accepted for x in answers):
                wrong.append(f"{a}: submission answered {[x.refusal or 'accepted' for x in answers]}")
        late = make_submission("CHAOS-LATE", edition=EDITION)
        answer = await update(p.edition, EditionWorkflow.submit, late, "submit-late")
        if answer.accepted or answer.refusal != "late":
            wrong.append(f"a submission after the close was answered {answer!r}")
        s = await query(p.edition, EditionWorkflow.get_status)
        if (s.submissions, s.duplicates, s.late_refused) != (len(self.ids), 0, 1):
            wrong.append(
                f"the edition counted {s.submissions} submissions, {s.duplicates} duplicates, {s.late_refused} late"
            )
        detail = f"{len(runs)} workflows of one run each, {sum(records.values())} records; the edition counted {s.submissions} submissions, {s.duplicates} duplicates, {s.late_refused} late (refused)"
        return _check("no application started twice", wrong, detail)

    async def inputs_once(self) -> Check:
        """Each review recorded once, each committee decision made and delivered once."""
        eligible = {a for a, g in self.p.group_of.items() if g.score is not None}
        reviews = _per_app(
            await self.rows(select(ReviewRow.application_id, func.count()).group_by(ReviewRow.application_id))
        )
        decided = _per_app(
            await self.rows(
                select(DecisionRow.application_id, func.count())
                .where(DecisionRow.kind == "committee")
                .group_by(DecisionRow.application_id)
            )
        )
        sent = await self.rows(
            select(CommitteeDecisionRow.application_id, CommitteeDecisionRow.sent_note).where(
                CommitteeDecisionRow.edition == EDITION
            )
        )
        wrong = [f"{a}: {reviews.get(a, 0)} reviews" for a in sorted(eligible) if reviews.get(a, 0) != len(REVIEWERS)]
        wrong += [f"{a}: {decided.get(a, 0)} committee decisions" for a in sorted(eligible) if decided.get(a, 0) != 1]
        wrong += [
            f"{a}: decision sent note {n!r}" for a, n in sent if not (n or "").startswith("committee decision recorded")
        ]
        if {a for a, _ in sent} != eligible:
            wrong.append(f"{len(sent)} committee decisions proposed for {len(eligible)} reviewed applications")
        proposal = self.p.proposal
        groups = Counter(g.ends_in if not g.funded else "selected" for g in self.p.group_of.values())
        proposed = (proposal.selected, proposal.waitlisted, proposal.rejected) if proposal else None
        ruled = (groups["selected"], groups[Stage.WAITLISTED], groups[Stage.REJECTED])
        if proposed != ruled:
            wrong.append(f"the committee proposed (selected, waitlisted, rejected) {proposed}, the rules say {ruled}")
        detail = (
            f"{sum(reviews.values())} reviews; the committee proposed {ruled[0]} selected, {ruled[1]} waitlisted, "
            f"{ruled[2]} rejected as the rules say; {sum(decided.values())} decisions, each delivered once"
        )
        return _check("every review and decision applied once", wrong, detail)

    async def orders_once(self) -> Check:
        """One order per funded application, taken once by the payment system (a repeat under the
        same idempotency key answered as such), paid once."""
        funded = {a: g.funder for a, g in self.p.group_of.items() if g.funded}
        expected = {f"{a}:T1:{f}" for a, f in funded.items()}
        orders = [k for (k,) in await self.rows(select(PaymentOrderRow.key))]
        received = list(self.p.stack.payment_system.received)
        taken = Counter(r.key.rpartition("#")[0] for r in received if r.answered == 201)
        paid = Counter(k for (k,) in await self.rows(select(LedgerRow.order_key).where(LedgerRow.kind == "payment")))
        wrong = (
            [f"orders in the database: {sorted(set(orders) ^ expected)[:3]}"]
            if sorted(orders) != sorted(expected)
            else []
        )
        wrong += [f"{k}: taken {taken[k]} times by the payment system" for k in sorted(expected) if taken[k] != 1]
        wrong += [f"{k}: taken by the payment system, never ordered" for k in set(taken) - expected]
        wrong += [f"{k}: paid {paid[k]} times" for k in sorted(expected) if paid[k] != 1]
        repeats = len(received) - sum(taken.values())
        detail = f"{len(orders)} orders, each taken once by the payment system ({repeats} repeats under the same key answered as such) and paid once"
        return _check("no payment order sent twice", wrong, detail)

    async def ledgers(self) -> Check:
        awards: dict[tuple[str, str], Decimal] = {
            (a, f): v for a, f, v in await self.rows(select(AwardRow.application_id, AwardRow.funder, AwardRow.amount))
        }
        paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for a, f, v in await self.rows(
            select(LedgerRow.application_id, LedgerRow.funder, LedgerRow.amount).where(LedgerRow.kind == "payment")
        ):
            paid[(a, f)] += v
        wrong = [
            f"{a}: {v} MAD paid by {f}, award {awards.get((a, f), 0)}"
            for (a, f), v in paid.items()
            if v > awards.get((a, f), Decimal(0))
        ]
        for a, g in self.p.group_of.items():
            key = (a, g.funder or "")
            if g.funded and (awards.get(key), paid.get(key)) != (AWARD, FIRST_TRANCHE):
                wrong.append(f"{a}: award {awards.get(key)}, paid {paid.get(key)} (expected {AWARD}, {FIRST_TRANCHE})")
        detail = f"{len(paid)} ledgers, {sum(paid.values())} MAD paid on {sum(awards.values())} MAD awarded, none above its award"
        return _check("no ledger above its award", wrong, detail)

    async def envelopes(self) -> Check:
        repo = EditionRepository(self.engine)
        record = await asyncio.to_thread(repo.get_edition, EDITION)
        assert record is not None
        settings = EditionSettings.model_validate(record["settings"])
        committed = await asyncio.to_thread(repo.committed, EDITION)
        over = overspent(settings, committed)
        lines = await asyncio.to_thread(repo.envelope_ledger, settings)
        detail = "; ".join(f"{e.envelope} {e.committed}/{e.size} MAD committed, {e.paid} paid" for e in lines)
        return _check("no envelope above its size", [f"{k} over by {v} MAD" for k, v in over.items()], detail)

    def verify(self) -> Check:
        report = vf.verify(self.engine, edition=EDITION)
        detail = f"{report.applications} applications, {report.entries} audit entries, {len(report.findings)} findings"
        return _check("audit verify clean", [str(f) for f in report.findings], detail)

    async def reconcile(self, histories: dict[str, list[WorkflowHistory]]) -> Check:
        latest: dict[str, WorkflowHistory | None] = {w: hs[-1] for w, hs in histories.items()}
        result = await rc.reconcile(Repository(self.engine), EDITION, latest, self.p.stack.client.data_converter)
        paid = ", ".join(f"{f} {a} MAD" for f, a in sorted(result.paid_db.items()))
        detail = f"{result.applications} applications, {result.histories} histories, paid {paid}"
        return _check("audit reconcile clean", [str(m) for m in result.mismatches], detail)

    async def replay(self, histories: dict[str, list[WorkflowHistory]]) -> Check:
        every = [h for hs in histories.values() for h in hs]
        replayer = rp.replayer(converter=self.p.stack.client.data_converter, runtime=rp.quiet_runtime())
        outcomes = await rp.replay(every, replayer_=replayer)
        events = sum(o.events for o in outcomes)
        detail = f"{len(outcomes)} histories ({events} events) replayed on today's code"
        return _check("every history replays", [o.line() for o in outcomes if not o.ok], detail)


async def _listed(p: People, q: str | None = None) -> list[Any]:
    return [w async for w in p.stack.client.list_workflows(q)]


async def fetch_histories(p: People) -> dict[str, list[WorkflowHistory]]:
    """Every run of every workflow on the server (the applications, the edition's runs, the outbox's),
    oldest run first."""
    runs = await robust(lambda: _listed(p), "list the workflows")
    runs.sort(key=lambda w: w.start_time)

    async def one(wid: str, run_id: str) -> WorkflowHistory:
        handle = p.stack.client.get_workflow_handle(wid, run_id=run_id)
        return await robust(handle.fetch_history, f"{wid}: history")

    fetched = await bounded(8, [one(w.id, w.run_id) for w in runs])
    out: dict[str, list[WorkflowHistory]] = defaultdict(list)
    for h in fetched:
        out[h.workflow_id].append(h)
    return dict(out)
