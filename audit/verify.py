"""`audit verify`: walk every application's hash chain and compare it with the rows it recorded.

Three kinds of finding, each naming the row:
- the chain itself: an entry whose content no longer matches its hash (edited), a gap in the
  sequence (deleted), a prev_hash that does not match the entry before (rewritten or spliced);
- coverage: a decision, review, eligibility check, stage change, payment order or ledger row with
  no entry (its entry was deleted, or the row was written behind the repository's back), or one
  that no longer says what its entry says (the row was edited);
- an anchor (heads saved earlier with --save-heads): an entry that was there is gone or changed,
  which catches the deletion of the last entries, invisible to the chain alone.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from audit.checked import Checked
from domain.db import chain
from domain.db.tables import Application, AuditEntry
from domain.models import FINAL_STAGES


@dataclass(frozen=True)
class Finding:
    application_id: str
    row: str  # e.g. "audit_log id 12 (seq 3, decision:committee:1)" or "decisions committee:1"
    problem: str

    def __str__(self) -> str:
        return f"{self.application_id}: {self.row}: {self.problem}"


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


@dataclass
class Report(Checked):
    entries: int
    findings: list[Finding]
    heads: dict[str, Head]
    LABEL, FOUND = "TAMPERED", "findings"

    def details(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "findings": [asdict(f) for f in self.findings],
            "heads": {k: asdict(v) for k, v in self.heads.items()},
        }


def _name(e: AuditEntry) -> str:
    return f"audit_log id {e.id} (seq {e.seq}, {e.ref})"


def check_chain(app_id: str, entries: list[AuditEntry]) -> list[Finding]:
    """Entries in seq order: each hashes to itself and points at the one before."""
    out: list[Finding] = []
    expected, prev = 1, chain.GENESIS
    for e in entries:
        gap = e.seq != expected
        if gap:
            missing = f"seq {expected}" if e.seq == expected + 1 else f"seq {expected}..{e.seq - 1}"
            out.append(
                Finding(app_id, f"audit_log {missing}", f"deleted: the chain jumps from seq {expected - 1} to {e.seq}")
            )
        if chain.row_hash(e) != e.hash:
            out.append(Finding(app_id, _name(e), "edited: its content no longer matches its hash"))
        elif e.prev_hash != prev and not gap:
            out.append(Finding(app_id, _name(e), f"prev_hash does not match seq {e.seq - 1}: that entry was rewritten"))
        expected, prev = e.seq + 1, e.hash
    return out


def check_coverage(s: Session, app: Application, entries: list[AuditEntry]) -> list[Finding]:
    """Every recorded row has its entry, and still says what the entry says (entries that fail
    their own hash are left out of the comparison: check_chain names them already)."""
    app_id = app.application_id
    out: list[Finding] = []
    by_ref: dict[str, AuditEntry] = {}
    last_order: dict[str, AuditEntry] = {}  # order key -> newest entry describing the order
    last_award: AuditEntry | None = None
    broken = {e.id for e in entries if chain.row_hash(e) != e.hash}
    for e in entries:  # seq order: later entries win
        by_ref[e.ref] = e
        order = e.payload.get("order") if isinstance(e.payload, dict) else None
        if isinstance(order, dict) and "key" in order:
            last_order[order["key"]] = e
        if e.kind == "award":
            last_award = e

    def compare(table: str, ref: str, expected: Any, entry: AuditEntry | None, stated: Any = None) -> None:
        """`stated`: the part of the entry's payload that describes the row (default: all of it)."""
        if entry is not None and entry.id in broken:
            return
        if entry is None:
            out.append(
                Finding(
                    app_id,
                    f"{table} {ref}",
                    "has no audit entry (entry deleted, or row written outside the repository)",
                )
            )
        elif chain.canonical(entry.payload if stated is None else stated) != chain.canonical(expected):
            out.append(
                Finding(app_id, f"{table} {ref}", f"differs from its audit entry {_name(entry)}: the row was edited")
            )

    rows = chain.recorded(s, app_id)
    described: set[str] = set()
    for table, e in rows.described:
        compare(table, e.ref, e.payload, by_ref.get(e.ref))
        described.add(e.ref)
    for row in rows.orders:
        # The newest entry about the order (created, retried, rejected, unsent, resent or paid) holds its state.
        entry = last_order.get(row.key)
        compare("payment_orders", row.key, chain.order_state(row), entry, entry and entry.payload["order"])
        described.add(f"order:{row.key}")
    for row in rows.ledger:
        if row.order_key is None:
            out.append(Finding(app_id, f"ledger id {row.id}", "has no order key and no audit entry"))
            continue
        ref = f"ledger:{row.order_key}"
        entry = by_ref.get(ref)
        compare("ledger", row.order_key, chain.ledger_state(row), entry, entry and entry.payload.get("ledger"))
        described.add(ref)
    if rows.awards or last_award is not None:
        e = chain.of_award(app, rows.awards)
        compare("awards", "of the application", e.payload, last_award)
    closes = [e for e in entries if e.kind == "close"]
    if closes:
        compare("applications", "stage and amount to recover", chain.of_close(app).payload, closes[-1])
    elif app.stage in FINAL_STAGES:
        out.append(Finding(app_id, "applications", f"closed ({app.stage}) with no audit entry for the closing"))
    for e in entries:  # the reverse: an entry whose row has gone
        if (
            e.kind in ("stage", "eligibility", "review", "decision", "payment_order", "payment", "recovery")
            and e.ref not in described
        ):
            out.append(Finding(app_id, _name(e), f"records {e.ref}, which is no longer in the database (row deleted)"))
    return out


