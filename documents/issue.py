"""Issuing a document: rendered from the records and the edition's terms, kept in the store under
its SHA-256. The one way the CLI and the console make them: an application's documents (`issue`)
and the edition's programme report (`issue_report`)."""

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from documents import report
from documents.render import Terms, html, pdf
from documents.store import DirectoryStore
from domain.db.edition_repository import EditionRepository
from domain.db.tables import EditionRow
from domain.edition import EditionSettings
from domain.edition_terms import EditionTerms
from domain.programme_report import programme_report


class NotIssuable(ValueError):
    """The application has no award yet: no award letter nor agreement to issue."""


def terms_for(engine: Engine, edition: int) -> Terms:
    with Session(engine) as s:
        row = s.get(EditionRow, edition)
        terms = EditionTerms(row.settings if row is not None else None)
        return Terms(terms.get("tranches"), terms.get("report_interval_months"))


def issue(
    engine: Engine,
    app: dict[str, Any],
    kind: str,
    language: str,
    store: DirectoryStore,
    on: date,
    order_key: str | None = None,
) -> tuple[str, Path, bytes]:
    """(SHA-256, path in the store, content) of the application's document `kind` in `language`
    (a payment advice: of the paid order `order_key`)."""
    if not app["award"]:
        raise NotIssuable(f"{app['id']} has no award: its documents come once the committee selects it")
    if kind == "payment_advice" and order_key not in paid_orders(app):
        raise NotIssuable(f"{str(order_key)[:80]!r} is not a paid order of {app['id']}")
    return _kept(
        store, pdf(html(kind, app, terms_for(engine, app["edition"]), language, on, order_key)), kind, language
    )


def issue_report(
    engine: Engine, settings: EditionSettings, language: str, store: DirectoryStore, on: date
) -> tuple[str, Path, bytes]:
    """(SHA-256, path in the store, content) of the edition's programme report in `language`, as
    the database holds the edition today."""
    repo = EditionRepository(engine)
    figures = programme_report(
        settings,
        repo.report_rows(settings.edition)["applications"],
        repo.reached(settings.edition),
        repo.envelope_ledger(settings),
    )
    return _kept(store, pdf(report.html(figures, language, on)), f"programme_report-{settings.edition}", language)


def _kept(store: DirectoryStore, content: bytes, name: str, language: str) -> tuple[str, Path, bytes]:
    sha, path = store.put(content, f"{name}-{language}.pdf")
    return sha, path, content


def paid_orders(app: dict[str, Any]) -> list[str]:
    """The keys of the application's orders the payment system executed (one advice each)."""
    return [m["order_key"] for m in app["ledger"] if m["kind"] == "payment" and m.get("order_key")]
