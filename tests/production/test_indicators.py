from __future__ import annotations

from decimal import Decimal
from typing import Any

from production import report, selectors, services
from production.indicators import Totals, percent
from production.services import DowntimeInput, ScrapInput
from tests import factories
from tests.production.conftest import DAY, Line


def test_oee_worked_example_from_the_docs() -> None:
    # 480 min planned, 60 min of stops so 420 run, 1 min ideal cycle, 400 made, 380 good.
    t = Totals(
        shift_minutes=480,
        unplanned_downtime=60,
        good=380,
        rework=5,
        scrap=15,
        ideal_seconds=Decimal(400 * 60),
    )
    assert t.planned_minutes == 480
    assert t.run_minutes == 420
    assert percent(t.availability) == "87.5"
    assert percent(t.performance) == "95.2"
    assert percent(t.quality) == "95.0"
    assert percent(t.oee) == "79.1"
    # Exactly good × ideal cycle ÷ planned time: 380 / 480.
    assert t.oee is not None and abs(t.oee - Decimal(380) / Decimal(480)) < Decimal("1e-9")


def test_oee_worked_example_through_a_recorded_entry(line: Line) -> None:
    line.submit(
        good=380,
        rework=5,
        scrap=15,
        downtime=[DowntimeInput(category="unplanned", reason="Horno frío", minutes=60)],
    )
    t = selectors.totals(organization=line.world.org, start=DAY, end=DAY)
    assert (t.planned_minutes, t.run_minutes, t.total, t.good) == (480, 420, 400, 380)
    assert t.ideal_minutes == 400
    assert round(t.availability * 1000) == 875  # type: ignore[operator]
    assert round(t.performance * 1000) == 952  # type: ignore[operator]
    assert round(t.quality * 1000) == 950  # type: ignore[operator]
    assert percent(t.oee) == "79.1"  # 380/480 = 79.17 %, shown rounded down


def test_aggregation_sums_times_and_counts_not_percentages(line: Line) -> None:
    # A small entry with poor quality and a large one with good quality.
    line.submit(good=5, scrap=5, product=line.bread)  # quality 50 %
    line.submit(good=900, scrap=100, product=line.rolls)  # quality 90 %
    t = selectors.totals(organization=line.world.org, start=DAY, end=DAY)
    assert t.quality == Decimal(905) / Decimal(1010)  # 89.6 %, not the average 70 %
    assert percent(t.quality) == "89.6"
    # Performance from summed ideal time over summed run time: (10 × 60 s + 1000 × 30 s) / (2 × 480 min)
    assert t.performance == (Decimal(10 * 60 + 1000 * 30) / 60) / Decimal(960)
    by_product = {
        r.key: r.totals
        for r in selectors.totals_by(
            organization=line.world.org, start=DAY, end=DAY, dimension="product"
        )
    }
    assert percent(by_product["bread"].quality) == "50.0"
    assert percent(by_product["rolls"].quality) == "90.0"


def test_totals_by_day_week_and_month(line: Line) -> None:
    from datetime import timedelta

    for i in range(10):  # 2025-03-10 (Monday) to 2025-03-19
        line.submit(good=100 + i, shift_date=DAY + timedelta(days=i))
    org = line.world.org
    days = selectors.totals_by(
        organization=org, start=DAY, end=DAY + timedelta(days=9), period="day"
    )
    weeks = selectors.totals_by(
        organization=org, start=DAY, end=DAY + timedelta(days=9), period="week"
    )
    months = selectors.totals_by(
        organization=org, start=DAY, end=DAY + timedelta(days=9), period="month"
    )
    assert len(days) == 10 and days[0].totals.good == 100
    assert [(w.period.isoformat(), w.totals.good) for w in weeks] == [  # type: ignore[union-attr]
        ("2025-03-10", sum(range(100, 107))),
        ("2025-03-17", sum(range(107, 110))),
    ]
    assert [(m.period.isoformat(), m.totals.good) for m in months] == [  # type: ignore[union-attr]
        ("2025-03-01", sum(range(100, 110)))
    ]


