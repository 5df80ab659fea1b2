"""The programme report: every application counted once, money per funder, zone share, files written."""

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal

from cli.edition import write_report
from domain.db.edition_repository import EditionRepository
from domain.edition import edition_4_settings
from domain.models import Indicators, ProgressReport
from domain.reference import LegalForm
from domain.report import build_report
from simulation.factories import recorded

NOW = datetime(2024, 1, 17, tzinfo=UTC)


def _app(repo, reg, stage, award=None, paid=None, **kw):
    return recorded(repo, reg, [stage], award, (paid or {}).items(), **kw)


def test_report_counts_add_up_and_money_is_per_funder(repo):
    repo = EditionRepository(repo.engine)
    settings = edition_4_settings()
    _app(repo, "R-1", "monitoring", {"ministry": Decimal("40000.00")}, {"ministry": Decimal("24000.00")})
    coop = _app(
        repo,
        "R-2",
        "agreement",
        {"region-02": Decimal("30000.00")},
        legal_form=LegalForm.COOPERATIVE,
        region_code="02",
        province="Oujda-Angad",
    )
    _app(
        repo,
        "R-3",
        "withdrawn",
        {"ministry": Decimal("40000.00")},
        {"ministry": Decimal("24000.00")},
        province="Rabat",
        region_code="04",
    )
    _app(repo, "R-4", "ineligible", province="Rabat", region_code="04")
    _app(repo, "R-5", "rejected", province="Rabat", region_code="04")
    repo.record_report(
        "moazara-4-R-1",
        1,
        ProgressReport(
            period=1, indicators=Indicators(jobs_created=4, jobs_kept=2, beneficiaries=50, women=30, youth=10)
        ),
        NOW,
    )

    r = build_report(settings, repo.report_rows(4)["applications"])
    assert r.applications == 5 and sum(r.by_stage.values()) == 5
    assert r.by_stage == {"agreement": 1, "ineligible": 1, "monitoring": 1, "rejected": 1, "withdrawn": 1}
    assert sum(r.by_region.values()) == sum(r.by_legal_form.values()) == sum(r.by_sector.values()) == 5
    # Awarded: live awards, plus what a withdrawn project was paid; committed: under a signed agreement.
    assert r.money["ministry"].awarded == Decimal("64000.00")
    assert r.money["ministry"].committed == Decimal("64000.00")
    assert r.money["ministry"].paid == Decimal("48000.00")
    assert r.money["region-02"].awarded == Decimal("30000.00") and r.money["region-02"].committed == 0
    assert r.funded_by == {"ministry": 2, "region-02": 1}
    # are in Al Haouz / Rabat: one of three funded projects is in the earthquake zone.
    assert r.funded_projects == 3 and r.earthquake_zone_projects == 1
    assert r.earthquake_zone_share == Decimal("0.3333")
    assert r.indicators.jobs_created == 4 and r.indicators.women_share == Decimal("0.6000")
    assert coop in [a["id"] for a in repo.report_rows(4)["applications"]]


def test_report_is_written_as_json_and_csv(repo, tmp_path):
    repo = EditionRepository(repo.engine)
    _app(repo, "W-1", "completed", {"ministry": Decimal("40000.00")}, {"ministry": Decimal("40000.00")})
    r = build_report(edition_4_settings(), repo.report_rows(4)["applications"])
    json_path, csv_path = write_report(r, tmp_path)
    assert json.loads(json_path.read_text())["money"]["ministry"]["paid"] == "40000.00"
    rows = list(csv.DictReader(csv_path.open()))
    assert {"section": "by_stage", "key": "completed", "value": "1"} in rows
    assert {"section": "money_paid", "key": "ministry", "value": "40000.00"} in rows
