"""The programme's documents as PDF, in French, Arabic or English: HTML from templates (each
extends base.html: the ministry's header, the title, the reference and the date) and the
documents' words (documents/words.py), amounts and dates from the one formatter
(infra/formats.py), laid out and shaped by WeasyPrint (Pango and HarfBuzz: Arabic joined and
right to left) with fonts the Makefile installs (Amiri for Arabic, DejaVu Sans otherwise).

An application's documents are made here (`html`); the edition's programme report in
documents/report.py. Both through `page`, then `pdf`."""

import multiprocessing
import os
import signal
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from documents.words import words
from domain.edition import EditionSettings, Tranche
from domain.money import mad
from domain.reference import MINISTRY
from domain.rib import mask_rib
from infra import formats

TEMPLATES = Path(__file__).parent / "templates"
FONTS = {"ar": '"Amiri", "DejaVu Sans", serif', "fr": '"DejaVu Sans", sans-serif', "en": '"DejaVu Sans", sans-serif'}
KINDS = ("award_letter", "agreement")  # one per selected application; a payment advice per paid order
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def page(template: str, language: str, **context: Any) -> str:
    """A document's HTML: its template with the language's words (`w`), direction and font."""
    return env.get_template(f"{template}.html").render(
        language=language,
        direction="rtl" if language in formats.RTL else "ltr",
        font=FONTS.get(language, FONTS["fr"]),
        w=words(language),
        **context,
    )


def pdf(html: str) -> bytes:
    """The document as PDF: laid out in the rendering processes when the worker started them,
    else here."""
    return _renderers[0].submit(_write_pdf, html).result() if _renderers else _write_pdf(html)


def _write_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: Pango loads only where documents are made

    return HTML(string=html).write_pdf(font_config=_font_config())  # type: ignore[no-any-return]


# The worker's rendering processes. Laying out a PDF is ~0.15 s of pure Python per page: in the
# worker's own threads it holds the interpreter lock that workflow tasks need too, so every
# workflow waiting on the worker waited behind the documents (make bench, make chaos).
_renderers: list[Executor] = []


def render_in_processes(processes: int) -> Executor | None:
    """From now on, lay documents out in `processes` processes of their own (0: in the caller's
    thread); the pool, for the caller to shut down. Spawned, not forked: the worker has threads."""
    for pool in _renderers:
        pool.shutdown(wait=False)
    _renderers.clear()
    if processes < 1:
        return None
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=_warm)
    _renderers.append(pool)
    return pool


def _warm() -> None:
    """A rendering process's start: Pango loaded once, before its first document, and an end with
    the worker's, even a SIGKILLed one (nothing would tell it otherwise: it would wait forever)."""
    import weasyprint  # noqa: F401

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C stops the worker, which ends the pool
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)


# One FontConfiguration per thread, kept: a new one is a new Pango font map in which every font is
# loaded and measured again, about half of a French letter's time (bench/outbound.py; the PDF's
# bytes are the same, tests/documents/test_documents.py). Per thread: Pango's font maps are not
# meant to be shared between threads (the worker's activities run in several).
_fonts = threading.local()


def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    if getattr(_fonts, "config", None) is None:
        _fonts.config = FontConfiguration()
    return _fonts.config


def _funder(name: str, language: str) -> str:
    if name == MINISTRY:
        return words(language)("funder_ministry")
    return words(language)("funder_region", code=name.removeprefix("region-"))


@dataclass(frozen=True)
class Terms:
    """What an agreement states of its edition's rules: the tranches and the report interval."""

    tranches: tuple[Tranche, ...]
    report_interval_months: int

    @classmethod
    def of(cls, settings: EditionSettings | None) -> "Terms":
        """The edition's terms, or the programme's defaults (domain/edition.py) for one not on record."""
        if settings is not None:
            return cls(settings.tranches, settings.report_interval_months)
        fields = EditionSettings.model_fields
        return cls(fields["tranches"].default, fields["report_interval_months"].default)


def html(
    kind: str,
    app: dict[str, Any],
    settings: EditionSettings | Terms,
    language: str,
    issued: date,
    order_key: str | None = None,
) -> str:
    """An application's document `kind` (a payment advice: of its paid order `order_key`) as HTML."""
    if kind not in (*KINDS, "payment_advice"):
        raise ValueError(f"kind: one of {', '.join(KINDS)}, payment_advice")
    w = words(language)
    terms = settings if isinstance(settings, Terms) else Terms.of(settings)
    award = mad(app["award"])
    submission = app["submission"]
    tranches = [
        {"amount": formats.money(mad(award * t.share), language), "condition": w(f"release_{t.release.value}")}
        for t in terms.tranches
    ]
    funders = [
        {"name": _funder(f, language), "amount": formats.money(a, language)} for f, a in sorted(app["funders"].items())
    ]
    advice = _advice(app, order_key, language) if kind == "payment_advice" else None
    return page(
        kind,
        language,
        title=w(kind),
        reference=app["id"],
        issued=formats.when(issued, language),
        advice=advice,
        app=app,
        award=formats.money(award, language),
        funders=funders,
        tranches=tranches,
        months=submission["project"]["duration_months"],
        interval=terms.report_interval_months,
        legal_form=w(f"legal_form_{app['legal_form']}"),
        bank=advice["bank"] if advice else _agreed_account(app),
    )


def _agreed_account(app: dict[str, Any]) -> str:
    """The account the agreement states, masked: the last one finance changed before signature
    (a `bank_details` decision naming it), else the submission's."""
    changed = [
        d["payload"]["bank_account"]
        for d in app.get("decisions", [])
        if d["kind"] == "bank_details" and d["outcome"] == "fixed" and (d["payload"] or {}).get("bank_account")
    ]
    bank = changed[-1] if changed else app["submission"]["applicant"].get("bank_account")
    return mask_rib(bank) if bank else "—"


def _advice(app: dict[str, Any], order_key: str | None, language: str) -> dict[str, Any]:
    """What a payment advice states, from the paid order and its ledger movement."""
    order = next((o for o in app["orders"] if o["key"] == order_key), None)
    paid = next((m for m in app["ledger"] if m.get("order_key") == order_key and m["kind"] == "payment"), None)
    if order is None or paid is None:
        raise ValueError(f"order_key: {str(order_key)[:80]!r} is not a paid order of {app['id']}")
    return {
        "order_key": order_key,
        "tranche": order["tranche"],
        "funder": _funder(order["funder"], language),
        "amount": formats.money(paid["amount"], language),
        "reference": paid["reference"],
        "executed_on": formats.when(paid["at"], language),
        # the account the order was paid to (masked): after a change of bank details, the new one
        "bank": order.get("account_masked") or _agreed_account(app),
    }