def test_pareto_orders_downtime_and_leaves_planned_stops_out(line: Line) -> None:
    line.submit(
        good=10,
        downtime=[
            DowntimeInput(category="unplanned", reason="Horno frío", minutes=30),
            DowntimeInput(category="changeover", reason="Cambio de molde", minutes=50),
            DowntimeInput(category="planned", reason="Almuerzo", minutes=30),
        ],
    )
    line.submit(
        good=10,
        shift=line.night,
        downtime=[DowntimeInput(category="unplanned", reason="Horno frío", minutes=40)],
    )
    items = selectors.downtime_pareto(organization=line.world.org, start=DAY, end=DAY)
    assert [(i.reason, i.amount) for i in items] == [("Horno frío", 70), ("Cambio de molde", 50)]
    assert items[-1].cumulative_percent == 100


def test_empty_period_shows_no_ratio() -> None:
    t = Totals()
    assert t.oee is None and percent(t.oee) == "—"


def test_pareto_cumulative_share_is_of_the_whole_not_of_the_bars_shown(line: Line) -> None:
    # Twelve reasons of 5, 10, ..., 60 minutes (390 in all); the chart shows ten.
    for shift, reasons in ((line.day, range(1, 7)), (line.night, range(7, 13))):
        line.submit(
            good=10,
            shift=shift,
            downtime=[
                DowntimeInput(category="unplanned", reason=f"R{i:02}", minutes=5 * i)
                for i in reasons
            ],
        )
    items = selectors.downtime_pareto(organization=line.world.org, start=DAY, end=DAY)
    assert [i.reason for i in items] == [f"R{i:02}" for i in range(12, 2, -1)]
    assert items[0].cumulative_percent == Decimal(60 * 100) / 390
    # R01 and R02 (15 minutes) are left out, so the last bar shown is at 375/390, not 100 %.
    assert items[-1].cumulative_percent == Decimal(375 * 100) / 390
    assert items[-1].cumulative_percent < 100


def test_scrap_pareto_counts_unexplained_scrap_even_with_many_reasons(line: Line) -> None:
    line.submit(
        good=100,
        scrap=21,
        scrap_lines=[
            ScrapInput(category="material", reason=f"S{i:02}", quantity=i) for i in range(1, 7)
        ],
    )
    line.submit(
        good=100,
        scrap=57,
        shift=line.night,
        scrap_lines=[
            ScrapInput(category="machine", reason=f"S{i:02}", quantity=i) for i in range(7, 13)
        ],
    )
    line.submit(good=100, scrap=50, product=line.rolls)  # no reason recorded
    org = line.world.org
    total = selectors.totals(organization=org, start=DAY, end=DAY).scrap
    assert total == 128
    items = selectors.scrap_pareto(organization=org, start=DAY, end=DAY, total_scrap=total)
    assert len(items) == 10
    assert (items[0].reason, items[0].amount) == ("No reason given", 50)
    assert [i.reason for i in items[1:]] == [f"S{i:02}" for i in range(12, 3, -1)]
    assert items[-1].cumulative_percent == Decimal((50 + sum(range(4, 13))) * 100) / 128


def test_targets_follow_the_reports_work_centre(line: Line) -> None:
    w = line.world
    decision = factories.founding_decision(w.org)

    def adopt(metric: str, value: int, work_centre: Any = None) -> Any:
        return services.target_adopt(
            actor=w.alice,
            organization=w.org,
            decision=decision,
            metric=metric,
            value=Decimal(value),
            valid_from=DAY,
            work_centre=work_centre,
        )

    oven, mixer, whole = (
        adopt("oee", 75, line.oven),
        adopt("oee", 60, line.mixer),
        adopt("scrap_rate", 5),
    )
    line.submit(good=380, rework=5, scrap=15, work_centre=line.oven)
    line.submit(good=100, work_centre=line.mixer)
    period = report.Period.build(DAY, DAY)
    everything = report.build(organization=w.org, period=period, with_charts=False)
    assert {s.target for s in everything["targets"]} == {oven, mixer, whole}
    only_oven = report.build(
        organization=w.org, period=period, work_centre=line.oven, with_charts=False
    )
    [status] = only_oven["targets"]
    assert status.target == oven
    assert round(status.actual, 2) == Decimal("79.17")  # type: ignore[arg-type]
    [status] = selectors.targets_vs_actuals(
        organization=w.org, start=DAY, end=DAY, work_centre=line.mixer
    )
    assert status.target == mixer
