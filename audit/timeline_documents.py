"""The timeline's document lines: each document the workflow issued or was given, with its hash,
and the signature naming the agreement's hash (and its scan's)."""

from datetime import datetime
from typing import Any

from audit.entries import Entry
from audit.events import UpdateCall

# Each document the workflow issued or was given, with its hash (kind "document"): the English
# sentence, its {named} parameters in the entry's `params`; the console translates the sentence
# (console/locale/<lang>/LC_MESSAGES/messages.po, msgid this sentence).
DOCUMENT_LINES = {
    "agreement": "agreement issued (version {version}, sha256 {sha256})",
    "payment_advice": "payment advice of order {order} issued (sha256 {sha256})",
    "signed": "agreement signed (sha256 {sha256}, scan sha256 {scan})",
    "signed_no_scan": "agreement signed (sha256 {sha256}, no scan)",
    "signed_scan": "signed scan recorded (sha256 {sha256}, signs version {version})",
}
DOCUMENT_ACTIVITIES = {"issue_document", "record_document"}


def document_entry(event_id: int, at: datetime, doc: dict[str, Any], source: str, actor: str) -> Entry:
    """A document's line: issued by the workflow (issue_document's result), a signed scan linked
    (record_document's argument), or the signature naming the agreement's hash (and the scan's)."""
    kind = str(doc.get("kind"))
    if kind == "signed" and not doc.get("scan"):
        kind = "signed_no_scan"
    params = {
        "sha256": str(doc.get("sha256") or "-"),
        "version": str(doc.get("version") or "-"),
        "order": str(doc.get("order_key") or "-"),
        "scan": str(doc.get("scan") or "-"),
    }
    message = DOCUMENT_LINES.get(kind, f"{kind} recorded (sha256 {{sha256}})")
    return Entry(
        event_id=event_id,
        at=at,
        kind="document",
        actor=actor,
        summary=message.format(**params),
        detail={"source": source, "document": doc},
        message=message if kind in DOCUMENT_LINES else None,
        params=params,
    )


def signed_entries(u: UpdateCall, who: str) -> list[Entry]:
    """The line of an accepted signature naming the agreement's hash (and the scan's), if it does."""
    p = u.args[0] if u.args and isinstance(u.args[0], dict) else {}
    if not (p.get("agreement_sha256") or p.get("scan_sha256")):
        return []  # a signature from before the agreement was issued
    doc = {"kind": "signed", "sha256": p.get("agreement_sha256"), "scan": p.get("scan_sha256")}
    return [document_entry(u.completed_event_id or 0, u.completed_at or u.accepted_at, doc, u.name, who)]
