"""One application's decisions in plain language, oldest first, read from its history.

Every stage entered (the workflow's `record_stage` activity), every update and signal received
(sender, payload summary, accepted or refused by its handler), every activity's result, every
timer that fired, every payment order and payment. Updates refused by a validator are answered
to the sender and, by Temporal's design, leave no trace in the history: they change nothing.
Bank accounts are masked.
"""

from decimal import Decimal
from typing import Any

from audit.entries import Entry, Kind, Timeline
from audit.events import ActivityRun, Parsed, UpdateCall
from audit.redact import redact, text
from audit.timeline_documents import DOCUMENT_ACTIVITIES, document_entry, signed_entries

# Fields naming who sent an input, in the order they are looked for.
ACTOR_FIELDS = (
    "decided_by",
    "signed_by",
    "requested_by",
    "cancelled_by",
    "terminated_by",
    "fixed_by",
    "approved_by",
    "visitor",
    "recused_by",
    "reviewer_id",
    "assigned_by",
    "submitted_by",
    "opened_by",
    "confirmed_by",
    "by",
)
# Their arguments carry the whole application (personal data, edition settings): not repeated.
BULKY_ARGS = {"record_submission", "check_eligibility"}
PAYMENT_ACTIVITIES = {"create_payment_order", "retry_payment_order", "mark_payment_rejected", "record_payment"}


def _first(args: list[Any]) -> dict[str, Any]:
    return args[0] if args and isinstance(args[0], dict) else {}


def _mad(value: Any) -> str:
    return f"{Decimal(str(value)):.2f} MAD" if value not in (None, "") else "-"


def _funders(funders: dict[str, Any]) -> str:
    return ", ".join(f"{f} {_mad(a)}" for f, a in sorted(funders.items())) or "none"


def sender(name: str, payload: dict[str, Any], identity: str) -> str:
    if name == "cofunding_decision" and "region_code" in payload:
        return f"region {payload['region_code']} ({payload.get('decided_by', '?')})"
    for f in ACTOR_FIELDS:
        if payload.get(f):
            return str(payload[f])
    return f"client {identity}" if identity else "unknown client"


