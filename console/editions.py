"""Read models of an edition for the console: the list, the dashboard (the programme report's
figures and the envelopes, from the domain database) and the committee's proposal with its what-if.

The dashboard's figures are the programme report's (domain/report.py: what counts as awarded,
funded, the latest report's indicators), aggregated by the database: one GROUP BY over the
edition's applications by region, province, sector and legal form, with each application's
award, payments and latest progress report joined as sums, then folded in Python over those few
hundred groups, never over every application (bench/console.py times it at 10,000).

The what-if runs the committee's pure function (domain/committee.py) on the same candidates with
the parameters a member changed (an envelope's size, the minimum score) and stores nothing.
Confirming is never a what-if's: it applies the stored proposal, which the what-if reproduces
with the edition's own parameters.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from operator import add
from typing import Any

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from charts.bars import Chart, Row, bar_chart
from console.i18n import Words
from domain.committee import Change, Placement, fill, what_if
from domain.db.edition_repository import EditionRepository
from domain.db.repository import PAYMENT
from domain.db.tables import Application, AwardRow, EditionRow, LedgerRow, Money, ProgressReportRow
from domain.edition import EditionSettings
from domain.envelopes import EnvelopeLine, sizes
from domain.models import Decision, Stage
from domain.money import mad
from domain.reference import province_region
from domain.report import RELEASED


def editions(repo: EditionRepository) -> list[dict[str, Any]]:
    with Session(repo.engine) as s:
        rows = s.scalars(select(EditionRow).order_by(EditionRow.edition.desc())).all()
        return [
            {
                "edition": r.edition,
                "year": r.year,
                "opened_by": r.opened_by,
                "opened_at": r.opened_at,
                "call_closed_at": r.call_closed_at,
                "confirmed_by": r.confirmed_by,
            }
            for r in rows
        ]


def settings_of(repo: EditionRepository, edition: int) -> EditionSettings | None:
    row = repo.get_edition(edition)
    return EditionSettings.model_validate(row["settings"]) if row else None


INDICATORS = ("jobs_created", "jobs_kept", "beneficiaries", "women", "youth")
WIDTH = 7 + len(INDICATORS)  # a group's figures as a vector (Group.of)


@dataclass
class Group:
    """Applications of one kind (a region, a sector …): how many, how many funded, for how much;
    what part of it is in the priority zone; what their latest reports count."""

    applications: int = 0
    funded: int = 0
    awarded: Decimal = Decimal("0.00")
    priority_funded: int = 0
    priority_awarded: Decimal = Decimal("0.00")
    rural_funded: int = 0
    reporting: int = 0
    indicators: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INDICATORS, 0))

    @classmethod
    def of(cls, v: list[Any]) -> "Group":
        """From a vector: applications, funded, awarded, priority_funded, priority_awarded,
        rural_funded, reporting, then INDICATORS; money in centimes."""
        money = [Decimal(v[2]) / 100, Decimal(v[4]) / 100]
        return cls(
            v[0], v[1], mad(money[0]), v[3], mad(money[1]), v[5], v[6], dict(zip(INDICATORS, v[7:], strict=True))
        )

    def share(self, part: Decimal | int, whole: Decimal | int) -> Decimal | None:
        return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None

    @property
    def women_share(self) -> Decimal | None:
        return self.share(self.indicators["women"], self.indicators["beneficiaries"])

    @property
    def priority_share(self) -> Decimal | None:
        return self.share(self.priority_awarded, self.awarded)


@dataclass
class Figures:
    edition: int
    by_stage: dict[str, int]
    total: Group
    by_region: dict[str, Group]
    by_province: dict[str, Group]
    by_sector: dict[str, Group]
    by_legal_form: dict[str, Group]
    priority_provinces: tuple[str, ...]


def figures(s: Session, settings: EditionSettings) -> Figures:
    """The dashboard's figures, aggregated by the database (the programme report's definitions):
    the applications counted by kind; the money and the indicators summed over those with an
    award only (a quarter of them), each one's award, payments and latest report joined as sums."""
    of_edition = Application.edition == settings.edition
    kinds = (Application.province, Application.sector, Application.legal_form)  # a province is in one region
    counts = s.execute(select(*kinds, func.count()).where(of_edition).group_by(*kinds)).all()
    owner = aliased(Application)
    postgresql = s.get_bind().dialect.name == "postgresql"

    def in_edition(application_id: Any) -> Any:
        """The edition's rows of a table keyed by application: read from that table, each row's
        application looked up by its key (joining from the applications' side reads them all).
        PostgreSQL's planner guesses such a lookup keeps 0.5% of the rows and then nests the report
        join (3 s at 10,000 applications); it plans the same filter as a semi-join right."""
        if postgresql:
            return application_id.in_(select(owner.application_id).where(owner.edition == settings.edition))
        return select(owner.edition).where(owner.application_id == application_id).scalar_subquery() == settings.edition

    awarded = (
        select(AwardRow.application_id.label("id"), func.sum(AwardRow.amount).label("total"))
        .where(in_edition(AwardRow.application_id))
        .group_by(AwardRow.application_id)
        .subquery()
    )
    paid = (
        select(LedgerRow.application_id.label("id"), func.sum(LedgerRow.amount).label("total"))
        .where(in_edition(LedgerRow.application_id), LedgerRow.kind == PAYMENT)
        .group_by(LedgerRow.application_id)
        .subquery()
    )
    latest = (
        select(ProgressReportRow.application_id.label("id"), func.max(ProgressReportRow.period).label("period"))
        .where(in_edition(ProgressReportRow.application_id), ProgressReportRow.status != "rejected")
        .group_by(ProgressReportRow.application_id)
        .subquery()
    )
    report = aliased(ProgressReportRow)
    # What the report counts as awarded: the award; for a project that closed without completing,
    # what it was paid. Money is paid only on an award, so the applications without one have none.
    amount = case(
        (Application.stage.in_([x.value for x in RELEASED]), func.coalesce(paid.c.total, 0)),
        else_=awarded.c.total,
    )
    funded = amount > 0

    def when_funded(value: Any) -> Any:
        return func.sum(case((funded, value), else_=0))

    q = (
        select(
            *kinds,
            when_funded(1),
            type_coerce(when_funded(amount), Money),
            when_funded(case((Application.rural, 1), else_=0)),
            when_funded(case((report.id.is_not(None), 1), else_=0)),
            *(when_funded(func.coalesce(report.indicators[k].as_integer(), 0)) for k in INDICATORS),
        )
        .select_from(awarded)
        .join(Application, Application.application_id == awarded.c.id)
        .outerjoin(paid, paid.c.id == awarded.c.id)
        .outerjoin(latest, latest.c.id == awarded.c.id)
        .outerjoin(report, (report.application_id == latest.c.id) & (report.period == latest.c.period))
        .group_by(*kinds)
    )
    # Folded by dimension as plain vectors of integers (money in centimes): a few thousand groups,
    # where objects or Decimals would cost more than the query.
    priority = set(settings.priority_provinces)
    regions_of = province_region()
    dimensions = ("region", "province", "sector", "legal_form", "")
    by: dict[str, dict[str, list[int]]] = {k: {} for k in dimensions}
    for province, sector, legal_form, n in counts:
        for key, value in zip(
            dimensions, (regions_of.get(province, ""), province, sector, legal_form, ""), strict=True
        ):
            seen = by[key].get(value)
            if seen is None:
                by[key][value] = [n] + [0] * (WIDTH - 1)
            else:
                seen[0] += n
    for province, sector, legal_form, n_funded, money, rural, reporting, *indicators in s.execute(q):
        cents = int(mad(money or 0) * 100)
        n_funded = int(n_funded or 0)
        zone = province in priority
        vector = [0, n_funded, cents, n_funded * zone, cents * zone, int(rural or 0), int(reporting or 0)]
        vector += [int(v or 0) for v in indicators]
        for key, value in zip(
            dimensions, (regions_of.get(province, ""), province, sector, legal_form, ""), strict=True
        ):
            by[key][value] = list(map(add, by[key][value], vector))
    total = by[""].get("") or [0] * WIDTH

    stages = s.execute(
        select(Application.stage, func.count())
        .where(of_edition)
        .group_by(Application.stage)
        .order_by(Application.stage)
    )
    return Figures(
        edition=settings.edition,
        by_stage={stage: n for stage, n in stages},
        total=Group.of(total),
        by_region={k: Group.of(v) for k, v in sorted(by["region"].items())},
        by_province={k: Group.of(v) for k, v in sorted(by["province"].items(), key=lambda kv: (-kv[1][2], kv[0]))},
        by_sector={k: Group.of(v) for k, v in sorted(by["sector"].items(), key=lambda kv: (-kv[1][0], kv[0]))},
        by_legal_form={k: Group.of(v) for k, v in sorted(by["legal_form"].items())},
        priority_provinces=settings.priority_provinces,
    )


