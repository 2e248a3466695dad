"""Every write of the minutes: keyword-only, transactional, permission-checked, audited."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from assemblies import selectors as live
from assemblies.minutes import canonical, selectors
from assemblies.models import (
    AgendaItem,
    Assembly,
    Minutes,
    MinutesAcknowledgement,
    MinutesApology,
    MinutesCorrection,
    MinutesItemNote,
    MinutesPublication,
    MinutesQuestion,
    MinutesRenderJob,
    MinutesSignature,
    MinutesTask,
    MinutesVersion,
)
from governance import services as gov
from governance.audit import audit
from governance.models import Federation, FederationMembership, Membership, Organization, RuleSet
from governance.permissions import require
from governance.selectors import membership_get

logger = logging.getLogger(__name__)

MAX_NOTES = 100_000
MAX_TEXT = 10_000


def _clean(value: str, *, field: str, limit: int = MAX_TEXT, required: bool = True) -> str:
    value = (value or "").replace("\x00", "").strip()
    if required and not value:
        raise ValidationError({field: _("This field is required.")})
    if len(value) > limit:
        raise ValidationError({field: _("This text is too long.")})
    return value


def _audit(actor: Any, minutes: Minutes, action: str, obj: Any = None, **data: Any) -> None:
    audit(
        actor=actor,
        action=action,
        organization=minutes.organization,
        obj=obj if obj is not None else minutes,
        minutes=str(minutes.uuid),
        **data,
    )


def _keeper(actor: Any, minutes: Minutes) -> None:
    if not selectors.may_keep_minutes(user=actor, minutes=minutes):
        require(actor, "assembly.take_minutes", minutes.assembly)


def _fresh(minutes: Minutes) -> Minutes:
    """Status decides what is allowed: read it from the database, not from a stale object."""
    return Minutes.objects.select_related("assembly", "organization").get(pk=minutes.pk)


def _editable(minutes: Minutes) -> None:
    if not minutes.editable:
        raise ValidationError(
            _("These minutes are approved and cannot change. Open a correction with its reason.")
        )


def _member(actor: Any, minutes: Minutes) -> Membership:
    require(actor, "organization.view", minutes.organization)
    return membership_get(user=actor, organization=minutes.organization)


def _attendee(actor: Any, minutes: Minutes) -> Membership:
    membership = _member(actor, minutes)
    if not selectors.attended(assembly=minutes.assembly, membership=membership):
        raise PermissionDenied(_("Only people who attended the assembly can do this."))
    return membership


def _notify_notes(minutes: Minutes) -> None:
    """Participants following the assembly see the notes change live."""
    from assemblies import events
    from assemblies.minutes import live as live_region  # noqa: F401  (registers the region)

    events.emit(
        assembly=minutes.assembly,
        kind="minutes.notes",
        data={"minutes": str(minutes.uuid)},
        regions=["notes"],
    )


# --- The draft ------------------------------------------------------------------------------


@transaction.atomic
def minutes_start(*, actor: Any, assembly: Assembly) -> Minutes:
    """The minutes of an assembly (created on first use, by whoever keeps them)."""
    if assembly.organization is None:
        raise ValidationError(
            _("Minutes here are kept for organisations' assemblies; a federation keeps its own.")
        )
    existing = Minutes.objects.filter(assembly=assembly).first()
    if existing is not None:
        return existing
    probe = Minutes(assembly=assembly, organization=assembly.organization)
    _keeper(actor, probe)
    try:
        with transaction.atomic():
            minutes = Minutes.objects.create(assembly=assembly, organization=assembly.organization)
    except IntegrityError:
        return Minutes.objects.get(assembly=assembly)
    _audit(actor, minutes, "minutes.start", assembly=str(assembly.uuid))
    return minutes


@transaction.atomic
def minutes_notes_set(
    *, actor: Any, minutes: Minutes, text: str, item: AgendaItem | None = None
) -> Minutes:
    """The minute-taker's notes (general, or about one agenda item), during or after."""
    minutes = _fresh(minutes)
    _keeper(actor, minutes)
    _editable(minutes)
    text = _clean(text, field="text", limit=MAX_NOTES, required=False)
    now = timezone.now()
    if item is None:
        minutes.notes = text
        minutes.updated_at = now
        minutes.save(update_fields=["notes", "updated_at"])
    else:
        if item.assembly_id != minutes.assembly_id:
            raise ValidationError(_("That agenda item belongs to another assembly."))
        MinutesItemNote.objects.update_or_create(
            minutes=minutes,
            item=item,
            defaults={"text": text, "updated_at": now, "updated_by": actor},
        )
        Minutes.objects.filter(pk=minutes.pk).update(updated_at=now)
    _audit(actor, minutes, "minutes.notes", item=str(item.uuid) if item else "", length=len(text))
    _notify_notes(minutes)
    return minutes


