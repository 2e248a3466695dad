"""OEE and the other indicators, from summed times and counts (see docs/production-indicators.md).

Ratios are always computed from sums over the whole group: averaging the percentages of
entries of different sizes would give a small entry the same weight as a large one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import Coalesce

ZERO = Decimal(0)

# The sums one SQL aggregate returns per group; everything else is derived from them.
# Prefixed so they never shadow the model's own fields (good, rework, scrap) in F().
SUMS: dict[str, Any] = {
    "t_shift_minutes": Coalesce(Sum("shift_minutes"), 0),
    "t_planned_downtime": Coalesce(Sum("planned_downtime_minutes"), 0),
    "t_unplanned_downtime": Coalesce(Sum("unplanned_downtime_minutes"), 0),
    "t_changeover": Coalesce(Sum("changeover_minutes"), 0),
    "t_minor_stops": Coalesce(Sum("minor_stop_minutes"), 0),
    "t_good": Coalesce(Sum("good"), 0),
    "t_rework": Coalesce(Sum("rework"), 0),
    "t_scrap": Coalesce(Sum("scrap"), 0),
    "t_ideal_seconds": Coalesce(
        Sum(
            ExpressionWrapper(
                F("ideal_cycle_seconds") * (F("good") + F("rework") + F("scrap")),
                output_field=DecimalField(max_digits=20, decimal_places=3),
            )
        ),
        ZERO,
        output_field=DecimalField(max_digits=20, decimal_places=3),
    ),
}

# The same sums read from the daily summary table (models.DailyTotal), whose columns are
# already sums; the ideal time is stored multiplied out.
ROLLUP_SUMS: dict[str, Any] = {
    **{k: v for k, v in SUMS.items() if k != "t_ideal_seconds"},
    "t_ideal_seconds": Coalesce(
        Sum("ideal_seconds"), ZERO, output_field=DecimalField(max_digits=20, decimal_places=3)
    ),
}


def _ratio(num: Decimal, den: Decimal) -> Decimal | None:
    if den <= 0:
        return None
    return num / den


@dataclass(frozen=True)
class Totals:
    shift_minutes: int = 0
    planned_downtime: int = 0
    unplanned_downtime: int = 0
    changeover: int = 0
    minor_stops: int = 0
    good: int = 0
    rework: int = 0
    scrap: int = 0
    ideal_seconds: Decimal = ZERO

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Totals:
        return cls(
            shift_minutes=int(row.get("t_shift_minutes") or 0),
            planned_downtime=int(row.get("t_planned_downtime") or 0),
            unplanned_downtime=int(row.get("t_unplanned_downtime") or 0),
            changeover=int(row.get("t_changeover") or 0),
            minor_stops=int(row.get("t_minor_stops") or 0),
            good=int(row.get("t_good") or 0),
            rework=int(row.get("t_rework") or 0),
            scrap=int(row.get("t_scrap") or 0),
            ideal_seconds=Decimal(str(row.get("t_ideal_seconds") or 0)),
        )

    @property
    def total(self) -> int:
        return self.good + self.rework + self.scrap

    @property
    def planned_minutes(self) -> int:
        """Planned production time: the shifts minus planned stops (breaks, maintenance)."""
        return self.shift_minutes - self.planned_downtime

    @property
    def run_minutes(self) -> int:
        return self.planned_minutes - self.unplanned_downtime - self.changeover - self.minor_stops

    @property
    def ideal_minutes(self) -> Decimal:
        return self.ideal_seconds / 60

    @property
    def availability(self) -> Decimal | None:
        return _ratio(Decimal(self.run_minutes), Decimal(self.planned_minutes))

    @property
    def performance(self) -> Decimal | None:
        return _ratio(self.ideal_minutes, Decimal(self.run_minutes))

    @property
    def quality(self) -> Decimal | None:
        return _ratio(Decimal(self.good), Decimal(self.total))

    @property
    def oee(self) -> Decimal | None:
        """Availability × performance × quality, which reduces to good units × ideal cycle
        time ÷ planned production time."""
        a, p, q = self.availability, self.performance, self.quality
        if a is None or p is None or q is None:
            return None
        return a * p * q

    @property
    def scrap_rate(self) -> Decimal | None:
        return _ratio(Decimal(self.scrap), Decimal(self.total))

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in self.__dataclass_fields__
            }
        )


def percent(value: Decimal | None, places: int = 1) -> str:
    """A ratio as a percentage for display, rounded down so a figure is never overstated
    ('—' when there is nothing to divide): 380/480 = 79.17 % shows as 79.1 %."""
    if value is None:
        return "—"
    return f"{(value * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)}"
