"""Reads with access rules (404 outside the caller's organisations) and the indicator
aggregates, computed in SQL over the current versions of a period."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.http import Http404
from django.utils.translation import gettext as _

from governance.models import Membership, Organization, Workgroup
from governance.selectors import memberships_of
from production import rollups
from production.indicators import ROLLUP_SUMS, SUMS, Totals
from production.models import (
    DailyReason,
    DailyTotal,
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
_DIMENSION_MODELS: dict[str, Any] = {"work_centre": WorkCentre, "product": Product, "shift": Shift}


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
        .select_related("recorded_by", "work_centre", "shift", "product", "crew")
        .prefetch_related(
            "downtime_lines",
            "scrap_lines",
            "worker_rows__membership__person",
            "signatures__membership__person",
            "handover_acks__membership__person",
        )
        .order_by("-version")
    )


def configured_get_for_member(*, user: Any, model: Any, uuid: Any) -> Any:
    """A work centre, product or shift of one of the caller's organisations (else 404)."""
    obj = (
        model.objects.filter(
            organization__in=memberships_of(user).values("organization_id"), uuid=uuid
        )
        .select_related("organization")
        .first()
    )
    if obj is None:
        raise Http404(_("No such work centre, product or shift."))
    return obj


# --- Who was on the crew ---------------------------------------------------------------------

SEARCH_LIMIT = 10
# A default crew larger than this (a workgroup of the whole factory) is no guess at all and
# would make the phone page heavy: the form then starts from the recorder alone.
CREW_MAX = 40


def workers_search(*, organization: Organization, query: str) -> list[Membership]:
    """Members whose name, username or member number matches, for adding someone to a
    crew: at most a handful, so the answer stays small on a slow network."""
    words = query.replace("\x00", "").split()[:4]
    if not words:
        return []
    qs = (
        Membership.objects.filter(organization=organization)
        .exclude(status=Membership.Status.LEFT)
        .select_related("person")
    )
    for w in words:
        qs = qs.filter(
            Q(person__first_name__icontains=w)
            | Q(person__last_name__icontains=w)
            | Q(person__username__icontains=w)
            | Q(member_number__istartswith=w)
        )
    return list(qs.order_by("person__first_name", "person__last_name", "pk")[:SEARCH_LIMIT])


def entry_last_worked(
    *,
    organization: Organization,
    member: Membership,
    work_centre: WorkCentre | None = None,
    shift: Shift | None = None,
) -> LogEntry | None:
    """The latest current entry this person was on the crew of (on that work centre and
    shift when given)."""
    last = LogEntry.objects.filter(
        organization=organization, current=True, worker_rows__membership=member
    )
    if work_centre is not None:
        last = last.filter(work_centre=work_centre)
    if shift is not None:
        last = last.filter(shift=shift)
    return last.select_related("crew").order_by("-shift_date", "-starts_at").first()


def crew_default(
    *,
    organization: Organization,
    member: Membership,
    work_centre: WorkCentre | None = None,
    shift: Shift | None = None,
) -> tuple[list[Membership], Workgroup | None]:
    """Who was probably present, to start the form from: the crew of the last entry this
    person was on for that work centre and shift (any, when they are not chosen yet); else
    the members of their workgroup; else themselves. Crews are mostly the same people
    shift after shift, so this is usually a tap or two away from right."""
    entry = entry_last_worked(
        organization=organization, member=member, work_centre=work_centre, shift=shift
    )
    if entry is not None:
        people = _participating(
            Membership.objects.filter(organization=organization, production_entries=entry)
        )
        if 0 < len(people) <= CREW_MAX:
            return people, entry.crew
    group = (
        Workgroup.objects.filter(organization=organization, members=member).order_by("pk").first()
    )
    if group is not None:
        people = _participating(Membership.objects.filter(workgroups=group))
        if 0 < len(people) <= CREW_MAX:
            return people, group
    return [member], None


def members_by_pk(*, organization: Organization, pks: Iterable[Any]) -> list[Membership]:
    """The organisation's participating members among `pks` (ignoring anything else)."""
    clean = {int(pk) for pk in pks if str(pk).isdigit()}
    if not clean:
        return []
    return _participating(
        Membership.objects.filter(organization=organization, pk__in=clean), limit=len(clean)
    )


def _participating(qs: QuerySet[Membership], limit: int = CREW_MAX + 1) -> list[Membership]:
    return list(
        qs.exclude(status=Membership.Status.LEFT)
        .select_related("person")
        .order_by("person__first_name", "person__last_name", "pk")
        .distinct()[:limit]
    )


def workgroups(*, organization: Organization) -> QuerySet[Workgroup]:
    return Workgroup.objects.filter(organization=organization).order_by("name")


def workgroup_members(*, workgroup: Workgroup, limit: int = 200) -> list[Membership]:
    return _participating(Membership.objects.filter(workgroups=workgroup), limit=limit)


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


