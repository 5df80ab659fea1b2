"""Issuing a document: rendered from the records and the edition's terms, kept in the store under
its SHA-256. The one way the CLI and the console make them: an application's documents (`issue`)
and the edition's programme report (`issue_report`)."""

from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from documents import report
from documents.render import Terms, html, pdf
from documents.store import DocumentStore
from domain.calendar import local_date
from domain.db.edition_repository import EditionRepository
from domain.db.tables import EditionRow
from domain.documents import scan_type
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
    store: DocumentStore,
    on: date,
    order_key: str | None = None,
    terms: Terms | EditionSettings | None = None,
    anew: bool = False,
) -> tuple[str, str, bytes]:
    """(SHA-256, where the store keeps it, content) of the application's document `kind` in `language`
    (a payment advice: of the paid order `order_key`), under the edition's `terms` (default: as the
    database holds them). A document the workflow issued (the agreement's last version, a payment
    advice: the application's `documents`) is that one, whatever day it is asked for, unless `anew`
    (the workflow issuing it)."""
    if not app["award"]:
        raise NotIssuable(f"{app['id']} has no award: its documents come once the committee selects it")
    if kind == "payment_advice" and order_key not in paid_orders(app):
        raise NotIssuable(f"{str(order_key)[:80]!r} is not a paid order of {app['id']}")
    issued = None if anew else issued_document(app, kind, language, order_key)
    if issued is not None:
        try:  # checked against its hash as it is read (documents/store.py)
            return issued["sha256"], store.where(issued["sha256"]), store.get(issued["sha256"])
        except KeyError:  # not in this store: made again as it was issued that day
            on = local_date(issued["at"])
    content = pdf(html(kind, app, terms or terms_for(engine, app["edition"]), language, on, order_key))
    return _kept(store, content, kind, language)


def issued_document(app: dict[str, Any], kind: str, language: str, order_key: str | None) -> dict[str, Any] | None:
    """The application's recorded document of this kind and language (an agreement: its last
    version; a payment advice: of `order_key`), or None."""
    found = [
        d
        for d in app.get("documents", [])
        if d["kind"] == kind and d["language"] == language and (kind != "payment_advice" or d["order_key"] == order_key)
    ]
    return max(found, key=lambda d: d["version"] or 0) if found else None


def issue_report(
    engine: Engine, settings: EditionSettings, language: str, store: DocumentStore, on: date
) -> tuple[str, str, bytes]:
    """(SHA-256, where the store keeps it, content) of the edition's programme report in `language`, as
    the database holds the edition today."""
    repo = EditionRepository(engine)
    figures = programme_report(
        settings,
        repo.report_rows(settings.edition)["applications"],
        repo.reached(settings.edition),
        repo.envelope_ledger(settings),
    )
    return _kept(store, pdf(report.html(figures, language, on)), f"programme_report-{settings.edition}", language)


def keep_scan(store: DocumentStore, content: bytes) -> str:
    """The SHA-256 of a signed scan, once checked (domain/documents.scan_type: a PDF, PNG or JPEG
    of at most 10 MB; ValueError otherwise) and kept in the store."""
    kind = scan_type(content)
    sha, _ = store.put(content, f"signed_scan.{kind.rpartition('/')[2]}")
    return sha


def _kept(store: DocumentStore, content: bytes, name: str, language: str) -> tuple[str, str, bytes]:
    sha, path = store.put(content, f"{name}-{language}.pdf")
    return sha, path, content


def paid_orders(app: dict[str, Any]) -> list[str]:
    """The keys of the application's orders the payment system executed (one advice each)."""
    return [m["order_key"] for m in app["ledger"] if m["kind"] == "payment" and m.get("order_key")]
