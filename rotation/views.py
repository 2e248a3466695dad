"""Thin function views: phone first, forms work without JavaScript."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from governance import selectors as gov_selectors
from governance.models import Organization
from governance.permissions import may
from governance.views import remember_organization
from rotation import ical, selectors, services
from rotation.forms import (
    AttendanceForm,
    AttestForm,
    MemberChoiceForm,
    PostForm,
    PublishByDecisionForm,
    QualificationForm,
    RosterForm,
    SwapForm,
    UnavailabilityForm,
)
from rotation.models import Assignment, Roster
from rotation.texts import explanation_text, unfilled_text


def _enter(request: HttpRequest, org: Organization) -> None:
    """Show this organisation's times in its own zone from here on."""
    remember_organization(request, org)
    try:
        timezone.activate(zoneinfo.ZoneInfo(org.time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _org(request: HttpRequest, slug: str) -> Organization:
    org = gov_selectors.organization_get_for_member(user=request.user, slug=slug)
    _enter(request, org)
    return org


@login_required
def home(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    membership = gov_selectors.membership_get(user=request.user, organization=org)
    token = services.calendar_token_for(membership=membership)
    upcoming = list(selectors.my_upcoming(membership=membership))
    for a in upcoming:
        a.why = explanation_text(a.explanation)  # type: ignore[attr-defined]
    context = {
        "current_org": org,
        "membership": membership,
        "upcoming": upcoming,
        "recent": selectors.my_recent(membership=membership),
        "offered": selectors.offered_slots(organization=org).exclude(membership=membership),
        "swaps": selectors.swaps_for(membership=membership),
        "rosters": selectors.rosters_list(organization=org)[:12],
        "can_coordinate": may(request.user, "rotation.coordinate", org),
        "calendar_url": request.build_absolute_uri(
            reverse("rotation:calendar-member", args=[token.token])
        ),
    }
    return render(request, "rotation/home.html", context)


@login_required
def posts(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    form = PostForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        data = services.PostData(
            **{k: v for k, v in d.items() if k not in ("qualifications",)},
            qualifications=tuple(d["qualifications"]),
        )
        try:
            post = services.post_create(actor=request.user, organization=org, data=data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": post.name})
            return redirect("rotation:posts", org.slug)
    return render(
        request,
        "rotation/posts.html",
        {
            "current_org": org,
            "posts": selectors.posts_list(organization=org),
            "form": form,
            "can_coordinate": may(request.user, "rotation.coordinate", org),
        },
    )


@login_required
def roster_new(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    form = RosterForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            roster = services.roster_generate(
                actor=request.user,
                organization=org,
                name=d["name"],
                period_start=d["period_start"],
                period_end=d["period_end"],
                posts=list(d["posts"]) or None,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("rotation:roster", roster.uuid)
    return render(request, "rotation/roster_form.html", {"current_org": org, "form": form})


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None  # a mistyped week in the address shows the default week


@login_required
def roster_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    roster = selectors.roster_get_for_member(user=request.user, uuid=uuid)
    _enter(request, roster.organization)
    view = selectors.roster_week_view(roster=roster, day=_day(request.GET.get("week")))
    rows = view.rows
    for row in rows:
        row.why = explanation_text(row.holder.explanation) if row.holder else ""  # type: ignore[attr-defined]
        row.unfilled = unfilled_text(row.slot.unfilled_reasons) if not row.holder else ""  # type: ignore[attr-defined]
    unfilled = list(selectors.unfilled_slots(roster=roster)[:200])
    for s in unfilled:
        s.why = unfilled_text(s.unfilled_reasons)  # type: ignore[attr-defined]
    membership = gov_selectors.membership_get(user=request.user, organization=roster.organization)
    token = services.calendar_token_for(membership=membership)
    proposal = roster.status == Roster.Status.PROPOSAL
    return render(
        request,
        "rotation/roster_detail.html",
        {
            "current_org": roster.organization,
            "roster": roster,
            "rows": rows,
            "week": view.week,
            "prev_week": view.previous,
            "next_week": view.next,
            "unfilled": unfilled,
            "can_publish": proposal and may(request.user, "rotation.publish", roster),
            # Any member may record the assembly's decision to publish (the service checks
            # that the decision is in force and about this roster).
            "decision_form": PublishByDecisionForm(roster=roster) if proposal else None,
            "roster_path": reverse("rotation:roster", args=[roster.uuid]),
            "can_coordinate": may(request.user, "rotation.coordinate", roster),
            "calendar_url": request.build_absolute_uri(
                reverse("rotation:calendar-roster", args=[token.token, roster.uuid])
            ),
        },
    )


@login_required
@require_POST
def roster_publish(request: HttpRequest, uuid: Any) -> HttpResponse:
    """By the coordinator's mandate, or, when the form names one, by the assembly's
    decision from the register."""
    roster = selectors.roster_get_for_member(user=request.user, uuid=uuid)
    _enter(request, roster.organization)
    decision = None
    if "decision" in request.POST:
        form = PublishByDecisionForm(request.POST, roster=roster)
        if not form.is_valid():
            for errs in form.errors.values():
                for e in errs:
                    messages.error(request, str(e))
            return redirect("rotation:roster", roster.uuid)
        decision = form.cleaned_data["decision"]
    try:
        services.roster_publish(actor=request.user, roster=roster, decision=decision)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        if decision is not None:
            messages.success(
                request,
                _("The roster is published by decision #%(number)s; posts are now mandates.")
                % {"number": decision.number},
            )
        else:
            messages.success(request, _("The roster is published; posts are now mandates."))
    return redirect("rotation:roster", roster.uuid)


@login_required
@require_POST
def roster_withdraw(request: HttpRequest, uuid: Any) -> HttpResponse:
    roster = selectors.roster_get_for_member(user=request.user, uuid=uuid)
    try:
        services.roster_withdraw(
            actor=request.user, roster=roster, reason=request.POST.get("reason", "")[:500]
        )
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("rotation:roster", roster.uuid)


@login_required
def assignment_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
    org = a.slot.roster.organization
    _enter(request, org)
    membership = gov_selectors.membership_get(user=request.user, organization=org)
    mine = a.membership_id == membership.pk
    history = list(selectors.slot_history(slot=a.slot))
    for h in history:
        h.why = explanation_text(h.explanation)  # type: ignore[attr-defined]
    can_coordinate = may(request.user, "rotation.coordinate", a)
    return render(
        request,
        "rotation/assignment_detail.html",
        {
            "current_org": org,
            "a": a,
            "why": explanation_text(a.explanation),
            "mine": mine,
            "history": history,
            "swap_form": SwapForm(choices=selectors.swappable(membership=membership))
            if not mine and a.is_current
            else None,
            "reassign_form": MemberChoiceForm(organization=org) if can_coordinate else None,
            "attendance_form": AttendanceForm(initial={"attendance": a.attendance}),
            "can_coordinate": can_coordinate,
            "started": a.slot.starts_at <= timezone.now(),
        },
    )


@login_required
def slot_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    """One slot: who holds it, or why nobody could, and a coordinator's form to fill it."""
    slot = selectors.slot_get_for_member(user=request.user, uuid=uuid)
    org = slot.roster.organization
    _enter(request, org)
    if request.method == "POST" and not may(request.user, "rotation.coordinate", slot):
        raise PermissionDenied(_("Only the rotating coordinators fill a slot."))
    form = MemberChoiceForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        try:
            a = services.slot_fill(
                actor=request.user,
                slot=slot,
                membership=form.cleaned_data["membership"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _errors(request, exc)
            return redirect("rotation:slot", slot.uuid)
        messages.success(request, _("The slot is filled."))
        return redirect("rotation:assignment", a.uuid)
    current = selectors.slot_current(slot=slot)
    holder = current.get(Assignment.Role.HOLDER)
    can_fill = (
        holder is None
        and slot.roster.status != Roster.Status.WITHDRAWN
        and slot.ends_at > timezone.now()
        and may(request.user, "rotation.coordinate", slot)
    )
    return render(
        request,
        "rotation/slot_detail.html",
        {
            "current_org": org,
            "slot": slot,
            "holder": holder,
            "trainee": current.get(Assignment.Role.TRAINEE),
            "why": unfilled_text(slot.unfilled_reasons) if holder is None else "",
            "form": form if can_fill else None,
        },
    )


def _assignment_action(request: HttpRequest, uuid: Any, action: str) -> HttpResponse:
    a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
    _enter(request, a.slot.roster.organization)
    target: Assignment = a
    try:
        if action == "offer":
            services.slot_offer(
                actor=request.user, assignment=a, note=request.POST.get("note", "")[:300]
            )
            messages.success(
                request, _("Your slot is offered; it stays yours until someone takes it.")
            )
        elif action == "withdraw":
            services.slot_offer_withdraw(actor=request.user, assignment=a)
            messages.success(request, _("Your offer is withdrawn."))
        elif action == "take":
            target = services.slot_take(actor=request.user, assignment=a)
            messages.success(request, _("The slot is yours now."))
        elif action == "attendance":
            form = AttendanceForm(request.POST)
            if form.is_valid():
                services.attendance_record(
                    actor=request.user, assignment=a, attendance=form.cleaned_data["attendance"]
                )
                messages.success(request, _("Attendance recorded."))
        elif action == "reassign":
            org = a.slot.roster.organization
            reassign = MemberChoiceForm(request.POST, organization=org)
            if not reassign.is_valid():
                for errs in reassign.errors.values():
                    for e in errs:
                        messages.error(request, str(e))
            else:
                target = services.assignment_reassign(
                    actor=request.user,
                    assignment=a,
                    membership=reassign.cleaned_data["membership"],
                    reason=reassign.cleaned_data["reason"],
                )
                messages.success(request, _("The slot was reassigned."))
        elif action == "swap":
            membership = gov_selectors.membership_get(
                user=request.user, organization=a.slot.roster.organization
            )
            swap_form = SwapForm(request.POST, choices=selectors.swappable(membership=membership))
            if swap_form.is_valid():
                services.swap_propose(
                    actor=request.user,
                    mine=swap_form.cleaned_data["mine"],
                    theirs=a,
                    note=swap_form.cleaned_data["note"],
                )
                messages.success(
                    request, _("Swap proposed. It happens when the other person accepts.")
                )
            else:
                messages.error(request, _("Choose one of your slots to offer in exchange."))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("rotation:assignment", target.uuid)


@login_required
@require_POST
def assignment_offer(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _assignment_action(request, uuid, "offer")


@login_required
@require_POST
def assignment_withdraw(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _assignment_action(request, uuid, "withdraw")


@login_required
@require_POST
def assignment_take(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _assignment_action(request, uuid, "take")


@login_required
@require_POST
def assignment_attendance(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _assignment_action(request, uuid, "attendance")


@login_required
@require_POST
def assignment_reassign(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _assignment_action(request, uuid, "reassign")


@login_required
@require_POST
def assignment_swap(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _assignment_action(request, uuid, "swap")


@login_required
@require_POST
def swap_answer(request: HttpRequest, uuid: Any) -> HttpResponse:
    swap = selectors.swap_get_for_member(user=request.user, uuid=uuid)
    org = swap.offered.slot.roster.organization
    try:
        if request.POST.get("answer") == "cancel":
            services.swap_cancel(actor=request.user, swap=swap)
        else:
            services.swap_answer(
                actor=request.user, swap=swap, accept=request.POST.get("answer") == "accept"
            )
            messages.success(request, _("Swap answered."))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("rotation:home", org.slug)


@login_required
def fairness(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    today = timezone.localdate()

    def parse(name: str, default: date) -> date:
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return default

    start = parse("from", today - timedelta(days=365))
    end = parse("to", today + timedelta(days=90))
    if end < start:
        start, end = end, start
    report = selectors.fairness_report(organization=org, start=start, end=end)
    rows = [(r, report.share(r)) for r in report.rows]
    return render(
        request,
        "rotation/fairness.html",
        {
            "current_org": org,
            "report": report,
            "rows": rows,
        },
    )


@login_required
def qualifications(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    create = QualificationForm(request.POST if request.POST.get("form") == "create" else None)
    attest = AttestForm(
        request.POST if request.POST.get("form") == "attest" else None, organization=org
    )
    if request.method == "POST":
        try:
            if create.is_bound and create.is_valid():
                services.qualification_create(
                    actor=request.user, organization=org, **create.cleaned_data
                )
                messages.success(request, _("Qualification added."))
                return redirect("rotation:qualifications", org.slug)
            if attest.is_bound and attest.is_valid():
                grant = services.qualification_attest(
                    actor=request.user,
                    qualification=attest.cleaned_data["qualification"],
                    candidate=attest.cleaned_data["candidate"],
                    note=attest.cleaned_data["note"],
                )
                messages.success(
                    request,
                    _("Qualified now.")
                    if grant
                    else _("Attestation recorded; more qualified members need to attest."),
                )
                return redirect("rotation:qualifications", org.slug)
        except ValidationError as exc:
            (create if create.is_bound else attest).add_error(None, exc)
    return render(
        request,
        "rotation/qualifications.html",
        {
            "current_org": org,
            "qualifications": selectors.qualifications_list(organization=org),
            "create": create,
            "attest": attest,
            "now": timezone.now(),
            "can_coordinate": may(request.user, "rotation.coordinate", org),
        },
    )


@login_required
def availability(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    membership = gov_selectors.membership_get(user=request.user, organization=org)
    form = UnavailabilityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        tz = timezone.get_current_timezone()
        d = form.cleaned_data
        try:
            services.unavailability_add(
                actor=request.user,
                membership=membership,
                starts_at=datetime.combine(d["first_day"], datetime.min.time(), tzinfo=tz),
                ends_at=datetime.combine(
                    d["last_day"] + timedelta(days=1), datetime.min.time(), tzinfo=tz
                ),
                reason=d["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved. The next rosters will leave you out then."))
            return redirect("rotation:availability", org.slug)
    return render(
        request,
        "rotation/availability.html",
        {
            "current_org": org,
            "membership": membership,
            "form": form,
            "periods": selectors.unavailability_of(membership=membership),
            "qualifications": selectors.qualifications_of(membership=membership),
        },
    )


@login_required
@require_POST
def availability_remove(request: HttpRequest, uuid: Any) -> HttpResponse:
    u = selectors.unavailability_get_for_member(user=request.user, uuid=uuid)
    services.unavailability_remove(actor=request.user, unavailability=u)
    return redirect("rotation:availability", u.membership.organization.slug)


@login_required
@require_POST
def calendar_reset(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    membership = gov_selectors.membership_get(user=request.user, organization=org)
    services.calendar_token_reset(actor=request.user, membership=membership)
    messages.success(request, _("New calendar link made; the old one no longer works."))
    return redirect("rotation:home", org.slug)


def calendar_member(request: HttpRequest, token: str) -> HttpResponse:
    """Private feed: the token in the URL is the key (calendar apps cannot log in)."""
    membership = selectors.membership_by_token(token=token)
    body = ical.member_calendar(membership=membership)
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")


def calendar_roster(request: HttpRequest, token: str, uuid: Any) -> HttpResponse:
    membership = selectors.membership_by_token(token=token)
    roster = selectors.roster_get_for_member(user=membership.person, uuid=uuid)
    if roster.organization_id != membership.organization_id:
        raise Http404(_("No such roster."))
    body = ical.roster_calendar(roster=roster)
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")
