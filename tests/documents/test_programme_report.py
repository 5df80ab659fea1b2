"""The edition's programme report as PDF, as a minister's office reads it: an edition with known
figures (six applications written to the database as their workflows write them), its report in
French, Arabic and English: the counts, the MAD totals and the shares in the text of the PDF,
written as each language writes them; the charts drawn (bars scaled on the largest, from the right
in Arabic); Arabic shaped as HarfBuzz shapes it; page 1 of each kept as a PNG. Then as ops and
the console get it: `starter.py edition report N --pdf`, and the edition page's download (an
officer's on the access trail; a reviewer refused)."""

import hashlib
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from charts.bars import LABEL, PLOT, WIDTH
from console.app import console_state, create_app
from documents import report
from documents.render import pdf
from domain.db.edition_repository import EditionRepository
from domain.db.session import make_engine, migrate
from domain.edition import edition_4_settings
from domain.models import Indicators
from domain.programme_report import programme_report
from domain.reference import LegalForm, Sector
from infra.settings import Settings
from simulation.factories import recorded
from tests.console.sessions import PASSWORD, signed_in
from tests.documents.pdf_checks import assert_shaped, keep_page, text_of

ROOT = Path(__file__).resolve().parents[2]
MAD = Decimal
SIGNED = ["eligibility", "review", "committee", "agreement", "disbursement", "monitoring"]


def known_edition(repo: EditionRepository) -> None:
    """Six applications: 5 eligible, 3 selected (105,000 MAD), 2 agreements signed, 2 paid
    (58,000 MAD), 1 completed; 40,000 MAD awarded in the priority zone (Al Haouz); 80
    beneficiaries of whom 36 women."""
    settings = edition_4_settings()
    repo.open_edition(settings, "moazara-edition-4", "ops", datetime(2023, 3, 1, tzinfo=UTC))
    recorded(
        repo,
        "PR-1",
        [*SIGNED, "completed"],
        {"ministry": MAD("40000.00")},
        [("ministry", MAD("24000.00")), ("ministry", MAD("16000.00"))],
        Indicators(jobs_created=4, jobs_kept=2, beneficiaries=50, women=30, youth=10),
    )
    rabat = {"province": "Rabat", "region_code": "04", "sector": Sector.TOURISM}
    recorded(
        repo,
        "PR-2",
        SIGNED,
        {"ministry": MAD("30000.00")},
        [("ministry", MAD("18000.00"))],
        Indicators(jobs_created=2, jobs_kept=1, beneficiaries=30, women=6, youth=5),
        **rabat,
    )
    recorded(
        repo,
        "PR-3",
        ["eligibility", "review", "committee", "cofunding", "agreement"],
        {"ministry": MAD("10000.00"), "region-02": MAD("25000.00")},
        legal_form=LegalForm.COOPERATIVE,
        province="Oujda-Angad",
        region_code="02",
        sector=Sector.LOCAL_PRODUCTS,
    )
    recorded(repo, "PR-4", ["eligibility", "review", "committee", "rejected"], **rabat)
    recorded(repo, "PR-5", ["eligibility", "ineligible"], **rabat)
    recorded(
        repo, "PR-6", ["eligibility", "review", "withdrawn"], province="Taroudant", region_code="09",
        sector=Sector.EDUCATION,
    )  # fmt: skip


def said(document: bytes) -> str:
    """The PDF's text, each run of spaces (line breaks, no-break spaces between digits) one space."""
    return " ".join(text_of(document).split())


def figures_of(repo: EditionRepository):
    settings = edition_4_settings()
    return programme_report(
        settings, repo.report_rows(4)["applications"], repo.reached(4), repo.envelope_ledger(settings)
    )


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The known edition on SQLite, its report's figures and its HTML and PDF in each language."""
    db = tmp_path_factory.mktemp("report") / "moazara.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    repo = EditionRepository(engine)
    known_edition(repo)
    figures = figures_of(repo)
    pages = {language: report.html(figures, language, date(2025, 3, 1)) for language in ("fr", "ar", "en")}
    yield engine, figures, pages, {language: pdf(html) for language, html in pages.items()}
    engine.dispose()


def test_the_funnel_the_money_and_the_shares_add_up_on_each_database(repo):
    repo = EditionRepository(repo.engine)
    known_edition(repo)
    r = figures_of(repo)
    assert r.funnel == {"submitted": 6, "eligible": 5, "selected": 3, "agreements": 2, "paid": 2, "completed": 1}
    assert r.total.awarded == MAD("105000.00") and r.total.priority_awarded == MAD("40000.00") and r.paid == 58000
    assert {k: g.awarded for k, g in r.by_region.items()} == {"02": 35000, "04": 30000, "07": 40000, "09": 0}
    assert r.report.indicators.women_share == Decimal("0.4500") and r.total.women_share == Decimal("0.4500")
    assert list(r.by_sector) == ["tourism", "education", "handicrafts", "local_products"]  # most applications first
    envelopes = {e.envelope: e for e in r.envelopes}
    assert envelopes["region-02"].size == 343000 and envelopes["region-02"].committed == 25000
    assert set(envelopes) == {"ministry", "ministry-priority", "region-02", "region-03"}


