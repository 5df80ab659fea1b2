"""Read models of an edition for the console: the list, the dashboard (the programme report and
the envelopes, from the domain database) and the committee's proposal with its what-if.

The what-if runs the committee's pure function (domain/committee.py) on the same candidates with
the parameters a member changed (an envelope's size, the minimum score) and stores nothing.
Confirming is never a what-if's: it applies the stored proposal, which the what-if reproduces
with the edition's own parameters.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.committee import Change, Placement, fill, what_if
from domain.db.edition_repository import EditionRepository
from domain.db.tables import EditionRow
from domain.edition import EditionSettings
from domain.envelopes import EnvelopeLine, sizes
from domain.models import Decision, Stage
from domain.money import mad
from domain.report import EditionReport, build_report


def editions(repo: EditionRepository) -> list[dict[str, Any]]:
    with Session(repo.engine) as s:
        rows = s.scalars(select(EditionRow).order_by(EditionRow.edition.desc())).all()
        return [
            {
                "edition": r.edition,
                "year": r.year,
                "opened_by": r.opened_by,
                "opened_at": r.opened_at,
                "call_closed_at": r.call_closed_at,
                "confirmed_by": r.confirmed_by,
            }
            for r in rows
        ]


def settings_of(repo: EditionRepository, edition: int) -> EditionSettings | None:
    row = repo.get_edition(edition)
    return EditionSettings.model_validate(row["settings"]) if row else None


def dashboard(repo: EditionRepository, settings: EditionSettings) -> tuple[EditionReport, list[EnvelopeLine]]:
    report = build_report(settings, repo.report_rows(settings.edition)["applications"])
    return report, repo.envelope_ledger(settings)


# What a member may change in a what-if: the query's field -> the setting.
WHAT_IF_FIELDS = ("ministry_envelope", "priority_envelope", "min_score")


def changed_settings(settings: EditionSettings, query: dict[str, str]) -> tuple[EditionSettings, dict[str, str]]:
    """The edition's settings with the what-if's changes, validated like any configuration; and
    the errors by field (the changes are then ignored)."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in WHAT_IF_FIELDS:
        if query.get(name, "").strip():
            try:
                changes[name] = Decimal(query[name].strip().replace(" ", "").replace(",", "."))
            except InvalidOperation:
                errors[name] = "not a number"
    partners = []
    for p in settings.partners:
        raw = query.get(f"partner_{p.region_code}", "").strip()
        try:
            partners.append(p.model_copy(update={"envelope": mad(raw)}) if raw else p)
        except (InvalidOperation, ValueError):
            errors[f"partner_{p.region_code}"] = "not an amount"
            partners.append(p)
    if errors:
        return settings, errors
    try:
        return EditionSettings.model_validate({**settings.model_dump(), **changes, "partners": partners}), {}
    except ValueError as e:
        return settings, {"": str(e)[:300]}


def committee(repo: EditionRepository, settings: EditionSettings, query: dict[str, str]) -> dict[str, Any]:
    """The stored proposal (round 0), and the what-if of `query` on the same candidates."""
    rows = repo.round_rows(settings.edition, 0)
    stored = {r.application_id: (Decision(r.decision), mad(r.award)) for r in rows}
    stored_fill: dict[str, Decimal] = {}
    for r in rows:
        if r.decision == Decision.SELECTED.value:
            for envelope, amount in r.draws.items():
                stored_fill[envelope] = stored_fill.get(envelope, Decimal("0.00")) + mad(amount)
    changed, errors = changed_settings(settings, query)
    candidates = repo.candidates(settings.edition, Stage.COMMITTEE)
    placements: list[Placement] = []
    changes: list[Change] = []
    if candidates and rows:
        placements, changes = what_if(candidates, changed, stored)
    return {
        "rows": rows,
        "sizes": sizes(settings),
        "stored_fill": stored_fill,
        "what_if_sizes": sizes(changed),
        "what_if_fill": fill(placements),
        "changes": changes,
        "asked": any(k in query for k in WHAT_IF_FIELDS) or any(k.startswith("partner_") for k in query),
        "errors": errors,
        "changed": changed,
        "can_what_if": bool(candidates and rows),
    }
