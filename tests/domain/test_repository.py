"""The domain database as an officer or auditor checks it, on SQLite and on PostgreSQL.

Every test runs on a database migrated by Alembic (`migrate`), never `create_all`.
"""

import concurrent.futures
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from domain.db.outbox import OutboxRow
from domain.db.repository import AwardExceeded, DecisionRecord, DuplicateApplication, NotFound, Repository
from domain.db.session import alembic_config, migrate
from domain.db.tables import LedgerRow, PaymentOrderRow, metadata
from domain.models import Document, EligibilityResult, Indicators, PaymentOrder, ProgressReport, RuleFailure
from domain.reference import DocumentKind, LegalForm
from simulation.factories import make_review, make_submission, valid_rib

T0 = datetime(2023, 10, 1, 9, 0, tzinfo=UTC)
RIB = valid_rib(1)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def submit(repo: Repository, reg: str = "ASSO-0001", **kw) -> str:
    sub = make_submission(reg, **kw)
    repo.record_submission(sub.application_id, sub.application_id, sub, "officer-1", T0)
    return sub.application_id


def order(app_id: str, tranche: int, amount: str, funder: str = "ministry") -> PaymentOrder:
    return PaymentOrder(
        key=f"{app_id}-t{tranche}-{funder}",
        application_id=app_id,
        tranche=tranche,
        funder=funder,
        amount=Decimal(amount),
    )


def ledger_rows(repo: Repository, **where) -> list[LedgerRow]:
    with repo._tx() as s:
        q = select(LedgerRow).filter_by(**where).order_by(LedgerRow.id)
        return list(s.scalars(q))


# --- schema ----------------------------------------------------------------------------------


