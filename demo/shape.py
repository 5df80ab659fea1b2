"""What `make demo` prints at its end: the programme report, and the demo's edition beside the 4th
edition's published figures (../shared/DESIGN.md).

The committee's proposal (round 0 of its decisions) is what the published 121 and 44 count; the
edition's end shows what became of it: withdrawals, co-funding a Region declined, agreements
not signed, and the waitlisted projects promoted into the money they freed.
"""

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from cli.edition import print_report
from domain.db.edition_repository import EditionRepository
from domain.edition import EditionSettings
from domain.models import ApplicationSubmission, Decision
from domain.reference import region_funder, regions
from domain.report import EditionReport

# The 4th edition's public figures; None where the count was not published.
SELECTED, IN_ZONE = 121, 44
REQUESTS_5TH = 670  # the 4th edition's count of requests was not published; the 5th's was
COOPERATIVES_5TH = {"02": 14, "03": 19}  # cooperatives each partner Region funded in the 5th edition


class Shape(BaseModel):
    requests: int
    selected: int
    in_zone: int  # selected in the edition's priority provinces (the six earthquake-hit ones)
    by_partner: dict[str, int]  # selected projects each partner Region funds, by region code


def proposal_shape(engine: Engine, edition: EditionSettings, apps: list[ApplicationSubmission]) -> Shape:
    """The committee's proposal for the demo's edition, counted as the 4th edition's figures are."""
    province = {a.application_id: a.applicant.province for a in apps}
    chosen = [r for r in EditionRepository(engine).round_rows(edition.edition, 0) if r.decision == Decision.SELECTED]
    return Shape(
        requests=len(apps),
        selected=len(chosen),
        in_zone=sum(province[r.application_id] in edition.priority_provinces for r in chosen),
        by_partner={
            p.region_code: sum(region_funder(p.region_code) in r.funders for r in chosen) for p in edition.partners
        },
    )


def counts_add_up(console: Console, report: EditionReport, n: int) -> bool:
    """The programme report, and whether every one of the `n` applications is counted once."""
    print_report(report)
    total = sum(report.by_stage.values())
    ok = total == n == report.applications
    console.print(
        ("[green]counts add up[/]" if ok else "[red]counts do not add up[/]") + f": {total} of {n} applications"
    )
    return ok


def print_shape(console: Console, shape: Shape, report: EditionReport, edition: EditionSettings) -> bool:
    """The table of the run's figures beside the published ones; whether the committee's matched them."""
    table = Table(title="The 4th edition's public shape", title_justify="left")
    for column in ("", "committee", "at end", "published"):
        table.add_column(column, justify="right" if column in {"committee", "at end"} else "left", no_wrap=True)
    table.add_row("requests", str(shape.requests), "", f"not published (5th: {REQUESTS_5TH})", end_section=True)
    table.add_row("selected", str(shape.selected), str(report.funded_projects), str(SELECTED))
    table.add_row("  in the earthquake zone", str(shape.in_zone), str(report.earthquake_zone_projects), str(IN_ZONE))
    for code, n in shape.by_partner.items():
        fifth = COOPERATIVES_5TH.get(code)
        table.add_row(
            f"  cooperatives, {regions()[code]['name_fr']}",
            str(n),
            str(report.funded_by.get(region_funder(code), 0)),
            "not published" + (f" (5th: {fifth})" if fifth is not None else ""),
        )
    console.print(table)
    matched = shape.selected == SELECTED and shape.in_zone == IN_ZONE
    if matched:
        console.print(
            f"[green]the committee's proposal has the published shape: {SELECTED} selected, {IN_ZONE} in the zone[/]"
        )
    else:
        console.print(
            f"[yellow]the committee's proposal differs from the published {SELECTED} and {IN_ZONE}: "
            f"fewer good requests than seats in some envelope among {shape.requests}?[/]"
        )
    console.print(
        f"The earthquake zone: the six provinces {', '.join(edition.priority_provinces)}. Each envelope holds so "
        f"many ceilings of {min(edition.ceilings.values()):,.0f} MAD (edition_4_settings) and every applicant asks "
        "for the ceiling. 'At end': after withdrawals, co-funding declined, agreements not signed in time, "
        "and promotions from the waitlist into the money they freed.",
        markup=False,
    )
    return matched
