"""Reads with access rules (404 outside the caller's organisations) and the indicator
aggregates, computed in SQL over the current versions of a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.http import Http404
from django.utils.translation import gettext as _

from governance.models import Organization
from governance.selectors import memberships_of
from production.indicators import SUMS, Totals
from production.models import (
    DowntimeLine,
    LogEntry,
    Product,
    ScrapLine,
    Shift,
    Target,
    WorkCentre,
)

PERIODS = ("day", "week", "month")
DIMENSIONS = {"work_centre": "work_centre", "product": "product", "shift": "shift"}


def entry_get_for_member(*, user: Any, uuid: Any) -> LogEntry:
    entry = (
        LogEntry.objects.filter(
            organization__in=memberships_of(user).values("organization_id"), uuid=uuid
        )
        .select_related("organization", "work_centre", "shift", "product", "recorded_by", "crew")
        .first()
    )
    if entry is None:
        raise Http404(_("No such production entry."))
    return entry


def entry_versions(*, entry: LogEntry) -> QuerySet[LogEntry]:
    """Every version of the entry, newest first: corrections never hide what came before."""
    return (
        LogEntry.objects.filter(series=entry.series)
        .select_related("recorded_by", "work_centre", "shift", "product")
        .prefetch_related(
            "downtime_lines",
            "scrap_lines",
            "worker_rows__membership__person",
            "signatures__membership__person",
            "handover_acks__membership__person",
        )
        .order_by("-version")
    )


def configuration(*, organization: Organization) -> dict[str, Any]:
    return {
        "work_centres": list(WorkCentre.objects.filter(organization=organization)),
        "shifts": list(Shift.objects.filter(organization=organization)),
        "products": list(Product.objects.filter(organization=organization)),
    }


def entries_current(
    *,
    organization: Organization,
    start: date,
    end: date,
    work_centre: WorkCentre | None = None,
    product: Product | None = None,
    shift: Shift | None = None,
) -> QuerySet[LogEntry]:
    qs = LogEntry.objects.filter(
        organization=organization, current=True, shift_date__gte=start, shift_date__lte=end
    )
    if work_centre is not None:
        qs = qs.filter(work_centre=work_centre)
    if product is not None:
        qs = qs.filter(product=product)
    if shift is not None:
        qs = qs.filter(shift=shift)
    return qs


def entries_for_export(**kwargs: Any) -> QuerySet[LogEntry]:
    return (
        entries_current(**kwargs)
        .select_related("work_centre", "shift", "product")
        .prefetch_related("downtime_lines", "scrap_lines", "workers")
        .order_by("shift_date", "starts_at", "work_centre__code", "product__code")
    )


def totals(**kwargs: Any) -> Totals:
    return Totals.from_row(entries_current(**kwargs).aggregate(**SUMS))


@dataclass(frozen=True)
class Row:
    period: date | None
    key: str
    label: str
    totals: Totals


def totals_by(
    *, period: str | None = None, dimension: str | None = None, **kwargs: Any
) -> list[Row]:
    """Totals per day/week/month and/or per work centre, product or shift: one query."""
    qs = entries_current(**kwargs)
    group: list[str] = []
    if period == "day":
        qs = qs.annotate(p=F("shift_date"))
    elif period == "week":
        qs = qs.annotate(p=TruncWeek("shift_date"))
    elif period == "month":
        qs = qs.annotate(p=TruncMonth("shift_date"))
    elif period is not None:
        raise ValueError(period)
    if period is not None:
        group.append("p")
    if dimension is not None:
        if dimension not in DIMENSIONS:
            raise ValueError(dimension)
        group += [f"{dimension}__code", f"{dimension}__name"]
    rows = qs.values(*group).annotate(**SUMS).order_by(*group)
    out = []
    for r in rows:
        p = r.get("p")
        if hasattr(p, "date"):
            p = p.date()
        out.append(
            Row(
                period=p,
                key=r.get(f"{dimension}__code", "") if dimension else "",
                label=r.get(f"{dimension}__name", "") if dimension else "",
                totals=Totals.from_row(r),
            )
        )
    return out


@dataclass(frozen=True)
class ParetoItem:
    category: str
    category_label: str
    reason: str
    amount: int
    cumulative_percent: Decimal


def _pareto(
    rows: list[tuple[str, str, int]], labels: dict[str, str], *, grand: int, limit: int
) -> list[ParetoItem]:
    """The largest `limit` bars, with the cumulative share of the *whole* amount (`grand`),
    so the last bar shown stays below 100 % when smaller reasons were left out."""
    rows = sorted((r for r in rows if r[2] > 0), key=lambda r: (-r[2], r[0], r[1]))[:limit]
    out, running = [], 0
    for category, reason, amount in rows:
        running += amount
        out.append(
            ParetoItem(
                category,
                str(labels.get(category, category)),
                reason,
                amount,
                Decimal(running * 100) / grand if grand else Decimal(0),
            )
        )
    return out


def _lines(
    model: Any,
    *,
    organization: Organization,
    start: date,
    end: date,
    work_centre: WorkCentre | None = None,
    product: Product | None = None,
    shift: Shift | None = None,
) -> QuerySet[Any]:
    """Lines of the current entries of a period, found through the lines' own index."""
    qs = model.objects.filter(
        organization=organization,
        shift_date__gte=start,
        shift_date__lte=end,
        entry__current=True,
    )
    if work_centre is not None:
        qs = qs.filter(entry__work_centre=work_centre)
    if product is not None:
        qs = qs.filter(entry__product=product)
    if shift is not None:
        qs = qs.filter(entry__shift=shift)
    return qs


