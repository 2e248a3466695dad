from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Callable
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from governance import forms, selectors, services
from governance.models import Decision, Mandate, Membership, Organization, RuleSet
from governance.permissions import may, require

User = get_user_model()


def remember_organization(request: HttpRequest, org: object) -> None:
    """Remember the organisation so its time zone and the switcher follow the person."""
    request.session["org_slug"] = org.slug  # type: ignore[attr-defined]
    request.session["org_tz"] = org.time_zone  # type: ignore[attr-defined]


def _organization(request: HttpRequest, slug: str) -> Organization:
    """The organisation in the URL (404 unless the person belongs to it), in its time zone."""
    org = selectors.organization_get_for_member(user=request.user, slug=slug)
    remember_organization(request, org)
    with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.activate(zoneinfo.ZoneInfo(org.time_zone))
    return org


def _submit(form: Form, write: Callable[[], Any]) -> Any:
    """Run a service; its ValidationError becomes form errors instead of a 500."""
    try:
        return write()
    except ValidationError as e:
        if hasattr(e, "error_dict"):
            for field, errors in e.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, e)
        return None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    orgs = list(selectors.organizations_of(request.user))
    slug = request.session.get("org_slug")
    chosen = next((o for o in orgs if o.slug == slug), orgs[0] if orgs else None)
    if chosen is not None:
        return redirect("organization-detail", chosen.slug)
    return render(
        request, "governance/home.html", {"federations": selectors.federations_of(request.user)}
    )


@login_required
def organization_found(request: HttpRequest) -> HttpResponse:
    form = forms.FoundingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        org = _submit(
            form,
            lambda: services.organization_found(
                name=data["name"],
                founders=[request.user],
                kind=data["kind"],
                time_zone=data["time_zone"],
                decision_text=data["decision_text"],
                mandates=[
                    services.FoundingMandate(person=request.user, role=Mandate.Role.FACILITATOR),
                    services.FoundingMandate(
                        person=request.user, role=Mandate.Role.MEMBERSHIP_SECRETARY
                    ),
                ],
            ),
        )
        if org is not None:
            messages.success(
                request,
                _("%(name)s is founded. Add the other founding members now.") % {"name": org.name},
            )
            return redirect("member-add", org.slug)
    return render(request, "governance/organization_found.html", {"form": form})


@login_required
def organization_switch(request: HttpRequest) -> HttpResponse:
    org = selectors.organization_get_for_member(user=request.user, slug=request.GET.get("org", ""))
    remember_organization(request, org)
    return redirect("organization-detail", org.slug)


@login_required
def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organization(request, slug)
    membership = selectors.membership_get(user=request.user, organization=org)
    query = request.GET.get("q", "")[:200]
    status = request.GET.get("status", "")
    if status not in Decision.Status.values:
        status = ""
    user = request.user
    context = {
        "current_org": org,
        "membership": membership,
        "members": selectors.members_list(organization=org),
        "workgroups": selectors.workgroups_list(organization=org),
        "mandates": selectors.mandates_current(organization=org),
        "my_mandates": selectors.mandates_of(membership=membership),
        "decisions": selectors.decisions_search(organization=org, query=query, status=status)[:50],
        "query": query,
        "status": status,
        "statuses": Decision.Status.choices,
        "federations": selectors.federations_of(user),
        "can_record": may(user, "decision.record", org),
        "can_grant": may(user, "mandate.grant", org),
        "can_revoke": may(user, "mandate.revoke", org),
        "can_members": may(user, "membership.manage", org),
        "can_workgroups": may(user, "workgroup.manage", org),
    }
    if request.htmx and request.htmx.target == "decisions":  # type: ignore[attr-defined]
        return render(request, "governance/organization_detail.html#decisions", context)
    return render(request, "governance/organization_detail.html", context)


@login_required
def federation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    fed = selectors.federation_get_for_member(user=request.user, slug=slug)
    context = {
        "federation": fed,
        "organizations": selectors.federation_organizations(federation=fed),
        "mandates": selectors.mandates_current(federation=fed),
        "decisions": selectors.decisions_search(federation=fed)[:50],
        "is_reviewer": may(request.user, "federation.review", fed),
    }
    return render(request, "governance/federation_detail.html", context)


# --- Decisions ------------------------------------------------------------------------------