def dashboard(repo: EditionRepository, settings: EditionSettings) -> tuple[Figures, list[EnvelopeLine]]:
    with Session(repo.engine) as s:
        found = figures(s, settings)
    return found, repo.envelope_ledger(settings)


# What a member may change in a what-if: the query's field -> the setting.
WHAT_IF_FIELDS = ("ministry_envelope", "priority_envelope", "min_score")


def changed_settings(settings: EditionSettings, query: dict[str, str]) -> tuple[EditionSettings, dict[str, str]]:
    """The edition's settings with the what-if's changes, validated like any configuration; and
    the errors by field (the changes are then ignored)."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in WHAT_IF_FIELDS:
        if query.get(name, "").strip():
            try:
                changes[name] = Decimal(query[name].strip().replace(" ", "").replace(",", "."))
            except InvalidOperation:
                errors[name] = "not a number"
    partners = []
    for p in settings.partners:
        raw = query.get(f"partner_{p.region_code}", "").strip()
        try:
            partners.append(p.model_copy(update={"envelope": mad(raw)}) if raw else p)
        except (InvalidOperation, ValueError):
            errors[f"partner_{p.region_code}"] = "not an amount"
            partners.append(p)
    if errors:
        return settings, errors
    try:
        return EditionSettings.model_validate({**settings.model_dump(), **changes, "partners": partners}), {}
    except ValueError as e:
        return settings, {"": str(e)[:300]}


def committee(repo: EditionRepository, settings: EditionSettings, query: dict[str, str]) -> dict[str, Any]:
    """The stored proposal (round 0), and the what-if of `query` on the same candidates."""
    rows = repo.round_rows(settings.edition, 0)
    stored = {r.application_id: (Decision(r.decision), mad(r.award)) for r in rows}
    stored_fill: dict[str, Decimal] = {}
    for r in rows:
        if r.decision == Decision.SELECTED.value:
            for envelope, amount in r.draws.items():
                stored_fill[envelope] = stored_fill.get(envelope, Decimal("0.00")) + mad(amount)
    changed, errors = changed_settings(settings, query)
    candidates = repo.candidates(settings.edition, Stage.COMMITTEE)
    placements: list[Placement] = []
    changes: list[Change] = []
    if candidates and rows:
        placements, changes = what_if(candidates, changed, stored)
    return {
        "rows": rows,
        "sizes": sizes(settings),
        "stored_fill": stored_fill,
        "what_if_sizes": sizes(changed),
        "what_if_fill": fill(placements),
        "changes": changes,
        "asked": any(k in query for k in WHAT_IF_FIELDS) or any(k.startswith("partner_") for k in query),
        "errors": errors,
        "changed": changed,
        "can_what_if": bool(candidates and rows),
    }


# The words the charts below say (tests/console/test_console.py checks each catalog has them).
WORDS = (
    "{n}%", "{amount} ({n} projects)", "{n} · {funded} funded", "{n} · {share} women", "Applications", "Funded",
    "Awarded", "of which in the priority zone", "Jobs created", "Jobs kept", "Beneficiaries", "Youth among them",
    "Women", "Applications by stage", "Amounts awarded by region", "The {n} provinces most awarded",
    "Province of the priority zone", "Applications by sector", "Amounts awarded by sector",
    "Applications by legal form", "Amounts awarded by legal form", "Jobs and beneficiaries", "Beneficiaries by region",
)  # fmt: skip
PROVINCES_SHOWN = 15  # the chart's provinces (most awarded first); the table beside it lists them all


def percent(t: Words, share: Decimal | None) -> str:
    return "—" if share is None else t("{n}%", n=t.number((share * 100).quantize(Decimal("1"))))


def region_label(t: Words, code: str) -> str:
    return t.region(code)


def charts(f: Figures, t: Words) -> dict[str, Chart]:
    """The dashboard's charts in the reader's language (labels, numbers, direction)."""
    d = t.direction

    def awarded(g: Group) -> tuple[Decimal, str, Decimal]:  # the priority zone's part
        return (
            g.awarded,
            t("{amount} ({n} projects)", amount=t.money(g.awarded), n=t.number(g.funded)),
            g.priority_awarded,
        )

    def applied(g: Group) -> tuple[int, str, int]:  # the funded part
        return (
            g.applications,
            t("{n} · {funded} funded", n=t.number(g.applications), funded=t.number(g.funded)),
            g.funded,
        )

    def bars(
        groups: dict[str, Group], label: Any, measure: Callable[[Group], tuple[Any, str, Any]], css: Any = None
    ) -> list[Row]:
        """A bar per group (`label(key)`): what `measure` counts, said, and its part."""
        return [Row(label(k), *measure(g), css(k) if css else "") for k, g in groups.items()]

    funded_legend = [("bar", t("Applications")), ("part", t("Funded"))]
    zone_legend = [("bar", t("Awarded")), ("part", t("of which in the priority zone"))]
    shown_provinces = dict(list((k, g) for k, g in f.by_province.items() if g.funded)[:PROVINCES_SHOWN])
    ind = f.total.indicators
    people = [
        Row(t("Jobs created"), ind["jobs_created"], t.number(ind["jobs_created"])),
        Row(t("Jobs kept"), ind["jobs_kept"], t.number(ind["jobs_kept"])),
        Row(
            t("Beneficiaries"),
            ind["beneficiaries"],
            t("{n} · {share} women", n=t.number(ind["beneficiaries"]), share=percent(t, f.total.women_share)),
            ind["women"],
        ),
        Row(t("Youth among them"), ind["youth"], t.number(ind["youth"])),
    ]
    by_region_people = [
        Row(
            region_label(t, k),
            g.indicators["beneficiaries"],
            t("{n} · {share} women", n=t.number(g.indicators["beneficiaries"]), share=percent(t, g.women_share)),
            g.indicators["women"],
        )
        for k, g in f.by_region.items()
        if g.reporting
    ]
    women_legend = [("bar", t("Beneficiaries")), ("part", t("Women"))]
    return {
        "stages": bar_chart(
            "chart-stages",
            t("Applications by stage"),
            [Row(t("stage:" + k), f.by_stage[k], t.number(f.by_stage[k])) for k in Stage if k in f.by_stage],
            d,
        ),
        "regions": bar_chart(
            "chart-regions", t("Amounts awarded by region"), bars(f.by_region, lambda k: region_label(t, k), awarded),
            d, legend=zone_legend,
        ),
        "provinces": bar_chart(
            "chart-provinces",
            t("The {n} provinces most awarded", n=len(shown_provinces)),
            bars(shown_provinces, t.province, awarded, lambda k: "priority" if k in f.priority_provinces else ""),
            d,
            legend=[("bar", t("Awarded")), ("priority-swatch", t("Province of the priority zone"))],
        ),
        "sectors": bar_chart(
            "chart-sectors", t("Applications by sector"), bars(f.by_sector, lambda k: t("sector:" + k), applied), d,
            legend=funded_legend,
        ),
        "sector_awards": bar_chart(
            "chart-sector-awards", t("Amounts awarded by sector"),
            bars(f.by_sector, lambda k: t("sector:" + k), awarded), d, legend=zone_legend,
        ),
        "legal_forms": bar_chart(
            "chart-legal-forms", t("Applications by legal form"),
            bars(f.by_legal_form, lambda k: t("legal_form:" + k), applied), d, legend=funded_legend,
        ),
        "legal_form_awards": bar_chart(
            "chart-legal-form-awards", t("Amounts awarded by legal form"),
            bars(f.by_legal_form, lambda k: t("legal_form:" + k), awarded), d, legend=zone_legend,
        ),
        "people": bar_chart("chart-people", t("Jobs and beneficiaries"), people, d, legend=women_legend),
        "people_regions": bar_chart(
            "chart-people-regions", t("Beneficiaries by region"), by_region_people, d, legend=women_legend
        ),
    }  # fmt: skip