def _source(
    *,
    organization: Organization,
    start: date,
    end: date,
    work_centre: WorkCentre | None = None,
    product: Product | None = None,
    shift: Shift | None = None,
    dimension: str | None = None,
) -> tuple[QuerySet[Any], dict[str, Any], str | None]:
    """Where to add up: the daily summary rows of the grouping that answers the question
    (a few hundred rows a year per work centre, product or shift, whatever the number of
    entries), or the current entries when the question is as fine as one entry (filtered
    or grouped by all three dimensions). Returns the rows, the sums to take and the field
    naming the dimension."""
    given: dict[str, Any] = {"work_centre": work_centre, "product": product, "shift": shift}
    used = {d for d, v in given.items() if v is not None} | ({dimension} if dimension else set())
    if not rollups.covers(used):
        qs = entries_current(
            organization=organization,
            start=start,
            end=end,
            work_centre=work_centre,
            product=product,
            shift=shift,
        )
        return qs, SUMS, f"{dimension}_id" if dimension else None
    rows = DailyTotal.objects.filter(
        organization=organization,
        grouping=rollups.grouping(used),
        shift_date__gte=start,
        shift_date__lte=end,
    )
    for d, value in given.items():
        if value is not None:
            rows = rows.filter(**{f"{d}_key": value.pk})
    return rows, ROLLUP_SUMS, f"{dimension}_key" if dimension else None


def totals(**kwargs: Any) -> Totals:
    rows, sums, _key = _source(**kwargs)
    return Totals.from_row(rows.aggregate(**sums))


@dataclass(frozen=True)
class Row:
    period: date | None
    key: str
    label: str
    totals: Totals


def totals_by(
    *,
    period: str | None = None,
    dimension: str | None = None,
    organization: Organization,
    **kwargs: Any,
) -> list[Row]:
    """Totals per day/week/month and/or per work centre, product or shift: one aggregate
    (and one small query for the names of the work centres, products or shifts)."""
    if dimension is not None and dimension not in DIMENSIONS:
        raise ValueError(dimension)
    qs, sums, key = _source(organization=organization, dimension=dimension, **kwargs)
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
    if key is not None:
        group.append(key)
    labels: dict[int, tuple[str, str]] = {}
    if dimension is not None:
        model = _DIMENSION_MODELS[dimension]
        labels = {
            pk: (code, name)
            for pk, code, name in model.objects.filter(organization=organization).values_list(
                "pk", "code", "name"
            )
        }
    out = []
    for r in qs.values(*group).annotate(**sums).order_by(*group):
        p = r.get("p")
        if hasattr(p, "date"):
            p = p.date()
        code, name = labels.get(r[key], ("", "")) if key is not None else ("", "")
        out.append(Row(period=p, key=code, label=name, totals=Totals.from_row(r)))
    # By period, then by code, as the tables show them.
    out.sort(key=lambda row: (row.period or date.min, row.key))
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


def _reasons(
    kind: str,
    model: Any,
    amount: str,
    *,
    organization: Organization,
    start: date,
    end: date,
    work_centre: WorkCentre | None = None,
    product: Product | None = None,
    shift: Shift | None = None,
) -> tuple[QuerySet[Any], str]:
    """The rows to add up for a Pareto and the field holding the amount: the daily sums per
    reason (whole organisation or one work centre), or the lines themselves for a question
    about one product or shift."""
    if product is None and shift is None:
        return (
            DailyReason.objects.filter(
                organization=organization,
                kind=kind,
                work_centre_key=work_centre.pk if work_centre is not None else 0,
                shift_date__gte=start,
                shift_date__lte=end,
            ),
            "amount",
        )
    lines = _lines(
        model,
        organization=organization,
        start=start,
        end=end,
        work_centre=work_centre,
        product=product,
        shift=shift,
    )
    return lines, amount


def _top(rows: QuerySet[Any], field: str, limit: int) -> tuple[list[tuple[str, str, int]], int]:
    # The top bars and the grand total are two aggregates: the number of distinct reasons
    # is not bounded, so they are never all fetched. An amendment can leave a reason at 0.
    top = (
        rows.values("category", "reason")
        .annotate(amount=Sum(field))
        .filter(amount__gt=0)
        .order_by("-amount", "category", "reason")[:limit]
    )
    grand = rows.aggregate(total=Sum(field))["total"] or 0
    return [(r["category"], r["reason"], r["amount"]) for r in top], grand


def downtime_pareto(*, limit: int = 10, **kwargs: Any) -> list[ParetoItem]:
    rows, field = _reasons(DailyReason.Kind.DOWNTIME, DowntimeLine, "minutes", **kwargs)
    items, grand = _top(rows.exclude(category=DowntimeLine.Category.PLANNED), field, limit)
    return _pareto(
        items,
        {k: str(v) for k, v in DowntimeLine.Category.choices},
        grand=grand,
        limit=limit,
    )


def scrap_pareto(
    *, limit: int = 10, total_scrap: int | None = None, **kwargs: Any
) -> list[ParetoItem]:
    rows, field = _reasons(DailyReason.Kind.SCRAP, ScrapLine, "quantity", **kwargs)
    items, explained = _top(rows, field, limit)
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
        rows, sums, _key = _source(
            organization=organization,
            start=lo,
            end=hi,
            work_centre=t.work_centre,
            product=t.product,
        )
        # One summary row per day at this grouping; a day whose entries were all moved
        # elsewhere by corrections keeps a row of zeros, which is not a production day.
        days = (
            Count("pk", filter=Q(entries__gt=0))
            if rows.model is DailyTotal
            else Count("shift_date", distinct=True)
        )
        row = rows.aggregate(days=days, **sums)
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
