"""Thin views of the minutes. PDFs are never rendered here: a request queues a job for the
worker process and the page polls its progress."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assemblies import selectors as live_selectors
from assemblies.minutes import canonical, forms, selectors, services, worker
from assemblies.minutes.display import for_display
from assemblies.models import (
    AgendaItem,
    Assembly,
    Minutes,
    MinutesCorrection,
    MinutesRenderJob,
)
from governance import selectors as gov_selectors
from governance.models import Federation, Membership, RuleSet
from governance.permissions import may


def _display(content: dict[str, Any]) -> dict[str, Any]:
    try:
        tz = ZoneInfo(content.get("time_zone") or "UTC")
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return for_display(content, tz)  # type: ignore[no-any-return]


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# --- Organisation pages --------------------------------------------------------------------


def _list_page(request: HttpRequest, body: dict[str, Any], context: dict[str, Any]) -> HttpResponse:
    closed_without = list(
        Assembly.objects.filter(minutes__isnull=True, **body).order_by("-starts_at")[:20]
    )
    return render(
        request,
        "assemblies/minutes/minutes_list.html",
        context
        | {
            "minutes_list": list(selectors.minutes_list(**body)),
            "assemblies_without": closed_without,
            "chain_length": selectors.chain_length(**body),
        },
    )


def _verify_page(
    request: HttpRequest, body: dict[str, Any], context: dict[str, Any]
) -> HttpResponse:
    return render(
        request,
        "assemblies/minutes/verify.html",
        context
        | {
            "problems": selectors.chain_problems(**body),
            "length": selectors.chain_length(**body),
            "version": None,
        },
    )


@login_required
def minutes_list(request: HttpRequest, slug: str) -> HttpResponse:
    org = gov_selectors.organization_get_for_member(user=request.user, slug=slug)
    return _list_page(
        request, {"organization": org}, {"current_org": org, "body": org, "verify_org": org}
    )


@login_required
def organization_verify(request: HttpRequest, slug: str) -> HttpResponse:
    org = gov_selectors.organization_get_for_member(user=request.user, slug=slug)
    return _verify_page(request, {"organization": org}, {"current_org": org, "organization": org})


@login_required
def federation_minutes_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The minutes of the federation's own assemblies, for the members of its organisations."""
    fed = gov_selectors.federation_get_for_member(user=request.user, slug=slug)
    return _list_page(request, {"federation": fed}, {"body": fed, "verify_fed": fed})


@login_required
def federation_verify(request: HttpRequest, slug: str) -> HttpResponse:
    fed = gov_selectors.federation_get_for_member(user=request.user, slug=slug)
    return _verify_page(request, {"federation": fed}, {"organization": fed})


def _list_url(minutes: Minutes) -> str:
    if minutes.organization is not None:
        return reverse("minutes:list", args=[minutes.organization.slug])
    assert minutes.federation is not None
    return reverse("minutes:list-fed", args=[minutes.federation.slug])