def _head() -> str:
    """The newest revision of the migration scripts (each new migration moves it)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrated_schema_matches_the_models(db_url, db_engine):
    migrate(db_url)  # by URL, as the CLI would
    migrate(db_engine)  # and again by engine: already at head, nothing to do
    with db_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        version = conn.exec_driver_sql("select version_num from alembic_version").scalar_one()
    assert diffs == []
    assert version == _head()


def test_alembic_cli_path_reads_database_url(db_url, db_engine, monkeypatch):
    """What `alembic -c domain/db/migrations/alembic.ini upgrade head` does, with a plain
    `postgresql://` URL (rewritten to psycopg) taken from DATABASE_URL."""
    url = make_url(db_url).render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    monkeypatch.setenv("DATABASE_URL", url)
    command.upgrade(alembic_config(), "head")
    with db_engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar_one() == _head()


# --- submission and stages -------------------------------------------------------------------


def test_submission_is_recorded_once_when_retried(repo):
    sub = make_submission("ASSO-0001")
    app_id = sub.application_id
    assert repo.record_submission(app_id, app_id, sub, "portal", T0) is True
    assert repo.record_submission(app_id, app_id, sub, "portal", T0) is False

    [row] = repo.list_applications(edition=4)
    assert (row["id"], row["stage"], row["stage_since"]) == (app_id, "submitted", T0)
    app = repo.get_application(app_id)
    assert app["requested_amount"] == Decimal("40000.00")
    assert app["submission"]["applicant"]["registration_number"] == "ASSO-0001"
    assert [h["stage"] for h in app["history"]] == ["submitted"]
    assert repo.get_application("moazara-4-NOPE") is None


def test_second_application_of_an_applicant_in_an_edition_is_refused(repo):
    first = submit(repo, "ASSO-0001")
    sub = make_submission("ASSO-0001")
    with pytest.raises(DuplicateApplication, match="already applied to edition 4"):
        repo.record_submission("another-id", "another-id", sub, "portal", T0)
    assert [a["id"] for a in repo.list_applications()] == [first]
    # The same applicant may apply to another edition.
    assert submit(repo, "ASSO-0001", edition=5) == "moazara-5-ASSO-0001"


def test_stage_changes_are_ordered_and_retries_are_no_ops(repo):
    app_id = submit(repo)
    repo.set_stage(app_id, 1, "eligibility", at(1))
    repo.set_stage(app_id, 2, "review", at(2), note="eligible")
    repo.set_stage(app_id, 1, "eligibility", at(1))  # a retry of an older write arriving late
    repo.set_stage(app_id, 2, "review", at(5), note="retried")  # a retry with a later clock

    app = repo.get_application(app_id)
    assert (app["stage"], app["stage_since"]) == ("review", at(2))
    assert [(h["seq"], h["stage"], h["note"]) for h in app["history"]] == [
        (0, "submitted", ""),
        (1, "eligibility", ""),
        (2, "review", "eligible"),
    ]
    with pytest.raises(ValueError):
        repo.set_stage(app_id, 3, "nonsense", at(3))
    with pytest.raises(NotFound):
        repo.set_stage("moazara-4-NOPE", 1, "review", at(3))


def test_timestamps_are_timezone_aware(repo):
    app_id = submit(repo)
    with pytest.raises(StatementError, match="timezone-aware"):
        repo.set_stage(app_id, 1, "eligibility", datetime(2023, 10, 2, 9, 0))
    casablanca = datetime(2023, 10, 2, 10, 0, tzinfo=UTC).astimezone(ZoneInfo("Africa/Casablanca"))
    repo.set_stage(app_id, 1, "eligibility", casablanca)
    assert repo.get_application(app_id)["stage_since"] == datetime(2023, 10, 2, 10, 0, tzinfo=UTC)


def test_eligibility_reviews_decisions_notices_reports_are_written_once(repo):
    app_id = submit(repo, documents=[DocumentKind.STATUTES])
    result = EligibilityResult(
        rule_set_version="2024.1", failures=(RuleFailure(code="DOCUMENTS_MISSING", message="budget missing"),)
    )
    for _ in range(2):
        repo.record_eligibility(app_id, 1, result, at(1))
        repo.add_documents(app_id, [Document(kind=DocumentKind.BUDGET, reference="doc/b")], at(2))
    repo.add_documents(app_id, [Document(kind=DocumentKind.BUDGET, reference="doc/b2", verified=True)], at(3))
    assert repo.record_review(app_id, make_review("rev-1"), Decimal("7.00"), at(4)) is True
    assert repo.record_review(app_id, make_review("rev-1", 3), Decimal("3.00"), at(5)) is False
    repo.set_score(app_id, Decimal("7"))
    payload = {"award": Decimal("40000.00"), "funders": {"ministry": Decimal("40000.00")}}
    assert repo.record_decision(app_id, DecisionRecord("committee", 1, "selected", payload, "committee", at(6))) is True
    assert (
        repo.record_decision(app_id, DecisionRecord("committee", 1, "selected", payload, "committee", at(6))) is False
    )
    assert repo.record_notice(app_id, "review-rev-2-reminder", "reminder", "review overdue", at(7)) is True
    assert repo.record_notice(app_id, "review-rev-2-reminder", "reminder", "review overdue", at(7)) is False
    report = ProgressReport(period=1, indicators=Indicators(jobs_created=3, revenue=Decimal("1200.50")))
    assert repo.record_report(app_id, 1, report, at(8)) is True
    assert repo.record_report(app_id, 1, report, at(8)) is False
    repo.review_report(app_id, 1, True, at(9))
    repo.review_report(app_id, 1, True, at(10))

    app = repo.get_application(app_id)
    assert [(e["attempt"], e["eligible"]) for e in app["eligibility"]] == [(1, False)]
    assert app["eligibility"][0]["failures"][0]["code"] == "DOCUMENTS_MISSING"
    assert {d["kind"]: d["reference"] for d in app["submission"]["documents"]} == {
        "statutes": "doc/ASSO-0001/statutes",
        "budget": "doc/b2",
    }
    assert [(r["reviewer_id"], r["weighted_score"]) for r in app["reviews"]] == [("rev-1", Decimal("7.00"))]
    assert app["score"] == Decimal("7.00")
    assert [(d["kind"], d["seq"], d["outcome"]) for d in app["decisions"]] == [("committee", 1, "selected")]
    assert app["decisions"][0]["payload"] == {"award": "40000.00", "funders": {"ministry": "40000.00"}}
    assert len(app["notices"]) == 1
    [r] = app["reports"]
    assert (r["status"], r["reviewed_at"], r["indicators"]["revenue"]) == ("approved", at(9), "1200.50")
    with pytest.raises(NotFound):
        repo.review_report(app_id, 2, True, at(11))


def test_a_report_review_decision_moves_its_report_in_the_same_write(repo):
    """The workflow records a report's review as one decision (patch report-review-one-step): the
    report is approved or rejected with it, once, and a review of a report not in fails whole."""
    app_id = submit(repo)
    report = ProgressReport(period=1, indicators=Indicators(jobs_created=3))
    repo.record_report(app_id, 1, report, at(8))
    rejected = {"period": 1, "approved": False, "decided_by": "officer", "reason": "no invoices"}
    review = DecisionRecord("report_review", 1, "rejected", rejected, "officer", at(9))
    assert repo.record_decision(app_id, review) is True
    assert repo.record_decision(app_id, review) is False
    app = repo.get_application(app_id)
    assert [(r["period"], r["status"], r["reviewed_at"]) for r in app["reports"]] == [(1, "rejected", at(9))]
    assert [(d["kind"], d["seq"], d["outcome"]) for d in app["decisions"]] == [("report_review", 1, "rejected")]
    with Session(repo.engine) as s:
        told = s.scalars(select(OutboxRow.kind).filter_by(application_id=app_id)).all()
    assert told.count("report_rejected") == 1  # the applicant told once, by the report's write

    # The applicant sends the report again; a late retry of the rejection does not move it back.
    repo.record_report(app_id, 1, report, at(9) + timedelta(hours=2))
    assert repo.record_decision(app_id, review) is False
    assert [r["status"] for r in repo.get_application(app_id)["reports"]] == ["received"]

    missing = DecisionRecord("report_review", 2, "approved", {"period": 2, "approved": True}, "officer", at(10))
    with pytest.raises(NotFound):
        repo.record_decision(app_id, missing)
    assert [d["seq"] for d in repo.get_application(app_id)["decisions"]] == [1]


# --- money -----------------------------------------------------------------------------------


def test_payment_order_created_twice_returns_the_first(repo):
    app_id = submit(repo)
    repo.set_award(app_id, {"ministry": Decimal("40000")})
    first = repo.create_payment_order(order(app_id, 1, "24000.00"), RIB, at(1))
    again = repo.create_payment_order(order(app_id, 1, "99.00"), valid_rib(2), at(2))
    assert again == first
    assert (first.amount, first.attempt, first.status) == (Decimal("24000.00"), 1, "sent")
    assert repo.payment_orders(app_id) == [first]
    assert "bank_account" not in repo.get_application(app_id)["orders"][0]


def test_payment_is_recorded_once_per_order(repo):
    app_id = submit(repo)
    repo.set_award(app_id, {"ministry": Decimal("40000.00")})
    o = repo.create_payment_order(order(app_id, 1, "24000.00"), RIB, at(1))
    assert repo.record_payment(o.key, 1, "PAY-1", at(2)) is True
    assert repo.record_payment(o.key, 1, "PAY-1", at(3)) is False

    assert repo.paid_by_funder(app_id) == {"ministry": Decimal("24000.00")}
    assert [(r.kind, r.amount, r.reference) for r in ledger_rows(repo, application_id=app_id)] == [
        ("payment", Decimal("24000.00"), "PAY-1")
    ]
    assert repo.payment_orders(app_id)[0].status == "executed"
    assert repo.list_applications()[0]["paid"] == Decimal("24000.00")


def test_payments_never_exceed_the_award(repo):
    app_id = submit(repo)
    repo.set_award(app_id, {"ministry": Decimal("30000.00"), "region-07": Decimal("10000.00")})
    t1 = repo.create_payment_order(order(app_id, 1, "24000.00"), RIB, at(1))
    t2 = repo.create_payment_order(order(app_id, 2, "6000.01"), RIB, at(1))
    other = repo.create_payment_order(order(app_id, 1, "10000.01", funder="region-09"), RIB, at(1))
    assert repo.record_payment(t1.key, 1, "PAY-1", at(2))

    with pytest.raises(AwardExceeded, match="above its award of 30000.00"):
        repo.record_payment(t2.key, 1, "PAY-2", at(3))
    with pytest.raises(AwardExceeded):  # a funder without an award gets nothing
        repo.record_payment(other.key, 1, "PAY-3", at(3))
    assert repo.paid_by_funder(app_id) == {"ministry": Decimal("24000.00")}
    assert len(ledger_rows(repo, application_id=app_id)) == 1
    assert repo.payment_orders(app_id)[1].status == "sent"

    # Nor may a new award split fall below what a funder already paid.
    with pytest.raises(ValueError, match="already paid 24000.00"):
        repo.set_award(app_id, {"ministry": Decimal("20000.00"), "region-07": Decimal("20000.00")})
    assert repo.get_application(app_id)["award"] == Decimal("40000.00")
    repo.set_award(app_id, {"ministry": Decimal("24000.00")}, honorary_award=True)
    app = repo.get_application(app_id)
    assert (app["award"], app["funders"], app["honorary_award"]) == (
        Decimal("24000.00"),
        {"ministry": Decimal("24000.00")},
        True,
    )


def test_concurrent_payments_cannot_overshoot_the_award(repo):
    app_id = submit(repo)
    repo.set_award(app_id, {"ministry": Decimal("40000.00")})
    keys = [repo.create_payment_order(order(app_id, t, "30000.00"), RIB, at(1)).key for t in (1, 2)]

    def pay(key):
        try:
            return repo.record_payment(key, 1, f"REF-{key}", at(2))
        except AwardExceeded:
            return "exceeded"

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        results = list(ex.map(pay, keys + keys))
    assert sorted(map(str, results)) == ["False", "True", "exceeded", "exceeded"]
    assert repo.paid_by_funder(app_id) == {"ministry": Decimal("30000.00")}


def test_rejected_order_is_retried_with_a_newer_attempt(repo):
    app_id = submit(repo)
    repo.set_award(app_id, {"ministry": Decimal("40000.00")})
    o = repo.create_payment_order(order(app_id, 1, "24000.00"), RIB, at(1))
    rejected = repo.mark_payment_rejected(o.key, 1, "account closed", at(2))
    assert (rejected.status, rejected.attempt) == ("rejected", 1)

    fixed = valid_rib(42)
    retried = repo.retry_payment_order(o.key, 2, fixed, at(3))
    assert (retried.status, retried.attempt) == ("sent", 2)
    assert repo.retry_payment_order(o.key, 2, valid_rib(7), at(4)) == retried  # retry of the retry
    assert repo.mark_payment_rejected(o.key, 1, "late answer to attempt 1", at(5)) == retried
    with repo._tx() as s:
        row = s.get(PaymentOrderRow, o.key)
        assert (row.bank_account, row.updated_at) == (fixed, at(3))

    assert repo.record_payment(o.key, 2, "PAY-1", at(6))
    assert repo.retry_payment_order(o.key, 3, fixed, at(7)).status == "executed"
    with pytest.raises(NotFound):
        repo.retry_payment_order("no-such-order", 2, fixed, at(7))


def test_an_order_not_taken_is_marked_unsent_once_and_sent_again_when_taken(repo):
    app_id = submit(repo)
    repo.set_award(app_id, {"ministry": Decimal("40000.00")})
    o = repo.create_payment_order(order(app_id, 1, "24000.00"), RIB, at(1))
    assert repo.mark_payment_unsent("no-such-order", 1, "never stored", at(2)) is None
    unsent = repo.mark_payment_unsent(o.key, 1, "payment system answered 503", at(2))
    assert (unsent.status, unsent.attempt) == ("unsent", 1)
    assert repo.mark_payment_unsent(o.key, 1, "again", at(3)) == unsent  # a retried activity: no change
    assert repo.mark_payment_unsent(o.key, 2, "another attempt", at(3)) == unsent
    # Ops retry: the stored order comes back unsent (the activity sends it), then is marked sent.
    assert repo.create_payment_order(order(app_id, 1, "24000.00"), RIB, at(4)).status == "unsent"
    sent = repo.mark_payment_sent(o.key, 1, at(4))
    assert sent.status == "sent" and repo.mark_payment_sent(o.key, 1, at(5)) == sent
    with repo._tx() as s:
        row = s.get(PaymentOrderRow, o.key)
        assert (row.reason, row.updated_at) == ("", at(4))
    assert repo.record_payment(o.key, 1, "PAY-1", at(6))
    assert repo.mark_payment_unsent(o.key, 1, "late", at(7)).status == "executed"  # an answered order stays


def test_close_with_recovery_writes_one_recovery_row(repo):
    app_id = submit(repo)
    repo.set_award(app_id, {"ministry": Decimal("40000.00")})
    o = repo.create_payment_order(order(app_id, 1, "24000.00"), RIB, at(1))
    repo.record_payment(o.key, 1, "PAY-1", at(2))
    for _ in range(2):
        repo.close(app_id, "terminated", Decimal("24000"), at(3))

    recoveries = ledger_rows(repo, application_id=app_id, kind="recovery")
    assert [(r.amount, r.funder, r.order_key) for r in recoveries] == [
        (Decimal("24000.00"), "ministry", f"recovery-{app_id}")
    ]
    app = repo.get_application(app_id)
    assert (app["stage"], app["stage_since"], app["amount_to_recover"]) == ("terminated", at(3), Decimal("24000.00"))
    assert repo.ledger_total(4) == {"ministry": Decimal("24000.00")}  # recoveries are not payments
    with pytest.raises(ValueError, match="not a final stage"):
        repo.close(app_id, "review", None, at(4))


def test_close_without_money_to_recover_writes_no_ledger_row(repo):
    app_id = submit(repo)
    repo.close(app_id, "withdrawn", None, at(1))
    repo.close(app_id, "withdrawn", None, at(2))
    assert ledger_rows(repo, application_id=app_id) == []
    assert repo.get_application(app_id)["stage_since"] == at(1)


# --- queries ---------------------------------------------------------------------------------


def _edition_4_and_5(repo):
    a = submit(repo, "ASSO-0001")  # region 07, Al Haouz
    b = submit(repo, "ASSO-0002", region_code="02", province="Oujda-Angad")
    c = submit(repo, "COOP-0003", legal_form=LegalForm.COOPERATIVE, region_code="02", province="Oujda-Angad")
    d = submit(repo, "ASSO-0004", edition=5)
    repo.set_stage(b, 1, "review", at(1))
    repo.set_stage(c, 1, "ineligible", at(1))
    return a, b, c, d


def test_list_and_filter_by_edition_stage_and_region(repo):
    a, b, c, d = _edition_4_and_5(repo)
    ids = lambda rows: [r["id"] for r in rows]  # noqa: E731
    assert ids(repo.list_applications()) == [a, b, c, d]
    assert ids(repo.list_applications(edition=4)) == [a, b, c]
    assert ids(repo.list_applications(edition=4, stage="review")) == [b]
    assert ids(repo.list_applications(region_code="02")) == [b, c]
    assert ids(repo.list_applications(edition=5, region_code="02")) == []
    assert ids(repo.list_applications(limit=2)) == [a, b]
    row = repo.list_applications(stage="ineligible")[0]
    assert set(row) >= {
        "id",
        "edition",
        "registration_number",
        "legal_form",
        "region_code",
        "province",
        "sector",
        "stage",
        "stage_since",
        "score",
        "award",
        "paid",
    }
    assert (row["legal_form"], row["province"], row["award"], row["paid"]) == (
        "cooperative",
        "Oujda-Angad",
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_stage_counts_add_up(repo):
    _edition_4_and_5(repo)
    counts = repo.stage_counts(4)
    assert counts == {"submitted": 1, "review": 1, "ineligible": 1}
    assert sum(counts.values()) == len(repo.list_applications(edition=4))
    assert repo.stage_counts(5) == {"submitted": 1}
    assert repo.stage_counts(9) == {}


def test_ledger_total_per_funder_for_the_edition(repo):
    a = submit(repo, "ASSO-0001")
    b = submit(repo, "COOP-0002", legal_form=LegalForm.COOPERATIVE, region_code="02", province="Oujda-Angad")
    c = submit(repo, "ASSO-0003", edition=5)
    for app_id, funder in ((a, "ministry"), (b, "region-02"), (c, "ministry")):
        repo.set_award(app_id, {funder: Decimal("40000.00")})
        key = repo.create_payment_order(order(app_id, 1, "24000.10", funder), RIB, at(1)).key
        repo.record_payment(key, 1, "PAY", at(2))
    assert repo.ledger_total(4) == {"ministry": Decimal("24000.10"), "region-02": Decimal("24000.10")}
    assert repo.ledger_total(5) == {"ministry": Decimal("24000.10")}


def test_overdue_obligations_from_earlier_editions(repo):
    terminated = submit(repo, "ASSO-0001", edition=3)
    repo.close(terminated, "terminated", Decimal("12000.00"), at(1))
    assert repo.overdue_obligations("ASSO-0001", 4) == 1
    assert repo.overdue_obligations("asso-0001", 5) == 1  # registration numbers compare case-blind
    assert repo.overdue_obligations("ASSO-0001", 3) == 0  # not earlier than itself
    assert repo.overdue_obligations("ASSO-0002", 4) == 0

    # Terminated with nothing to recover is no obligation.
    clean = submit(repo, "ASSO-0002", edition=3)
    repo.close(clean, "terminated", Decimal("0"), at(1))
    assert repo.overdue_obligations("ASSO-0002", 4) == 0

    # An escalated progress report of a grant still in monitoring is one; a reminder is not.
    monitored = submit(repo, "ASSO-0003", edition=2)
    repo.set_stage(monitored, 1, "monitoring", at(1))
    repo.record_notice(monitored, "report-1-reminder", "reminder", "report 1 late", at(2))
    assert repo.overdue_obligations("ASSO-0003", 4) == 0
    repo.record_notice(monitored, "report-1-escalation", "escalation", "report 1 overdue", at(3))
    repo.record_notice(monitored, "review-x-escalation", "escalation", "not a report", at(3))
    assert repo.overdue_obligations("ASSO-0003", 4) == 1
    repo.set_stage(monitored, 2, "completed", at(4))
    assert repo.overdue_obligations("ASSO-0003", 4) == 0


def test_concurrent_retries_of_a_submission_record_it_once(repo):
    sub = make_submission("ASSO-0001")

    def record(_):
        return repo.record_submission(sub.application_id, sub.application_id, sub, "portal", T0)

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(record, range(6)))
    assert results.count(True) == 1
    assert len(repo.list_applications()) == 1
    assert len(repo.get_application(sub.application_id)["history"]) == 1
