"""An auditor's tools on real runs: a small edition driven on the time-skipping server by the
production worker, then read back through its histories — the decision timeline, money
reconciliation against the database (and its tampered copies), and the audit log's verification.
Some checks run the CLI itself (`python -m audit`, a subprocess) as an auditor would."""

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest_asyncio
from sqlalchemy import delete, insert, select, update
from temporalio.client import WorkflowHandle

from audit import events, histories, reconcile, timeline
from audit.verify import verify
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.db.tables import (
    AuditEntry,
    DecisionRow,
    LedgerRow,
    PaymentOrderRow,
    StageChange,
)
from simulation.factories import valid_rib
from tests import golden_histories as golden
from tests import golden_scenarios

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [
    "full",
    "payment-rejected-fixed-then-cancelled",
    "cofunding-approved-then-withdrawn",
    "cofunding-declined-then-terminated",
    "slow-reviews-and-committee",
    "edition",
]


@dataclass
class Trail:
    db: Path
    repo: Repository
    handles: dict[str, WorkflowHandle]
    address: str
    client: object


@pytest_asyncio.fixture(scope="module")
async def trail(ts_env, executor, tmp_path_factory) -> Trail:
    db = tmp_path_factory.mktemp("trail") / "moazara.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    repo = Repository(engine)
    chosen = [s for s in golden.SCENARIOS if s.name in SCENARIOS]
    handles = await golden.run_scenarios(ts_env, repo, chosen, executor)
    return Trail(db, repo, handles, ts_env.client.service_client.config.target_host, ts_env.client)


def copy_of(trail: Trail, tmp_path: Path) -> Repository:
    """A copy of the edition's database to tamper with (the backup API copies the WAL too)."""
    path = tmp_path / "copy.db"
    with sqlite3.connect(trail.db) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return Repository(make_engine(f"sqlite:///{path}"))


