"""The edition's programme report as a minister reads it (documents/report.py prints it): the
report's figures (domain/report.py, same definitions) with what its charts show: the funnel from
submission to completion, the envelopes, and the awards, jobs and beneficiaries by region and by
sector with the priority zone's and the women's parts. A pure function of the database's rows.

The funnel counts applications that *reached* each step, whatever happened after: eligible ones
reached review, selected ones were given an award (by the committee or a waitlist promotion),
agreements were signed (the application reached disbursement), paid ones received at least one
payment, completed ones closed as completed. Each step is within the one before it.
"""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from domain.edition import EditionSettings
from domain.envelopes import EnvelopeLine
from domain.models import Stage
from domain.report import EditionReport, awarded_of, build_report, share

FUNNEL = ("submitted", "eligible", "selected", "agreements", "paid", "completed")
REACHED = {"eligible": Stage.REVIEW, "agreements": Stage.DISBURSEMENT}  # a step read from the stage history


class Breakdown(BaseModel):
    """The applications of one region or sector: how many, how many funded, for how much, the part
    of it in the priority zone, and the beneficiaries and women their latest reports count."""

    applications: int = 0
    funded: int = 0
    awarded: Decimal = Decimal("0.00")
    priority_awarded: Decimal = Decimal("0.00")
    beneficiaries: int = 0
    women: int = 0

    @property
    def priority_share(self) -> Decimal | None:
        return share(self.priority_awarded, self.awarded)

    @property
    def women_share(self) -> Decimal | None:
        return share(self.women, self.beneficiaries)


class ProgrammeReport(BaseModel):
    year: int
    report: EditionReport
    funnel: dict[str, int]  # FUNNEL's steps, in order
    envelopes: list[EnvelopeLine]
    total: Breakdown
    by_region: dict[str, Breakdown]  # by region code
    by_sector: dict[str, Breakdown]  # most applications first

    @property
    def paid(self) -> Decimal:
        return sum((m.paid for m in self.report.money.values()), Decimal("0.00"))


def programme_report(
    settings: EditionSettings, rows: list[dict[str, Any]], reached: dict[str, int], envelopes: list[EnvelopeLine]
) -> ProgrammeReport:
    """`rows` as EditionRepository.report_rows gives them; `reached`: how many applications of the
    edition reached each stage (stage value -> count, EditionRepository.reached)."""
    total = Breakdown()
    by_region: dict[str, Breakdown] = {}
    by_sector: dict[str, Breakdown] = {}
    for r in rows:
        amount = sum(awarded_of(r).values(), Decimal("0.00"))
        ind = (r["indicators"] or {}) if amount > 0 else {}  # as the report: funded projects' latest report
        zone = r["province"] in settings.priority_provinces
        for b in (
            total,
            by_region.setdefault(r["region_code"], Breakdown()),
            by_sector.setdefault(r["sector"], Breakdown()),
        ):
            b.applications += 1
            b.funded += amount > 0
            b.awarded += amount
            b.priority_awarded += amount if zone else 0
            b.beneficiaries += int(ind.get("beneficiaries", 0))
            b.women += int(ind.get("women", 0))
    funnel = {
        "submitted": len(rows),
        "selected": sum(1 for r in rows if any(v > 0 for v in r["awards"].values())),
        "paid": sum(1 for r in rows if any(v > 0 for v in r["paid"].values())),
        "completed": sum(1 for r in rows if r["stage"] == Stage.COMPLETED.value),
    } | {step: reached.get(stage.value, 0) for step, stage in REACHED.items()}
    return ProgrammeReport(
        year=settings.year,
        report=build_report(settings, rows),
        funnel={step: funnel[step] for step in FUNNEL},
        envelopes=envelopes,
        total=total,
        by_region=dict(sorted(by_region.items())),
        by_sector=dict(sorted(by_sector.items(), key=lambda kv: (-kv[1].applications, kv[0]))),
    )