@transaction.atomic
def minutes_task_add(
    *,
    actor: Any,
    minutes: Minutes,
    text: str,
    responsible: Membership,
    due_on: date,
    item: AgendaItem | None = None,
) -> MinutesTask:
    minutes = _fresh(minutes)
    _keeper(actor, minutes)
    _editable(minutes)
    if responsible.organization_id != minutes.organization_id or not responsible.is_participating:
        raise ValidationError({"responsible": _("The responsible person must be a member.")})
    if item is not None and item.assembly_id != minutes.assembly_id:
        raise ValidationError(_("That agenda item belongs to another assembly."))
    task = MinutesTask.objects.create(
        minutes=minutes,
        item=item,
        text=_clean(text, field="text", limit=500),
        responsible=responsible,
        due_on=due_on,
    )
    _audit(
        actor,
        minutes,
        "minutes.task_add",
        obj=task,
        due_on=due_on,
        responsible=responsible.member_number,
    )
    _notify_notes(minutes)
    return task


@transaction.atomic
def minutes_task_remove(*, actor: Any, task: MinutesTask) -> None:
    minutes = _fresh(task.minutes)
    _keeper(actor, minutes)
    _editable(minutes)
    _audit(actor, minutes, "minutes.task_remove", obj=task)
    task.delete()
    _notify_notes(minutes)


@transaction.atomic
def minutes_apology_add(
    *, actor: Any, minutes: Minutes, membership: Membership, reason: str = ""
) -> MinutesApology:
    minutes = _fresh(minutes)
    _keeper(actor, minutes)
    _editable(minutes)
    if membership.organization_id != minutes.organization_id:
        raise ValidationError(_("Only members of the organisation send apologies here."))
    apology, _created = MinutesApology.objects.update_or_create(
        minutes=minutes,
        membership=membership,
        defaults={"reason": _clean(reason, field="reason", limit=300, required=False)},
    )
    _audit(actor, minutes, "minutes.apology", member=membership.member_number)
    return apology


# --- Amendment window and corrections -------------------------------------------------------


def _rules(minutes: Minutes) -> RuleSet:
    return gov.rules_in_force(organization=minutes.organization)


@transaction.atomic
def minutes_review_open(*, actor: Any, minutes: Minutes) -> Minutes:
    """Circulate the draft: attendees have the amendment window of the rules in force to
    propose corrections."""
    _keeper(actor, minutes)
    minutes = Minutes.objects.select_for_update().get(pk=minutes.pk)
    if minutes.status != Minutes.Status.DRAFT:
        raise ValidationError(_("Only a draft can be opened for corrections."))
    if minutes.assembly.status != Assembly.Status.CLOSED:
        raise ValidationError(_("Close the assembly before circulating its minutes."))
    now = timezone.now()
    minutes.status = Minutes.Status.REVIEW
    minutes.review_opened_at = now
    minutes.amendment_until = now + timedelta(days=_rules(minutes).amendment_window_days)
    minutes.save(update_fields=["status", "review_opened_at", "amendment_until"])
    _audit(actor, minutes, "minutes.review_open", until=minutes.amendment_until)
    return minutes


