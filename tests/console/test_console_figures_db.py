"""The dashboard's figures (console/editions.py `figures`, aggregated by the database) are the
programme report's (domain/report.py `build_report` on the same rows), on SQLite and on PostgreSQL:
the two databases are planned differently (on PostgreSQL the edition's awards, payments and
reports are filtered by a semi-join), and each must give the report's figures."""

from sqlalchemy.orm import Session

from bench.console import seed
from console import editions
from domain.db.edition_repository import EditionRepository
from domain.report import build_report


def test_the_dashboards_figures_are_the_programme_reports_on_each_database(repo):
    seed(repo.engine, 400, edition=95)
    rows = EditionRepository(repo.engine)
    settings = editions.settings_of(rows, 95)
    report = build_report(settings, rows.report_rows(95)["applications"])
    with Session(repo.engine) as db:
        f = editions.figures(db, settings)
    assert f.total.applications == report.applications == 400 and f.by_stage == report.by_stage
    assert {k: g.applications for k, g in f.by_region.items()} == report.by_region
    assert {k: g.applications for k, g in f.by_province.items()} == report.by_province
    assert f.total.funded == report.funded_projects > 0
    assert f.total.priority_funded == report.earthquake_zone_projects
    assert f.total.awarded == sum(m.awarded for m in report.money.values()) > 0
    assert f.total.priority_share == report.earthquake_zone_amount_share
    assert f.total.women_share == report.indicators.women_share
    assert f.total.reporting == report.indicators.projects_reporting > 0
    assert {k: f.total.indicators[k] for k in ("jobs_created", "beneficiaries", "women")} == {
        k: getattr(report.indicators, k) for k in ("jobs_created", "beneficiaries", "women")
    }
