"""The programme's documents as PDF in French and Arabic: the words a person checks (names, amounts,
dates) are in the text, Arabic is shaped as HarfBuzz shapes it with the same font (the glyphs of
an Arabic name in the PDF are HarfBuzz's, in its order), a page of each is kept as a PNG, and the
store keeps each document once under its SHA-256."""

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pypdfium2
import pytest
import uharfbuzz as hb
from pypdf import PdfReader
from pypdf.generic import ContentStream

from documents.render import KINDS, pdf
from documents.store import DirectoryStore
from documents.words import WORDS
from domain.edition import edition_4_settings
from simulation.factories import make_submission

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "documents"
AMIRI = Path("/usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf")
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


def text_of(document: bytes) -> str:
    return "\n".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(document))


def test_every_word_of_the_documents_is_in_each_language():
    assert all(set(t) == {"fr", "ar", "en"} and all(t.values()) for t in WORDS.values())


@pytest.mark.parametrize("kind", KINDS)
def test_the_documents_say_who_how_much_and_when_in_french_and_arabic(kind):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language, name in (("fr", "Association Tilila"), ("ar", NAME_AR)):
        document = pdf(kind, application(name), edition_4_settings(), language, date(2025, 3, 1))
        text = text_of(document)
        assert "moazara-4-ASSO-DOC1" in text
        if language == "fr":
            assert "Association Tilila" in text and "40\u202f000,00" in text.replace(" ", "\u202f") and "2025" in text
        else:
            assert "2025/03/01" in text and "40.000,00" in text
        if kind == "agreement":
            assert "007*****************1234" in text  # the bank account, masked but for its last digits
        page = pypdfium2.PdfDocument(document)[0].render(scale=1.5).to_pil()
        page.save(ARTIFACTS / f"{kind}-{language}.png")
        assert (ARTIFACTS / f"{kind}-{language}.png").stat().st_size > 20_000


def _glyphs_shown(document: bytes, base_font: str) -> list[int]:
    """The glyph ids the PDF draws with the font named `base_font` (its subset keeps the font's own
    glyph ids: CIDs are glyph ids, /Identity), in drawing order."""
    reader = PdfReader(BytesIO(document))
    page = reader.pages[0]
    fonts = {k: v.get_object() for k, v in page["/Resources"]["/Font"].items()}
    shown: list[int] = []
    current = None
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"Tf":
            current = operands[0]
        elif op in (b"Tj", b"TJ") and str(fonts[current]["/BaseFont"]).endswith(f"+{base_font}"):
            assert fonts[current]["/DescendantFonts"][0].get_object().get("/CIDToGIDMap") == "/Identity"
            strings = [operands[0]] if op == b"Tj" else [x for x in operands[0] if not isinstance(x, int | float)]
            for s in strings:
                raw = s if isinstance(s, bytes) else s.original_bytes  # the string as written in the PDF
                shown += [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return shown


def _harfbuzz(text: str) -> list[int]:
    """HarfBuzz's glyph ids for `text` in Amiri, in visual order (as a PDF draws them)."""
    font = hb.Font(hb.Face(hb.Blob.from_file_path(str(AMIRI))))
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(font, buf)
    return [g.codepoint for g in buf.glyph_infos]


def test_an_arabic_name_is_shaped_as_harfbuzz_shapes_it_with_the_same_font():
    document = pdf("award_letter", application(NAME_AR), edition_4_settings(), "ar", date(2025, 3, 1))
    shown = _glyphs_shown(document, "Amiri")
    for word in NAME_AR.split():
        expected = _harfbuzz(word)
        assert any(shown[i : i + len(expected)] == expected for i in range(len(shown))), (word, expected)
        one_by_one = [g for c in reversed(word) for g in _harfbuzz(c)]
        assert expected != one_by_one  # joined forms, not the letters drawn one by one


def test_the_store_keeps_a_document_once_under_its_sha256(tmp_path):
    store = DirectoryStore(tmp_path)
    content = pdf("award_letter", application("Association Tilila"), edition_4_settings(), "fr", date(2025, 3, 1))
    sha, path = store.put(content, "award_letter-fr.pdf")
    assert sha == hashlib.sha256(content).hexdigest() and path.read_bytes() == content
    assert store.put(content, "award_letter-fr.pdf") == (sha, path) and store.get(sha) == content
    with pytest.raises(KeyError):
        store.get("0" * 64)


def test_a_payment_advice_names_its_order_amount_and_transfer_in_both_languages():
    app = application(NAME_AR)
    key = app["orders"][0]["key"]
    for language in ("fr", "ar"):
        text = text_of(pdf("payment_advice", app, edition_4_settings(), language, date(2025, 3, 13), key))
        assert key in text and "2025" in text
        # (a Latin run inside Arabic lines comes out of text extraction in pieces; the PNG shows it whole)
        assert "TGR-4411" in text if language == "fr" else ("TGR" in text and "4411" in text)
        assert ("18\u202f000,00" in text.replace(" ", "\u202f")) if language == "fr" else ("18.000,00" in text)
    with pytest.raises(ValueError, match="order_key"):
        pdf("payment_advice", app, edition_4_settings(), "fr", date(2025, 3, 13), "not-an-order")
