"""The edition's programme report as a document a minister's office prints, in French, Arabic or
English: its key figures, then the funnel from submission to completion, the envelopes, the
awards by region with the priority zone's part, the sectors, the jobs and beneficiaries with the
women's part, each a bar chart (charts/bars.py, the console's geometry: bars growing from the
right in Arabic) beside a table of the same figures. The figures are domain/programme_report.py's;
the words the documents' catalogs'; amounts, numbers and shares the one formatter's."""

from datetime import date
from functools import partial
from typing import Any

from charts.bars import PLOT, Chart, Row, bar_chart
from documents.render import page
from documents.words import words
from domain.envelopes import NATIONAL, PRIORITY
from domain.programme_report import Breakdown, ProgrammeReport
from domain.reference import regions
from domain.report import share
from infra import formats

FILLS = {"bar": "#9cc3ea", "part": "#0b5cad"}  # a bar, and its part drawn darker over it (as the console)


def region_name(code: str, language: str) -> str:
    region = regions().get(code)
    if region is None:
        return code
    return str(region["name_ar"] if language == "ar" else region["name_fr"])


def envelope_name(envelope: str, language: str) -> str:
    w = words(language)
    if envelope == NATIONAL:
        return w("envelope_ministry")
    if envelope == PRIORITY:
        return w("envelope_ministry_priority")
    return w("envelope_region", name=region_name(envelope.removeprefix("region-"), language))


def charts(r: ProgrammeReport, language: str) -> dict[str, Chart]:
    """The report's charts in `language`: labels, values as people read them, direction."""
    w, direction = words(language), "rtl" if language in formats.RTL else "ltr"
    money, number, percent = (partial(f, language=language) for f in (formats.money, formats.number, formats.percent))
    submitted = r.funnel["submitted"]

    def awards(groups: dict[str, Breakdown], label: Any) -> list[Row]:
        return [
            Row(label(k), g.awarded, w("awards_value", amount=money(g.awarded), n=number(g.funded)), g.priority_awarded)
            for k, g in groups.items()
        ]

    def women(label: str, n: int, of_whom: int) -> Row:
        return Row(label, n, w("women_value", n=number(n), share=percent(share(of_whom, n))), of_whom)

    ind = r.report.indicators
    zone = [("bar", w("awarded")), ("part", w("of_which_priority"))]
    people = [("bar", w("beneficiaries")), ("part", w("women"))]
    return {
        "funnel": bar_chart("funnel", w("funnel"), [
            Row(w(f"step_{step}"), n, w("funnel_value", n=number(n), share=percent(share(n, submitted))))
            for step, n in r.funnel.items()
        ], direction),
        "envelopes": bar_chart("envelopes", w("envelopes"), [
            Row(envelope_name(e.envelope, language), e.size,
                w("envelope_value", committed=money(e.committed), size=money(e.size)), e.committed)
            for e in r.envelopes
        ], direction, legend=[("bar", w("size")), ("part", w("committed"))]),
        "regions": bar_chart(
            "regions", w("regions"), awards(r.by_region, lambda k: region_name(k, language)), direction, legend=zone
        ),
        "sectors": bar_chart("sectors", w("sectors"), [
            Row(w(f"sector_{k}"), g.applications, w("sector_value", n=number(g.applications), funded=number(g.funded)),
                g.funded)
            for k, g in r.by_sector.items()
        ], direction, legend=[("bar", w("applications")), ("part", w("funded"))]),
        "people": bar_chart("people", w("people"), [
            Row(w("jobs_created"), ind.jobs_created, number(ind.jobs_created)),
            Row(w("jobs_kept"), ind.jobs_kept, number(ind.jobs_kept)),
            women(w("beneficiaries"), ind.beneficiaries, ind.women),
            Row(w("youth"), ind.youth, number(ind.youth)),
        ], direction, legend=people),
        "people_regions": bar_chart("people-regions", w("beneficiaries_by_region"), [
            women(region_name(k, language), g.beneficiaries, g.women) for k, g in r.by_region.items() if g.beneficiaries
        ], direction, legend=people),
    }  # fmt: skip


def html(r: ProgrammeReport, language: str, issued: date) -> str:
    """The programme report of `r`'s edition in `language`, as HTML (documents.render.pdf makes the PDF)."""
    w = words(language)
    return page(
        "programme_report",
        language,
        title=w("programme_report"),
        reference=w("report_reference", edition=r.report.edition, year=r.year),
        issued=formats.when(issued, language),
        r=r,
        charts=charts(r, language),
        plot=PLOT,
        fills=FILLS,
        money=partial(formats.money, language=language),
        number=partial(formats.number, language=language),
        percent=partial(formats.percent, language=language),
        region=partial(region_name, language=language),
        envelope=partial(envelope_name, language=language),
    )
