"""Thin views: pages for phones, and one POST endpoint per action that calls a service.

An htmx request gets back the person's own panel (their place in the queue, their position,
a message); everything shared arrives through the live event. Without JavaScript, the same
forms post and redirect back to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assemblies import forms, fragments, selectors, services
from assemblies.models import AgendaItem, Assembly, SpeakingRequest
from governance import selectors as gov_selectors
from governance.models import Membership
from governance.qr import qr_data_uri


@dataclass
class Me:
    membership: Membership | None
    present: bool
    facilitator: bool
    place: selectors.QueueEntry | None
    position: Any
    voted: bool
    my_ballot: Any


def _me(request: HttpRequest, assembly: Assembly) -> Me:
    membership = selectors.membership_for(user=request.user, assembly=assembly)
    present = bool(membership) and selectors.is_present(assembly=assembly, membership=membership)  # type: ignore[arg-type]
    place = position = ballot = None
    voted = False
    if membership is not None:
        place = selectors.queue_place(assembly=assembly, membership=membership)
        rnd = selectors.open_round(assembly=assembly)
        if rnd is not None:
            position = selectors.my_position(round=rnd, membership=membership)
        vote = selectors.open_vote(assembly=assembly)
        if vote is not None:
            voted = selectors.has_voted(vote=vote, membership=membership)
            ballot = selectors.my_ballot(vote=vote, membership=membership)
    return Me(
        membership=membership,
        present=present,
        facilitator=services.is_facilitator(user=request.user, assembly=assembly),
        place=place,
        position=position,
        voted=voted,
        my_ballot=ballot,
    )


# --- Lists and creation ---------------------------------------------------------------------


def _body_context(
    request: HttpRequest, *, org_slug: str = "", fed_slug: str = ""
) -> dict[str, Any]:
    if org_slug:
        org = gov_selectors.organization_get_for_member(user=request.user, slug=org_slug)
        return {"organization": org, "federation": None, "current_org": org, "body": org}
    fed = gov_selectors.federation_get_for_member(user=request.user, slug=fed_slug)
    return {"organization": None, "federation": fed, "body": fed}


@login_required
def assembly_list(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = _body_context(request, org_slug=slug)
    ctx["assemblies"] = selectors.assembly_list(user=request.user, organization=ctx["organization"])
    return render(request, "assemblies/assembly_list.html", ctx)


@login_required
def federation_assembly_list(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = _body_context(request, fed_slug=slug)
    ctx["assemblies"] = selectors.assembly_list(user=request.user, federation=ctx["federation"])
    return render(request, "assemblies/assembly_list.html", ctx)


def _create(request: HttpRequest, ctx: dict[str, Any]) -> HttpResponse:
    form = forms.AssemblyForm(request.POST or None, initial={"starts_at": timezone.localtime()})
    if request.method == "POST" and form.is_valid():
        try:
            assembly = services.assembly_create(
                actor=request.user,
                organization=ctx["organization"],
                federation=ctx["federation"],
                **form.cleaned_data,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Assembly created. Add items to its agenda."))
            return redirect("assemblies:detail", assembly.uuid)
    ctx["form"] = form
    return render(request, "assemblies/assembly_form.html", ctx)


@login_required
def assembly_create(request: HttpRequest, slug: str) -> HttpResponse:
    return _create(request, _body_context(request, org_slug=slug))


@login_required
def federation_assembly_create(request: HttpRequest, slug: str) -> HttpResponse:
    return _create(request, _body_context(request, fed_slug=slug))


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


# --- The live page --------------------------------------------------------------------------


BUILTIN_REGIONS = {"status", "agenda", "attendance", "queue", "proposals", "round"}


@login_required
def assembly_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    assembly = selectors.assembly_get_for_member(user=request.user, uuid=uuid)
    me = _me(request, assembly)
    if me.membership is None:
        raise Http404(_("No such assembly."))
    regions = fragments.render_page_regions(assembly, csrf_token=get_token(request))
    context = {
        "assembly": assembly,
        "current_org": assembly.organization,
        "regions": regions,
        "rules": selectors.rules_of(assembly),
        "extra_regions": [html for name, html in regions.items() if name not in BUILTIN_REGIONS],
        "me": me,
        # From the room card's QR code: the phone arrives with the code filled in.
        "checkin_code": "".join(
            c for c in request.GET.get("code", "").upper()[:12] if c in services.CODE_ALPHABET
        ),
        "item_form": forms.AgendaItemForm(auto_id="item_%s"),
        "proposal_form": forms.ProposalForm(auto_id="proposal_%s"),
        "mandate_form": forms.MandateAgreeForm(auto_id="mandate_%s"),
        "settings_form": forms.SettingsForm(
            initial={
                "require_code": assembly.require_code,
                "progressive_stack": assembly.progressive_stack,
                "speaking_limit_seconds": assembly.speaking_limit_seconds,
            }
        ),
        "items": list(assembly.items.order_by("order")),
        "open_proposals": list(
            assembly.proposals.filter(status__in=["open", "held"]).order_by("created_at")
        ),
    }
    return render(request, "assemblies/assembly_detail.html", context)


@login_required
def assembly_regions(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Every shared region at once (out-of-band), for a client that refreshes by itself."""
    assembly = selectors.assembly_get_for_member(user=request.user, uuid=uuid)
    response = HttpResponse(fragments.render_snapshot(assembly))
    response["X-Assembly-Seq"] = str(assembly.last_seq)
    return response


