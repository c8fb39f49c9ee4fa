"""The portfolio report's charts: pygal drawings embedded as inline SVG, so they stay vector in the PDF.

Chart geometry is drawn from floats (pygal works in floats); the labels printed on the chart are
formatted from the rounded figures, and every charted figure also appears in a table of the report.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

import pygal
from django.utils.translation import gettext as _
from pygal.style import Style

from reports import formatting
from reports.selectors import BreakdownRow, CategoryRow, MonthRow

FONT = "DejaVu Sans, sans-serif"
# Calm, print-safe colours; SBS categories go from green (Normal) to dark red (Pérdida).
PALETTE = ("#1f5f8b", "#c58b00", "#4f8a3a", "#8c3b3b", "#6b5b95", "#3d7f7f", "#a05a2c", "#5d6d7e")
CATEGORY_COLOURS = ("#3c8d3c", "#d4b21f", "#e07b24", "#c0392b", "#6e1f1f")


def _style(colours: Sequence[str] = PALETTE) -> Style:
    return Style(
        background="white",
        plot_background="white",
        foreground="#333333",
        foreground_strong="#222222",
        foreground_subtle="#bbbbbb",
        opacity="1",
        opacity_hover="1",
        colors=tuple(colours),
        font_family=FONT,
        label_font_family=FONT,
        major_label_font_family=FONT,
        value_font_family=FONT,
        value_label_font_family=FONT,
        title_font_family=FONT,
        legend_font_family=FONT,
        tooltip_font_family=FONT,
        title_font_size=14,
        label_font_size=11,
        major_label_font_size=11,
        legend_font_size=11,
        value_font_size=10,
        value_label_font_size=10,
        guide_stroke_color="#e2e2e2",
        major_guide_stroke_color="#cfcfcf",
        guide_stroke_dasharray="1,0",
        major_guide_stroke_dasharray="1,0",
    )


def _options(**overrides: object) -> dict[str, object]:
    options: dict[str, object] = {
        "width": 680,
        "height": 330,
        "explicit_size": True,
        "disable_xml_declaration": True,
        "js": [],
        "legend_at_bottom": True,
        "legend_box_size": 10,
        "margin": 8,
        "margin_right": 24,
        "show_y_guides": True,
        "truncate_label": -1,
        "truncate_legend": -1,
        "print_zeroes": False,
    }
    options.update(overrides)
    return options


_serial = itertools.count(1)


def _render(chart: pygal.graph.graph.Graph) -> str:
    # pygal names its legend anchors the same in every chart; one document holds several charts.
    svg = str(chart.render(is_unicode=True))
    return svg.replace("activate-serie-", f"c{next(_serial)}-serie-")


def _float(value: Decimal | int) -> float:
    return float(value)


def _thousands(value: float) -> str:
    return formatting.number(Decimal(str(round(value))), 0)


def breakdown_bar(rows: Sequence[BreakdownRow], *, title: str, currency_symbol: str = "S/") -> str:
    """Horizontal bars: outstanding principal per group, with its PAR30 part."""
    chart = pygal.HorizontalBar(
        style=_style(("#1f5f8b", "#c0392b")),
        title=title,
        **_options(height=max(150, 60 + 34 * len(rows)), value_formatter=_thousands),
    )
    chart.x_labels = [str(row.label) for row in rows]
    chart.add(_("Outstanding (%(symbol)s)") % {"symbol": currency_symbol}, [_float(r.outstanding) for r in rows])
    chart.add(_("of which PAR30"), [_float(r.par30_amount) for r in rows])
    return _render(chart)


def months_line(rows: Sequence[MonthRow], *, title: str) -> str:
    """Disbursed, withheld and remitted amounts per month."""
    chart = pygal.Line(
        style=_style(("#1f5f8b", "#c58b00", "#4f8a3a")),
        title=title,
        **_options(
            x_label_rotation=0 if len(rows) <= 12 else 45,
            value_formatter=_thousands,
            dots_size=3,
            show_minor_x_labels=len(rows) <= 12,
            x_labels_major_every=3 if len(rows) > 12 else None,
        ),
    )
    chart.x_labels = [formatting.month(row.month) for row in rows]
    chart.add(_("Disbursed"), [_float(row.amount_disbursed) for row in rows])
    chart.add(_("Withheld by buyers"), [_float(row.withheld) for row in rows])
    chart.add(_("Remitted to the lender"), [_float(row.remitted) for row in rows])
    return _render(chart)


def category_stack(rows: Sequence[CategoryRow], *, title: str) -> str:
    """The SBS categories stacked to 100%: one bar by outstanding balance, one by number of loans.

    Empty categories are left out (pygal would print "0.0%" on them); each category keeps its colour.
    """
    shown = [(row, colour) for row, colour in zip(rows, CATEGORY_COLOURS, strict=False) if row.loans]
    chart = pygal.HorizontalStackedBar(
        style=_style([colour for _, colour in shown] or CATEGORY_COLOURS),
        title=title,
        **_options(
            height=200,
            range=(0, 100),
            value_formatter=lambda value: f"{value:.1f}%",
            print_values=True,
            print_values_position="center",
            legend_at_bottom_columns=2,
        ),
    )
    chart.x_labels = [_("By balance"), _("By number of loans")]
    for row, _colour in shown:
        chart.add(str(row.label), [_float(row.outstanding_share * 100), _float(row.loans_share * 100)])
    return _render(chart)


def equipment_bar(labels: Sequence[str], values: Sequence[Decimal], *, title: str) -> str:
    chart = pygal.Bar(
        style=_style(("#3d7f7f",)),
        title=title,
        **_options(height=260, show_legend=False, print_values=True, value_formatter=_thousands),
    )
    chart.x_labels = list(labels)
    chart.add(title, [_float(value) for value in values])
    return _render(chart)