@login_required
def decision_create(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organization(request, slug)
    require(request.user, "decision.record", org)
    form = forms.DecisionForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        decision = _submit(
            form,
            lambda: services.decision_record(
                actor=request.user,
                organization=org,
                title=data["title"],
                text=data["text"],
                body=data["body"],
                decided_at=forms.moment_on(data["decided_on"]),
                review_on=data["review_on"],
                supersedes=data["supersedes"],
                links=data["links"],
            ),
        )
        if decision is not None:
            messages.success(request, _("Decision #%(n)s recorded.") % {"n": decision.number})
            return redirect("decision-detail", org.slug, decision.uuid)
    return render(request, "governance/decision_form.html", {"current_org": org, "form": form})


@login_required
def decision_detail(request: HttpRequest, slug: str, uuid: str) -> HttpResponse:
    org = _organization(request, slug)
    decision = selectors.decision_get_in(organization=org, uuid=uuid)
    context = {
        "current_org": org,
        "decision": decision,
        "granted": decision.mandates.select_related("membership__person", "workgroup"),
        "revoked": decision.revocations.select_related("membership__person", "workgroup"),
        "rules": RuleSet.objects.filter(adopted_by=decision).first(),
        "can_grant": may(request.user, "mandate.grant", org),
    }
    return render(request, "governance/decision_detail.html", context)


# --- Mandates -------------------------------------------------------------------------------


@login_required
def mandate_grant(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organization(request, slug)
    require(request.user, "mandate.grant", org)
    initial = {"decision": request.GET.get("decision", "")}
    form = forms.MandateGrantForm(request.POST or None, organization=org, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        mandate = _submit(
            form,
            lambda: services.mandate_grant(
                actor=request.user,
                membership=data["membership"],
                role=data["role"],
                ends_at=forms.moment_on(data["ends_on"], end_of_day=True),
                decision=data["decision"],
                workgroup=data["workgroup"],
            ),
        )
        if mandate is not None:
            messages.success(
                request,
                _("%(role)s mandate granted to %(name)s.")
                % {"role": mandate.get_role_display(), "name": mandate.membership.display_name},
            )
            return redirect("organization-detail", org.slug)
    return render(request, "governance/mandate_grant.html", {"current_org": org, "form": form})


@login_required
def mandate_revoke(request: HttpRequest, slug: str, uuid: str) -> HttpResponse:
    org = _organization(request, slug)
    mandate = selectors.mandate_get_in(organization=org, uuid=uuid)
    require(request.user, "mandate.revoke", org)
    form = forms.MandateRevokeForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = _submit(
            form,
            lambda: services.mandate_revoke(
                actor=request.user,
                mandate=mandate,
                reason=data["reason"],
                decision=data["decision"],
            ),
        )
        if done is not None:
            messages.success(request, _("Mandate revoked."))
            return redirect("organization-detail", org.slug)
    return render(
        request,
        "governance/mandate_revoke.html",
        {"current_org": org, "form": form, "mandate": mandate},
    )


# --- Members and workgroups -----------------------------------------------------------------


@login_required
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organization(request, slug)
    require(request.user, "membership.manage", org)
    form = forms.MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = User.objects.filter(username=data["username"]).first()

        def write() -> Membership:
            if person is not None:
                return services.membership_add(actor=request.user, organization=org, person=person)
            return services.membership_add_new_person(
                actor=request.user,
                organization=org,
                username=data["username"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
            )

        membership = _submit(form, write)
        if membership is not None:
            messages.success(
                request, _("%(name)s joined the organisation.") % {"name": membership.display_name}
            )
            return redirect("organization-detail", org.slug)
    return render(request, "governance/member_form.html", {"current_org": org, "form": form})


@login_required
def workgroup_create(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organization(request, slug)
    require(request.user, "workgroup.manage", org)
    form = forms.WorkgroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wg = _submit(
            form,
            lambda: services.workgroup_create(
                actor=request.user,
                organization=org,
                name=data["name"],
                description=data["description"],
            ),
        )
        if wg is not None:
            messages.success(request, _("Workgroup %(name)s created.") % {"name": wg.name})
            return redirect("workgroup-detail", org.slug, wg.uuid)
    return render(request, "governance/workgroup_form.html", {"current_org": org, "form": form})


@login_required
def workgroup_detail(request: HttpRequest, slug: str, uuid: str) -> HttpResponse:
    org = _organization(request, slug)
    wg = selectors.workgroup_get_in(organization=org, uuid=uuid)
    can_manage = may(request.user, "workgroup.manage", wg)
    form = forms.WorkgroupMemberForm(request.POST or None, organization=org)
    if request.method == "POST":
        require(request.user, "workgroup.manage", wg)
        if form.is_valid():
            membership = form.cleaned_data["membership"]
            done = _submit(
                form,
                lambda: (
                    services.workgroup_member_add(
                        actor=request.user, workgroup=wg, membership=membership
                    )
                    or True
                ),
            )
            if done:
                messages.success(
                    request,
                    _("%(name)s joined %(group)s.")
                    % {"name": membership.display_name, "group": wg.name},
                )
                return redirect("workgroup-detail", org.slug, wg.uuid)
    context = {
        "current_org": org,
        "workgroup": wg,
        "members": wg.members.select_related("person").order_by(
            "person__first_name", "person__last_name"
        ),
        "mandates": selectors.mandates_current(organization=org).filter(workgroup=wg),
        "form": form if can_manage else None,
    }
    return render(request, "governance/workgroup_detail.html", context)


@login_required
def my_attributes(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organization(request, slug)
    membership = selectors.membership_get(user=request.user, organization=org)
    form = forms.AttributesForm(request.POST or None, initial=membership.attributes)
    if request.method == "POST" and form.is_valid():
        done = _submit(
            form,
            lambda: services.membership_set_attributes(
                actor=request.user, membership=membership, attributes=form.cleaned_data
            ),
        )
        if done is not None:
            messages.success(request, _("Saved. Only totals are ever shown, never your answer."))
            return redirect("organization-detail", org.slug)
    return render(
        request,
        "governance/attributes_form.html",
        {"current_org": org, "form": form, "membership": membership},
    )


@login_required
def rules_detail(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organization(request, slug)
    at_text = request.GET.get("on", "")
    on: date | None = None
    try:
        on = date.fromisoformat(at_text) if at_text else None
    except ValueError:
        messages.error(request, _("That is not a date: use the date picker."))
    at = forms.moment_on(on, end_of_day=True) if on else None
    try:
        in_force: RuleSet | None = services.rules_in_force(organization=org, at=at)
    except RuleSet.DoesNotExist:
        in_force = None
    context = {
        "current_org": org,
        "rules": in_force,
        "on": on,
        "history": selectors.rules_history(organization=org),
    }
    return render(request, "governance/rules_detail.html", context)
