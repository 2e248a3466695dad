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
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from assemblies import selectors as live
from assemblies.minutes import canonical, selectors
from assemblies.models import (
    AgendaItem,
    Assembly,
    ConsensusRound,
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
    Proposal,
)
from governance.audit import audit
from governance.models import (
    Decision,
    Federation,
    FederationMembership,
    Membership,
    Organization,
    RuleSet,
)
from governance.permissions import active_mandates, require

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
    # A federation's minutes are logged under the federation alone: its chain's anchors
    # are the entries without an organisation (see selectors.approval_anchors).
    audit(
        actor=actor,
        action=action,
        organization=minutes.organization,
        federation=minutes.federation if minutes.organization_id is None else None,
        obj=obj if obj is not None else minutes,
        minutes=str(minutes.uuid),
        **data,
    )


def _keeper(actor: Any, minutes: Minutes) -> None:
    if not selectors.may_keep_minutes(user=actor, minutes=minutes):
        require(actor, "assembly.take_minutes", minutes.assembly)


def _fresh(minutes: Minutes) -> Minutes:
    """Status decides what is allowed: read it from the database, not from a stale object."""
    return Minutes.objects.select_related("assembly", "organization", "federation").get(
        pk=minutes.pk
    )


def _editable(minutes: Minutes) -> None:
    if not minutes.editable:
        raise ValidationError(
            _("These minutes are approved and cannot change. Open a correction with its reason.")
        )


def _attendee(actor: Any, minutes: Minutes) -> Membership:
    """The actor's membership that attended (at a federation assembly a person may belong
    to several of its organisations: the one they checked in with)."""
    memberships = selectors.body_memberships(user=actor, minutes=minutes)
    if not memberships:
        raise PermissionDenied(_("Only members can do this."))
    for membership in memberships:
        if selectors.attended(assembly=minutes.assembly, membership=membership):
            return membership
    raise PermissionDenied(_("Only people who attended the assembly can do this."))


def _of_body(minutes: Minutes, membership: Membership) -> bool:
    """Is this a participating member of the body the minutes belong to?"""
    if not membership.is_participating:
        return False
    if minutes.organization_id is not None:
        return membership.organization_id == minutes.organization_id
    assert minutes.federation is not None
    return _current_affiliation(membership.organization, minutes.federation)


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
    """The minutes of an assembly (created on first use, by whoever keeps them). A
    federation's assembly gets minutes of the federation, chained per federation."""
    existing = Minutes.objects.filter(assembly=assembly).first()
    if existing is not None:
        return existing
    body = {"organization": assembly.organization, "federation": assembly.federation}
    probe = Minutes(assembly=assembly, **body)
    _keeper(actor, probe)
    try:
        with transaction.atomic():
            minutes = Minutes.objects.create(assembly=assembly, **body)
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
    if not _of_body(minutes, responsible):
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
    if not _of_body(minutes, membership):
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
    return selectors.approval_rules(minutes=minutes)


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
        until = timezone.localtime(minutes.amendment_until, _zone(minutes.assembly.time_zone))
        raise ValidationError(
            _(
                "Attendees can propose corrections until %(until)s. The minutes can be signed "
                "or approved once that time is over."
            )
            % {"until": formats.date_format(until, "DATETIME_FORMAT")}
        )
    if minutes.corrections.filter(status=MinutesCorrection.Status.PROPOSED).exists():
        raise ValidationError(_("Answer every proposed correction before approval."))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- Approval ------------------------------------------------------------------------------


def _chain_of(minutes: Minutes) -> dict[str, Any]:
    """The filter selecting the chain the minutes join: their organisation's, or, for a
    federation's own assemblies, the federation's."""
    if minutes.organization_id is not None:
        return {"organization_id": minutes.organization_id}
    return {"organization__isnull": True, "federation_id": minutes.federation_id}


