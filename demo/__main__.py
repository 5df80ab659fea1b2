"""`make demo`: a generated call of the 4th edition's shape and size driven through every stage on the
embedded default; its committee selects 121 projects, 44 in the earthquake zone, as published.

Simulated people and systems answer each application's workflow as they would: reviewers,
the committee (ranking within the envelopes), Region Councils, the applicants (documents,
agreement, reports, a few withdrawals), the payment system (a few rejected orders that ops
then fix). The calendar is compressed (one programme day = DAY seconds) so two years of
monitoring pass in minutes; the workflows, timers and database are the real ones.
"""

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.text import Text
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from cli.actions import submit_batch_to_edition
from cli.edition import edition_report, write_report
from demo import partners, people, shape
from demo import users as demo_users
from demo.generate import REQUESTS, SEED, generate
from demo.open_call import OPEN_DAY, leave_open, report_pdfs
from domain.db.outbox import OutboxRow
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.db.tables import Application
from domain.edition import EditionSettings, ReviewAssignment, edition_4_settings
from domain.edition_messages import CloseCall, EditionInput, SelectionConfirmed, edition_workflow_id
from domain.models import (
    FINAL_STAGES,
    AgreementSigned,
    ApplicationStatus,
    ApplicationSubmission,
    BankDetailsApproved,
    BankDetailsFixed,
    Indicators,
    ReportReview,
    Review,
    Stage,
    Withdrawal,
)
from domain.money import mad
from frontdoor import Actor, held_all, send_update
from infra.settings import get_settings
from infra.temporal_connection import connect
from infra.vault import bank_accounts
from workflows import names
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow

console = Console()


def demo_edition(day_seconds: float) -> EditionSettings:
    """The 4th edition's rules and envelopes (121 seats), a call open from today, a compressed calendar."""
    today = date.today()
    base = edition_4_settings()
    # Each partner Region Council's contact: its co-funding requests land in var/mail/ too.
    partners = tuple(
        p.model_copy(update={"contact_email": f"cofinancement@region-{p.region_code}.ma"}) for p in base.partners
    )
    return base.model_copy(
        update={
            "partners": partners,
            "call_opens": today - timedelta(days=1),
            "call_closes": today + timedelta(days=28),
            "day_length": timedelta(seconds=day_seconds),
            "max_duration_months": 12,
            "review_assignment": ReviewAssignment.AUTOMATIC,
            "blind_review": True,
        }
    )


# Where a simulated person or system acts on an application (the demo polls these only), and the
# stages the committee waits on.
ACTS = {Stage.AWAITING_DOCUMENTS, Stage.REVIEW, Stage.COFUNDING, Stage.AGREEMENT, Stage.DISBURSEMENT, Stage.MONITORING}
# Short deadlines (15 to 60 programme days, seconds at 0.3 s a day): polled first in each round, so
# that a busy worker's slow round does not let an agreement lapse or a co-funding request time out.
URGENT = {Stage.AGREEMENT, Stage.COFUNDING, Stage.AWAITING_DOCUMENTS}
BEFORE_COMMITTEE = {Stage.SUBMITTED, Stage.ELIGIBILITY, Stage.AWAITING_DOCUMENTS, Stage.REVIEW}
SUBMIT_BATCH = 25

# The programme's finance officers, as the console would send their inputs (four eyes on bank details).
FINANCE = Actor(id="demo-finance", door="console", roles=frozenset({"finance"}))
FINANCE_2 = Actor(id="demo-finance-2", door="console", roles=frozenset({"finance"}))


