"""Money in the database against money in the histories, for an edition.

The histories are the record of what the workflows did: a payment order exists because a
`create_payment_order` activity completed, a payment because a `record_payment` activity did, a
selection and a signature because `record_decision` recorded them, an award because `set_award`
set it. Checked, per application:
- every payment order in the database matches a completed create_payment_order (key, funder,
  tranche, amount), and the reverse; an order the payment system never took (its
  create_payment_order failed after the bounded retries, escalated to ops) matches the failed
  one and must be unpaid;
- every payment in the ledger matches a completed record_payment (order key, amount), and the
  reverse;
- paid per funder: ledger and history agree;
- nothing was paid without a committee decision 'selected' and a signed agreement, in the
  database and in the history;
- nothing paid exceeds the award per funder (database and history), and the award in the
  database is the history's last award.
And over the edition: paid per funder, ledger against histories.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from audit.checked import Checked
from audit.events import Parsed, parse
from domain.db.repository import PAYMENT, Repository
from domain.money import mad

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Mismatch:
    application_id: str
    check: str  # orders, ledger, per-funder, selection, agreement, award, history
    detail: str

    def __str__(self) -> str:
        return f"{self.application_id}: [{self.check}] {self.detail}"


@dataclass
class HistoryMoney:
    """What the history says about an application's money."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> order (as created)
    order_events: dict[str, int] = field(default_factory=dict)
    # Orders stored but never taken by the payment system: their create_payment_order failed after
    # its bounded retries (escalated to ops, activities/policies.py) and no retry completed yet.
    not_taken: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> order (as asked)
    payments: dict[str, int] = field(default_factory=dict)  # order key -> event id of the completed record_payment
    decisions: set[tuple[str, str]] = field(default_factory=set)  # (kind, outcome)
    award: dict[str, Decimal] | None = None  # the last award set (None: never set)

    def asked(self, key: str) -> dict[str, Any] | None:
        """The order under `key` as created, or as asked when our call never got it taken (the
        payment system may still have executed it)."""
        return self.orders.get(key) or self.not_taken.get(key)

    def paid_by_funder(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for key in self.payments:
            o = self.asked(key)
            if o:
                out[o["funder"]] += mad(o["amount"])
        return dict(out)


def money_of(p: Parsed) -> HistoryMoney:
    m = HistoryMoney()
    for a in p.completed("create_payment_order"):
        m.orders[a.result["key"]] = a.result
        m.order_events[a.result["key"]] = a.last_event_id
    for a in p.activities:
        if a.name == "create_payment_order" and a.status in ("failed", "timed_out") and a.args:
            order = a.args[0]
            if isinstance(order, dict) and order.get("key") not in m.orders:
                m.not_taken[order["key"]] = order
    for a in p.completed("record_payment"):
        m.payments[a.args[0]] = a.last_event_id
    for a in p.completed("record_decision"):
        m.decisions.add((a.args[1], a.args[3]))
    for a in p.completed("set_award"):
        m.award = {f: mad(v) for f, v in a.args[1].items()}
    return m


@dataclass
class Result(Checked):
    histories: int
    mismatches: list[Mismatch]
    paid_db: dict[str, Decimal]
    paid_history: dict[str, Decimal]
    LABEL, FOUND = "MISMATCH", "mismatches"

    def details(self) -> dict[str, Any]:
        return {
            "histories": self.histories,
            "paid_per_funder": {
                "database": {k: str(v) for k, v in sorted(self.paid_db.items())},
                "histories": {k: str(v) for k, v in sorted(self.paid_history.items())},
            },
            "mismatches": [asdict(m) for m in self.mismatches],
        }


def check_application(app: dict[str, Any], m: HistoryMoney) -> list[Mismatch]:
    """`app` as Repository.get_application gives it."""
    aid = app["id"]
    out: list[Mismatch] = []

    def miss(check: str, detail: str) -> None:
        out.append(Mismatch(aid, check, detail))

    # Payment orders, both ways.
    db_orders = {o["key"]: o for o in app["orders"]}
    for key, o in sorted(db_orders.items()):
        h = m.asked(key)  # an order not taken by our call (escalated) must still match what was asked
        if h is None:
            miss(
                "orders",
                f"payment order {key} ({mad(o['amount'])} MAD) is in the database; no completed create_payment_order in the history",
            )
            continue
        for f in ("funder", "tranche"):
            if str(o[f]) != str(h[f]):
                miss("orders", f"payment order {key}: {f} {o[f]} in the database, {h[f]} in the history")
        if mad(o["amount"]) != mad(h["amount"]):
            miss(
                "orders",
                f"payment order {key}: {mad(o['amount'])} MAD in the database, {mad(h['amount'])} MAD in the history",
            )
    for key in sorted(set(m.orders) - set(db_orders)):
        miss(
            "orders",
            f"payment order {key} ({mad(m.orders[key]['amount'])} MAD) was created in the history "
            f"(event {m.order_events[key]}); missing from the database",
        )

    # Ledger payments, both ways.
    payments = [row for row in app["ledger"] if row["kind"] == PAYMENT]
    seen: set[str] = set()
    for row in payments:
        key = row["order_key"]
        if key is None or key not in m.payments:
            miss(
                "ledger",
                f"ledger row {row['id']} ({mad(row['amount'])} MAD to {row['funder']}, order {key}) "
                "has no completed record_payment in the history",
            )
            continue
        if key in seen:
            miss("ledger", f"ledger row {row['id']}: order {key} paid more than once")
        seen.add(key)
        h = m.asked(key)
        if h is not None and (mad(row["amount"]) != mad(h["amount"]) or row["funder"] != h["funder"]):
            miss(
                "ledger",
                f"ledger row {row['id']}: {mad(row['amount'])} MAD to {row['funder']}; the history's order {key} "
                f"is {mad(h['amount'])} MAD to {h['funder']}",
            )
    for key in sorted(set(m.payments) - seen):
        asked = m.asked(key)
        amount = mad(asked["amount"]) if asked else "?"
        miss(
            "ledger",
            f"payment {key} ({amount} MAD) recorded in the history (event {m.payments[key]}); missing from the ledger",
        )

    # Sums per funder.
    db_paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in payments:
        db_paid[row["funder"]] += mad(row["amount"])
    h_paid = m.paid_by_funder()
    for funder in sorted(set(db_paid) | set(h_paid)):
        a, b = db_paid.get(funder, ZERO), h_paid.get(funder, ZERO)
        if a != b:
            miss("per-funder", f"{funder}: {a} MAD paid in the ledger, {b} MAD in the history")

    # Paid only after a selection and a signed agreement.
    if db_paid or h_paid:
        db_decisions = {(d["kind"], d["outcome"]) for d in app["decisions"]}
        for need, what, check in (
            (("committee", "selected"), "a committee decision 'selected'", "selection"),
            (("agreement", "signed"), "a signed agreement", "agreement"),
        ):
            if need not in db_decisions:
                miss(check, f"paid without {what} in the database")
            if need not in m.decisions:
                miss(check, f"paid without {what} in the history")

    # Never above the award.
    award = {a["funder"]: mad(a["amount"]) for a in app["awards"]}  # released or not: what the history set
    for funder, paid in sorted(db_paid.items()):
        if paid > award.get(funder, ZERO):
            miss(
                "award", f"{funder}: {paid} MAD paid, above its award of {award.get(funder, ZERO)} MAD in the database"
            )
        if m.award is not None and paid > m.award.get(funder, ZERO):
            miss(
                "award", f"{funder}: {paid} MAD paid, above its award of {m.award.get(funder, ZERO)} MAD in the history"
            )
    if m.award is not None and award != m.award:
        miss("award", f"award in the database {_split(award)} differs from the history's last award {_split(m.award)}")
    elif m.award is None and award:
        miss("award", f"award in the database {_split(award)} was never set in the history")
    return out


def _split(funders: dict[str, Decimal]) -> str:
    return "{" + ", ".join(f"{f}: {a}" for f, a in sorted(funders.items())) + "}"


async def reconcile(
    repo: Repository,
    edition: int,
    histories: dict[str, WorkflowHistory | None],
    dc: DataConverter,
) -> Result:
    """`histories`: workflow id -> its history (None when it could not be found)."""
    apps = repo.list_applications(edition=edition, limit=10**9)
    mismatches: list[Mismatch] = []
    paid_db: dict[str, Decimal] = defaultdict(lambda: ZERO)
    paid_history: dict[str, Decimal] = defaultdict(lambda: ZERO)
    found = 0
    for summary in apps:
        app = repo.get_application(summary["id"])
        assert app is not None
        for row in app["ledger"]:
            if row["kind"] == PAYMENT:
                paid_db[row["funder"]] += mad(row["amount"])
        history = histories.get(app["workflow_id"])
        if history is None:
            mismatches.append(Mismatch(app["id"], "history", f"no history found for workflow {app['workflow_id']}"))
            continue
        found += 1
        money = money_of(await parse(history, dc))
        for funder, amount in money.paid_by_funder().items():
            paid_history[funder] += amount
        mismatches += check_application(app, money)
    known = {a["id"] for a in apps}
    for wid, h in sorted(histories.items()):
        if h is not None and wid not in known and wid.startswith(f"moazara-{edition}-"):
            mismatches.append(Mismatch(wid, "history", "a history with no application in the database"))
    for funder in sorted(set(paid_db) | set(paid_history)):
        if paid_db.get(funder, ZERO) != paid_history.get(funder, ZERO):
            mismatches.append(
                Mismatch(
                    f"edition {edition}",
                    "per-funder",
                    f"{funder}: {paid_db.get(funder, ZERO)} MAD in the "
                    f"ledger, {paid_history.get(funder, ZERO)} MAD in the histories",
                )
            )
    return Result(len(apps), found, mismatches, dict(paid_db), dict(paid_history))
