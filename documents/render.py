"""The programme's documents as PDF, in French, Arabic or English: HTML from templates (each
extends base.html: the ministry's header, the title, the reference and the date) and the
documents' words (documents/words.py), amounts and dates from the one formatter
(infra/formats.py), laid out and shaped by WeasyPrint (Pango and HarfBuzz: Arabic joined and
right to left) with fonts the Makefile installs (Amiri for Arabic, DejaVu Sans otherwise).

An application's documents are made here (`html`); the edition's programme report in
documents/report.py. Both through `page`, then `pdf`."""

import threading
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
    """The document as PDF."""
    from weasyprint import HTML  # imported here: Pango loads only where documents are made

    return HTML(string=html).write_pdf(font_config=_font_config())  # type: ignore[no-any-return]


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