def check_anchor(app_id: str, entries: list[AuditEntry], head: Head) -> list[Finding]:
    """An entry seen earlier (saved head) must still be there, unchanged."""
    same = [e for e in entries if e.seq == head.seq]
    if not same:
        return [Finding(app_id, f"audit_log seq {head.seq}", "deleted: the saved head is no longer in the chain")]
    if same[0].hash != head.hash:
        return [Finding(app_id, _name(same[0]), "rewritten: its hash differs from the saved head")]
    return []


def verify(
    engine: Engine,
    *,
    edition: int | None = None,
    application_ids: list[str] | None = None,
    anchor: dict[str, Head] | None = None,
) -> Report:
    """Check the chains of an edition's applications (or of the given ones, or of all)."""
    findings: list[Finding] = []
    heads: dict[str, Head] = {}
    n_entries = 0
    with Session(engine) as s:
        q = select(Application).order_by(Application.application_id)
        if edition is not None:
            q = q.where(Application.edition == edition)
        if application_ids:
            q = q.where(Application.application_id.in_(application_ids))
        apps = list(s.scalars(q))
        entries: dict[str, list[AuditEntry]] = defaultdict(list)
        for e in s.scalars(
            select(AuditEntry)
            .where(AuditEntry.application_id.in_([a.application_id for a in apps]))
            .order_by(AuditEntry.application_id, AuditEntry.seq)
        ):
            entries[e.application_id].append(e)
        for app in apps:
            mine = entries[app.application_id]
            n_entries += len(mine)
            if not mine:
                findings.append(
                    Finding(
                        app.application_id,
                        "audit_log",
                        "no audit chain at all: recorded before "
                        "the audit log existed (migration 0002), or every entry deleted",
                    )
                )
                continue
            findings += check_chain(app.application_id, mine)
            findings += check_coverage(s, app, mine)
            if anchor and app.application_id in anchor:
                findings += check_anchor(app.application_id, mine, anchor[app.application_id])
            if mine:
                heads[app.application_id] = Head(mine[-1].seq, mine[-1].hash)
        if application_ids:
            known = {a.application_id for a in apps}
            findings += [Finding(a, "applications", "unknown application") for a in application_ids if a not in known]
        if anchor:
            known = {a.application_id for a in apps}
            findings += [
                Finding(a, "applications", "in the saved heads but no longer in the database (deleted)")
                for a in anchor
                if a not in known and (edition is None or a.startswith(f"moazara-{edition}-"))
            ]
    return Report(len(apps), n_entries, findings, heads)
