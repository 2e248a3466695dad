from __future__ import annotations

from decimal import Decimal

from django import template

from production.indicators import percent

register = template.Library()


@register.filter
def pct(value: Decimal | None) -> str:
    """A ratio shown as a percentage, '—' when there was nothing to divide."""
    text = percent(value)
    return text if text == "—" else f"{text} %"