@login_required
def assembly_stats(request: HttpRequest, uuid: Any) -> HttpResponse:
    assembly = selectors.assembly_get_for_member(user=request.user, uuid=uuid)
    return render(
        request,
        "assemblies/assembly_stats.html",
        {
            "assembly": assembly,
            "current_org": assembly.organization,
            "stats": selectors.speaking_stats(assembly=assembly),
            "small_group": selectors.SMALL_GROUP,
        },
    )


@login_required
def assembly_room(request: HttpRequest, uuid: Any) -> HttpResponse:
    """The room card a facilitator puts on a screen or prints: the code, large, and a QR
    code that opens the assembly on a phone with the code already filled in."""
    assembly = selectors.assembly_get_for_member(user=request.user, uuid=uuid)
    if not services.is_facilitator(user=request.user, assembly=assembly):
        raise PermissionDenied(_("Only the assembly's facilitators show the room code."))
    url = request.build_absolute_uri(
        reverse("assemblies:detail", args=[assembly.uuid])
        + "?"
        + urlencode({"code": assembly.code})
    )
    return render(
        request,
        "assemblies/room.html",
        {
            "assembly": assembly,
            "current_org": assembly.organization,
            "checkin_url": url,
            "qr": qr_data_uri(url, box_size=12),
        },
    )


