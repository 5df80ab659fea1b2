"""The programme's documents as PDF in French and Arabic: the words a person checks (names, amounts,
dates) are in the text, Arabic is shaped as HarfBuzz shapes it with the same font (the glyphs of
an Arabic name in the PDF are HarfBuzz's, in its order), a page of each is kept as a PNG, and the
store keeps each document once under its SHA-256."""

import hashlib
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from documents.render import KINDS, html, pdf
from documents.store import DirectoryStore, TamperedDocument
from documents.words import LANGUAGES, catalog
from domain.edition import edition_4_settings
from simulation.factories import make_submission
from tests.documents.pdf_checks import assert_shaped, keep_page, text_of

NAME_AR = "جمعية تيليلا للتنمية"


def application(name: str) -> dict:
    sub = make_submission("ASSO-DOC1", bank_account="rib-007-1234-0123456789abcdef")
    return {
        "id": sub.application_id,
        "edition": 4,
        "title": sub.project.title,
        "applicant_name": name,
        "registration_number": "ASSO-DOC1",
        "legal_form": "association",
        "award": Decimal("40000.00"),
        "funders": {"ministry": Decimal("30000.00"), "region-02": Decimal("10000.00")},
        "submission": sub.model_dump(mode="json"),
        "orders": [{"key": f"{sub.application_id}:T1:ministry", "tranche": 1, "funder": "ministry"}],
        "ledger": [
            {
                "order_key": f"{sub.application_id}:T1:ministry",
                "kind": "payment",
                "amount": Decimal("18000.00"),
                "reference": "TGR-4411",
                "at": datetime(2025, 3, 12, 10, tzinfo=UTC),
            }
        ],
    }


def test_every_word_of_the_documents_is_in_each_language():
    keys = {language: set(catalog(language)) for language in LANGUAGES}
    assert keys["fr"] == keys["ar"] == keys["en"], {k: v ^ keys["fr"] for k, v in keys.items()}
    assert all(catalog(language)[k].strip() for language in LANGUAGES for k in keys[language])


@pytest.mark.parametrize("kind", KINDS)
def test_the_documents_say_who_how_much_and_when_in_french_and_arabic(kind):
    for language, name in (("fr", "Association Tilila"), ("ar", NAME_AR)):
        document = pdf(html(kind, application(name), edition_4_settings(), language, date(2025, 3, 1)))
        text = text_of(document)
        assert "moazara-4-ASSO-DOC1" in text
        if language == "fr":
            assert "Association Tilila" in text and "40\u202f000,00" in text.replace(" ", "\u202f") and "2025" in text
        else:
            assert "2025/03/01" in text and "40.000,00" in text
        if kind == "agreement":
            assert "007*****************1234" in text  # the bank account, masked but for its last digits
        assert keep_page(document, f"{kind}-{language}").stat().st_size > 20_000


def test_an_arabic_name_is_shaped_as_harfbuzz_shapes_it_with_the_same_font():
    assert_shaped(
        pdf(html("award_letter", application(NAME_AR), edition_4_settings(), "ar", date(2025, 3, 1))), NAME_AR
    )


def test_the_store_keeps_a_document_once_under_its_sha256(tmp_path):
    store = DirectoryStore(tmp_path)
    content = pdf(html("award_letter", application("Association Tilila"), edition_4_settings(), "fr", date(2025, 3, 1)))
    sha, path = store.put(content, "award_letter-fr.pdf")
    assert sha == hashlib.sha256(content).hexdigest() and Path(path).read_bytes() == content
    assert store.put(content, "award_letter-fr.pdf") == (sha, path) and store.get(sha) == content
    with pytest.raises(KeyError):
        store.get("0" * 64)
    Path(path).write_bytes(content + b"%% altered on disk\n")  # someone edits the stored file
    with pytest.raises(TamperedDocument, match=f"SHA-256 mismatch: recorded {sha}"):
        store.get(sha)


def test_a_payment_advice_names_its_order_amount_and_transfer_in_both_languages():
    app = application(NAME_AR)
    key = app["orders"][0]["key"]
    for language in ("fr", "ar"):
        text = text_of(pdf(html("payment_advice", app, edition_4_settings(), language, date(2025, 3, 13), key)))
        assert key in text and "2025" in text
        # (a Latin run inside Arabic lines comes out of text extraction in pieces; the PNG shows it whole)
        assert "TGR-4411" in text if language == "fr" else ("TGR" in text and "4411" in text)
        assert ("18\u202f000,00" in text.replace(" ", "\u202f")) if language == "fr" else ("18.000,00" in text)
    with pytest.raises(ValueError, match="order_key"):
        html("payment_advice", app, edition_4_settings(), "fr", date(2025, 3, 13), "not-an-order")


def test_a_document_has_the_same_bytes_whatever_its_thread_laid_out_before():
    """pdf() keeps a FontConfiguration per thread (documents/render.py): a document's bytes, and so
    its SHA-256 (an agreement's version follows it), are those a fresh one makes in a new thread."""
    docs = [
        html(kind, application(name), edition_4_settings(), language, date(2025, 3, 1))
        for kind in KINDS
        for language, name in (("fr", "Association Tilila"), ("ar", NAME_AR))
    ]
    warm = [pdf(d) for d in docs]  # one configuration, each document after the others
    fresh: list[bytes] = []
    for d in docs:
        thread = threading.Thread(target=lambda d=d: fresh.append(pdf(d)))
        thread.start()
        thread.join()
    assert len(fresh) == len(docs) and fresh == warm
    assert [pdf(d) for d in reversed(docs)] == warm[::-1]