@login_required
def assembly_minutes(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Open (or create) the minutes of an assembly."""
    assembly = selectors.assembly_for_minutes(user=request.user, uuid=uuid)
    existing = Minutes.objects.filter(assembly=assembly).first()
    if existing is not None:
        return redirect("minutes:detail", existing.uuid)
    if request.method != "POST":
        return render(
            request,
            "assemblies/minutes/minutes_start.html",
            {"assembly": assembly, "current_org": assembly.organization},
        )
    try:
        minutes = services.minutes_start(actor=request.user, assembly=assembly)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        if assembly.organization is not None:
            return redirect("minutes:list", assembly.organization.slug)
        assert assembly.federation is not None
        return redirect("minutes:list-fed", assembly.federation.slug)
    return redirect("minutes:detail", minutes.uuid)


def _same_body(minutes: Minutes) -> Q:
    """Assemblies of the body whose assembly the minutes record."""
    return Q(
        organization_id=minutes.assembly.organization_id,
        federation_id=minutes.assembly.federation_id,
    )


def _approving_assemblies(minutes: Minutes, user: Any) -> list[Assembly]:
    """Later assemblies of the same body, in session, that this person facilitates."""
    candidates = Assembly.objects.filter(
        _same_body(minutes),
        status=Assembly.Status.OPEN,
        starts_at__gt=minutes.assembly.starts_at,
    ).order_by("starts_at")
    return [a for a in candidates if may(user, "assembly.facilitate", a)]


def _publish_targets(minutes: Minutes, user: Any) -> list[Federation]:
    if minutes.organization is None:
        return [minutes.federation] if minutes.federation is not None else []
    return [
        f
        for f in gov_selectors.federations_of(user)
        if gov_selectors.federation_organizations(federation=f)
        .filter(Q(pk=minutes.organization_id))
        .exists()
    ]


@login_required
def minutes_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    minutes = selectors.minutes_get_for_member(user=request.user, uuid=uuid)
    org = minutes.organization
    mine = {m.pk for m in selectors.body_memberships(user=request.user, minutes=minutes)}
    keeper = selectors.may_keep_minutes(user=request.user, minutes=minutes)
    versions = list(minutes.versions.order_by("-number"))
    content = selectors.draft_content(minutes=minutes)
    draft_hash = canonical.digest(content)
    rules = selectors.approval_rules(minutes=minutes)
    signatures = list(
        minutes.signatures.filter(draft_hash=draft_hash).select_related("membership__person")
    )
    attended = minutes.assembly.attendances.filter(membership_id__in=mine).exists()
    proposal = minutes.approval_proposal
    items = list(AgendaItem.objects.filter(assembly=minutes.assembly).order_by("order", "id"))
    notes = {n.item_id: n.text for n in minutes.item_notes.all()}
    context: dict[str, Any] = {
        "current_org": org,
        "list_url": _list_url(minutes),
        "minutes": minutes,
        "m": _display(content) if minutes.editable or not versions else None,
        "latest": versions[0] if versions else None,
        "versions": versions,
        "keeper": keeper,
        "attended": attended,
        "rules": rules,
        "signatures": signatures,
        "signed": any(s.membership_id in mine for s in signatures),
        "draft_hash": draft_hash,
        "corrections": list(minutes.corrections.select_related("proposed_by__person")),
        "note_forms": [
            (item, forms.NotesForm(initial={"item": item.uuid, "text": notes.get(item.pk, "")}))
            for item in items
        ],
        "general_form": forms.NotesForm(initial={"text": minutes.notes}),
        "task_form": forms.TaskForm(),
        "apology_form": forms.ApologyForm(),
        "correction_form": forms.CorrectionForm(),
        "reason_form": forms.ReasonForm(),
        "items": items,
        "approving_assemblies": _approving_assemblies(minutes, request.user)
        if rules.minutes_approval == RuleSet.MinutesApproval.NEXT_ASSEMBLY
        else [],
        # The proposal before the next assembly, if it still stands for this exact text.
        "approval_proposal": proposal
        if proposal is not None and minutes.approval_draft_hash == draft_hash
        else None,
        "window_open": minutes.amendment_window_open(),
        "tasks": list(minutes.tasks.select_related("responsible__person", "item")),
    }
    if versions:
        latest = versions[0]
        context["latest_m"] = _display(json.loads(latest.content))
        context["federations"] = _publish_targets(minutes, request.user)
        context["published"] = set(latest.publications.values_list("federation_id", flat=True))
        context["may_publish"] = may(request.user, "minutes.publish", minutes)
    return render(request, "assemblies/minutes/minutes_detail.html", context)


Handler = Callable[[HttpRequest, Minutes], str]


def _bound(form_class: type[django_forms.Form], request: HttpRequest) -> dict[str, Any]:
    form = form_class(request.POST)
    if not form.is_valid():
        raise ValidationError(
            [
                f"{form.fields[f].label or f}: {' '.join(str(x) for x in e)}"
                if f != "__all__"
                else " ".join(str(x) for x in e)
                for f, e in form.errors.items()
            ]
        )
    return form.cleaned_data


def _item(minutes: Minutes, value: Any) -> AgendaItem | None:
    if not value:
        return None
    item = AgendaItem.objects.filter(assembly=minutes.assembly, uuid=value).first()
    if item is None:
        raise ValidationError(_("No such agenda item."))
    return item


def _member(minutes: Minutes, number: str) -> Membership:
    """A member by number; at a federation's assembly numbers repeat across organisations,
    so there "organisation-slug/number" picks one."""
    if minutes.organization is not None:
        qs = Membership.objects.filter(organization=minutes.organization, member_number=number)
    else:
        slug, _sep, number = number.rpartition("/")
        qs = live_selectors.eligible_memberships(assembly=minutes.assembly).filter(
            member_number=number.strip()
        )
        if slug:
            qs = qs.filter(organization__slug=slug.strip())
    found = list(qs[:2])
    if len(found) > 1:
        raise ValidationError(
            _("Several organisations have a member with that number: write organisation/number.")
        )
    if not found:
        raise ValidationError(_("No member with that number."))
    return found[0]


def _notes(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.NotesForm, request)
    services.minutes_notes_set(
        actor=request.user, minutes=m, text=data["text"], item=_item(m, data["item"])
    )
    return _("Notes saved.")


def _task(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.TaskForm, request)
    services.minutes_task_add(
        actor=request.user,
        minutes=m,
        text=data["text"],
        responsible=_member(m, data["responsible"]),
        due_on=data["due_on"],
        item=_item(m, data["item"]),
    )
    return _("Task added.")


def _apology(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.ApologyForm, request)
    services.minutes_apology_add(
        actor=request.user,
        minutes=m,
        membership=_member(m, data["member"]),
        reason=data["reason"],
    )
    return _("Apology recorded.")


def _review_open(request: HttpRequest, m: Minutes) -> str:
    services.minutes_review_open(actor=request.user, minutes=m)
    return _("The minutes are open for corrections.")


def _correction(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.CorrectionForm, request)
    services.correction_propose(actor=request.user, minutes=m, text=data["text"])
    return _("Your correction was sent to the minute-taker.")


def _resolve(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.ResolveForm, request)
    correction = MinutesCorrection.objects.filter(minutes=m, uuid=data["correction"]).first()
    if correction is None:
        raise ValidationError(_("No such correction."))
    services.correction_resolve(
        actor=request.user,
        correction=correction,
        accept=data["accept"],
        response=data["response"],
    )
    return _("Correction answered.")


def _sign(request: HttpRequest, m: Minutes) -> str:
    version = services.minutes_sign(actor=request.user, minutes=m)
    if version is not None:
        return _("Signed. With your signature the minutes are approved.")
    return _("Signed.")


def _propose_approval(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.ApproveForm, request)
    assembly = Assembly.objects.filter(_same_body(m), uuid=data["assembly"]).first()
    if assembly is None:
        raise ValidationError(_("No such assembly."))
    services.minutes_approval_propose(actor=request.user, minutes=m, assembly=assembly)
    return _(
        "The approval of the minutes is on the agenda of “%(title)s”: the assembly decides it."
    ) % {"title": assembly.title}


def _approve(request: HttpRequest, m: Minutes) -> str:
    services.minutes_approve_at_assembly(actor=request.user, minutes=m)
    return _("The assembly approved the minutes.")


def _correct(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.ReasonForm, request)
    services.minutes_correction_open(actor=request.user, minutes=m, reason=data["reason"])
    return _("A corrected version is now a draft; the approved one stays as it was.")


def _publish(request: HttpRequest, m: Minutes) -> str:
    data = _bound(forms.PublishForm, request)
    fed = gov_selectors.federation_get_for_member(user=request.user, slug=data["federation"])
    latest = selectors.latest_version(minutes=m)
    if latest is None:
        raise ValidationError(_("Only approved minutes are published."))
    services.minutes_publish(actor=request.user, version=latest, federation=fed)
    return _("Published to %(federation)s.") % {"federation": fed.name}


ACTIONS: dict[str, Handler] = {
    "notes": _notes,
    "task": _task,
    "apology": _apology,
    "review_open": _review_open,
    "correction": _correction,
    "resolve": _resolve,
    "sign": _sign,
    "propose_approval": _propose_approval,
    "approve": _approve,
    "correct": _correct,
    "publish": _publish,
}


def _run(request: HttpRequest, handler: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, handler()
    except ValidationError as exc:
        return False, " ".join(exc.messages)
    except PermissionDenied as exc:
        return False, str(exc) or _("You may not do this.")


@login_required
@require_POST
def minutes_action(request: HttpRequest, uuid: Any, action: str) -> HttpResponse:
    minutes = selectors.minutes_get_for_member(user=request.user, uuid=uuid)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(_("Unknown action."))
    ok, text = _run(request, lambda: handler(request, minutes))
    (messages.success if ok else messages.error)(request, text)
    return redirect("minutes:detail", minutes.uuid)


# --- Versions, verification, PDFs ----------------------------------------------------------


@login_required
def version_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    version = selectors.version_get_for_user(user=request.user, uuid=uuid)
    return render(
        request,
        "assemblies/minutes/version_detail.html",
        {
            "version": version,
            "m": _display(json.loads(version.content)),
            "approval": _display(json.loads(version.approval)),
            "pdf_form": forms.PdfForm(),
            "jobs": list(
                version.jobs.filter(status=MinutesRenderJob.Status.DONE).order_by("-finished_at")
            ),
        },
    )


@login_required
@require_POST
def version_pdf(request: HttpRequest, uuid: Any) -> HttpResponse:
    version = selectors.version_get_for_user(user=request.user, uuid=uuid)
    form = forms.PdfForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a PDF variant."))
        return redirect("minutes:version", version.uuid)
    job = services.pdf_request(
        actor=request.user,
        version=version,
        variant=form.cleaned_data["variant"],
        signed=form.cleaned_data["signed"],
        base_url=_base_url(request),
    )
    return redirect("minutes:job", job.uuid)


@login_required
def verify_hash(request: HttpRequest, hash: str) -> HttpResponse:
    version = selectors.version_by_hash(user=request.user, hash=hash[:64])
    member = selectors.is_body_member(user=request.user, minutes=version.minutes)
    # A reviewer sees whether this record is intact; the whole chain is the members' to see.
    problems = selectors.chain_problems_for(version)
    if not member:
        label = selectors.version_label(version)
        problems = [p for p in problems if p.label == label]
    return render(
        request,
        "assemblies/minutes/verify.html",
        {
            "organization": version.body,
            "version": version,
            "problems": problems,
            "length": selectors.chain_length_for(version) if member else None,
            "recomputed": canonical.link_hash(
                content=json.loads(version.content),
                approval=json.loads(version.approval),
                previous_hash=version.previous_hash,
            ),
            "anchored": selectors.anchored_hash(version=version),
        },
    )


@login_required
def job_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    job = selectors.job_get_for_user(user=request.user, uuid=uuid)
    context = {"job": job}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "assemblies/minutes/job_detail.html#progress", context)
    return render(request, "assemblies/minutes/job_detail.html", context)


@login_required
def job_file(request: HttpRequest, uuid: Any) -> FileResponse:
    job = selectors.job_get_for_user(user=request.user, uuid=uuid)
    if job.status != MinutesRenderJob.Status.DONE:
        raise Http404(_("The file is not ready yet."))
    path = worker.file_path(job)
    if not path.exists():
        raise Http404(_("The file is not ready yet."))
    if job.kind == MinutesRenderJob.Kind.PDF:
        assert job.version is not None
        assembly = job.version.minutes.assembly
        stamp = timezone.localtime(assembly.starts_at).strftime("%Y-%m-%d")
        suffix = "-pdfa" if job.variant == "pdfa" else ""
        name = f"minutes-{stamp}-v{job.version.number}{suffix}.pdf"
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=name, content_type="application/pdf"
        )
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"minutes-bundle-{job.created_at:%Y%m%d}.zip",
        content_type="application/zip",
    )


# --- Federation review ---------------------------------------------------------------------


def _reviewed_federation(request: HttpRequest, slug: str) -> Any:
    fed = gov_selectors.federation_get_for_member(user=request.user, slug=slug)
    if not may(request.user, "federation.review", fed):
        raise Http404(_("No such federation."))
    return fed


@login_required
def review_list(request: HttpRequest, slug: str) -> HttpResponse:
    fed = _reviewed_federation(request, slug)
    form = forms.ReviewFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {
            "organization": form.cleaned_data["organization"],
            "date_from": form.cleaned_data["date_from"],
            "date_to": form.cleaned_data["date_to"],
            "text": form.cleaned_data["q"],
        }
    pubs = selectors.publications_search(user=request.user, federation=fed, **filters)[:200]
    return render(
        request,
        "assemblies/minutes/review_list.html",
        {
            "federation": fed,
            "form": form,
            "publications": list(pubs),
            "organizations": gov_selectors.federation_organizations(federation=fed),
        },
    )


@login_required
@require_POST
def review_export(request: HttpRequest, slug: str) -> HttpResponse:
    fed = _reviewed_federation(request, slug)
    form = forms.ReviewFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the filters."))
        return redirect("minutes:review", fed.slug)
    job = services.bundle_request(
        actor=request.user,
        federation=fed,
        organization=form.cleaned_data["organization"],
        date_from=form.cleaned_data["date_from"],
        date_to=form.cleaned_data["date_to"],
        text=form.cleaned_data["q"],
        base_url=_base_url(request),
    )
    return redirect("minutes:job", job.uuid)


@login_required
def publication_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    pub = selectors.publication_get(user=request.user, uuid=uuid)
    version = pub.version
    is_reviewer = may(request.user, "federation.review", pub.federation)
    return render(
        request,
        "assemblies/minutes/publication_detail.html",
        {
            "publication": pub,
            "version": version,
            "m": _display(json.loads(version.content)),
            "approval": _display(json.loads(version.approval)),
            "questions": list(selectors.questions_for(publication=pub)),
            "acknowledgements": list(pub.acknowledgements.select_related("reviewer__person")),
            "is_reviewer": is_reviewer,
            "may_answer": may(request.user, "minutes.answer_question", version),
            "question_form": forms.QuestionForm(),
            "pdf_form": forms.PdfForm(),
        },
    )


@login_required
@require_POST
def publication_action(request: HttpRequest, uuid: Any, action: str) -> HttpResponse:
    pub = selectors.publication_get(user=request.user, uuid=uuid)

    def acknowledge() -> str:
        services.publication_acknowledge(actor=request.user, publication=pub)
        return _("Acknowledged.")

    def ask() -> str:
        data = _bound(forms.QuestionForm, request)
        services.question_ask(actor=request.user, publication=pub, text=data["text"])
        return _("Your question was sent to the organisation.")

    def answer() -> str:
        data = _bound(forms.AnswerForm, request)
        question = pub.questions.filter(uuid=data["question"]).first()
        if question is None:
            raise ValidationError(_("No such question."))
        services.question_answer(actor=request.user, question=question, answer=data["answer"])
        return _("Answer sent.")

    def pdf() -> str:
        form = forms.PdfForm(request.POST)
        variant = form.cleaned_data["variant"] if form.is_valid() else "standard"
        job = services.pdf_request(
            actor=request.user,
            version=pub.version,
            variant=variant,
            base_url=_base_url(request),
        )
        raise _Redirect(reverse("minutes:job", args=[job.uuid]))

    handlers: dict[str, Callable[[], str]] = {
        "acknowledge": acknowledge,
        "ask": ask,
        "answer": answer,
        "pdf": pdf,
    }
    handler = handlers.get(action)
    if handler is None:
        raise Http404(_("Unknown action."))
    try:
        ok, text = _run(request, handler)
    except _Redirect as r:
        return redirect(r.url)
    (messages.success if ok else messages.error)(request, text)
    return redirect("minutes:publication", pub.uuid)


class _Redirect(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, url: str) -> None:
        self.url = url