class Simulation:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        edition: EditionSettings,
        apps: list[ApplicationSubmission],
        seed: int,
        partner_systems: partners.Partners,
        engine: Engine,
    ):
        self.client, self.queue, self.edition, self.apps = client, task_queue, edition, apps
        self.partners = partner_systems  # Region Councils, payment system, DMS, portal: through the gateway
        self.engine = engine
        self.seed, self.rng = seed, random.Random(seed)  # rng: only for what no later step depends on
        self.handles: dict[str, WorkflowHandle] = {}
        self.done: set[str] = set()  # one-shot actions already taken: (app, action)
        self.committee_met = False

    async def open_edition(self) -> None:
        self.edition_handle = await self.client.start_workflow(
            EditionWorkflow.run,
            EditionInput(settings=self.edition, opened_by="demo-officer"),
            id=edition_workflow_id(self.edition.edition),
            task_queue=self.queue,
        )

    async def submit_all(self, progress: Progress) -> None:
        """The portal forwards the applications to the edition's workflow in batches, as an import
        does; the edition checks the call window and one application per applicant."""
        gate = asyncio.Semaphore(2)  # two batches in flight: the first applications move on meanwhile
        task = progress.add_task("submitting applications to the edition", total=len(self.apps))

        async def batch(subs: list[ApplicationSubmission]) -> None:
            async with gate:
                for outcome in await submit_batch_to_edition(self.client, self.edition.edition, subs):
                    if outcome.accepted:
                        self.handles[outcome.application_id] = self.client.get_workflow_handle(outcome.application_id)
                    else:
                        console.print(Text(f"{outcome.application_id}: {outcome.reason}", style="yellow"))
                progress.advance(task, len(subs))

        await asyncio.gather(*(batch(self.apps[k : k + SUBMIT_BATCH]) for k in range(0, len(self.apps), SUBMIT_BATCH)))

    def stages(self) -> dict[str, Stage]:
        """Where each application of the edition is, as its workflow recorded it: one query."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(Application.application_id, Application.stage).where(Application.edition == self.edition.edition)
            ).all()
        return {i: Stage(stage) for i, stage in rows}

    def once(self, app_id: str, action: str) -> bool:
        key = f"{app_id}:{action}"
        if key in self.done:
            return False
        self.done.add(key)
        return True

    async def act(self, app: ApplicationSubmission, s: ApplicationStatus) -> None:
        h, a, rng, seed = self.handles[app.application_id], app.application_id, self.rng, self.seed
        w = s.waiting_for or ""
        if s.stage == people.withdraws_at(seed, a) and self.once(a, "withdraw"):
            await h.execute_update(
                ApplicationWorkflow.withdraw, Withdrawal(requested_by=app.applicant.name, reason="project abandoned")
            )
        elif s.stage == Stage.AWAITING_DOCUMENTS and self.once(a, "docs") and people.completes_documents(seed, a):
            missing = [k for k in self.edition.required_documents if k not in {d.kind for d in app.documents}]
            docs = [{"kind": k.value, "reference": f"dms/{a}/{k.value}"} for k in missing]
            await self.partners.send(
                partners.DOCUMENTS,
                f"/v1/applications/{a}/documents-verified",
                {"event_id": f"{a}-docs", "documents": docs, "verified_by": "dms"},
            )
        elif s.stage == Stage.REVIEW and s.waiting_for and self.once(a, "reviews"):  # once the edition assigned
            grids = people.review_grids(seed, a, len(s.reviewers))
            for reviewer, scores in zip(s.reviewers, grids, strict=True):  # whoever the edition assigned
                await h.execute_update(ApplicationWorkflow.submit_review, Review(reviewer_id=reviewer, scores=scores))
        elif s.stage == Stage.COFUNDING and "region" in w and self.once(a, f"cofunding-{w}"):
            region = w.split("region ")[1][:2]
            await self.partners.send(
                partners.region_client(region),
                f"/v1/applications/{a}/cofunding-decision",
                {
                    "event_id": f"{a}-cofunding",
                    "approved": people.approves_cofunding(seed, a),
                    "decided_by": f"conseil-region-{region}",
                },
            )
        elif s.stage == Stage.AGREEMENT and self.once(a, "sign") and people.signs_agreement(seed, a):
            await h.execute_update(
                ApplicationWorkflow.sign_agreement,
                AgreementSigned(  # the agreement the workflow issued, as its status names it
                    signed_by="demo-officer",
                    signed_on=date.today(),
                    bank_account=app.applicant.bank_account,
                    agreement_sha256=s.agreement_sha256,
                ),
            )
        elif s.stage == Stage.DISBURSEMENT:
            for o in s.orders:
                if o.status == "sent" and self.once(a, f"pay-{o.key}-{o.attempt}"):
                    ok = people.payment_executed(seed, o.key, o.attempt)
                    event = {"event_id": f"{o.key}-a{o.attempt}", "attempt": o.attempt}
                    if ok:
                        event["reference"] = f"TGR-{rng.randint(10**6, 10**7)}"
                    else:
                        event["reason"] = "account closed"
                    outcome = "executed" if ok else "rejected"
                    await self.partners.send(partners.PAYMENT_SYSTEM, f"/v1/payment-orders/{o.key}/{outcome}", event)
                elif o.status == "rejected" and self.once(a, f"fix-{o.key}-{o.attempt}"):
                    # New bank details: requested by one finance officer, approved by another (four eyes).
                    fixed = BankDetailsFixed(bank_account=app.applicant.bank_account, fixed_by="demo-finance")
                    await send_update(self.client, a, names.ApplicationUpdate.FIX_BANK_DETAILS, fixed, FINANCE)
                    approval = BankDetailsApproved(approved_by="demo-finance-2")
                    await send_update(self.client, a, names.ApplicationUpdate.APPROVE_BANK_DETAILS, approval, FINANCE_2)
        elif s.stage == Stage.MONITORING and w.startswith("progress report"):
            period = int(w.split()[2])
            # A few reports come late: only once the applicant has been reminded.
            late = zlib.crc32(f"{a}:{period}".encode()) % 25 == 0 and "(" not in w  # sent once reminded or escalated
            early = s.report_accepted_from is not None and datetime.now(UTC) < s.report_accepted_from  # window not open
            if not late and not early and self.once(a, f"report-{period}"):
                ind = Indicators(
                    jobs_created=rng.randint(0, app.project.jobs_created),
                    jobs_kept=app.project.jobs_kept,
                    beneficiaries=app.project.beneficiaries,
                    women=app.project.women,
                    youth=app.project.youth,
                    revenue=mad(rng.randint(0, 50_000)),
                    spend=mad(rng.randint(5_000, 40_000)),
                )
                await self.partners.send(
                    partners.PORTAL,
                    f"/v1/applications/{a}/progress-reports",
                    {
                        "event_id": f"{a}-report-{period}",
                        "applicant": app.applicant.registration_number,
                        "period": period,
                        "indicators": ind.model_dump(mode="json"),
                    },
                )
        elif s.stage == Stage.MONITORING and w.startswith("approval of progress report"):
            period = int(w.split()[4])
            if self.once(a, f"approve-{period}"):
                await h.execute_update(
                    ApplicationWorkflow.review_report,
                    ReportReview(period=period, approved=True, decided_by="demo-officer"),
                )

    async def committee(self) -> None:
        """Ops close the call once every application is past review; the edition's committee ranks and
        fills the envelopes; ops look at the proposal and confirm it; the edition sends the decisions."""
        self.committee_met = True
        await self.edition_handle.execute_update(EditionWorkflow.close_call, CloseCall(closed_by="demo-officer"))
        for _ in range(600):
            with contextlib.suppress(RPCError):  # a query a busy server timed out: asked again
                s = await self.edition_handle.query(EditionWorkflow.get_status)
                if s.proposal is not None:
                    break
            await asyncio.sleep(0.5)
        p = s.proposal
        console.print(
            f"committee proposal: {p.selected} selected, {p.waitlisted} waitlisted, {p.rejected} rejected; "
            f"by funder {p.by_funder}"
        )
        await self.edition_handle.execute_update(
            EditionWorkflow.confirm_selection, SelectionConfirmed(confirmed_by="demo-director")
        )

    async def run(self, timeout: float) -> None:
        by_id = {a.application_id: a for a in self.apps}
        deadline = time.monotonic() + timeout
        sem = asyncio.Semaphore(24)

        async def poll(i: str) -> None:
            async with sem:
                try:
                    s = await self.handles[i].query(ApplicationWorkflow.get_status)
                    if s.stage in FINAL_STAGES:
                        self.done.add(i)
                        return
                    await self.act(by_id[i], s)
                # A refusal is an answer, and a query a busy server timed out is asked again next
                # round: the demo logs either and goes on.
                except Exception as e:
                    console.print(Text(f"{i}: {getattr(e, 'cause', None) or e}", style="yellow"))

        with Progress(console=console) as progress:
            # The submitted applications are polled while the rest are submitted: an applicant missing
            # a document sends it within its deadline (15 programme days), however long the call takes.
            submitting = asyncio.create_task(self.submit_all(progress))
            task = progress.add_task("applications closed", total=len(self.apps))
            while time.monotonic() < deadline:
                if submitting.done():
                    submitting.result()  # its failure ends the demo
                stages = await asyncio.to_thread(self.stages)
                self.done |= {i for i, stage in stages.items() if stage in FINAL_STAGES}
                if submitting.done() and all(i in self.done for i in self.handles):
                    break
                # Only where someone simulated has something to do: not the hundreds waiting on the
                # committee or on the waitlist.
                due = [i for i in self.handles if i not in self.done and stages.get(i) in ACTS]
                due.sort(key=lambda i: stages[i] not in URGENT)  # polled in this order (the semaphore is fair)
                await asyncio.gather(*(poll(i) for i in due))
                progress.update(task, completed=sum(1 for stage in stages.values() if stage in FINAL_STAGES))
                everyone_in = submitting.done() and len(stages) == len(self.handles)
                if not self.committee_met and everyone_in and not BEFORE_COMMITTEE & set(stages.values()):
                    await self.committee()
                await asyncio.sleep(0.5)


async def messages_sent(engine: Engine, edition: int, wait: float = 90) -> None:
    """What the programme told this edition's people: the outbox by kind, once its schedule has sent
    what is due."""
    deadline = time.monotonic() + wait
    while True:
        with Session(engine) as s:
            counts = s.execute(
                select(OutboxRow.kind, OutboxRow.state, func.count())
                .where(OutboxRow.application_id.like(f"moazara-{edition}-%"))
                .group_by(OutboxRow.kind, OutboxRow.state)
            ).all()
        pending = sum(n for _, state, n in counts if state == "pending")
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(3)
    sent = {kind: n for kind, state, n in counts if state == "sent"}
    console.print(f"Messages sent: {sum(sent.values())} (still pending: {pending}), as .eml files in var/mail/:")
    for kind, n in sorted(sent.items()):
        console.print(f"  {kind:22} {n}", markup=False)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=REQUESTS, help="applications to generate (the 4th edition's size)")
    parser.add_argument("--day", type=float, default=0.3, help="seconds per programme day")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before the demo gives up waiting")
    args = parser.parse_args()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    people = demo_users.ensure(engine)  # console users, one per role: signed in while the demo runs
    repo = Repository(engine)
    demo_users.ensure_reviewers(repo)
    client = await connect(settings)
    # A new demo run is a new edition number so the ids never clash with an earlier run.
    number = max([r["edition"] for r in repo.list_applications(limit=100_000)], default=3) + 1
    edition = demo_edition(args.day).model_copy(update={"edition": number})
    # The applicants' RIBs are held in the vault, as a front door does: histories carry references.
    apps = held_all(generate(edition, args.n, args.seed), bank_accounts(settings, engine), "demo-portal")
    console.print(f"Edition {number}: {len(apps)} applications, one programme day = {args.day}s")
    clients = partners.ensure_clients(settings, edition)
    partner_systems = partners.Partners(f"http://127.0.0.1:{settings.gateway_port}", clients)
    await partner_systems.wait_until_ready()
    sim = Simulation(client, settings.task_queue, edition, apps, args.seed, partner_systems, engine)
    await sim.open_edition()
    await sim.run(args.timeout)
    console.print("waiting for the edition to close its waitlist …")
    await asyncio.wait_for(sim.edition_handle.result(), timeout=max(60.0, args.day * edition.waitlist_days * 3))
    report = edition_report(edition.edition)  # now, from the database: every application has closed
    write_report(report, Path("var/reports"))
    ok = shape.counts_add_up(console, report, len(apps))
    shape.print_shape(console, shape.proposal_shape(engine, edition, apps), report, edition)
    await messages_sent(engine, edition.edition)
    for path in report_pdfs(engine, settings, edition, Path("var/reports")):
        console.print(f"Programme report: {path}")
    # A second call stays open, so that whoever signs in to the console finds work waiting on them.
    still_open = demo_edition(OPEN_DAY).model_copy(update={"edition": number + 1})
    waiting = await leave_open(client, settings, engine, still_open, args.seed + 1)
    console.print(
        f"Edition {still_open.edition} stays open until {still_open.call_closes} (a programme day = {OPEN_DAY:g} s), "
        "its applications waiting on people (for what: how many): "
        + "; ".join(f"{what}: {n}" for what, n in waiting.most_common()),
        markup=False,
    )
    console.print("Temporal Web UI: http://localhost:8233   (stop the services with `make down`)")
    console.print(f"Console: http://localhost:{settings.console_port}   demo users (also in {demo_users.FILE}):")
    for login, password in people.items():
        console.print(f"  {login:16} {password:20} {', '.join(demo_users.USERS[login][1])}", markup=False)
    console.print(f"Partner systems call the gateway (http://localhost:{settings.gateway_port}/docs) as:")
    for client_id, c in clients.items():
        scope = f" {c['region_code']}" if c.get("region_code") else ""
        console.print(
            f"  {client_id:22} {c['role']}{scope:4} HMAC secret {c['hmac_secrets'][0]}", markup=False, soft_wrap=True
        )
    console.print(f"  (stored in {settings.secrets_file}, which the gateway re-reads)", markup=False)
    await partner_systems.close()
    return 0 if ok else 1


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)  # a plain exit can abort in the Temporal client's teardown (sdk-python#300)
