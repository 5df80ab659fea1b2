"""Bar charts drawn on the server as inline SVG: no script, no style attribute (the console's CSP
forbids inline styles), only SVG presentation attributes (x, y, width, height) and classes that
console.css colours.

A chart is a list of bars, each a label, a value and optionally a part of it (the priority zone's
share of a region's awards, the women among the beneficiaries) drawn darker over the bar. In a
right-to-left language the bars grow from the right and the labels stand on the right: the
geometry is mirrored and the text anchored from its own direction, so `text-anchor` is the same
in both. The template beside it (templates/charts.html) draws the SVG and its text equivalent,
a table with the same figures, for those who do not see the chart.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 680
LABEL = 220  # the labels' column
VALUE = 210  # the values' column, after the bar
ROW = 26
BAR = 16
LONGEST = 30  # characters of a label the chart shows (the table beside it has them all)


@dataclass
class Bar:
    label: str
    full: str  # the label untruncated (the bar's tooltip)
    shown: str  # the value as a person reads it (formatted in the page's language)
    y: int
    x: float
    width: float
    part_x: float
    part_width: float
    label_x: float
    value_x: float
    css: str = ""


@dataclass
class Chart:
    id: str
    title: str
    bars: list[Bar]
    height: int
    direction: str
    width: int = WIDTH
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, words)


@dataclass
class Row:
    label: str
    value: Decimal | int
    shown: str
    part: Decimal | int = 0
    css: str = ""


def bar_chart(id: str, title: str, rows: Sequence[Row], direction: str = "ltr", **more: object) -> Chart:
    """The geometry of a horizontal bar chart: bars scaled on the largest value."""
    top = max((Decimal(r.value) for r in rows), default=Decimal(0))
    plot = WIDTH - LABEL - VALUE
    bars = []
    for i, r in enumerate(rows):
        label = r.label if len(r.label) <= LONGEST else r.label[: LONGEST - 1].rstrip() + "…"
        width = float(Decimal(r.value) / top * plot) if top else 0.0
        part = float(min(Decimal(r.part), Decimal(r.value)) / top * plot) if top else 0.0
        y = 6 + i * ROW
        if direction == "rtl":  # mirrored: labels on the right, bars growing leftwards
            start = WIDTH - LABEL
            bar = Bar(
                label,
                r.label,
                r.shown,
                y,
                start - width,
                width,
                start - part,
                part,
                WIDTH - 6,
                start - width - 6,
                r.css,
            )
        else:
            bar = Bar(label, r.label, r.shown, y, LABEL, width, LABEL, part, 6, LABEL + width + 6, r.css)
        bars.append(bar)
    legend = more.get("legend")
    return Chart(
        id=id,
        title=title,
        bars=bars,
        height=12 + len(rows) * ROW,
        direction=direction,
        legend=list(legend) if isinstance(legend, list) else [],
    )
