"""The daily summary tables behind the dashboard always equal the sums of the current
entries: after submissions, corrections (also moving an entry to another day or line) and
CSV imports, they match a rebuild from the entries, and the indicators read from them
match the same figures added up from the entries themselves."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from production import csv_io, rollups, selectors, services
from production.indicators import SUMS, Totals
from production.models import DailyReason, DailyTotal, LogEntry
from tests.production.conftest import DAY, Line


def _snapshot() -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    totals = {
        (
            r.organization_id,
            r.shift_date,
            r.work_centre_key,
            r.product_key,
            r.shift_key,
            *(int(getattr(r, f)) for f in rollups.TOTAL_FIELDS),
        )
        for r in DailyTotal.objects.exclude(entries=0)
    }
    reasons = {
        (r.organization_id, r.shift_date, r.work_centre_key, r.kind, r.category, r.reason, r.amount)
        for r in DailyReason.objects.exclude(amount=0)
    }
    return totals, reasons


def _busy_month(line: Line) -> None:
    dt = [services.DowntimeInput(category="unplanned", reason="Horno frío", minutes=30)]
    scrap = [services.ScrapInput(category="material", reason="Quemado", quantity=4)]
    first = line.submit(good=100, scrap=4, downtime=dt, scrap_lines=scrap)
    line.submit(good=50, product=line.rolls, shift=line.night)
    line.submit(good=70, work_centre=line.mixer, shift_date=DAY + timedelta(days=1))
    # A correction that moves the entry to another day and line, with other reasons.
    services.entry_amend(
        actor=line.world.bob,
        entry=first,
        data=line.data(
            good=90,
            scrap=2,
            work_centre=line.mixer,
            shift_date=DAY + timedelta(days=2),
            downtime=[services.DowntimeInput(category="minor_stop", reason="Atasco", minutes=5)],
            scrap_lines=[services.ScrapInput(category="machine", reason="Rayado", quantity=2)],
        ),
        reason="Línea equivocada",
        idempotency_key=uuid.uuid4(),
    )
    text = (
        "date,work_centre,shift,product,good,scrap,unplanned_downtime_min,downtime_reason,"
        "scrap_reason\n"
        "2025-03-20,oven,day,bread,300,6,20,Falta de harina,Quemado\n"
        "2025-03-20,oven,night,rolls,200,0,0,,\n"
    )
    result = csv_io.entries_import_csv(
        actor=line.world.alice, organization=line.world.org, text=text
    )
    assert result.ok, result.errors


def test_summaries_equal_a_rebuild_after_corrections_and_imports(line: Line) -> None:
    _busy_month(line)
    # The old slot of the moved entry has no production left (and is no production day).
    old = DailyTotal.objects.get(
        organization=line.world.org,
        shift_date=DAY,
        work_centre_key=line.oven.pk,
        product_key=line.bread.pk,
        shift_key=0,
    )
    assert old.entries == 0 and old.good == 0
    kept = _snapshot()
    assert kept[0] and kept[1]
    rollups.rebuild()
    assert _snapshot() == kept


def _raw(line: Line, **filters: Any) -> Totals:
    qs = selectors.entries_current(
        organization=line.world.org, start=date(2025, 3, 1), end=date(2025, 3, 31), **filters
    )
    return Totals.from_row(qs.aggregate(**SUMS))


def test_indicators_from_summaries_match_the_entries(line: Line) -> None:
    _busy_month(line)
    period: dict[str, Any] = {
        "organization": line.world.org,
        "start": date(2025, 3, 1),
        "end": date(2025, 3, 31),
    }
    assert selectors.totals(**period) == _raw(line)
    assert selectors.totals(**period, work_centre=line.mixer) == _raw(line, work_centre=line.mixer)
    for dimension in ("work_centre", "product", "shift"):
        rows = selectors.totals_by(period="week", dimension=dimension, **period)
        assert sum((r.totals for r in rows), Totals()) == _raw(line)
    # Filtered by a work centre and a product and grouped by shift: as fine as one entry,
    # read from the entries themselves, with the same result.
    rows = selectors.totals_by(
        dimension="shift", work_centre=line.oven, product=line.rolls, **period
    )
    assert [(r.key, r.totals.good) for r in rows] == [("night", 250)]
    pareto = selectors.downtime_pareto(**period)
    assert [(p.reason, p.amount) for p in pareto] == [("Falta de harina", 20), ("Atasco", 5)]
    scrap = selectors.scrap_pareto(total_scrap=selectors.totals(**period).scrap, **period)
    assert [(p.reason, p.amount) for p in scrap] == [("Quemado", 6), ("Rayado", 2)]


def test_the_dashboard_reads_as_many_queries_at_any_size(line: Line, bob_client: Any) -> None:
    url = f"/o/{line.world.org.slug}/production/?start=2025-03-01&end=2025-03-31"
    line.submit(good=1)
    with CaptureQueriesContext(connection) as few:
        assert bob_client.get(url).status_code == 200
    for i in range(1, 20):
        line.submit(good=i, shift_date=DAY + timedelta(days=i), product=line.rolls)
    with CaptureQueriesContext(connection) as more:
        assert bob_client.get(url).status_code == 200
    assert len(few.captured_queries) == len(more.captured_queries)
    assert LogEntry.objects.aggregate(n=Sum("good"))["n"] == 1 + sum(range(1, 20))
