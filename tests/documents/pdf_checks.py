"""What the documents' tests read in a PDF: its text, the glyphs it draws with a font (to compare an
Arabic word with HarfBuzz's shaping of it with the same font), and a page kept as a PNG artefact
(var/test-artifacts/documents/)."""

from io import BytesIO
from pathlib import Path

import pypdfium2
import uharfbuzz as hb
from pypdf import PdfReader
from pypdf.generic import ContentStream

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "documents"
AMIRI = Path("/usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf")


def text_of(document: bytes) -> str:
    return "\n".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(document))


def keep_page(document: bytes, name: str) -> Path:
    """The document's first page rendered as `name`.png among the artefacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pypdfium2.PdfDocument(document)[0].render(scale=1.5).to_pil().save(path)
    return path


def glyphs_shown(document: bytes, base_font: str, page: int = 0) -> list[int]:
    """The glyph ids the PDF draws on `page` with the font named `base_font` (its subset keeps the
    font's own glyph ids: CIDs are glyph ids, /Identity), in drawing order."""
    reader = PdfReader(BytesIO(document))
    shown_on = reader.pages[page]
    fonts = {k: v.get_object() for k, v in shown_on["/Resources"]["/Font"].items()}
    shown: list[int] = []
    current = None
    for operands, op in ContentStream(shown_on.get_contents(), reader).operations:
        if op == b"Tf":
            current = operands[0]
        elif op in (b"Tj", b"TJ") and str(fonts[current]["/BaseFont"]).endswith(f"+{base_font}"):
            assert fonts[current]["/DescendantFonts"][0].get_object().get("/CIDToGIDMap") == "/Identity"
            strings = [operands[0]] if op == b"Tj" else [x for x in operands[0] if not isinstance(x, int | float)]
            for s in strings:
                raw = s if isinstance(s, bytes) else s.original_bytes  # the string as written in the PDF
                shown += [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return shown


def harfbuzz(text: str) -> list[int]:
    """HarfBuzz's glyph ids for `text` in Amiri, in visual order (as a PDF draws them)."""
    font = hb.Font(hb.Face(hb.Blob.from_file_path(str(AMIRI))))
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(font, buf)
    return [g.codepoint for g in buf.glyph_infos]


def assert_shaped(document: bytes, text: str, page: int = 0) -> None:
    """Each Arabic word of `text` is drawn on `page` with Amiri's glyphs as HarfBuzz shapes it, in
    its order: joined forms, not the letters drawn one by one."""
    shown = glyphs_shown(document, "Amiri", page)
    for word in text.split():
        expected = harfbuzz(word)
        assert any(shown[i : i + len(expected)] == expected for i in range(len(shown))), (word, expected)
        one_by_one = [g for c in reversed(word) for g in harfbuzz(c)]
        assert expected != one_by_one  # joined forms, not the letters drawn one by one