@login_required
def assembly_attendance(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Everyone present, for one person who asked (the live region only counts them)."""
    assembly = selectors.assembly_get_for_member(user=request.user, uuid=uuid)
    template = "assemblies/attendance_list.html"
    if request.htmx:  # type: ignore[attr-defined]
        template += "#who"
    return render(
        request,
        template,
        {
            "assembly": assembly,
            "current_org": assembly.organization,
            "present": selectors.present_attendances(assembly=assembly),
            "summary": selectors.attendance_summary(assembly=assembly),
            "facilitator": services.is_facilitator(user=request.user, assembly=assembly),
        },
    )


@login_required
def member_search(request: HttpRequest, uuid: Any) -> HttpResponse:
    """For the facilitator: find someone without a phone to check them in."""
    assembly = selectors.assembly_get_for_member(user=request.user, uuid=uuid)
    if not services.is_facilitator(user=request.user, assembly=assembly):
        raise PermissionDenied(_("Only the facilitator checks other people in."))
    query = request.GET.get("q", "")[:100]
    found = selectors.member_find(assembly=assembly, query=query)
    present = set(
        selectors.present_attendances(assembly=assembly).values_list("membership_id", flat=True)
    )
    return render(
        request,
        "assemblies/assembly_detail.html#member_results",
        {
            "assembly": assembly,
            "found": found,
            "present": present,
            "query": query,
        },
    )


# --- Actions --------------------------------------------------------------------------------

Handler = Callable[[HttpRequest, Assembly], str]


def _bound(form_class: type[forms.forms.Form], request: HttpRequest) -> dict[str, Any]:
    form = form_class(request.POST)
    if not form.is_valid():
        raise ValidationError(forms.errors_text(form))
    return form.cleaned_data


def _membership_arg(request: HttpRequest, assembly: Assembly) -> Membership:
    key = request.POST.get("membership", "")
    try:
        m = selectors.eligible_memberships(assembly=assembly).filter(uuid=key).first()
    except ValidationError:
        m = None
    if m is None:
        raise ValidationError(_("No such member."))
    return m


def _safe_get(getter: Callable[..., Any], assembly: Assembly, value: str) -> Any:
    try:
        return getter(assembly=assembly, uuid=value)
    except ValidationError as exc:  # a malformed uuid
        raise Http404 from exc


def _item(request: HttpRequest, a: Assembly) -> AgendaItem:
    return _safe_get(selectors.item_get, a, request.POST.get("item", ""))


def _proposal(request: HttpRequest, a: Assembly) -> Any:
    return _safe_get(selectors.proposal_get, a, request.POST.get("proposal", ""))


def _round(request: HttpRequest, a: Assembly) -> Any:
    return _safe_get(selectors.round_get, a, request.POST.get("round", ""))


def _vote(request: HttpRequest, a: Assembly) -> Any:
    return _safe_get(selectors.vote_get, a, request.POST.get("vote", ""))


def _convene(request: HttpRequest, a: Assembly) -> str:
    services.assembly_convene(actor=request.user, assembly=a)
    return _("The assembly is convened: people can check in.")


def _open(request: HttpRequest, a: Assembly) -> str:
    services.assembly_open(actor=request.user, assembly=a)
    return _("The assembly is open.")


def _close(request: HttpRequest, a: Assembly) -> str:
    services.assembly_close(actor=request.user, assembly=a)
    return _("The assembly is closed.")


def _settings(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.SettingsForm, request)
    services.assembly_update(actor=request.user, assembly=a, **data)
    return _("Settings saved.")


def _mandate_agree(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.MandateAgreeForm, request)
    # By number or name: in a federation assembly numbers repeat across organisations.
    found = selectors.member_find(assembly=a, query=data["member_number"])
    if not found:
        raise ValidationError(_("No member has that number."))
    if len(found) > 1:
        if not services.is_facilitator(user=request.user, assembly=a):
            # Without a mandate this form is no directory of the federation's members.
            raise ValidationError(_("Several members match: give the full name."))
        raise ValidationError(
            _("Several members match (%(names)s): give the full name.")
            % {"names": ", ".join(f"{m.display_name} ({m.organization})" for m in found[:5])}
        )
    m = found[0]
    services.assembly_mandate_agree(actor=request.user, assembly=a, membership=m, role=data["role"])
    return _("Recorded: %(name)s holds the mandate for this assembly.") % {"name": m.display_name}


def _item_propose(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.AgendaItemForm, request)
    services.agenda_item_propose(actor=request.user, assembly=a, **data)
    return _("Item added to the agenda.")


def _item_current(request: HttpRequest, a: Assembly) -> str:
    item = services.agenda_item_set_current(actor=request.user, item=_item(request, a))
    return _("Now discussing: %(title)s") % {"title": item.title}


def _item_move(request: HttpRequest, a: Assembly) -> str:
    item = _item(request, a)
    order = [str(u) for u in a.items.order_by("order", "id").values_list("uuid", flat=True)]
    i = order.index(str(item.uuid))
    j = i - 1 if request.POST.get("direction") == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        services.agenda_reorder(actor=request.user, assembly=a, items=order)
    return _("Agenda reordered.")


def _check_in(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.CheckInForm, request)
    services.attendance_check_in(actor=request.user, assembly=a, code=data["code"])
    return _("You are checked in.")


def _check_in_member(request: HttpRequest, a: Assembly) -> str:
    m = _membership_arg(request, a)
    services.attendance_check_in_member(actor=request.user, assembly=a, membership=m)
    return _("%(name)s is checked in.") % {"name": m.display_name}


def _check_out(request: HttpRequest, a: Assembly) -> str:
    services.attendance_check_out(actor=request.user, assembly=a)
    return _("You are checked out.")


def _check_out_member(request: HttpRequest, a: Assembly) -> str:
    m = _membership_arg(request, a)
    services.attendance_check_out(actor=request.user, assembly=a, membership=m)
    return _("%(name)s is checked out.") % {"name": m.display_name}


def _hand_raise(request: HttpRequest, a: Assembly) -> str:
    kind = _bound(forms.SpeakForm, request)["kind"] or SpeakingRequest.Kind.NORMAL
    place = services.speaker_add(actor=request.user, assembly=a, kind=kind)
    if place.place is None:
        return _("Your hand is raised.")
    return _("Your hand is raised: you are number %(place)d. %(reason)s") % {
        "place": place.place,
        "reason": place.reason,
    }


def _hand_lower(request: HttpRequest, a: Assembly) -> str:
    m = selectors.membership_for(user=request.user, assembly=a)
    req = a.speaking_requests.filter(membership=m, state="waiting").order_by("requested_at").first()
    if req is None:
        raise ValidationError(_("Your hand is not raised."))
    services.speaker_withdraw(actor=request.user, request=req)
    return _("Your hand is lowered.")


def _speaker_next(request: HttpRequest, a: Assembly) -> str:
    nxt = services.speaker_next(actor=request.user, assembly=a)
    if nxt is None:
        return _("Nobody else is waiting to speak.")
    return _("%(name)s has the floor.") % {"name": nxt.membership.display_name}


def _speaker_call(request: HttpRequest, a: Assembly) -> str:
    req = _safe_get(selectors.speaking_request_get, a, request.POST.get("request", ""))
    req = services.speaker_call(actor=request.user, request=req)
    return _("%(name)s has the floor.") % {"name": req.membership.display_name}


def _speaker_finish(request: HttpRequest, a: Assembly) -> str:
    services.speaker_finish(actor=request.user, assembly=a)
    return _("Turn ended.")


def _proposal_create(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.ProposalForm, request)
    item = _item(request, a) if request.POST.get("item") else None
    services.proposal_create(actor=request.user, assembly=a, item=item, **data)
    return _("Proposal made.")


def _proposal_amend(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.AmendForm, request)
    v = services.proposal_amend(actor=request.user, proposal=_proposal(request, a), **data)
    return _("Amended: version %(n)d.") % {"n": v.number}


def _proposal_withdraw(request: HttpRequest, a: Assembly) -> str:
    services.proposal_withdraw(actor=request.user, proposal=_proposal(request, a))
    return _("Proposal withdrawn.")


def _round_open(request: HttpRequest, a: Assembly) -> str:
    r = services.round_open(actor=request.user, proposal=_proposal(request, a))
    return _("Round %(n)d is open.") % {"n": r.number}


def _position(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.PositionForm, request)
    result = services.position_state(actor=request.user, round=_round(request, a), **data)
    label = result.position.get_stance_display()
    if result.replaced is not None:
        return _("Your position is now: %(stance)s (it replaces %(before)s).") % {
            "stance": label,
            "before": result.replaced.get_stance_display(),
        }
    return _("Your position: %(stance)s.") % {"stance": label}


def _concern_address(request: HttpRequest, a: Assembly) -> str:
    pos = _safe_get(selectors.position_get, a, request.POST.get("position", ""))
    note = _bound(forms.NoteForm, request)["note"]
    services.concern_address(actor=request.user, position=pos, note=note)
    return _("Concern marked as addressed.")


def _round_close(request: HttpRequest, a: Assembly) -> str:
    r = services.round_close(
        actor=request.user, round=_round(request, a), cancel=bool(request.POST.get("cancel"))
    )
    if r.outcome == "blocked":
        return _("Round closed: a block holds the proposal.")
    if r.outcome == "consensus":
        return _("Round closed: consensus. The decision is in the register.")
    return _("Round closed without outcome.")


def _vote_open(request: HttpRequest, a: Assembly) -> str:
    services.vote_open(
        actor=request.user,
        proposal=_proposal(request, a),
        secret=bool(request.POST.get("secret")),
        fallback=bool(request.POST.get("fallback")),
    )
    return _("The vote is open.")


def _ballot(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.BallotForm, request)
    services.ballot_cast(actor=request.user, vote=_vote(request, a), choice=data["choice"])
    return _("Your vote is counted.")


def _vote_count(request: HttpRequest, a: Assembly) -> str:
    data = _bound(forms.VoteCountForm, request)
    services.vote_count_enter(actor=request.user, vote=_vote(request, a), **data)
    return _("Count added.")


def _vote_close(request: HttpRequest, a: Assembly) -> str:
    v = services.vote_close(actor=request.user, vote=_vote(request, a))
    if v.outcome == "adopted":
        return _("Vote closed: adopted. The decision is in the register.")
    return _("Vote closed: not adopted.")


ACTIONS: dict[str, Handler] = {
    "convene": _convene,
    "open": _open,
    "close": _close,
    "settings": _settings,
    "mandate_agree": _mandate_agree,
    "item_propose": _item_propose,
    "item_current": _item_current,
    "item_move": _item_move,
    "check_in": _check_in,
    "check_in_member": _check_in_member,
    "check_out": _check_out,
    "check_out_member": _check_out_member,
    "hand_raise": _hand_raise,
    "hand_lower": _hand_lower,
    "speaker_next": _speaker_next,
    "speaker_call": _speaker_call,
    "speaker_finish": _speaker_finish,
    "proposal_create": _proposal_create,
    "proposal_amend": _proposal_amend,
    "proposal_withdraw": _proposal_withdraw,
    "round_open": _round_open,
    "position": _position,
    "concern_address": _concern_address,
    "round_close": _round_close,
    "vote_open": _vote_open,
    "ballot": _ballot,
    "vote_count": _vote_count,
    "vote_close": _vote_close,
}


@login_required
@require_POST
def assembly_action(request: HttpRequest, uuid: Any, action: str) -> HttpResponse:
    assembly = selectors.assembly_get_for_member(user=request.user, uuid=uuid)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(_("Unknown action."))
    ok, status = True, 200
    try:
        text = handler(request, assembly)
    except ValidationError as exc:
        ok, status, text = False, 400, " ".join(exc.messages)
    except PermissionDenied as exc:
        ok, status, text = False, 403, str(exc) or _("You may not do this.")
    if not request.htmx:  # type: ignore[attr-defined]
        (messages.success if ok else messages.error)(request, text)
        return redirect("assemblies:detail", assembly.uuid)
    assembly.refresh_from_db()
    response = render(
        request,
        "assemblies/_me.html",
        {
            "assembly": assembly,
            "me": _me(request, assembly),
            "flash": text,
            "ok": ok,
            "oob": True,
        },
    )
    if request.headers.get("X-Live-Connected") != "1":
        # No live socket on this page (live.js sets the header while connected): bring the
        # shared regions along, so the person sees the effect of their own action at once.
        response.write(fragments.render_snapshot(assembly))
    # htmx swaps only 2xx responses; the status travels in a header for scripts and tests.
    response["X-Action-Status"] = str(status)
    if action in {"open", "close", "convene", "mandate_agree", "settings"}:
        # These change what the person may do on the page itself: reload it.
        response["HX-Refresh"] = "true"
    return response
