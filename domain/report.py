"""The programme report of an edition: a pure function of the rows the database holds.

Every application is counted in exactly one stage, so the counts by stage add up to the
total. Money per funder:
* awarded — what the committee's live decisions give (and, for a project that let its award
  go after payments started, what it was paid);
* committed — the part of it under a signed funding agreement;
* paid — the ledger.
"""

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from domain.edition import EditionSettings
from domain.models import Stage
from domain.money import mad

RELEASED = {
    Stage.WITHDRAWN,
    Stage.CANCELLED,
    Stage.TERMINATED,
    Stage.LAPSED,
    Stage.NOT_SELECTED,
    Stage.WAITLISTED,
    Stage.REJECTED,
    Stage.INELIGIBLE,
}
SIGNED = {Stage.DISBURSEMENT, Stage.MONITORING, Stage.COMPLETED}


class FunderMoney(BaseModel):
    awarded: Decimal = Decimal("0.00")
    committed: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")


class Indicators(BaseModel):
    projects_reporting: int = 0
    jobs_created: int = 0
    jobs_kept: int = 0
    beneficiaries: int = 0
    women: int = 0
    youth: int = 0
    women_share: Decimal | None = None  # of beneficiaries
    rural_share: Decimal | None = None  # of funded projects


class EditionReport(BaseModel):
    edition: int
    applications: int
    by_stage: dict[str, int]
    by_region: dict[str, int]
    by_province: dict[str, int]
    by_sector: dict[str, int]
    by_legal_form: dict[str, int]
    funded_by: dict[str, int]  # funded projects per funder
    money: dict[str, FunderMoney]
    funded_projects: int
    earthquake_zone_projects: int
    earthquake_zone_share: Decimal | None  # of funded projects
    earthquake_zone_amount_share: Decimal | None  # of the amounts awarded
    honorary_awards: list[str]
    indicators: Indicators

    def flat_rows(self) -> list[dict[str, Any]]:
        """One row per (section, key) for the CSV export."""
        rows = [{"section": "total", "key": "applications", "value": self.applications}]
        for section in ("by_stage", "by_region", "by_province", "by_sector", "by_legal_form", "funded_by"):
            rows += [{"section": section, "key": k, "value": v} for k, v in getattr(self, section).items()]
        for funder, m in self.money.items():
            rows += [
                {"section": f"money_{what}", "key": funder, "value": getattr(m, what)}
                for what in ("awarded", "committed", "paid")
            ]
        rows += [
            {"section": "earthquake_zone", "key": k, "value": getattr(self, k)}
            for k in ("earthquake_zone_projects", "earthquake_zone_share", "earthquake_zone_amount_share")
        ]
        rows += [{"section": "honorary_award", "key": i, "value": a} for i, a in enumerate(self.honorary_awards, 1)]
        rows += [{"section": "indicators", "key": k, "value": v} for k, v in self.indicators.model_dump().items()]
        return rows


def awarded_of(row: dict[str, Any]) -> dict[str, Decimal]:
    """What the report counts as one application's award, per funder: the committee's live award;
    for a project that let it go (a RELEASED stage), what it was paid."""
    return row["paid"] if Stage(row["stage"]) in RELEASED else row["awards"]  # type: ignore[no-any-return]


def share(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def build_report(settings: EditionSettings, rows: list[dict[str, Any]]) -> EditionReport:
    def count(key: str) -> dict[str, int]:
        return dict(sorted(Counter(r[key] for r in rows).items()))

    money: dict[str, FunderMoney] = defaultdict(FunderMoney)
    funded_by: Counter[str] = Counter()
    funded, zone, zone_amount, total_amount = [], 0, Decimal(0), Decimal(0)
    for r in rows:
        stage = Stage(r["stage"])
        awarded = awarded_of(r)
        for funder, amount in r["paid"].items():
            money[funder].paid += amount
        for funder, amount in awarded.items():
            money[funder].awarded += amount
            if stage in SIGNED or (stage in RELEASED and amount):
                money[funder].committed += amount
        if sum(awarded.values(), Decimal(0)) > 0:
            funded.append(r)
            funded_by.update(awarded.keys())
            amount = sum(awarded.values(), Decimal(0))
            total_amount += amount
            if r["province"] in settings.priority_provinces:
                zone += 1
                zone_amount += amount
    reporting = [r["indicators"] for r in funded if r["indicators"]]
    ind = Indicators(
        projects_reporting=len(reporting),
        **{
            k: sum(int(i.get(k, 0)) for i in reporting)
            for k in ("jobs_created", "jobs_kept", "beneficiaries", "women", "youth")
        },
    )
    ind.women_share = share(ind.women, ind.beneficiaries)
    ind.rural_share = share(sum(1 for r in funded if r["rural"]), len(funded))
    return EditionReport(
        edition=settings.edition,
        applications=len(rows),
        by_stage=count("stage"),
        by_region=count("region_code"),
        by_province=count("province"),
        by_sector=count("sector"),
        by_legal_form=count("legal_form"),
        funded_by=dict(sorted(funded_by.items())),
        money={
            f: FunderMoney(awarded=mad(m.awarded), committed=mad(m.committed), paid=mad(m.paid))
            for f, m in sorted(money.items())
        },
        funded_projects=len(funded),
        earthquake_zone_projects=zone,
        earthquake_zone_share=share(zone, len(funded)),
        earthquake_zone_amount_share=share(zone_amount, total_amount),
        honorary_awards=sorted(r["id"] for r in rows if r["honorary_award"]),
        indicators=ind,
    )
