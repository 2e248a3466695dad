"""Thin views: pages for the shop floor (phone first, htmx where it helps, no JS needed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from governance import selectors as gov_selectors
from governance.models import Membership, Organization
from governance.permissions import may, require
from governance.views import remember_organization
from production import csv_io, report, selectors, services
from production.forms import (
    AmendForm,
    DowntimeFormSet,
    EntryForm,
    ImportForm,
    PeriodForm,
    ProductForm,
    ScrapFormSet,
    ShiftForm,
    TargetForm,
    WorkCentreForm,
    entry_data,
)
from production.models import LogEntry, Shift, WorkCentre


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _org(request: HttpRequest, slug: str) -> Organization:
    org = gov_selectors.organization_get_for_member(user=request.user, slug=slug)
    remember_organization(request, org)
    return org


def _entry(request: HttpRequest, slug: str, uuid: Any) -> tuple[Organization, LogEntry]:
    org = _org(request, slug)
    entry = selectors.entry_get_for_member(user=request.user, uuid=uuid)
    if entry.organization_id != org.pk:
        raise Http404(_("No such production entry."))
    return org, entry


def _period(request: HttpRequest, org: Organization) -> tuple[PeriodForm, report.Period, Any]:
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("start", (today - timedelta(days=29)).isoformat())
    data.setdefault("end", today.isoformat())
    form = PeriodForm(data, organization=org)
    if form.is_valid():
        d = form.cleaned_data
        try:
            return (
                form,
                report.Period.build(d["start"], d["end"], d["group"] or ""),
                d["work_centre"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
    return form, report.Period.build(today - timedelta(days=29), today), None


@login_required
def dashboard(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    require(request.user, "production.view", org)
    form, period, wc = _period(request, org)
    ctx = report.build(organization=org, period=period, work_centre=wc)
    ctx.update(
        current_org=org,
        form=form,
        recent=selectors.entries_recent(organization=org),
        may_configure=may(request.user, "production.configure", org),
        query=request.GET.urlencode(),
    )
    if request.htmx and request.htmx.target == "report":
        return render(request, "production/dashboard.html#report", ctx)
    return render(request, "production/dashboard.html", ctx)


def _formsets(request: HttpRequest, initial_dt: Any = None, initial_scrap: Any = None) -> Any:
    if request.method == "POST":
        data = request.POST.copy()
        for prefix, button in (("downtime", "add_downtime"), ("scrap", "add_scrap")):
            if button in data:
                key = f"{prefix}-TOTAL_FORMS"
                data[key] = str(min(int(data.get(key) or 0) + 1, 30))
        return DowntimeFormSet(data, prefix="downtime"), ScrapFormSet(data, prefix="scrap"), data
    return (
        DowntimeFormSet(prefix="downtime", initial=initial_dt),
        ScrapFormSet(prefix="scrap", initial=initial_scrap),
        None,
    )


def _render_form(request: HtmxHttpRequest, template_ctx: dict[str, Any]) -> HttpResponse:
    if request.htmx:
        return render(request, "production/entry_form.html#entry-form", template_ctx)
    return render(request, "production/entry_form.html", template_ctx)


def _saved(
    request: HtmxHttpRequest, org: Organization, result: services.SubmitResult
) -> HttpResponse:
    if result.created:
        messages.success(request, _("Entry recorded. Ask your crew to co-sign it."))
    else:
        messages.info(
            request, _("This entry was already recorded (sent twice); it is stored once.")
        )
    url = reverse("production:entry-detail", args=[org.slug, result.entry.uuid])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# Buttons that change who is listed on the crew without saving (they work without
# JavaScript; with htmx they swap the form in place).
CREW_ACTIONS = ("refresh_crew", "add_crew_members", "find_workers")


def _as_initial(data: QueryDict, form_class: type[EntryForm]) -> dict[str, Any]:
    return {
        name: data.getlist(name) if name == "workers" else data.get(name)
        for name in form_class.base_fields
        if name in data
    }


def _crew_action(action: str, org: Organization, me: Membership, data: QueryDict) -> QueryDict:
    """Apply a crew button to the posted form: the likely crew of the chosen work centre
    and shift, or the members of the chosen workgroup added to the list."""
    listed = data.getlist("workers")
    if action == "refresh_crew":
        # Changing the line or shift refreshes the crew only while nobody has edited it.
        if data.get("refresh_crew") == "auto" and set(listed) != set(data.getlist("crew_auto")):
            return data
        wc = WorkCentre.objects.filter(organization=org, pk=_int(data.get("work_centre"))).first()
        shift = Shift.objects.filter(organization=org, pk=_int(data.get("shift"))).first()
        people, group = selectors.crew_default(
            organization=org, member=me, work_centre=wc, shift=shift
        )
        pks = [str(m.pk) for m in people]
        data.setlist("workers", pks)
        data.setlist("crew_shown", pks)
        data.setlist("crew_auto", pks)
        data["crew"] = str(group.pk) if group is not None else ""
    elif action == "add_crew_members":
        group = selectors.workgroups(organization=org).filter(pk=_int(data.get("crew"))).first()
        if group is not None:
            added = [str(m.pk) for m in selectors.workgroup_members(workgroup=group)]
            data.setlist("workers", list(dict.fromkeys([*listed, *added])))
            data.setlist("crew_shown", list(dict.fromkeys([*data.getlist("crew_shown"), *added])))
    return data


def _int(value: Any) -> int:
    return int(value) if str(value or "").isdigit() else 0


def _crew_context(org: Organization, data: QueryDict | dict[str, Any]) -> dict[str, Any]:
    """What the crew fieldset shows: the people listed (ticked when present), and for the
    search button without JavaScript, the people found."""

    def getlist(name: str) -> list[Any]:
        if isinstance(data, QueryDict):
            return data.getlist(name)
        return list(data.get(name) or [])

    ticked = getlist("workers")
    shown = selectors.members_by_pk(
        organization=org, pks=dict.fromkeys([*getlist("crew_shown"), *ticked])
    )
    query = str(data.get("worker_q") or "")[:100] if "find_workers" in data else ""
    return {
        "crew_members": shown,
        "crew_ticked": {str(pk) for pk in ticked},
        "crew_auto": getlist("crew_auto"),
        "worker_q": query,
        "worker_results": selectors.workers_search(organization=org, query=query),
    }


def _entry_page(
    request: HtmxHttpRequest,
    org: Organization,
    *,
    form_class: type[EntryForm],
    initial: dict[str, Any],
    initial_dt: Any,
    initial_scrap: Any,
    save: Any,
    amend: LogEntry | None,
) -> HttpResponse:
    downtime, scrap, data = _formsets(request, initial_dt, initial_scrap)
    crew_source: QueryDict | dict[str, Any]
    if data is None:
        form = form_class(organization=org, initial=initial)
        crew_source = {
            "workers": initial.get("workers", []),
            "crew_auto": initial.get("workers", []) if amend is None else [],
        }
    else:
        action = next((a for a in CREW_ACTIONS if a in data), None)
        if action is not None:
            me = gov_selectors.membership_get(user=request.user, organization=org)
            data = _crew_action(action, org, me, data)
            # Not validated yet: the crew buttons are no attempt to save.
            form = form_class(organization=org, initial=_as_initial(data, form_class))
        else:
            form = form_class(data, organization=org)
            adding = "add_downtime" in data or "add_scrap" in data
            if not adding and form.is_valid() and downtime.is_valid() and scrap.is_valid():
                try:
                    result = save(form, entry_data(form, downtime, scrap, org.time_zone))
                except ValidationError as exc:
                    _attach(form, exc)
                else:
                    return _saved(request, org, result)
        crew_source = data
    ctx = {
        "current_org": org,
        "form": form,
        "downtime": downtime,
        "scrap": scrap,
        "action": request.path,
        "amend": amend,
        **_crew_context(org, crew_source),
    }
    return _render_form(request, ctx)


def _new_initial(org: Organization, me: Membership) -> dict[str, Any]:
    """Start from what this person recorded last: same line, shift and product, and the
    crew they were on (most shifts repeat the day before)."""
    initial: dict[str, Any] = {}
    last = selectors.entry_last_worked(organization=org, member=me)
    if last is not None:
        for name in ("work_centre", "shift", "product"):
            if getattr(last, name).active:
                initial[name] = getattr(last, f"{name}_id")
    people, group = selectors.crew_default(
        organization=org,
        member=me,
        work_centre=last.work_centre if last is not None else None,
        shift=last.shift if last is not None else None,
    )
    initial["workers"] = [str(m.pk) for m in people]
    initial["crew"] = group.pk if group is not None else None
    return initial


@login_required
def entry_new(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    require(request.user, "production.record", org)
    initial: dict[str, Any] = {}
    if request.method != "POST":
        me = gov_selectors.membership_get(user=request.user, organization=org)
        initial = _new_initial(org, me)

    def save(form: EntryForm, data: services.EntryData) -> services.SubmitResult:
        return services.entry_submit(
            actor=request.user,
            organization=org,
            data=data,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )

    return _entry_page(
        request,
        org,
        form_class=EntryForm,
        initial=initial,
        initial_dt=None,
        initial_scrap=None,
        save=save,
        amend=None,
    )


@login_required
def workers_search(request: HttpRequest, slug: str) -> HttpResponse:
    """People matching a name or member number, as ticks to add to the crew (htmx)."""
    org = _org(request, slug)
    require(request.user, "production.record", org)
    query = (request.GET.get("worker_q") or request.GET.get("q") or "")[:100]
    ctx = {
        "worker_results": selectors.workers_search(organization=org, query=query),
        "worker_q": query,
    }
    return render(request, "production/_worker_results.html", ctx)


def _attach(form: EntryForm, exc: ValidationError) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, msgs in errors.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)


@login_required
def entry_amend(request: HtmxHttpRequest, slug: str, uuid: Any) -> HttpResponse:
    org, entry = _entry(request, slug, uuid)
    require(request.user, "production.record", org)
    initial_dt = [
        {
            "category": d.category,
            "reason": d.reason,
            "minutes": d.minutes if not d.starts_at else None,
            "start": timezone.localtime(d.starts_at).time() if d.starts_at else None,
            "end": timezone.localtime(d.ends_at).time() if d.ends_at else None,
        }
        for d in entry.downtime_lines.all()
    ]
    initial_scrap = [
        {"category": s.category, "reason": s.reason, "quantity": s.quantity}
        for s in entry.scrap_lines.all()
    ]

    def save(form: EntryForm, data: services.EntryData) -> services.SubmitResult:
        return services.entry_amend(
            actor=request.user,
            entry=entry,
            data=data,
            reason=form.cleaned_data["reason"],
            idempotency_key=form.cleaned_data["idempotency_key"],
        )

    return _entry_page(
        request,
        org,
        form_class=AmendForm,
        initial=AmendForm.initial_from(entry),
        initial_dt=initial_dt,
        initial_scrap=initial_scrap,
        save=save,
        amend=entry,
    )


@login_required
def entry_detail(request: HttpRequest, slug: str, uuid: Any) -> HttpResponse:
    org, entry = _entry(request, slug, uuid)
    versions = list(selectors.entry_versions(entry=entry))
    me = gov_selectors.membership_get(user=request.user, organization=org)
    current = next((v for v in versions if v.current), versions[0])
    crew_ids = {w.membership_id for w in current.worker_rows.all()}
    ctx = {
        "current_org": org,
        "entry": entry,
        "versions": versions,
        "current": current,
        "can_sign": me.pk in crew_ids
        and me.pk not in {s.membership_id for s in current.signatures.all()},
        "can_ack": me.pk not in crew_ids
        and me.pk not in {a.membership_id for a in current.handover_acks.all()},
    }
    return render(request, "production/entry_detail.html", ctx)


@login_required
@require_POST
def entry_sign(request: HttpRequest, slug: str, uuid: Any) -> HttpResponse:
    org, entry = _entry(request, slug, uuid)
    try:
        services.entry_sign(actor=request.user, entry=entry)
        messages.success(request, _("You co-signed this entry."))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("production:entry-detail", org.slug, entry.uuid)


@login_required
@require_POST
def entry_acknowledge(request: HttpRequest, slug: str, uuid: Any) -> HttpResponse:
    org, entry = _entry(request, slug, uuid)
    try:
        services.handover_acknowledge(actor=request.user, entry=entry)
        messages.success(request, _("Handover acknowledged."))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("production:entry-detail", org.slug, entry.uuid)


@login_required
def entries_import(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    require(request.user, "production.record", org)
    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > csv_io.MAX_UPLOAD:
            form.add_error("file", _("The file is too large (at most 25 MB)."))
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", _("Save the file as CSV UTF-8 and try again."))
            else:
                result = csv_io.entries_import_csv(actor=request.user, organization=org, text=text)
                if result.ok:
                    messages.success(request, _("%(n)s entries imported.") % {"n": result.imported})
                    return redirect("production:dashboard", org.slug)
    ctx = {
        "current_org": org,
        "form": form,
        "result": result,
        "columns": csv_io.COLUMNS,
        "required": csv_io.REQUIRED,
    }
    return render(request, "production/import.html", ctx, status=400 if result else 200)


@login_required
def entries_export(
    request: HttpRequest, slug: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("Unknown format."))
    org = _org(request, slug)
    require(request.user, "production.view", org)
    _form, period, wc = _period(request, org)
    entries = selectors.entries_for_export(
        organization=org, start=period.start, end=period.end, work_centre=wc
    ).iterator(chunk_size=2000)
    name = f"production-{org.slug}-{period.start}-{period.end}"
    if fmt == "xlsx":
        response = HttpResponse(
            csv_io.export_xlsx(entries),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    stream = StreamingHttpResponse(
        csv_io.export_csv_stream(entries), content_type="text/csv; charset=utf-8"
    )
    stream["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return stream


@login_required
def setup(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    require(request.user, "production.view", org)
    kinds: dict[str, Any] = {
        "work_centre": (WorkCentreForm, services.work_centre_create),
        "product": (ProductForm, services.product_create),
        "shift": (ShiftForm, services.shift_create),
        "target": (TargetForm, services.target_adopt),
    }
    forms: dict[str, Any] = {}
    status = 200
    posted = request.POST.get("kind") if request.method == "POST" else None
    for kind, (form_class, service) in kinds.items():
        extra = {"organization": org} if kind == "target" else {}
        form = form_class(request.POST if posted == kind else None, prefix=kind, **extra)
        if posted == kind and form.is_valid():
            try:
                service(actor=request.user, organization=org, **form.cleaned_data)
            except ValidationError as exc:
                _attach(form, exc)
            except PermissionDenied as exc:
                messages.error(request, str(exc))
                status = 403
            else:
                messages.success(request, _("Saved."))
                return redirect("production:setup", org.slug)
        if posted == kind and status == 200:
            status = 400
        forms[kind] = form
    ctx = {
        "current_org": org,
        "forms": forms,
        **selectors.configuration(organization=org),
        "targets": org.production_targets.select_related("decision", "work_centre", "product"),
        "may_configure": may(request.user, "production.configure", org),
        "may_target": may(request.user, "production.target", org),
    }
    return render(request, "production/setup.html", ctx, status=status)