def cli(trail: Trail, *args: str, db: Path | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": trail.address,
        "DATABASE_URL": f"sqlite:///{db or trail.db}",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "audit", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def timeline_of(trail: Trail, scenario: str) -> timeline.Timeline:
    h = await histories.fetch(trail.client, trail.handles[scenario].id)
    return timeline.build(await events.parse(h, trail.client.data_converter))


async def histories_of(trail: Trail) -> dict:
    return {h.id: await histories.fetch(trail.client, h.id) for h in trail.handles.values()}


# --- timeline ----------------------------------------------------------------------------------------


async def test_timeline_of_a_complete_lifecycle_lists_every_decision_with_its_sender(trail):
    app = trail.handles["full"].id
    t = await timeline_of(trail, "full")
    ids = [e.event_id for e in t.entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # oldest first, each event once
    assert all(a.at <= b.at for a, b in zip(t.entries, t.entries[1:], strict=False))

    # Every input, with its sender, in order, all accepted.
    updates = [(e.actor, e.detail["update"], e.accepted) for e in t.entries if e.kind == "update"]
    payment_system = next(a for a, name, _ in updates if name == "payment_result")
    assert payment_system.startswith("client ")  # the payment system signs nothing in its payload: its client identity
    assert updates == [
        ("reviewer-0", "submit_review", True),
        ("reviewer-1", "submit_review", True),
        ("committee", "decide", True),
        ("officer-test", "sign_agreement", True),
        (payment_system, "payment_result", True),
        ("portal", "submit_report", True),
        ("portal", "submit_report", True),
        ("officer-test", "review_report", True),
        (payment_system, "payment_result", True),
        ("portal", "submit_report", True),
        ("portal", "submit_report", True),
        ("officer-test", "review_report", True),
    ]
    assert t.entries[0].actor == "officer-test" and t.entries[0].kind == "workflow"  # who submitted it
    assert "committee decision: selected, award 40000.00 MAD (ministry 40000.00 MAD)" in next(
        e.summary for e in t.entries if e.kind == "update" and e.actor == "committee"
    )

    # Every decision the database holds is in the history, with the same sender.
    with trail.repo._tx() as s:
        rows = s.execute(
            select(DecisionRow.kind, DecisionRow.seq, DecisionRow.outcome, DecisionRow.decided_by).where(
                DecisionRow.application_id == app
            )
        ).all()
        stages = s.scalars(
            select(StageChange.stage)
            .where(StageChange.application_id == app, StageChange.seq > 0)
            .order_by(StageChange.seq)
        ).all()
    recorded = [e.summary for e in t.entries if e.summary.startswith("decision recorded")]
    assert sorted(recorded) == sorted(f"decision recorded: {k} #{n} {o}, by {by}" for k, n, o, by in rows)
    assert len(rows) == 4  # committee, agreement, two report approvals

    # Every stage entered, in the order the database recorded them.
    assert [e.detail["stage"] for e in t.entries if e.kind == "stage"] == stages
    assert stages[0] == "submitted" and stages[-1] == "completed"

    # Money: two orders and two payments, 60% then 40% of the award.
    money = [e.summary for e in t.entries if e.kind == "payment"]
    assert len(money) == 4
    assert len([m for m in money if m.startswith(f"payment order {app}")]) == 2
    assert [m.split(", ")[0] for m in money if m.startswith(f"payment {app}")] == [
        f"payment {app}:T1:ministry executed",
        f"payment {app}:T2:ministry executed",
    ]
    assert any("24000.00 MAD, tranche 1, ministry" in m for m in money)
    assert any("16000.00 MAD, tranche 2, ministry" in m for m in money)
    assert t.entries[-1].summary == "workflow completed: final stage completed"

    # The account the agreement was signed with appears masked, never in clear.
    dump = t.model_dump_json()
    rib = valid_rib(42)
    assert rib not in dump and f"{rib[:3]}{'*' * 17}{rib[-4:]}" in dump


async def test_timeline_shows_deadlines_that_passed_and_refusals(trail):
    t = await timeline_of(trail, "slow-reviews-and-committee")
    fired = [e.summary for e in t.entries if e.kind == "timer"]
    assert fired == [
        "deadline passed: waiting for 2 reviews (after 21 days)",
        "deadline passed: waiting for 2 reviews (reminded) (after 7 days)",
        "deadline passed: waiting for committee decision (after 120 days)",
    ]
    notices = [e.summary for e in t.entries if e.kind == "notice"]
    assert notices == [
        "reminder: reviews missing at the review deadline",
        "escalation: reviews still missing after the reminder",
        "escalation: no committee decision in time",
    ]
    # The rejected payment and the fixed account, as the payment system and ops sent them.
    t = await timeline_of(trail, "payment-rejected-fixed-then-cancelled")
    lines = [(e.actor, e.summary) for e in t.entries if e.kind in ("update", "payment")]
    assert any(s.startswith("payment system: order") and "rejected: account closed" in s for _, s in lines)
    assert (
        "finance-karim",
        "bank details fixed: new account 007*****************"
        + valid_rib(7)[-4:]
        + " - accepted: bank details change requested by finance-karim: another person approves it",
    ) in lines
    assert (
        "finance-salma",
        "new bank details approved - accepted: bank details fixed; 1 payment order(s) sent again",
    ) in lines
    assert any("sent again (attempt 2)" in s for _, s in lines)
    assert valid_rib(7) not in t.model_dump_json()


async def test_timeline_cli_answers_in_json(trail):
    run = cli(trail, "timeline", trail.handles["full"].id, "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["workflow_id"] == trail.handles["full"].id
    assert [e["kind"] for e in data["entries"]].count("update") == 12
    assert valid_rib(42) not in run.stdout


# --- reconcile ---------------------------------------------------------------------------------------


async def test_the_edition_reconciles(trail):
    result = await reconcile.reconcile(trail.repo, 4, await histories_of(trail), trail.client.data_converter)
    assert result.mismatches == []
    assert (result.applications, result.histories) == (5, 5)
    # Paid per funder: the ledger, the histories and the repository's own edition total agree.
    assert result.paid_db == result.paid_history == trail.repo.ledger_total(4)
    assert result.paid_db == {"ministry": Decimal("88000.00"), "region-02": Decimal("24000.00")}


async def test_reconcile_finds_a_deleted_payment_order(trail, tmp_path):
    repo = copy_of(trail, tmp_path)
    key = f"{trail.handles['payment-rejected-fixed-then-cancelled'].id}:T1:ministry"
    with repo.engine.begin() as c:
        c.execute(delete(PaymentOrderRow).where(PaymentOrderRow.key == key))
    result = await reconcile.reconcile(repo, 4, await histories_of(trail), trail.client.data_converter)
    [m] = result.mismatches
    assert (m.application_id, m.check) == (trail.handles["payment-rejected-fixed-then-cancelled"].id, "orders")
    assert m.detail.startswith(f"payment order {key} (24000.00 MAD) was created in the history (event ")
    assert m.detail.endswith("; missing from the database")


async def test_reconcile_finds_a_payment_doubled_in_the_database(trail, tmp_path):
    repo = copy_of(trail, tmp_path)
    app = trail.handles["full"].id
    with repo.engine.begin() as c:
        first = c.execute(select(LedgerRow).where(LedgerRow.order_key == f"{app}:T1:ministry")).one()
        c.execute(
            insert(LedgerRow).values(
                application_id=app,
                funder="ministry",
                kind="payment",
                amount=first.amount,
                order_key=None,
                reference=first.reference,
                at=first.at,
            )
        )
        doubled = c.execute(select(LedgerRow.id).where(LedgerRow.order_key.is_(None))).scalar_one()
    result = await reconcile.reconcile(repo, 4, await histories_of(trail), trail.client.data_converter)
    assert [str(m) for m in result.mismatches] == [
        f"{app}: [ledger] ledger row {doubled} (24000.00 MAD to ministry, order None) has no completed record_payment in the history",
        f"{app}: [per-funder] ministry: 64000.00 MAD paid in the ledger, 40000.00 MAD in the history",
        f"{app}: [award] ministry: 64000.00 MAD paid, above its award of 40000.00 MAD in the database",
        f"{app}: [award] ministry: 64000.00 MAD paid, above its award of 40000.00 MAD in the history",
        "edition 4: [per-funder] ministry: 112000.00 MAD in the ledger, 88000.00 MAD in the histories",
    ]


async def test_reconcile_finds_a_payment_missing_from_the_ledger(trail, tmp_path):
    repo = copy_of(trail, tmp_path)
    app = trail.handles["cofunding-approved-then-withdrawn"].id
    key = f"{app}:T1:region-02"
    with repo.engine.begin() as c:
        c.execute(delete(LedgerRow).where(LedgerRow.order_key == key))
    result = await reconcile.reconcile(repo, 4, await histories_of(trail), trail.client.data_converter)
    details = [str(m) for m in result.mismatches]
    assert len(details) == 3, details
    assert details[0].startswith(f"{app}: [ledger] payment {key} (24000.00 MAD) recorded in the history (event ")
    assert details[0].endswith("missing from the ledger")
    assert details[1:] == [
        f"{app}: [per-funder] region-02: 0.00 MAD paid in the ledger, 24000.00 MAD in the history",
        "edition 4: [per-funder] region-02: 0.00 MAD in the ledger, 24000.00 MAD in the histories",
    ]


async def test_reconcile_finds_money_paid_without_selection_or_above_the_award(trail, tmp_path):
    repo = copy_of(trail, tmp_path)
    app = trail.handles["cofunding-declined-then-terminated"].id
    with repo.engine.begin() as c:
        c.execute(delete(DecisionRow).where(DecisionRow.application_id == app, DecisionRow.kind == "committee"))
        c.execute(
            update(PaymentOrderRow).where(PaymentOrderRow.application_id == app).values(amount=Decimal("24000.01"))
        )
    result = await reconcile.reconcile(repo, 4, await histories_of(trail), trail.client.data_converter)
    assert [str(m) for m in result.mismatches] == [
        f"{app}: [orders] payment order {app}:T1:ministry: 24000.01 MAD in the database, 24000.00 MAD in the history",
        f"{app}: [selection] paid without a committee decision 'selected' in the database",
    ]


async def test_reconcile_cli_from_exported_histories(trail, tmp_path):
    """An auditor exports the edition (listed from the database), then reconciles a tampered
    database against the files: exit 1, every mismatch printed."""
    out = tmp_path / "histories"
    run = cli(trail, "export", "--edition", "4", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.glob("*.json")) == sorted(
        f"{h.id}.json" for h in trail.handles.values() if h.id.startswith("moazara-4-")
    )
    assert run.stdout.strip().endswith(f"5 histories written to {out}")

    repo = copy_of(trail, tmp_path)
    key = f"{trail.handles['full'].id}:T2:ministry"
    with repo.engine.begin() as c:
        c.execute(delete(LedgerRow).where(LedgerRow.order_key == key))
    run = cli(trail, "reconcile", "--edition", "4", "--histories", str(out), db=Path(repo.engine.url.database))
    assert run.returncode == 1
    assert f"MISMATCH {trail.handles['full'].id}: [ledger] payment {key} (16000.00 MAD)" in run.stderr
    assert "3 mismatch(es)" in run.stdout  # the payment, its funder's sum, the edition's sum
    run = cli(trail, "reconcile", "--edition", "4", "--histories", str(out))
    assert run.returncode == 0, run.stderr + run.stdout


def test_an_editions_workflows_listed_from_the_database_include_the_edition_workflow(trail):
    assert histories.edition_workflow_ids(trail.repo, golden_scenarios.EDITION) == [
        f"moazara-edition-{golden_scenarios.EDITION}",
        *(f"moazara-{golden_scenarios.EDITION}-GOLD-ED-{x}" for x in "ABC"),
    ]
    assert len(histories.edition_workflow_ids(trail.repo, 4)) == 5  # opened without an EditionWorkflow


# --- the audit log of real runs ------------------------------------------------------------------------


async def test_the_audit_log_of_the_edition_verifies_and_an_edit_is_named(trail, tmp_path):
    report = verify(trail.repo.engine, edition=4)
    assert report.ok, report.findings
    assert report.applications == 5 and report.entries > 100
    everything = verify(trail.repo.engine)  # the edition run through its EditionWorkflow too
    assert everything.ok and everything.applications == 8, everything.findings
    repo = copy_of(trail, tmp_path)
    app = trail.handles["full"].id
    with repo.engine.begin() as c:
        entry = c.execute(
            select(AuditEntry)
            .where(AuditEntry.application_id == app, AuditEntry.kind == "payment")
            .order_by(AuditEntry.seq)
        ).first()
        c.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry.id)
            .values(payload={**entry.payload, "ledger": {**entry.payload["ledger"], "amount": "2400.00"}})
        )
    run = cli(trail, "verify", "--edition", "4", db=Path(repo.engine.url.database))
    assert run.returncode == 1
    assert f"TAMPERED {app}: audit_log id {entry.id} (seq {entry.seq}, {entry.ref}): edited" in run.stderr
    assert "1 finding(s)" in run.stdout
