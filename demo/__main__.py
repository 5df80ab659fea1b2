"""`make demo`: a generated 4th-edition-shaped call driven through every stage on the embedded default.

Simulated people and systems answer each application's workflow as they would: reviewers,
the committee (ranking within the envelopes), Region Councils, the applicants (documents,
agreement, reports, a few withdrawals), the payment system (a few rejected orders that ops
then fix). The calendar is compressed (one programme day = DAY seconds) so two years of
monitoring pass in minutes; the workflows, timers and database are the real ones.
"""

import argparse
import os
import sys
import asyncio
import random
import time
import zlib
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError

from demo.generate import generate
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.edition import EditionSettings, edition_4_settings
from domain.models import (
    FINAL_STAGES,
    AgreementSigned,
    ApplicationInput,
    ApplicationStatus,
    ApplicationSubmission,
    BankDetailsFixed,
    CoFundingDecision,
    CommitteeDecision,
    Decision,
    DocumentsCompleted,
    Document,
    Indicators,
    PaymentResult,
    ProgressReport,
    ReportReview,
    Stage,
    Withdrawal,
)
from domain.edition import Criterion
from domain.models import Review
from domain.money import mad
from domain.reference import MINISTRY, region_funder
from domain.scoring import priority_score
from settings import get_settings
from temporal_connection import connect
from workflows.application import ApplicationWorkflow

console = Console()


def demo_edition(day_seconds: float) -> EditionSettings:
    today = date.today()
    return edition_4_settings().model_copy(
        update={
            "call_opens": today,
            "call_closes": today + timedelta(days=28),
            "ministry_envelope": Decimal("3500000.00"),
            "day_length": timedelta(seconds=day_seconds),
            "max_duration_months": 12,
        }
    )