def _scalars(payload: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    parts = [
        f"{k}={v}"
        for k, v in payload.items()
        if k not in skip and not isinstance(v, (dict, list)) and v not in (None, "")
    ]
    s = ", ".join(parts)
    return s if len(s) <= 160 else s[:157] + "..."


def update_summary(name: str, p: dict[str, Any]) -> str:
    """What the input says, in a line."""
    reason = f": {p['reason']}" if p.get("reason") else ""
    match name:
        case "decide":
            if p.get("decision") == "selected":
                return f"committee decision: selected, award {_mad(p.get('award'))} ({_funders(p.get('funders', {}))})"
            rank = f" (rank {p['rank']})" if p.get("rank") else ""
            return f"committee decision: {p.get('decision')}{rank}{reason}"
        case "cofunding_decision":
            if p.get("approved"):
                return f"co-funding approved{' for ' + _mad(p['amount']) if p.get('amount') else ' as asked'}"
            return f"co-funding declined{reason}"
        case "sign_agreement":
            return f"funding agreement signed on {p.get('signed_on')}, bank account {p.get('bank_account')}"
        case "payment_result":
            if p.get("executed"):
                return f"payment system: order {p.get('order_key')} attempt {p.get('attempt')} executed (reference {p.get('reference') or '-'})"
            return f"payment system: order {p.get('order_key')} attempt {p.get('attempt')} rejected{reason}"
        case "fix_bank_details":
            return f"bank details fixed: new account {p.get('bank_account')}"
        case "approve_bank_details":
            return f"new bank details {'approved' if p.get('approved', True) else 'declined'}{reason}"
        case "submit_review":
            scores = p.get("scores", {})
            mean = sum(scores.values()) / len(scores) if scores else 0
            return f"review: {len(scores)} criteria scored, mean {mean:.1f}/10"
        case "assign_reviewers":
            named = ", ".join(p.get("reviewers", []))
            return f"reviewers assigned: {named}" if named else "reviewers assigned by the edition's rule"
        case "recuse":
            return f"reviewer {p.get('reviewer_id')} recused{reason}"
        case "submit_report":
            ind = p.get("indicators", {})
            return f"progress report {p.get('period')}: " + _scalars(ind)
        case "review_report":
            return f"progress report {p.get('period')} {'approved' if p.get('approved') else 'rejected'}{reason}"
        case "complete_documents":
            return "documents completed: " + ", ".join(d.get("kind", "?") for d in p.get("documents", []))
        case "record_site_visit":
            return f"site visit on {p.get('visited_on')}" + (f": {p['findings']}" if p.get("findings") else "")
        case "withdraw":
            return f"withdrawal{reason}"
        case "cancel":
            return f"cancellation{reason}"
        case "terminate":
            recover = f"; to recover {_mad(p['amount_to_recover'])}" if p.get("amount_to_recover") else ""
            return f"termination for cause{reason}{recover}"
    return f"{name}: {_scalars(p)}" if p else name


def activity_summary(a: ActivityRun, orders: dict[str, dict[str, Any]]) -> str:
    """What the workflow's own step did, from its arguments and result."""
    args, r = a.args, a.result
    if a.status != "completed":
        return f"{a.name} {a.status.replace('_', ' ')}" + (f": {a.failure}" if a.failure else "")
    match a.name:
        case "record_submission":
            return "application recorded in the database" + ("" if r else " (already there)")
        case "check_eligibility":
            failures = (r or {}).get("failures", [])
            version = (r or {}).get("rule_set_version", "?")
            if not failures:
                return f"eligibility: eligible (rule set {version})"
            return f"eligibility: not eligible (rule set {version}): " + "; ".join(
                f"{f['code']}: {f['message']}" for f in failures
            )
        case "add_documents":
            return "documents added: " + ", ".join(d.get("kind", "?") for d in (args[1] if len(args) > 1 else []))
        case "record_review":
            return f"review by {_first(args[1:]).get('reviewer_id', '?')} scored {r}/100"
        case "assign_reviewers":
            return (
                f"reviewers assigned (round {args[1] if len(args) > 1 else '?'}): {', '.join(r or []) or 'none free'}"
            )
        case "recuse_reviewer":
            return f"reviewer {args[1] if len(args) > 1 else '?'} recused, by {args[3] if len(args) > 3 else '?'}"
        case "set_score":
            return f"application score: {r if r is not None else 'none'}"
        case "record_decision":
            _, kind, seq, outcome, _payload, by, *_ = args
            return f"decision recorded: {kind} #{seq} {outcome}, by {by}"
        case "set_award":
            return f"award set: {_funders(args[1])}" + (" (honorary award)" if len(args) > 2 and args[2] else "")
        case "create_payment_order":
            o = r or {}
            return (
                f"payment order {o.get('key')}: {_mad(o.get('amount'))}, tranche {o.get('tranche')}, "
                f"{o.get('funder')}, to account {args[1] if len(args) > 1 else '?'}"
            )
        case "retry_payment_order":
            return f"payment order {args[0]} sent again (attempt {args[1]}) to account {args[2]}"
        case "mark_payment_rejected":
            return f"payment order {args[0]} attempt {args[1]} rejected: {args[2]}"
        case "record_payment":
            key = args[0]
            amount = orders.get(key, {}).get("amount")
            done = "recorded in the ledger" if r else "already in the ledger"
            return f"payment {key} executed, {_mad(amount)} (reference {args[2] or '-'}): {done}"
        case "record_report":
            return f"progress report {_first(args[1:]).get('period', '?')} stored"
        case "review_report":
            return f"progress report {args[1]} {'approved' if args[2] else 'rejected'}"
        case "send_notice":
            return f"{args[2]}: {args[3]}"
        case "close_application":
            recover = f", {_mad(args[2])} to recover" if args[2] else ""
            return f"application closed: {args[1]}{recover}"
    return f"{a.name} completed" + (f": {r}" if r not in (None, True, False, "") else "")


def build(p: Parsed) -> Timeline:
    entries: list[Entry] = []
    start = _first(p.args)
    submitted_by = start.get("submitted_by") or f"client {p.identity}"
    entries.append(
        Entry(
            event_id=1,
            at=p.started_at,
            kind="workflow",
            actor=str(submitted_by),
            summary=f"{p.workflow_type} started" + (f" for {p.workflow_id}" if p.workflow_id else ""),
        )
    )
    orders: dict[str, dict[str, Any]] = {}
    for a in p.activities:
        if a.name == "create_payment_order" and a.status == "completed" and isinstance(a.result, dict):
            orders[a.result.get("key", "")] = a.result
        at, event_id = a.last_at, a.last_event_id
        if a.name == "record_stage":
            _, seq, stage, _when, note = (a.args + [None] * 5)[:5]
            summary = f"entered stage {stage}" + (f" ({note})" if note else "")
            if a.status != "completed":
                summary += f" - not recorded: {a.status}"
            entries.append(
                Entry(
                    event_id=event_id,
                    at=at,
                    kind="stage",
                    actor="workflow",
                    summary=summary,
                    detail={"seq": seq, "stage": stage, "note": note},
                )
            )
            continue
        if a.name in DOCUMENT_ACTIVITIES and a.status == "completed":
            doc = a.result if a.name == "issue_document" else (a.args[1] if len(a.args) > 1 else None)
            entries.append(document_entry(event_id, at, doc if isinstance(doc, dict) else {}, a.name, "workflow"))
            continue
        kind: Kind = "payment" if a.name in PAYMENT_ACTIVITIES else "notice" if a.name == "send_notice" else "activity"
        entries.append(
            Entry(
                event_id=event_id,
                at=at,
                kind=kind,
                actor="workflow",
                summary=activity_summary(a, orders),
                detail={
                    "activity": a.name,
                    "status": a.status,
                    "args": [] if a.name in BULKY_ARGS else a.args[1:],
                    "result": a.result,
                    "failure": a.failure,
                },
            )
        )
    for u in p.updates:
        entries.append(_update_entry(u))
        if u.name == "sign_agreement" and u.status == "completed":
            entries += signed_entries(u, u.actor or sender(u.name, _first(u.args), u.identity))
    for sgn in p.signals:
        payload = _first(sgn.args)
        entries.append(
            Entry(
                event_id=sgn.event_id,
                at=sgn.at,
                kind="signal",
                actor=sender(sgn.name, payload, sgn.identity),
                summary=update_summary(sgn.name, payload),
                detail={"signal": sgn.name, "args": sgn.args, "identity": sgn.identity},
            )
        )
    for t in p.timers:
        if t.status == "fired":
            waited = f"waiting for {t.summary}" if t.summary else "a wait"
            entries.append(
                Entry(
                    event_id=t.last_event_id,
                    at=t.last_at,
                    kind="timer",
                    actor="timer",
                    summary=f"deadline passed: {waited} (after {_span(t.duration)})",
                    detail={"timer_id": t.timer_id, "seconds": t.duration.total_seconds()},
                )
            )
    if p.close:
        entries.append(
            Entry(
                event_id=p.close_event_id or p.events,
                at=p.closed_at or p.started_at,
                kind="workflow",
                actor=p.close_identity or "workflow",
                summary=_closing(p),
            )
        )
    entries.sort(key=lambda e: e.event_id)
    for e in entries:  # masked once, whatever the source
        e.summary = text(e.summary)
        e.detail = redact(e.detail)
    return Timeline(workflow_id=p.workflow_id, run_id=p.run_id, workflow_type=p.workflow_type, entries=entries)


def _update_entry(u: UpdateCall) -> Entry:
    payload = _first(u.args)
    summary = update_summary(u.name, payload)
    accepted = u.status != "failed"
    if u.status == "failed":
        summary += f" - refused: {u.failure}"
    elif u.status == "completed" and isinstance(u.result, dict) and u.result.get("message"):
        summary += f" - accepted: {u.result['message']}"
    else:
        summary += " - accepted, still being applied"
    return Entry(
        event_id=u.accepted_event_id,
        at=u.accepted_at,
        kind="update",
        actor=u.actor or sender(u.name, payload, u.identity),
        summary=summary,
        accepted=accepted,
        detail={
            "update": u.name,
            "args": u.args,
            "identity": u.identity,
            "status": u.status,
            "result": u.result,
            "failure": u.failure,
            "completed_event_id": u.completed_event_id,
        },
    )


def _closing(p: Parsed) -> str:
    if p.close == "completed":
        d = p.close_detail if isinstance(p.close_detail, dict) else {}
        stage = d.get("stage")
        return "workflow completed" + (f": final stage {stage}" if stage else "")
    if p.close == "terminated":
        return f"workflow terminated: {p.close_detail or 'no reason given'}"
    return f"workflow {p.close.replace('_', ' ')}" + (f": {p.close_detail}" if p.close_detail else "")  # type: ignore[union-attr]


def _span(d) -> str:
    days = d.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{d.total_seconds():g} s"


def render_lines(t: Timeline) -> list[str]:
    """The text form: one line per entry."""
    out = [f"{t.workflow_type} {t.workflow_id} (run {t.run_id})"]
    for e in t.entries:
        out.append(f"{e.at:%Y-%m-%d %H:%M}  #{e.event_id:<4} {e.kind:8} {e.actor:24} {e.summary}")
    return out
