"""Charts rendered on the server as SVG with pygal (Kozea, who also keep WeasyPrint), so the
same markup shows in the page, in an assembly agenda item and in the minutes PDF.

pygal adds a script for its interactive tooltips; it is removed: the page needs no script
for a chart, a PDF cannot run one, and a strict Content-Security-Policy would refuse it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

from production.selectors import ParetoItem, Row

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1b1b1b",
    foreground_strong="#1b1b1b",
    foreground_subtle="#8a8a80",
    font_family='"DejaVu Sans", system-ui, sans-serif',
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    value_font_size=11,
    colors=("#0b5d3b", "#c28f00", "#a4262c", "#3a6ea5", "#6b4c9a"),
    transition="0s",
)


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "width": 720,
        "height": 360,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "print_values": False,
        "truncate_label": 24,
        "no_data_text": _("No data for this period"),
        **extra,
    }


_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _render(chart: Any, description: str) -> SafeString:
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    svg = svg.replace(
        'class="pygal-chart"',
        f'class="pygal-chart" role="img" aria-label="{escape(description)}"',
        1,
    )
    # pygal escapes every label it writes (XML serialisation), so the markup is safe.
    return mark_safe(svg)  # noqa: S308


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value * 100), 1)


def period_label(row: Row, period: str) -> str:
    if row.period is None:
        return row.label
    if period == "month":
        return row.period.strftime("%Y-%m")
    return row.period.isoformat()


def quantities_chart(rows: Sequence[Row], period: str) -> SafeString:
    chart = pygal.StackedBar(**_config(title=_("Units made")))
    chart.x_labels = [period_label(r, period) for r in rows]
    chart.add(_("Good"), [r.totals.good for r in rows])
    chart.add(_("Rework"), [r.totals.rework for r in rows])
    chart.add(_("Scrap"), [r.totals.scrap for r in rows])
    return _render(chart, _("Good, rework and scrap units per period"))


def oee_chart(rows: Sequence[Row], period: str) -> SafeString:
    chart = pygal.Line(
        **_config(title=_("OEE and its factors (%)"), range=(0, 100), include_x_axis=True)
    )
    chart.x_labels = [period_label(r, period) for r in rows]
    chart.add(_("OEE"), [_pct(r.totals.oee) for r in rows])
    chart.add(_("Availability"), [_pct(r.totals.availability) for r in rows])
    chart.add(_("Performance"), [_pct(r.totals.performance) for r in rows])
    chart.add(_("Quality"), [_pct(r.totals.quality) for r in rows])
    return _render(chart, _("OEE, availability, performance and quality per period"))


def pareto_chart(items: Sequence[ParetoItem], title: str, unit: str) -> SafeString:
    chart = pygal.HorizontalBar(
        **_config(title=title, show_legend=False, height=max(200, 60 + 34 * len(items)))
    )
    # Largest at the top: pygal draws horizontal bars from the bottom up.
    ordered = list(reversed(items))
    chart.x_labels = [
        f"{i.reason} ({i.category_label})" if i.category else i.reason for i in ordered
    ]
    chart.add(unit, [i.amount for i in ordered])
    return _render(chart, title)