class Simulation:
    def __init__(self, client: Client, task_queue: str, edition: EditionSettings, apps: list[ApplicationSubmission], seed: int):
        self.client, self.queue, self.edition, self.apps = client, task_queue, edition, apps
        self.rng = random.Random(seed)
        self.handles: dict[str, WorkflowHandle] = {}
        self.status: dict[str, ApplicationStatus] = {}
        self.done: set[str] = set()  # one-shot actions already taken: (app, action)
        self.committee_met = False

    async def submit_all(self) -> None:
        sem = asyncio.Semaphore(32)

        async def one(app: ApplicationSubmission, progress, task) -> None:
            async with sem:
                try:
                    self.handles[app.application_id] = await self.client.start_workflow(
                        ApplicationWorkflow.run,
                        ApplicationInput(settings=self.edition, submission=app, submitted_by="demo-import"),
                        id=app.application_id,
                        task_queue=self.queue,
                    )
                except WorkflowAlreadyStartedError:
                    self.handles[app.application_id] = self.client.get_workflow_handle(app.application_id)
                progress.advance(task)

        with Progress(console=console) as progress:
            task = progress.add_task("submitting applications", total=len(self.apps))
            await asyncio.gather(*(one(a, progress, task) for a in self.apps))

    def once(self, app_id: str, action: str) -> bool:
        key = f"{app_id}:{action}"
        if key in self.done:
            return False
        self.done.add(key)
        return True

    async def act(self, app: ApplicationSubmission, s: ApplicationStatus) -> None:
        h, a, rng = self.handles[app.application_id], app.application_id, self.rng
        w = s.waiting_for or ""
        if s.stage == Stage.AWAITING_DOCUMENTS and self.once(a, "docs") and rng.random() < 0.7:
            missing = [k for k in self.edition.required_documents if k not in {d.kind for d in app.documents}]
            docs = tuple(Document(kind=k, reference=f"dms/{a}/{k.value}") for k in missing)
            await h.execute_update(ApplicationWorkflow.complete_documents, DocumentsCompleted(documents=docs))
        elif s.stage == Stage.REVIEW and self.once(a, "reviews"):
            quality = rng.randint(3, 9)
            for i in range(self.edition.reviewers_per_application):
                scores = {c: max(0, min(10, quality + rng.randint(-2, 2))) for c in Criterion}
                await h.execute_update(ApplicationWorkflow.submit_review, Review(reviewer_id=f"reviewer-{i + 1}", scores=scores))
        elif s.stage == Stage.COFUNDING and "region" in w and self.once(a, f"cofunding-{w}"):
            region = w.split("region ")[1][:2]
            await h.execute_update(
                ApplicationWorkflow.cofunding_decision,
                CoFundingDecision(region_code=region, approved=rng.random() < 0.8, decided_by=f"conseil-region-{region}"),
            )
        elif s.stage == Stage.AGREEMENT and self.once(a, "sign") and rng.random() < 0.96:
            await h.execute_update(
                ApplicationWorkflow.sign_agreement,
                AgreementSigned(signed_by="demo-officer", signed_on=date.today(), bank_account=app.applicant.bank_account),
            )
        elif s.stage == Stage.DISBURSEMENT:
            for o in s.orders:
                if o.status == "sent" and self.once(a, f"pay-{o.key}-{o.attempt}"):
                    ok = o.attempt > 1 or rng.random() > 0.06
                    await h.execute_update(
                        ApplicationWorkflow.payment_result,
                        PaymentResult(order_key=o.key, attempt=o.attempt, executed=ok, reference=f"TGR-{rng.randint(10**6, 10**7)}",
                                      reason="" if ok else "account closed"),
                    )
                elif o.status == "rejected" and self.once(a, f"fix-{o.key}-{o.attempt}"):
                    await h.execute_update(ApplicationWorkflow.fix_bank_details,
                                           BankDetailsFixed(bank_account=app.applicant.bank_account, fixed_by="demo-officer"))
        elif s.stage == Stage.MONITORING and w.startswith("progress report"):
            period = int(w.split()[2])
            # A few reports come late: only once the applicant has been reminded.
            late = zlib.crc32(f"{a}:{period}".encode()) % 25 == 0 and "reminded" not in w
            if not late and self.once(a, f"report-{period}"):
                ind = Indicators(jobs_created=rng.randint(0, app.project.jobs_created), jobs_kept=app.project.jobs_kept,
                                 beneficiaries=app.project.beneficiaries, women=app.project.women, youth=app.project.youth,
                                 revenue=mad(rng.randint(0, 50_000)), spend=mad(rng.randint(5_000, 40_000)))
                await h.execute_update(ApplicationWorkflow.submit_report, ProgressReport(period=period, indicators=ind))
        elif s.stage == Stage.MONITORING and w.startswith("approval of progress report"):
            period = int(w.split()[4])
            if self.once(a, f"approve-{period}"):
                await h.execute_update(ApplicationWorkflow.review_report,
                                       ReportReview(period=period, approved=True, decided_by="demo-officer"))
        if s.stage not in FINAL_STAGES and s.stage != Stage.SUBMITTED and self.once(a, "maybe-withdraw") and rng.random() < 0.02:
            await h.execute_update(ApplicationWorkflow.withdraw, Withdrawal(requested_by=app.applicant.name, reason="project abandoned"))

    async def committee(self) -> None:
        """Rank the reviewed applications and fill each envelope; the rest are waitlisted or rejected."""
        self.committee_met = True
        by_id = {a.application_id: a for a in self.apps}
        waiting = [i for i, s in self.status.items() if s.stage == Stage.COMMITTEE]
        ranked = sorted(
            waiting,
            key=lambda i: (-priority_score(self.status[i].score or Decimal(0), by_id[i].applicant.province, self.edition), i),
        )
        left = {MINISTRY: self.edition.ministry_envelope} | {region_funder(p.region_code): p.envelope for p in self.edition.partners}
        waitlist = 0
        for rank, i in enumerate(ranked, start=1):
            app = by_id[i]
            funder = MINISTRY
            if self.edition.funds(app.applicant.legal_form, app.applicant.region_code) == "partner":
                funder = region_funder(app.applicant.region_code)
            award = app.project.requested_amount
            if left[funder] >= award:
                left[funder] -= award
                d = CommitteeDecision(decision=Decision.SELECTED, award=award, funders={funder: award}, rank=rank,
                                      honorary_award=rank <= self.edition.honorary_awards, decided_by="demo-committee")
            elif waitlist < 15:
                waitlist += 1
                d = CommitteeDecision(decision=Decision.WAITLISTED, rank=rank, decided_by="demo-committee")
            else:
                d = CommitteeDecision(decision=Decision.REJECTED, rank=rank, decided_by="demo-committee", reason="below the line")
            await self.handles[i].execute_update(ApplicationWorkflow.decide, d)

    async def run(self, timeout: float) -> None:
        by_id = {a.application_id: a for a in self.apps}
        deadline = time.monotonic() + timeout
        sem = asyncio.Semaphore(24)

        async def poll(i: str) -> None:
            async with sem:
                s = await self.handles[i].query(ApplicationWorkflow.get_status)
                self.status[i] = s
                if s.stage in FINAL_STAGES:
                    self.done.add(i)
                    return
                try:
                    await self.act(by_id[i], s)
                except Exception as e:  # a refusal is an answer, not a crash: the demo logs and goes on
                    console.print(f"[yellow]{i}: {getattr(e, 'cause', None) or e}[/]")

        with Progress(console=console) as progress:
            task = progress.add_task("applications closed", total=len(self.apps))
            while time.monotonic() < deadline:
                open_ids = [i for i in self.handles if i not in self.done]
                if not open_ids:
                    break
                await asyncio.gather(*(poll(i) for i in open_ids))
                progress.update(task, completed=sum(1 for s in self.status.values() if s.stage in FINAL_STAGES))
                pending_review = any(s.stage in {Stage.SUBMITTED, Stage.ELIGIBILITY, Stage.AWAITING_DOCUMENTS, Stage.REVIEW}
                                     for s in self.status.values())
                if not self.committee_met and len(self.status) == len(self.apps) and not pending_review:
                    await self.committee()
                await asyncio.sleep(0.5)