def test_a_minister_reads_the_counts_the_totals_and_the_shares_in_each_language(edition):
    _, _, _, documents = edition
    fr, ar, en = (said(documents[language]) for language in ("fr", "ar", "en"))
    assert "Rapport du programme" in fr and "Édition 4 (2023)" in fr and "1 mar. 2025" in fr
    assert "Candidatures déposées 6" in fr and "Projets financés 3" in fr
    assert "105 000,00 MAD" in fr and "58 000,00 MAD" in fr  # awarded, paid
    assert "Part des femmes parmi les bénéficiaires 45 %" in fr
    assert "Zone prioritaire : 1 des 3 projets financés, 38 % des montants accordés." in fr
    assert "Éligibles 5 (83 %)" in fr and "Conventions signées 2 (33 %)" in fr and "Projets achevés 1 (17 %)" in fr
    assert "Conseil régional — L'Oriental" in fr and "343 000,00 MAD" in fr and "318 000,00 MAD" in fr  # size, left
    assert "Bénéficiaires 80 · 45 % de femmes" in fr
    assert "105.000,00" in ar and "58.000,00" in ar and "343.000,00" in ar and "د.م." in ar
    assert "45%" in ar and "38%" in ar and "2025/03/01" in ar
    assert "Programme report" in en and "MAD105,000.00" in en and "Women's share of the beneficiaries 45%" in en
    for language, document in documents.items():
        assert keep_page(document, f"programme_report-{language}").stat().st_size > 20_000


def test_the_charts_are_drawn_from_the_left_in_french_and_from_the_right_in_arabic(edition):
    _, figures, pages, documents = edition
    for language, html in pages.items():
        charts = dict(re.findall(r'<table class="chart" id="chart-([a-z-]+)">(.*?)</table>', html, re.S))
        bars = {k: re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)" height="16" fill="#9cc3ea">', v)
                for k, v in charts.items()}  # fmt: skip
        counts = {k: len(v) for k, v in bars.items()}
        assert counts == {"funnel": 6, "envelopes": 4, "regions": 4, "sectors": 4, "people": 4, "people-regions": 2}
        funnel = [(float(x), float(w)) for x, w in bars["funnel"]]
        assert funnel[0][1] == PLOT and funnel[-1][1] == pytest.approx(PLOT / 6, abs=0.1)  # 6 submitted, 1 completed
        if language == "ar":  # bars end on the plot's right edge
            assert all(x + w == pytest.approx(WIDTH - LABEL, abs=0.11) for x, w in funnel)
        else:
            assert all(x == LABEL for x, _ in funnel)
    # In the PDF: the bars' colour is painted on the first page (the funnel).
    page = PdfReader(BytesIO(documents["fr"])).pages[0].get_contents().get_data()
    assert re.search(rb"0\.61\d* 0\.76\d* 0\.91\d* rg", page)
    assert figures.funnel["submitted"] == 6


def test_arabic_words_are_shaped_as_harfbuzz_shapes_them(edition):
    _, _, _, documents = edition
    assert_shaped(documents["ar"], "الطلبات المودعة المنتقاة من طرف اللجنة")  # the funnel's labels, page 1


def test_ops_write_it_from_the_cli_kept_in_the_document_store(edition, tmp_path):
    engine, *_ = edition
    env = {**os.environ, "DATABASE_URL": str(engine.url), "DOCUMENTS_DIR": str(tmp_path / "store"), "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "starter.py", "edition", "report", "4", "--pdf", "--lang", "ar", "--out", str(tmp_path / "r.pdf")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    sha = re.search(r"sha256 ([0-9a-f]{64})", run.stdout)[1]
    content = (tmp_path / "r.pdf").read_bytes()
    assert hashlib.sha256(content).hexdigest() == sha and "58.000,00" in said(content)
    assert list((tmp_path / "store" / sha[:2]).glob(f"{sha}-programme_report-4-ar.pdf"))
    bad = subprocess.run(
        [sys.executable, "starter.py", "edition", "report", "4", "--pdf", "--lang", "de"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "--lang" in bad.stdout + bad.stderr


async def test_an_officer_downloads_it_from_the_edition_page_and_a_reviewer_is_refused(edition, tmp_path):
    engine, *_ = edition
    s = console_state(Settings(database_url=str(engine.url), documents_dir=str(tmp_path / "store")), engine)
    s.accounts.create("officer-report", "Officer", PASSWORD, ["officer"], by="test-admin")
    s.accounts.create("reviewer-report", "Reviewer", PASSWORD, ["reviewer"], by="test-admin")
    app = create_app(s)
    officer = await signed_in(app, "officer-report")
    page = await officer.get("/editions/4")
    assert page.status_code == 200 and 'href="/editions/4/report-ar.pdf"' in page.text
    r = await officer.get("/editions/4/report-fr.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["x-document-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert "105 000,00 MAD" in said(r.content)
    assert any("programme_report edition 4 (fr)" in e.subject for e in s.accounts.trail())
    assert (await officer.get("/editions/4/report-de.pdf")).status_code == 404
    reviewer = await signed_in(app, "reviewer-report")
    assert (await reviewer.get("/editions/4/report-fr.pdf")).status_code == 403
