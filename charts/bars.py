"""Horizontal bar charts as geometry: where each bar, its darker part, its label and its value
stand in a chart of WIDTH units, bars scaled on the largest value.

A chart is a list of bars, each a label, a value and optionally a part of it (the priority zone's
share of a region's awards, the women among the beneficiaries) drawn darker over the bar. In a
right-to-left language the bars grow from the right and the labels stand on the right: the
geometry is mirrored and the text anchored from its own direction, so `text-anchor` is the same
in both.

Who draws it:
* the console (console/templates/charts.html): one inline SVG per chart, labels and values as SVG
  text, coloured by classes (its CSP allows no style attribute), a table of the same figures beside;
* the documents (documents/templates/programme_report.html): WeasyPrint's SVG text is laid out
  letter by letter, which would break Arabic joining, so the labels and values are HTML cells
  (shaped by Pango and HarfBuzz) and each bar is an SVG whose viewBox is the chart's plot column
  (`Chart.plot_x`, `PLOT`) around the same rectangles.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 680
LABEL = 220  # the labels' column
VALUE = 210  # the values' column, after the bar
PLOT = WIDTH - LABEL - VALUE  # the bars' column
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

    @property
    def plot_x(self) -> int:
        """Where the bars' column starts: after the labels, or after the values in right to left."""
        return VALUE if self.direction == "rtl" else LABEL


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
    bars = []
    for i, r in enumerate(rows):
        label = r.label if len(r.label) <= LONGEST else r.label[: LONGEST - 1].rstrip() + "…"
        width = float(Decimal(r.value) / top * PLOT) if top else 0.0
        part = float(min(Decimal(r.part), Decimal(r.value)) / top * PLOT) if top else 0.0
        y = 6 + i * ROW
        if direction == "rtl":  # mirrored: labels on the right, bars growing leftwards
            start = WIDTH - LABEL
            x, part_x, label_x, value_x = start - width, start - part, WIDTH - 6, start - width - 6
        else:
            x, part_x, label_x, value_x = LABEL, LABEL, 6, LABEL + width + 6
        bars.append(Bar(label, r.label, r.shown, y, x, width, part_x, part, label_x, value_x, r.css))
    legend = more.get("legend")
    return Chart(
        id=id,
        title=title,
        bars=bars,
        height=12 + len(rows) * ROW,
        direction=direction,
        legend=list(legend) if isinstance(legend, list) else [],
    )