def summary(repo: Repository, edition: EditionSettings, n: int) -> bool:
    counts = repo.stage_counts(edition.edition)
    table = Table(title=f"Edition {edition.edition}: where every application ended")
    table.add_column("stage")
    table.add_column("applications", justify="right")
    for stage, c in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(stage, str(c))
    table.add_row("[b]total[/]", f"[b]{sum(counts.values())}[/]")
    console.print(table)
    rows = repo.list_applications(edition=edition.edition, limit=100_000)
    money = Table(title="Money per funder (MAD)")
    for col in ("funder", "awarded", "paid"):
        money.add_column(col, justify="right" if col != "funder" else "left")
    paid = repo.ledger_total(edition.edition)
    awarded: Counter = Counter()
    for r in rows:
        for funder, amount in repo.get_application(r["id"])["funders"].items():
            awarded[funder] += amount
    for funder in sorted(set(awarded) | set(paid)):
        money.add_row(funder, f"{awarded.get(funder, 0):,.2f}", f"{paid.get(funder, Decimal(0)):,.2f}")
    console.print(money)
    quake = [r for r in rows if r["province"] in edition.priority_provinces and r["stage"] == "completed"]
    console.print(f"Completed grants in the earthquake-hit provinces: {len(quake)}")
    ok = sum(counts.values()) == n
    console.print(("[green]counts add up[/]" if ok else "[red]counts do not add up[/]") + f": {sum(counts.values())} of {n} applications")
    return ok


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="applications to generate")
    parser.add_argument("--day", type=float, default=0.3, help="seconds per programme day")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before the demo gives up waiting")
    args = parser.parse_args()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    repo = Repository(engine)
    client = await connect(settings)
    # A new demo run is a new edition number so the ids never clash with an earlier run.
    number = max([r["edition"] for r in repo.list_applications(limit=100_000)], default=3) + 1
    edition = demo_edition(args.day).model_copy(update={"edition": number})
    apps = generate(edition, args.n, args.seed)
    console.print(f"Edition {number}: {len(apps)} applications, one programme day = {args.day}s")
    sim = Simulation(client, settings.task_queue, edition, apps, args.seed)
    await sim.submit_all()
    await sim.run(args.timeout)
    ok = summary(repo, edition, len(apps))
    console.print("Temporal Web UI: http://localhost:8233   (stop the services with `make down`)")
    return 0 if ok else 1


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)  # a plain exit can abort in the Temporal client's teardown (sdk-python#300)