def downtime_pareto(*, limit: int = 10, **kwargs: Any) -> list[ParetoItem]:
    lines = _lines(DowntimeLine, **kwargs).exclude(category=DowntimeLine.Category.PLANNED)
    # The top bars and the grand total are two aggregates: the number of distinct reasons
    # is not bounded, so they are never all fetched.
    rows = (
        lines.values("category", "reason")
        .annotate(amount=Sum("minutes"))
        .order_by("-amount", "category", "reason")[:limit]
    )
    grand = lines.aggregate(total=Sum("minutes"))["total"] or 0
    return _pareto(
        [(r["category"], r["reason"], r["amount"]) for r in rows],
        {k: str(v) for k, v in DowntimeLine.Category.choices},
        grand=grand,
        limit=limit,
    )


def scrap_pareto(
    *, limit: int = 10, total_scrap: int | None = None, **kwargs: Any
) -> list[ParetoItem]:
    lines = _lines(ScrapLine, **kwargs)
    rows = (
        lines.values("category", "reason")
        .annotate(amount=Sum("quantity"))
        .order_by("-amount", "category", "reason")[:limit]
    )
    items = [(r["category"], r["reason"], r["amount"]) for r in rows]
    explained = lines.aggregate(total=Sum("quantity"))["total"] or 0
    unexplained = max(0, (total_scrap or 0) - explained)
    if unexplained:
        # Scrap recorded without a reason still counts, under its own bar (which competes
        # for a place among the largest like any other reason).
        items.append(("", _("No reason given"), unexplained))
    return _pareto(
        items,
        {k: str(v) for k, v in ScrapLine.Category.choices},
        grand=explained + unexplained,
        limit=limit,
    )


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    actual: Decimal | None
    met: bool | None


def targets_vs_actuals(
    *,
    organization: Organization,
    start: date,
    end: date,
    work_centre: WorkCentre | None = None,
) -> list[TargetStatus]:
    """The targets in force during the period, each against the actual over the overlap.
    A report about one work centre shows that work centre's targets only: a target for
    another line, or for the whole organisation, is not measured by one line's figures."""
    targets_qs = Target.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=start),
        organization=organization,
        valid_from__lte=end,
    )
    if work_centre is not None:
        targets_qs = targets_qs.filter(work_centre=work_centre)
    targets = list(targets_qs.select_related("decision", "work_centre", "product"))
    if not targets:
        return []
    out = []
    for t in targets:
        # One aggregate per target over the overlap of its validity with the period: the
        # number of queries follows the number of targets, never the number of entries.
        lo, hi = max(start, t.valid_from), min(end, t.valid_until or end)
        row = entries_current(
            organization=organization,
            start=lo,
            end=hi,
            work_centre=t.work_centre,
            product=t.product,
        ).aggregate(days=Count("shift_date", distinct=True), **SUMS)
        tot = Totals.from_row(row)
        actual: Decimal | None
        if t.metric == Target.Metric.OEE:
            actual = tot.oee * 100 if tot.oee is not None else None
            met = None if actual is None else actual >= t.value
        elif t.metric == Target.Metric.SCRAP_RATE:
            actual = tot.scrap_rate * 100 if tot.scrap_rate is not None else None
            met = None if actual is None else actual <= t.value
        else:
            actual = Decimal(tot.good) / row["days"] if row["days"] else None
            met = None if actual is None else actual >= t.value
        out.append(TargetStatus(t, actual, met))
    return out


def entries_recent(*, organization: Organization, limit: int = 20) -> QuerySet[LogEntry]:
    # Prefetched rather than counted with a JOIN + GROUP BY, which would aggregate the whole
    # organisation's history before the LIMIT.
    return (
        LogEntry.objects.filter(organization=organization, current=True)
        .select_related("work_centre", "shift", "product", "recorded_by")
        .prefetch_related("signatures", "handover_acks")
        .order_by("-shift_date", "-starts_at")[:limit]
    )
