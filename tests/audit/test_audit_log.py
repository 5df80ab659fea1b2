"""The audit log's hash chain as the repository writes it, on SQLite and on PostgreSQL: one entry
per decision and money movement, none for a retry, in the same transaction as the row it records,
and `verify` naming an edited or deleted row."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import delete, select, text, update

from audit.verify import Head, verify
from domain.db import chain
from domain.db.repository import AwardExceeded, DecisionRecord, Repository
from domain.db.tables import AuditEntry, DecisionRow, LedgerRow
from domain.models import EligibilityResult, PaymentOrder
from simulation.factories import make_review, make_submission, valid_rib

T0 = datetime(2023, 10, 1, 9, 0, tzinfo=UTC)
RIB = valid_rib(1)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def entries(repo: Repository, app_id: str) -> list[AuditEntry]:
    with repo._tx() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.application_id == app_id).order_by(AuditEntry.seq)))


def sql(repo: Repository, stmt) -> None:
    with repo.engine.begin() as conn:
        conn.execute(stmt)


def funded(repo: Repository, reg: str = "ASSO-0001") -> str:
    """Submitted, eligible, reviewed, selected, signed; T1 paid, T2 rejected then re-sent: every kind of entry."""
    sub = make_submission(reg)
    app = sub.application_id
    repo.record_submission(app, app, sub, "officer-1", T0)
    repo.set_stage(app, 1, "eligibility", at(1))
    repo.record_eligibility(app, 1, EligibilityResult(rule_set_version="2024.1"), at(1))
    repo.record_review(app, make_review("r1"), Decimal("70.00"), at(2))
    repo.record_decision(app, DecisionRecord("committee", 1, "selected", {"award": "40000.00"}, "committee", at(3)))
    repo.set_award(app, {"ministry": Decimal("40000.00")})
    repo.record_decision(app, DecisionRecord("agreement", 1, "signed", {"signed_by": "officer"}, "officer", at(4)))
    for n, amount in ((1, "24000.00"), (2, "16000.00")):
        repo.create_payment_order(
            PaymentOrder(
                key=f"{app}:T{n}:ministry", application_id=app, tranche=n, funder="ministry", amount=Decimal(amount)
            ),
            RIB,
            at(5),
        )
    repo.record_payment(f"{app}:T1:ministry", 1, "PAY-1", at(6))
    repo.mark_payment_rejected(f"{app}:T2:ministry", 1, "account closed", at(7))
    repo.retry_payment_order(f"{app}:T2:ministry", 2, valid_rib(2), at(8))
    return app


def test_every_decision_and_money_movement_is_chained_once(repo):
    app = funded(repo)
    log = entries(repo, app)
    assert [(e.seq, e.kind, e.ref) for e in log] == [
        (1, "submission", "submission"),
        (2, "stage", "stage:1"),
        (3, "eligibility", "eligibility:1"),
        (4, "review", "review:r1"),
        (5, "decision", "decision:committee:1"),
        (6, "award", "award"),
        (7, "decision", "decision:agreement:1"),
        (8, "payment_order", f"order:{app}:T1:ministry"),
        (9, "payment_order", f"order:{app}:T2:ministry"),
        (10, "payment", f"ledger:{app}:T1:ministry"),
        (11, "payment_order", f"order:{app}:T2:ministry"),
        (12, "payment_order", f"order:{app}:T2:ministry"),
    ]
    # A chain: each entry carries the hash of the one before, and its own hash is over its content.
    assert log[0].prev_hash == chain.GENESIS
    assert all(b.prev_hash == a.hash for a, b in pairwise(log))
    assert all(chain.row_hash(e) == e.hash for e in log)
    assert log[9].payload["ledger"]["amount"] == "24000.00"  # money as Decimal strings
    # Bank accounts are masked in the log; the order keeps the account the payment system needs.
    assert RIB not in str([e.payload for e in log]) and log[7].payload["order"]["bank_account"].endswith(RIB[-4:])

    # Retries (Temporal retries activities) write nothing twice and log nothing.
    repo.set_stage(app, 1, "eligibility", at(1))
    repo.record_review(app, make_review("r1"), Decimal("70.00"), at(2))
    repo.record_decision(app, DecisionRecord("committee", 1, "selected", {"award": "40000.00"}, "committee", at(3)))
    repo.set_award(app, {"ministry": Decimal("40000.00")})
    repo.create_payment_order(
        PaymentOrder(
            key=f"{app}:T1:ministry", application_id=app, tranche=1, funder="ministry", amount=Decimal("24000.00")
        ),
        RIB,
        at(5),
    )
    repo.record_payment(f"{app}:T1:ministry", 1, "PAY-1", at(6))
    repo.retry_payment_order(f"{app}:T2:ministry", 2, valid_rib(2), at(8))
    assert len(entries(repo, app)) == 12

    report = verify(repo.engine, edition=4)
    assert report.ok, report.findings
    assert report.heads[app] == Head(12, log[-1].hash)


def test_closing_with_money_to_recover_is_chained(repo):
    app = funded(repo)
    repo.close(app, "terminated", Decimal("24000.00"), at(30))
    repo.close(app, "terminated", Decimal("24000.00"), at(30))  # retried
    assert [e.kind for e in entries(repo, app)][-2:] == ["close", "recovery"]
    assert entries(repo, app)[-1].payload["ledger"] == {
        "kind": "recovery",
        "funder": "ministry",
        "amount": "24000.00",
        "order_key": f"recovery-{app}",
        "reference": "",
    }
    assert verify(repo.engine, application_ids=[app]).ok


def test_a_refused_payment_logs_nothing(repo):
    app = funded(repo)
    repo.create_payment_order(
        PaymentOrder(
            key=f"{app}:T3:ministry", application_id=app, tranche=3, funder="ministry", amount=Decimal("30000.00")
        ),
        RIB,
        at(9),
    )
    before = len(entries(repo, app))
    with pytest.raises(AwardExceeded):
        repo.record_payment(f"{app}:T3:ministry", 1, "PAY-3", at(10))
    assert len(entries(repo, app)) == before


def test_the_entry_is_written_in_the_same_transaction_as_the_decision(repo):
    """When the audit log cannot be written, the decision is not written either (and the reverse
    holds by construction: one commit)."""
    app = funded(repo)
    dialect = repo.engine.dialect.name
    if dialect == "sqlite":
        sql(
            repo,
            text(
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log down'); END"
            ),
        )
    else:
        sql(
            repo,
            text(
                "CREATE FUNCTION audit_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log down'; END $$ LANGUAGE plpgsql"
            ),
        )
        sql(
            repo,
            text("CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_down()"),
        )
    with pytest.raises(Exception, match="audit log down"):
        repo.record_decision(app, DecisionRecord("site_visit", 1, "visited", {}, "inspector", at(9)))
    with pytest.raises(Exception, match="audit log down"):
        repo.record_payment(f"{app}:T2:ministry", 2, "PAY-2", at(9))
    with repo._tx() as s:
        assert s.scalar(select(DecisionRow.id).where(DecisionRow.kind == "site_visit")) is None
        assert s.scalar(select(LedgerRow.id).where(LedgerRow.order_key == f"{app}:T2:ministry")) is None
    assert repo.payment_orders(app)[1].status == "sent"  # the order was not marked executed either


def test_verify_names_an_edited_entry_a_deleted_one_and_an_edited_decision(repo):
    app = funded(repo)
    other = funded(repo, "ASSO-0002")
    log = entries(repo, app)
    decision = log[4]  # seq 5, the committee's selection
    # Someone raises the award recorded in the selection's audit entry...
    sql(
        repo,
        update(AuditEntry)
        .where(AuditEntry.id == decision.id)
        .values(payload={**decision.payload, "payload": {"award": "49000.00"}}),
    )
    # ... deletes the entry of the review ...
    sql(repo, delete(AuditEntry).where(AuditEntry.id == log[3].id))
    # ... and edits the agreement's row itself (not its entry).
    sql(
        repo,
        update(DecisionRow)
        .where(DecisionRow.application_id == app, DecisionRow.kind == "agreement")
        .values(decided_by="someone else"),
    )

    report = verify(repo.engine, edition=4)
    found = {(f.application_id, f.row, f.problem.split(":")[0]) for f in report.findings}
    assert found == {
        (app, f"audit_log id {decision.id} (seq 5, decision:committee:1)", "edited"),
        (app, "audit_log seq 4", "deleted"),
        (app, "reviews review:r1", "has no audit entry (entry deleted, or row written outside the repository)"),
        (
            app,
            "decisions decision:agreement:1",
            f"differs from its audit entry audit_log id {log[6].id} (seq 7, decision",
        ),
    }, report.findings
    assert not [f for f in report.findings if f.application_id == other]


def test_verify_catches_a_rewritten_chain_and_deleted_last_entries(repo):
    app = funded(repo)
    saved = verify(repo.engine, edition=4).heads
    log = entries(repo, app)
    # A careful forger edits entry 3 and recomputes its hash: entry 4 no longer points at it.
    third = log[2]
    forged = {**third.payload, "eligible": False}
    sql(
        repo,
        update(AuditEntry)
        .where(AuditEntry.id == third.id)
        .values(
            payload=forged, hash=chain.entry_hash(app, 3, third.kind, third.ref, forged, third.at, third.prev_hash)
        ),
    )
    report = verify(repo.engine, edition=4)
    assert [f.row for f in report.findings if "rewritten" in f.problem] == [
        f"audit_log id {log[3].id} (seq 4, review:r1)"
    ]

    # The last two entries and their rows are removed: the chain alone still adds up; the saved head does not.
    sql(repo, delete(AuditEntry).where(AuditEntry.id.in_([log[-1].id, log[-2].id])))
    report = verify(repo.engine, edition=4, anchor=saved)
    assert any(f.row == "audit_log seq 12" and f.problem.startswith("deleted") for f in report.findings), (
        report.findings
    )
    # Without the anchor, the order whose newest entries went is still named: its row says more than its log.
    assert any(f.row == f"payment_orders {app}:T2:ministry" for f in verify(repo.engine, edition=4).findings)
