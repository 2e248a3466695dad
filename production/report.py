"""The production report for a period: what the dashboard shows, what an assembly agenda
item carries and what goes into the minutes. A fixed number of aggregate queries whatever
the number of entries (the benchmark checks it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.attachments import AttachmentKind
from governance.models import Organization
from production import charts, selectors
from production.models import WorkCentre

MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    group: str

    @classmethod
    def build(cls, start: date, end: date, group: str = "") -> Period:
        if end < start:
            raise ValidationError({"end": _("The end date must not be before the start date.")})
        if (end - start).days >= MAX_DAYS:
            raise ValidationError({"end": _("Choose a period of at most one year.")})
        if group not in selectors.PERIODS:
            days = (end - start).days + 1
            group = "day" if days <= 31 else "week" if days <= 92 else "month"
        return cls(start, end, group)

    @classmethod
    def year_to(cls, end: date) -> Period:
        return cls.build(end - timedelta(days=MAX_DAYS - 1), end, "month")


def build(
    *,
    organization: Organization,
    period: Period,
    work_centre: WorkCentre | None = None,
    with_charts: bool = True,
) -> dict[str, Any]:
    f: dict[str, Any] = {
        "organization": organization,
        "start": period.start,
        "end": period.end,
        "work_centre": work_centre,
    }
    overall = selectors.totals(**f)
    by_period = selectors.totals_by(period=period.group, **f)
    ctx: dict[str, Any] = {
        "organization": organization,
        "period": period,
        "work_centre": work_centre,
        "overall": overall,
        "by_period": by_period,
        "by_work_centre": selectors.totals_by(dimension="work_centre", **f),
        "by_product": selectors.totals_by(dimension="product", **f),
        "by_shift": selectors.totals_by(dimension="shift", **f),
        "downtime_pareto": selectors.downtime_pareto(**f),
        "scrap_pareto": selectors.scrap_pareto(total_scrap=overall.scrap, **f),
        "targets": selectors.targets_vs_actuals(**f),
    }
    if with_charts:
        ctx["oee_svg"] = charts.oee_chart(by_period, period.group)
        ctx["quantities_svg"] = charts.quantities_chart(by_period, period.group)
        ctx["downtime_svg"] = charts.pareto_chart(
            ctx["downtime_pareto"], _("Downtime by reason (minutes)"), _("minutes")
        )
        ctx["scrap_svg"] = charts.pareto_chart(
            ctx["scrap_pareto"], _("Scrap by reason (units)"), _("units")
        )
    return ctx


# --- Agenda attachment ----------------------------------------------------------------------


def attachment_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    """Check the parameters an agenda item stores: a period and optionally one work centre."""
    try:
        start = date.fromisoformat(str(params.get("start", "")))
        end = date.fromisoformat(str(params.get("end", "")))
    except ValueError:
        raise ValidationError(_("Give the report's period as two dates (YYYY-MM-DD).")) from None
    period = Period.build(start, end, str(params.get("group", "")))
    out: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "group": period.group,
    }
    code = str(params.get("work_centre") or "")
    if code:
        if not WorkCentre.objects.filter(organization=organization, code=code).exists():
            raise ValidationError(_("Unknown work centre “%(code)s”.") % {"code": code})
        out["work_centre"] = code
    return out


def attachment_render(organization: Organization, params: dict[str, Any]) -> str:
    clean = attachment_clean(organization, params)
    period = Period.build(
        date.fromisoformat(clean["start"]), date.fromisoformat(clean["end"]), clean["group"]
    )
    wc = None
    if clean.get("work_centre"):
        wc = WorkCentre.objects.get(organization=organization, code=clean["work_centre"])
    ctx = build(organization=organization, period=period, work_centre=wc)
    return render_to_string("production/_report.html", ctx)


ATTACHMENT = AttachmentKind(
    key="production_report",
    label=gettext_lazy("Production report"),
    render=attachment_render,
    clean=attachment_clean,
)
