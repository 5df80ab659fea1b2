"""Output for people (rich) and machines (`--json`). Bank accounts never appear in clear.

JSON goes to stdout, always one document per command. Human messages go to stdout, errors and
refusals to stderr. Money is printed as Decimal strings ("24000.00"), never floats.
"""

import json
import os
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from cli.actions import ImportResult, Outcome
from cli.inputs import FieldError
from domain.models import ApplicationStatus
from domain.rib import mask_rib


def _console(stderr: bool = False) -> Console:
    # Piped to a file or another program, tables are laid out on 160 columns rather than rich's 80.
    # No markup, no emoji codes: stored text ("[/x]", ":bomb:") is printed as it was typed; styles
    # are given as rich Text objects, never inside strings.
    c = Console(stderr=stderr, soft_wrap=True, highlight=False, markup=False, emoji=False)
    if not c.is_terminal and "COLUMNS" not in os.environ:
        c.width = 160
    return c


out = _console()
err = _console(stderr=True)

_SENSITIVE_KEYS = {"bank_account", "rib"}
# 24 digits, possibly grouped with spaces or dashes (as written on a RIB).
_RIB_LIKE = re.compile(r"(?<!\d)\d(?:[ -]?\d){23}(?!\d)")


def _mask_text(text: str) -> str:
    return _RIB_LIKE.sub(lambda m: mask_rib(re.sub(r"[ -]", "", m[0])), text)


def redact(obj: Any) -> Any:
    """A JSON-able copy with every bank account masked (by key, and any RIB-like number in text)."""
    if isinstance(obj, Mapping):
        return {
            k: (mask_rib(re.sub(r"[ -]", "", str(v))) if k in _SENSITIVE_KEYS and v else redact(v))
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [redact(v) for v in obj]
    if isinstance(obj, str):
        return _mask_text(obj)
    return obj


def jsonable(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    return obj


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(redact(jsonable(obj)), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def text(value: Any) -> str:
    """One value as a table cell."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return str(value.value)
    return _mask_text(str(value))


# --- Errors, answers -------------------------------------------------------------------------------


def input_errors(errors: list[FieldError], as_json: bool, reason: str = "invalid input: nothing was sent") -> None:
    if as_json:
        emit_json({"accepted": False, "reason": reason, "errors": [e.as_json() for e in errors]})
        return
    for e in errors:
        err.print(f"error: {_mask_text(str(e))}", markup=False)
    err.print(reason, markup=False)


def failure(message: str, as_json: bool) -> None:
    if as_json:
        emit_json({"accepted": False, "reason": message})
    else:
        err.print(f"error: {_mask_text(message)}", markup=False)


def outcome(o: Outcome, as_json: bool) -> None:
    if as_json:
        emit_json(o.as_json())
    elif o.accepted:
        out.print(f"accepted: {_mask_text(o.message)} (stage: {o.stage})", markup=False)
    else:
        err.print(f"refused: {_mask_text(o.reason)}", markup=False)


# --- Status ---------------------------------------------------------------------------------------


def _money(amounts: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(amounts.items())) or "—"


def status(s: ApplicationStatus, as_json: bool, history: bool = False) -> None:
    if as_json:
        emit_json(s)
        return
    t = Table(title=f"Application {s.application_id}", show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    t.add_row("edition", str(s.edition))
    t.add_row("stage", s.stage.value)
    t.add_row("waiting for", text(s.waiting_for))
    t.add_row("since", text(s.since))
    t.add_row("until", text(s.until))
    t.add_row("reviews", str(s.reviews))
    t.add_row("score", text(s.score))
    t.add_row("award", f"{s.award} MAD")
    t.add_row("funders", _money(s.funders))
    t.add_row("paid", f"{s.paid_total} MAD ({_money(s.paid)})" if s.paid else f"{s.paid_total} MAD")
    if s.agreement_sha256:  # the funding agreement the workflow issued: the one a signature names
        t.add_row("agreement", f"version {s.agreement_version}, sha256 {s.agreement_sha256}")
    t.add_row("reports received", ", ".join(map(str, s.reports_received)) or "—")
    if s.amount_to_recover is not None:
        t.add_row("to recover", f"{s.amount_to_recover} MAD")
    t.add_row("escalations", "\n".join(s.escalations) or "—")
    t.add_row("reasons", "\n".join(f"{r.code}: {r.message}" for r in s.reasons) or "—")
    out.print(t)
    if s.orders:
        o = Table(title="Payment orders", title_justify="left")
        for c in ("order", "tranche", "funder", "amount (MAD)", "attempt", "status"):
            o.add_column(c)
        for p in s.orders:
            o.add_row(p.key, str(p.tranche), p.funder, str(p.amount), str(p.attempt), p.status)
        out.print(o)
    if history:
        h = Table(title="History", title_justify="left")
        for c in ("at", "stage", "note"):
            # fold: a long word (a name, a link someone typed) wraps whole instead of ending in "…"
            h.add_column(c, overflow="fold")
        for c in s.history:
            h.add_row(text(c.at), c.stage.value, text(c.note))
        out.print(h)


# --- List --------------------------------------------------------------------------------------------

# (key, header): the id says the edition and the registration number already.
_LIST_COLUMNS = (
    ("id", "id"),
    ("stage", "stage"),
    ("stage_since", "since"),
    ("region_code", "region"),
    ("province", "province"),
    ("legal_form", "legal form"),
    ("sector", "sector"),
    ("score", "score"),
    ("award", "award"),
    ("paid", "paid"),
)


def applications(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out.print("no application matches", markup=False)
        return
    present = [(k, h) for k, h in _LIST_COLUMNS if k in rows[0]]
    t = Table(title=f"{len(rows)} application(s)", title_justify="left")
    for k, h in present:
        if k == "id":
            t.add_column(h, no_wrap=True)
        else:
            t.add_column(h, justify="right" if k in ("score", "award", "paid") else "left", overflow="fold")
    for r in rows:
        t.add_row(
            *(r[k].strftime("%Y-%m-%d") if isinstance(r.get(k), datetime) else text(r.get(k)) for k, _ in present)
        )
    out.print(t)


# --- Import ---------------------------------------------------------------------------------------------


def import_summary(
    result: ImportResult, refused: list[FieldError], file_duplicates: list[tuple[int, int]], as_json: bool
) -> None:
    counts = {
        "started": len(result.started),
        "duplicates": len(result.duplicates) + len(file_duplicates),
        # Lines, not errors: a line with two bad fields is one refused line.
        "refused": len({e.line for e in refused if e.line is not None})
        + sum(e.line is None for e in refused)
        + len(result.failed),
    }
    if as_json:
        emit_json(
            {
                "counts": counts,
                "started": result.started,
                "duplicates": result.duplicates,
                "duplicate_lines": [{"line": n, "same_as_line": m} for n, m in file_duplicates],
                "refused": [e.as_json() for e in refused]
                + [{"application_id": a, "reason": r} for a, r in result.failed],
            }
        )
        return
    for e in refused:
        err.print(f"refused: {_mask_text(str(e))}", markup=False)
    for app_id, why in result.failed:
        err.print(f"refused: {app_id}: {_mask_text(why)}", markup=False)
    for n, m in file_duplicates:
        out.print(f"duplicate: line {n} is the same application as line {m}", markup=False)
    for app_id in result.duplicates:
        out.print(f"duplicate: {app_id} was already submitted", markup=False)
    t = Table(title="Import", show_header=False, title_justify="left")
    t.add_column("", style="bold")
    t.add_column("", justify="right")
    for k, v in counts.items():
        t.add_row(k, str(v))
    out.print(t)