def _approve(
    *,
    actor: Any,
    minutes: Minutes,
    approval: dict[str, Any],
    decision: Any = None,
    **audit_data: Any,
) -> MinutesVersion:
    """Freeze the draft as an approved version, chained to the body's previous approved
    minutes. The body's row lock serializes approvals of one chain."""
    if minutes.organization_id is not None:
        Organization.objects.select_for_update().filter(pk=minutes.organization_id).first()
    else:
        Federation.objects.select_for_update().filter(Q(pk=minutes.federation_id)).first()
    last = MinutesVersion.objects.filter(**_chain_of(minutes)).order_by("-chain_index").first()
    number = minutes.versions.count() + 1
    reason = minutes.correction_reason if number > 1 else ""
    content = selectors.draft_content(minutes=minutes, reason=reason, version=number)
    previous_hash = last.hash if last is not None else canonical.GENESIS
    approval = canonical.normalize(approval)
    version = MinutesVersion.objects.create(
        minutes=minutes,
        organization_id=minutes.organization_id,
        federation_id=minutes.federation_id if minutes.organization_id is None else None,
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
    minutes.approval_proposal = None
    minutes.approval_draft_hash = ""
    minutes.save(
        update_fields=["status", "correction_reason", "approval_proposal", "approval_draft_hash"]
    )
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


def _approving_assembly_checks(minutes: Minutes, assembly: Assembly) -> None:
    if _rules(minutes).minutes_approval != RuleSet.MinutesApproval.NEXT_ASSEMBLY:
        raise ValidationError(_("Your organisation approves minutes by attendees' signatures."))
    if (assembly.organization_id, assembly.federation_id) != (
        minutes.assembly.organization_id,
        minutes.assembly.federation_id,
    ):
        raise ValidationError(_("Minutes are approved by an assembly of the same organisation."))
    if assembly.pk == minutes.assembly_id or assembly.starts_at <= minutes.assembly.starts_at:
        raise ValidationError(_("Minutes are approved by a later assembly."))


@transaction.atomic
def minutes_approval_propose(*, actor: Any, minutes: Minutes, assembly: Assembly) -> Proposal:
    """Put the approval of the minutes to the next assembly: an agenda item with a proposal
    naming the exact text (its hash). The assembly decides it like any proposal (a round,
    or a vote under its rules); only its adopted decision approves the minutes."""
    from assemblies import services as live_services

    require(actor, "assembly.facilitate", assembly)
    minutes = Minutes.objects.select_for_update().get(pk=minutes.pk)
    _approving_assembly_checks(minutes, assembly)
    if assembly.status != Assembly.Status.OPEN:
        raise ValidationError(_("The approving assembly must be in session."))
    _ready_for_approval(minutes)
    pending = minutes.approval_proposal
    current = selectors.draft_hash(minutes=minutes)
    if (
        pending is not None
        and pending.status in (Proposal.Status.OPEN, Proposal.Status.HELD)
        and minutes.approval_draft_hash == current
    ):
        raise ValidationError(_("The approval of these minutes is already before an assembly."))
    when = timezone.localtime(minutes.assembly.starts_at, _zone(minutes.assembly.time_zone))
    names = {"title": minutes.assembly.title, "date": when.date().isoformat()}
    # The body's language: the decision register and the minutes read the same to everyone.
    with translation.override(selectors.body_language(minutes)):
        title = _("Approval of the minutes of “%(title)s” of %(date)s") % names
        text = _(
            "The assembly approves the minutes of “%(title)s” of %(date)s as circulated "
            "(text %(hash)s, %(url)s)."
        ) % (names | {"hash": current, "url": f"/minutes/{minutes.uuid}/"})
    item = live_services.agenda_item_propose(
        actor=actor,
        assembly=assembly,
        title=title[:200],
        kind="decision",
        description=f"/minutes/{minutes.uuid}/",
    )
    proposal = live_services.proposal_create(
        actor=actor, assembly=assembly, title=title[:200], text=text, item=item
    )
    minutes.approval_proposal = proposal
    minutes.approval_draft_hash = current
    minutes.save(update_fields=["approval_proposal", "approval_draft_hash"])
    _audit(
        actor,
        minutes,
        "minutes.approval_propose",
        obj=proposal,
        assembly=str(assembly.uuid),
        draft_hash=current,
    )
    return proposal


@transaction.atomic
def minutes_approve_at_assembly(*, actor: Any, minutes: Minutes) -> MinutesVersion:
    """Record what the next assembly decided: the minutes are approved by the decision it
    adopted on the proposal put to it, for the exact text it was shown. The version links
    that decision; its approval record names the assembly, the decision and how it was
    reached."""
    require(actor, "minutes.approve", minutes)
    minutes = Minutes.objects.select_for_update().get(pk=minutes.pk)
    rules = _rules(minutes)
    proposal = minutes.approval_proposal
    if proposal is None:
        raise ValidationError(_("Put the approval of these minutes to the next assembly first."))
    proposal = Proposal.objects.select_related("assembly", "decision").get(pk=proposal.pk)
    assembly = proposal.assembly
    _approving_assembly_checks(minutes, assembly)
    _ready_for_approval(minutes)
    decision = proposal.decision
    if proposal.status != Proposal.Status.ADOPTED or decision is None:
        raise ValidationError(_("The assembly has not adopted the approval of these minutes."))
    if decision.status != Decision.Status.IN_FORCE:
        raise ValidationError(_("The decision approving these minutes is no longer in force."))
    adopted_version = (proposal.outcome or {}).get("version")
    if adopted_version != 1:
        raise ValidationError(
            _(
                "The assembly amended the approval. Make the change in the draft and put the "
                "minutes to the assembly again."
            )
        )
    current = selectors.draft_hash(minutes=minutes)
    if current != minutes.approval_draft_hash:
        raise ValidationError(
            _(
                "The draft changed after it was put to the assembly: the assembly approved "
                "another text. Put the minutes to the assembly again."
            )
        )
    frozen = decision.attendance or {}
    how = proposal.outcome or {}
    approvers: list[dict[str, Any]] = []
    if how.get("how") == "consensus" and how.get("round"):
        rnd = ConsensusRound.objects.filter(uuid=str(how.get("round", ""))).first()
        if rnd is not None:
            approvers = [
                {
                    "name": p.membership.display_name,
                    "member_number": p.membership.member_number,
                    "role": p.stance,
                    "at": p.stated_at,
                }
                for p in live.current_positions(round=rnd)
            ]
    approval = {
        "method": RuleSet.MinutesApproval.NEXT_ASSEMBLY,
        "rules_version": rules.version,
        "draft_hash": current,
        "approved_at": decision.decided_at,
        "approving_assembly": {
            "uuid": assembly.uuid,
            "title": assembly.title,
            "starts_at": assembly.starts_at,
            "present": int(frozen.get("present", 0)),
            "quorum": int(frozen.get("quorum", 0)),
        },
        "decision": {
            "uuid": decision.uuid,
            "number": decision.number,
            "title": decision.title,
            "text": decision.text,
            "decided_at": decision.decided_at,
            "how": str(how.get("how", "")),
            "proposal": proposal.uuid,
        },
        # Who stated a position in the round that adopted it (secret votes name nobody).
        "approvers": approvers,
    }
    return _approve(
        actor=actor,
        minutes=minutes,
        approval=approval,
        decision=decision,
        method="next_assembly",
        assembly=str(assembly.uuid),
        decision_uuid=str(decision.uuid),
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
    """Make approved minutes visible to a federation's reviewers: an organisation's to a
    federation it belongs to, a federation's own minutes to that federation."""
    org = version.organization
    require(actor, "minutes.publish", version)
    if org is not None and not _current_affiliation(org, federation):
        raise ValidationError(_("Your organisation does not belong to that federation."))
    if org is None and version.federation_id != federation.pk:
        raise ValidationError(_("A federation's minutes are reviewed by that federation."))
    latest = selectors.latest_version(minutes=version.minutes)
    if latest is None or latest.pk != version.pk:
        raise ValidationError(_("Publish the latest approved version."))
    publication, created = MinutesPublication.objects.get_or_create(
        version=version,
        federation=federation,
        defaults={"organization": org, "published_by": actor},
    )
    if created:
        # Also an anchor of the chain (selectors.approval_anchors).
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
    from governance.permissions import memberships_for

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
    version = question.publication.version
    require(actor, "minutes.answer_question", version)
    question = MinutesQuestion.objects.select_for_update().get(pk=question.pk)
    if question.answered_at is not None:
        raise ValidationError(_("This question was already answered."))
    question.answer = _clean(answer, field="answer")
    # At a federation a person may belong to several of its organisations: the answer is
    # given through the membership that holds the mandate.
    memberships = selectors.body_memberships(user=actor, minutes=version.minutes)
    holders = set(
        active_mandates(memberships, ["facilitator", "minute_taker", "delegate"]).values_list(
            "membership_id", flat=True
        )
    )
    question.answered_by = next((m for m in memberships if m.pk in holders), memberships[0])
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
    (MINUTES_WORKER=external) or tests drive the queue themselves.

    Only with a free render slot, which the new process inherits: a burst of requests thus
    starts at most MINUTES_PDF_WORKERS processes, not one each. With every slot taken the
    job waits in the queue; the slot holders look at the queue again before they exit."""
    from assemblies.minutes import worker

    mode = getattr(settings, "MINUTES_WORKER", os.environ.get("MINUTES_WORKER", "spawn"))
    if mode != "spawn":
        return
    slot = worker.try_slot()
    if slot is None:
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
            pass_fds=(slot,),
            env={**os.environ, worker.SLOT_FD_ENV: str(slot)},
        )
    except OSError:
        logger.exception("could not start the minutes worker")
    finally:
        # The child holds the lock through its copy of the descriptor.
        worker.release_slot(slot)


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