@transaction.atomic
def correction_propose(*, actor: Any, minutes: Minutes, text: str) -> MinutesCorrection:
    minutes = _fresh(minutes)
    membership = _attendee(actor, minutes)
    if not minutes.amendment_window_open():
        raise ValidationError(_("The time to propose corrections is over or has not started."))
    correction = MinutesCorrection.objects.create(
        minutes=minutes, proposed_by=membership, text=_clean(text, field="text")
    )
    _audit(actor, minutes, "minutes.correction_propose", obj=correction)
    return correction


@transaction.atomic
def correction_resolve(
    *, actor: Any, correction: MinutesCorrection, accept: bool, response: str = ""
) -> MinutesCorrection:
    """The minute-taker accepts (and edits the notes accordingly) or explains why not."""
    minutes = _fresh(correction.minutes)
    _keeper(actor, minutes)
    _editable(minutes)
    correction = MinutesCorrection.objects.select_for_update().get(pk=correction.pk)
    if correction.status != MinutesCorrection.Status.PROPOSED:
        raise ValidationError(_("This correction was already answered."))
    response = _clean(response, field="response", required=not accept)
    correction.status = (
        MinutesCorrection.Status.ACCEPTED if accept else MinutesCorrection.Status.REJECTED
    )
    correction.response = response
    correction.resolved_at = timezone.now()
    correction.resolved_by = actor
    correction.save(update_fields=["status", "response", "resolved_at", "resolved_by"])
    _audit(actor, minutes, "minutes.correction_resolve", obj=correction, accepted=accept)
    return correction


def _ready_for_approval(minutes: Minutes) -> None:
    if minutes.status != Minutes.Status.REVIEW:
        raise ValidationError(_("Circulate the minutes for corrections before approving them."))
    # Approving (or signing, which approves with the last signature) while attendees may
    # still propose corrections would cut their window short; a window of 0 days has none.
    if minutes.amendment_window_open():
        assert minutes.amendment_until is not None
        until = timezone.localtime(minutes.amendment_until, _zone(minutes.organization))
        raise ValidationError(
            _(
                "Attendees can propose corrections until %(until)s. The minutes can be signed "
                "or approved once that time is over."
            )
            % {"until": formats.date_format(until, "DATETIME_FORMAT")}
        )
    if minutes.corrections.filter(status=MinutesCorrection.Status.PROPOSED).exists():
        raise ValidationError(_("Answer every proposed correction before approval."))


def _zone(organization: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- Approval ------------------------------------------------------------------------------


def _approve(
    *,
    actor: Any,
    minutes: Minutes,
    approval: dict[str, Any],
    decision: Any = None,
    **audit_data: Any,
) -> MinutesVersion:
    """Freeze the draft as an approved version, chained to the organisation's previous
    approved minutes. The organisation row lock serializes approvals of one organisation."""
    Organization.objects.select_for_update().filter(pk=minutes.organization_id).first()
    last = (
        MinutesVersion.objects.filter(organization_id=minutes.organization_id)
        .order_by("-chain_index")
        .first()
    )
    number = minutes.versions.count() + 1
    reason = minutes.correction_reason if number > 1 else ""
    content = selectors.draft_content(minutes=minutes, reason=reason, version=number)
    previous_hash = last.hash if last is not None else canonical.GENESIS
    approval = canonical.normalize(approval)
    version = MinutesVersion.objects.create(
        minutes=minutes,
        organization_id=minutes.organization_id,
        number=number,
        chain_index=(last.chain_index + 1) if last is not None else 1,
        content=canonical.dumps(content),
        approval=canonical.dumps(approval),
        previous_hash=previous_hash,
        hash=canonical.link_hash(content=content, approval=approval, previous_hash=previous_hash),
        reason=reason,
        approved_at=timezone.now(),
        decision=decision,
    )
    minutes.status = Minutes.Status.APPROVED
    minutes.correction_reason = ""
    minutes.save(update_fields=["status", "correction_reason"])
    # The chain's independent anchor: the audit log is append-only (a database trigger
    # refuses updates), so this copy of the hash outlives a rewrite of the version row, and
    # verification names the rewritten record, the newest one included.
    _audit(
        actor,
        minutes,
        "minutes.approve",
        obj=version,
        hash=version.hash,
        previous_hash=version.previous_hash,
        chain_index=version.chain_index,
        number=version.number,
        **audit_data,
    )
    return version


@transaction.atomic
def minutes_sign(*, actor: Any, minutes: Minutes) -> MinutesVersion | None:
    """An attendee signs the current draft. When the rule in force asks for signatures and
    enough attendees signed this exact text, the minutes are approved by them."""
    membership = _attendee(actor, minutes)
    minutes = Minutes.objects.select_for_update().get(pk=minutes.pk)
    rules = _rules(minutes)
    if rules.minutes_approval != RuleSet.MinutesApproval.SIGNATURES:
        raise ValidationError(_("Your organisation approves minutes at its next assembly."))
    _ready_for_approval(minutes)
    current = selectors.draft_hash(minutes=minutes)
    signature, created = MinutesSignature.objects.get_or_create(
        minutes=minutes, membership=membership, draft_hash=current
    )
    if not created:
        raise ValidationError(_("You already signed this text."))
    _audit(actor, minutes, "minutes.sign", draft_hash=current)
    signatures = list(
        minutes.signatures.filter(draft_hash=current).select_related("membership__person")
    )
    if len(signatures) < rules.minutes_signatures_required:
        return None
    approval = {
        "method": RuleSet.MinutesApproval.SIGNATURES,
        "required": rules.minutes_signatures_required,
        "rules_version": rules.version,
        "draft_hash": current,
        "approved_at": signature.signed_at,
        "approving_assembly": None,
        "approvers": [
            {
                "name": s.membership.display_name,
                "member_number": s.membership.member_number,
                "role": "signatory",
                "at": s.signed_at,
            }
            for s in signatures
        ],
    }
    return _approve(actor=actor, minutes=minutes, approval=approval, method="signatures")


@transaction.atomic
def minutes_approve_at_assembly(
    *, actor: Any, minutes: Minutes, assembly: Assembly
) -> MinutesVersion:
    """The next assembly approves the minutes; its facilitator records it, and the approval
    goes to the decision register with that assembly's attendance."""
    require(actor, "assembly.facilitate", assembly)
    minutes = Minutes.objects.select_for_update().get(pk=minutes.pk)
    rules = _rules(minutes)
    if rules.minutes_approval != RuleSet.MinutesApproval.NEXT_ASSEMBLY:
        raise ValidationError(_("Your organisation approves minutes by attendees' signatures."))
    if assembly.organization_id != minutes.organization_id:
        raise ValidationError(_("Minutes are approved by an assembly of the same organisation."))
    if assembly.pk == minutes.assembly_id or assembly.starts_at <= minutes.assembly.starts_at:
        raise ValidationError(_("Minutes are approved by a later assembly."))
    if assembly.status != Assembly.Status.OPEN:
        raise ValidationError(_("The approving assembly must be in session."))
    _ready_for_approval(minutes)
    summary = live.attendance_summary(assembly=assembly)
    if not summary.quorum_met:
        raise ValidationError(_("The approving assembly has no quorum."))
    now = timezone.now()
    membership = membership_get(user=actor, organization=minutes.organization)
    decision = gov.decision_record(
        actor=actor,
        organization=minutes.organization,
        title=_("Minutes of “%(title)s” approved") % {"title": minutes.assembly.title},
        text=_("The assembly approves the minutes of “%(title)s” of %(date)s.")
        % {
            "title": minutes.assembly.title,
            "date": timezone.localtime(minutes.assembly.starts_at).date().isoformat(),
        },
        body=assembly.title,
        decided_at=now,
        attendance=live.attendance_snapshot(assembly=assembly, at=now) | summary.as_dict(),
        links=[f"/minutes/{minutes.uuid}/"],
        check_permission=False,
    )
    approval = {
        "method": RuleSet.MinutesApproval.NEXT_ASSEMBLY,
        "rules_version": rules.version,
        "approved_at": now,
        "approving_assembly": {
            "uuid": assembly.uuid,
            "title": assembly.title,
            "starts_at": assembly.starts_at,
            "present": summary.present,
            "quorum": summary.quorum,
        },
        "decision": {"uuid": decision.uuid, "number": decision.number},
        "approvers": [
            {
                "name": membership.display_name,
                "member_number": membership.member_number,
                "role": "facilitator",
                "at": now,
            }
        ],
    }
    return _approve(
        actor=actor,
        minutes=minutes,
        approval=approval,
        decision=decision,
        method="next_assembly",
        assembly=str(assembly.uuid),
    )


@transaction.atomic
def minutes_correction_open(*, actor: Any, minutes: Minutes, reason: str) -> Minutes:
    """Approved minutes never change; a correction becomes a new version, approved again,
    carrying its reason. The earlier version stays in the chain as it was."""
    _keeper(actor, minutes)
    minutes = Minutes.objects.select_for_update().get(pk=minutes.pk)
    if minutes.status != Minutes.Status.APPROVED:
        raise ValidationError(_("Only approved minutes need a correction; edit the draft."))
    minutes.correction_reason = _clean(reason, field="reason", limit=2000)
    minutes.status = Minutes.Status.DRAFT
    minutes.review_opened_at = None
    minutes.amendment_until = None
    minutes.save(
        update_fields=["correction_reason", "status", "review_opened_at", "amendment_until"]
    )
    _audit(actor, minutes, "minutes.correction_open", reason=minutes.correction_reason)
    return minutes


# --- Federation review ----------------------------------------------------------------------


def _current_affiliation(org: Organization, federation: Federation) -> bool:
    today = timezone.localdate()
    return FederationMembership.objects.filter(
        Q(end__isnull=True) | Q(end__gte=today),
        federation=federation,
        organization=org,
        start__lte=today,
    ).exists()


@transaction.atomic
def minutes_publish(
    *, actor: Any, version: MinutesVersion, federation: Federation
) -> MinutesPublication:
    org = version.organization
    require(actor, "minutes.publish", org)
    if not _current_affiliation(org, federation):
        raise ValidationError(_("Your organisation does not belong to that federation."))
    latest = selectors.latest_version(minutes=version.minutes)
    if latest is None or latest.pk != version.pk:
        raise ValidationError(_("Publish the latest approved version."))
    publication, created = MinutesPublication.objects.get_or_create(
        version=version,
        federation=federation,
        defaults={"organization": org, "published_by": actor},
    )
    if created:
        audit(
            actor=actor,
            action="minutes.publish",
            organization=org,
            federation=federation,
            obj=publication,
            version=str(version.uuid),
            hash=version.hash,
        )
    return publication


def _reviewer(actor: Any, publication: MinutesPublication) -> Membership:
    require(actor, "federation.review", publication.federation)
    from governance.permissions import active_mandates, memberships_for

    memberships = memberships_for(actor, publication.federation.governance_scope())
    for m in memberships:
        if (
            active_mandates([m], ["federation_reviewer"])
            .filter(federation=publication.federation)
            .exists()
        ):
            return m
    raise PermissionDenied(_("You need a current reviewer mandate for this federation."))


@transaction.atomic
def publication_acknowledge(
    *, actor: Any, publication: MinutesPublication
) -> MinutesAcknowledgement:
    reviewer = _reviewer(actor, publication)
    ack, created = MinutesAcknowledgement.objects.get_or_create(
        publication=publication, reviewer=reviewer
    )
    if created:
        audit(
            actor=actor,
            action="minutes.acknowledge",
            federation=publication.federation,
            organization=publication.organization,
            obj=publication,
        )
    return ack


@transaction.atomic
def question_ask(*, actor: Any, publication: MinutesPublication, text: str) -> MinutesQuestion:
    reviewer = _reviewer(actor, publication)
    question = MinutesQuestion.objects.create(
        publication=publication, asked_by=reviewer, text=_clean(text, field="text")
    )
    audit(
        actor=actor,
        action="minutes.question",
        federation=publication.federation,
        organization=publication.organization,
        obj=question,
    )
    return question


@transaction.atomic
def question_answer(*, actor: Any, question: MinutesQuestion, answer: str) -> MinutesQuestion:
    org = question.publication.organization
    require(actor, "minutes.answer_question", org)
    question = MinutesQuestion.objects.select_for_update().get(pk=question.pk)
    if question.answered_at is not None:
        raise ValidationError(_("This question was already answered."))
    question.answer = _clean(answer, field="answer")
    question.answered_by = membership_get(user=actor, organization=org)
    question.answered_at = timezone.now()
    question.save(update_fields=["answer", "answered_by", "answered_at"])
    audit(
        actor=actor,
        action="minutes.answer",
        organization=org,
        federation=question.publication.federation,
        obj=question,
    )
    return question


# --- PDF and bundles (rendered by the worker process) --------------------------------------


def _spawn_worker() -> None:
    """Start a niced worker process for the queue, unless a dedicated one runs
    (MINUTES_WORKER=external) or tests drive the queue themselves."""
    mode = getattr(settings, "MINUTES_WORKER", os.environ.get("MINUTES_WORKER", "spawn"))
    if mode != "spawn":
        return
    manage = os.path.join(settings.BASE_DIR, "manage.py")
    try:
        subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            ["nice", "-n", "10", sys.executable, manage, "minutes_worker", "--drain"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        logger.exception("could not start the minutes worker")


@transaction.atomic
def pdf_request(
    *,
    actor: Any,
    version: MinutesVersion,
    variant: str = MinutesRenderJob.Variant.STANDARD,
    signed: bool = False,
    base_url: str = "",
) -> MinutesRenderJob:
    """Queue the PDF (or return the one already rendered or under way)."""
    if not selectors.can_see_version(user=actor, version=version):
        raise PermissionDenied(_("Only members can do this."))
    if variant not in MinutesRenderJob.Variant.values:
        raise ValidationError({"variant": _("Unknown PDF variant.")})
    existing = (
        MinutesRenderJob.objects.filter(
            kind=MinutesRenderJob.Kind.PDF, version=version, variant=variant, signed=signed
        )
        .exclude(status=MinutesRenderJob.Status.FAILED)
        .order_by("-created_at")
        .first()
    )
    if existing is not None:
        return existing
    job = MinutesRenderJob.objects.create(
        kind=MinutesRenderJob.Kind.PDF,
        version=version,
        variant=variant,
        signed=signed,
        base_url=base_url[:300],
        requested_by=actor,
        progress_total=1,
    )
    transaction.on_commit(_spawn_worker)
    return job


@transaction.atomic
def bundle_request(
    *,
    actor: Any,
    federation: Federation,
    organization: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    text: str = "",
    base_url: str = "",
) -> MinutesRenderJob:
    """A reviewer's export of a period: a ZIP of the published PDFs with an index."""
    require(actor, "federation.review", federation)
    pubs = selectors.publications_search(
        user=actor,
        federation=federation,
        organization=organization,
        date_from=date_from,
        date_to=date_to,
        text=text,
    )
    job = MinutesRenderJob.objects.create(
        kind=MinutesRenderJob.Kind.BUNDLE,
        federation=federation,
        requested_by=actor,
        base_url=base_url[:300],
        progress_total=pubs.count(),
        params={
            "organization": organization,
            "date_from": date_from.isoformat() if date_from else "",
            "date_to": date_to.isoformat() if date_to else "",
            "text": text[:200],
            "publications": [str(u) for u in pubs.values_list("uuid", flat=True)],
        },
    )
    audit(
        actor=actor,
        action="minutes.bundle",
        federation=federation,
        obj=job,
        count=job.progress_total,
    )
    transaction.on_commit(_spawn_worker)
    return job
