"""Every write of a live assembly: keyword-only, transactional, permission-checked, audited,
and ending with one event in the assembly's log (broadcast after commit)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from assemblies import bursts, events, fragments, selectors
from assemblies.models import (
    AgendaItem,
    Assembly,
    Attendance,
    Ballot,
    ConsensusRound,
    Position,
    Proposal,
    ProposalVersion,
    SpeakingRequest,
    Vote,
    VoteCount,
    VoteParticipation,
)
from governance import attachments
from governance import services as gov
from governance.audit import audit
from governance.models import Decision, Federation, Mandate, Membership, Organization, RuleSet
from governance.permissions import may, require

# Room codes avoid look-alike characters (0/O, 1/I/L): read aloud or copied from a wall.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_TEXT = 5000


# --- Helpers --------------------------------------------------------------------------------


def _audit(actor: Any, assembly: Assembly, action: str, obj: Any = None, **data: Any) -> None:
    audit(
        actor=actor,
        action=action,
        organization_id=assembly.organization_id,
        federation_id=assembly.federation_id,
        obj=obj if obj is not None else assembly,
        assembly=str(assembly.uuid),
        **data,
    )


def _emit(
    assembly: Assembly,
    event_kind: str,
    regions: list[str],
    *,
    hints: dict[str, Any] | None = None,
    **data: Any,
) -> None:
    with fragments.hints(**(hints or {})):
        events.emit(assembly=assembly, kind=event_kind, data=data, regions=regions)


def _participant(actor: Any, assembly: Assembly) -> Membership:
    # Taking part needs membership and no mandate (`assembly.participate` grants it to every
    # member), so the one membership lookup answers both questions: this runs on every
    # position and ballot of a storm.
    membership = selectors.membership_for(user=actor, assembly=assembly)
    if membership is None:
        raise PermissionDenied(_("Only members can do this."))
    return membership


def _present(actor: Any, assembly: Assembly) -> Membership:
    membership = _participant(actor, assembly)
    if not selectors.is_present(assembly=assembly, membership=membership):
        raise ValidationError(_("Check in first: only people present at the assembly take part."))
    return membership


def _facilitate(actor: Any, assembly: Assembly) -> None:
    require(actor, "assembly.facilitate", assembly)


def _facilitate_or_unfacilitated(actor: Any, assembly: Assembly) -> None:
    """Convening and opening: by a facilitator, or, where no mandate covers this assembly
    (no roster, nobody elected), by any member; the room then agrees on its facilitator."""
    if is_facilitator(user=actor, assembly=assembly):
        return
    _participant(actor, assembly)
    if assembly.organization_id is None or _facilitators_exist(assembly):
        _facilitate(actor, assembly)


def _must_be_open(assembly: Assembly) -> None:
    if assembly.status != Assembly.Status.OPEN:
        raise ValidationError(_("The assembly is not open."))


def _not_closed(assembly: Assembly) -> None:
    if assembly.status == Assembly.Status.CLOSED:
        raise ValidationError(_("The assembly is closed."))


def _clean_text(value: str, *, field: str, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("This field is required.")})
    if len(value) > limit:
        raise ValidationError({field: _("This text is too long.")})
    return value


def _rules_snapshot(
    *, organization: Organization | None, at: datetime | None = None
) -> dict[str, Any]:
    if organization is not None:
        try:
            return gov.rules_in_force(organization=organization, at=at).snapshot()
        except RuleSet.DoesNotExist:
            pass
    # Federations keep no rule set of their own here: the defaults apply, and are recorded.
    snap = RuleSet().snapshot()
    snap["version"] = None
    return snap


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_facilitator(*, user: Any, assembly: Assembly) -> bool:
    return may(user, "assembly.facilitate", assembly)


# --- Assembly -------------------------------------------------------------------------------


@transaction.atomic
def assembly_create(
    *,
    actor: Any,
    title: str,
    starts_at: datetime,
    organization: Organization | None = None,
    federation: Federation | None = None,
    place: str = "",
    require_code: bool = False,
    progressive_stack: bool = False,
    speaking_limit_seconds: int | None = None,
) -> Assembly:
    """Any member may call an assembly; it starts as a draft anyone can add items to."""
    if (organization is None) == (federation is None):
        raise ValidationError(_("An assembly belongs to an organisation or to a federation."))
    body: Any = organization or federation
    require(actor, "assembly.create", body)
    if speaking_limit_seconds is not None and speaking_limit_seconds < 10:
        raise ValidationError({"speaking_limit_seconds": _("Give at least 10 seconds.")})
    assembly = Assembly.objects.create(
        organization=organization,
        federation=federation,
        title=_clean_text(title, field="title", limit=200),
        starts_at=starts_at,
        place=_clean_text(place, field="place", required=False, limit=200),
        code=_new_code(),
        require_code=require_code,
        progressive_stack=progressive_stack,
        speaking_limit_seconds=speaking_limit_seconds,
        rules=_rules_snapshot(organization=organization, at=starts_at),
        created_by=actor,
    )
    _audit(actor, assembly, "assembly.create", title=assembly.title)
    _emit(assembly, "assembly.create", ["status"])
    return assembly


@transaction.atomic
def assembly_update(
    *,
    actor: Any,
    assembly: Assembly,
    title: str | None = None,
    starts_at: datetime | None = None,
    place: str | None = None,
    require_code: bool | None = None,
    progressive_stack: bool | None = None,
    speaking_limit_seconds: int | None | bool = False,
) -> Assembly:
    """Settings a facilitator may change (`speaking_limit_seconds=False` leaves it as is)."""
    _facilitate(actor, assembly)
    _not_closed(assembly)
    if title is not None:
        assembly.title = _clean_text(title, field="title", limit=200)
    if starts_at is not None:
        assembly.starts_at = starts_at
    if place is not None:
        assembly.place = _clean_text(place, field="place", required=False, limit=200)
    if require_code is not None:
        assembly.require_code = require_code
    if progressive_stack is not None:
        assembly.progressive_stack = progressive_stack
    if speaking_limit_seconds is not False:
        if speaking_limit_seconds is not None and int(speaking_limit_seconds) < 10:
            raise ValidationError({"speaking_limit_seconds": _("Give at least 10 seconds.")})
        assembly.speaking_limit_seconds = speaking_limit_seconds  # type: ignore[assignment]
    # Only the settings: last_seq and current_item belong to other writers.
    assembly.save(
        update_fields=[
            "title",
            "starts_at",
            "place",
            "require_code",
            "progressive_stack",
            "speaking_limit_seconds",
        ]
    )
    _audit(actor, assembly, "assembly.update")
    _emit(assembly, "assembly.update", ["status", "queue"])
    return assembly


@transaction.atomic
def assembly_convene(*, actor: Any, assembly: Assembly) -> Assembly:
    _facilitate_or_unfacilitated(actor, assembly)
    if assembly.status != Assembly.Status.DRAFT:
        raise ValidationError(_("Only a draft assembly can be convened."))
    assembly.status = Assembly.Status.CONVENED
    assembly.save(update_fields=["status"])
    _audit(actor, assembly, "assembly.convene")
    _emit(assembly, "assembly.convene", ["status"])
    return assembly


@transaction.atomic
def assembly_open(*, actor: Any, assembly: Assembly) -> Assembly:
    """Open the assembly: the rules in force now are the ones it works by."""
    _facilitate_or_unfacilitated(actor, assembly)
    if assembly.status not in (Assembly.Status.DRAFT, Assembly.Status.CONVENED):
        raise ValidationError(_("This assembly was already opened."))
    now = timezone.now()
    assembly.status = Assembly.Status.OPEN
    assembly.opened_at = now
    assembly.rules = _rules_snapshot(organization=assembly.organization, at=now)
    assembly.save(update_fields=["status", "opened_at", "rules"])
    _audit(actor, assembly, "assembly.open", rules_version=assembly.rules.get("version"))
    _emit(assembly, "assembly.open", ["status", "attendance", "agenda", "queue", "round"])
    return assembly


@transaction.atomic
def assembly_close(*, actor: Any, assembly: Assembly) -> Assembly:
    """Close: the speaker's turn ends and everyone still present is checked out."""
    _facilitate(actor, assembly)
    _must_be_open(assembly)
    if selectors.open_round(assembly=assembly) or selectors.open_vote(assembly=assembly):
        raise ValidationError(_("Close the open round or vote first."))
    now = timezone.now()
    SpeakingRequest.objects.filter(assembly=assembly, state=SpeakingRequest.State.SPEAKING).update(
        state=SpeakingRequest.State.DONE, ended_at=now
    )
    SpeakingRequest.objects.filter(assembly=assembly, state=SpeakingRequest.State.WAITING).update(
        state=SpeakingRequest.State.WITHDRAWN
    )
    AgendaItem.objects.filter(assembly=assembly, status=AgendaItem.Status.CURRENT).update(
        status=AgendaItem.Status.DONE, ended_at=now
    )
    Attendance.objects.filter(assembly=assembly, checked_out_at__isnull=True).update(
        checked_out_at=now
    )
    assembly.status = Assembly.Status.CLOSED
    assembly.closed_at = now
    assembly.current_item = None
    assembly.save(update_fields=["status", "closed_at", "current_item"])
    _audit(actor, assembly, "assembly.close")
    _emit(
        assembly,
        "assembly.close",
        ["status", "agenda", "attendance", "queue", "proposals", "round"],
    )
    return assembly


@transaction.atomic
def assembly_mandate_agree(
    *,
    actor: Any,
    assembly: Assembly,
    membership: Membership,
    role: str,
    hours: int = 12,
) -> Mandate:
    """The assembly agrees who facilitates it or keeps its minutes, and records it: a
    decision of the body plus a mandate limited to this one assembly.

    A current facilitator records it; when nobody holds a facilitator mandate for this
    assembly (no roster covers it), anyone present may record what the room agreed."""
    if role not in (Mandate.Role.FACILITATOR, Mandate.Role.MINUTE_TAKER):
        raise ValidationError(_("An assembly agrees only on facilitators and minute-takers."))
    _must_be_open(assembly)
    if not is_facilitator(user=actor, assembly=assembly):
        _present(actor, assembly)
        if _facilitators_exist(assembly):
            raise PermissionDenied(_("This assembly has a facilitator: ask them to record it."))
    if (
        not selectors.eligible_memberships(assembly=assembly).filter(pk=membership.pk).exists()
        or not membership.is_active
    ):
        raise ValidationError(
            _("Only active members of the organisation can hold this mandate.")
            if assembly.organization_id is not None
            else _("Only active members of the federation's organisations can hold this mandate.")
        )
    summary = selectors.attendance_summary(assembly=assembly)
    now = timezone.now()
    role_label = Mandate.Role(role).label
    # The decision goes to the register of the body that met: the organisation, or the
    # federation for a federation assembly (whose mandate then answers to the federation).
    decision = gov.decision_record(
        actor=actor,
        organization=assembly.organization,
        federation=assembly.federation if assembly.organization_id is None else None,
        title=_("%(role)s of the assembly “%(title)s”")
        % {"role": role_label, "title": assembly.title},
        text=_("The assembly agrees that %(name)s is %(role)s of this assembly.")
        % {"name": membership.display_name, "role": str(role_label).lower()},
        body=assembly.title,
        decided_at=now,
        attendance=selectors.attendance_snapshot(assembly=assembly, at=now) | summary.as_dict(),
        links=[f"/assemblies/{assembly.uuid}/"],
        check_permission=False,
    )
    mandate = gov.mandate_grant(
        actor=actor,
        membership=membership,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=max(1, min(hours, 72))),
        decision=decision,
        object_kind="assembly",
        object_uuid=assembly.uuid,
        check_permission=False,
    )
    _audit(
        actor,
        assembly,
        "assembly.mandate_agree",
        obj=mandate,
        role=role,
        member=membership.member_number,
    )
    _emit(assembly, "assembly.mandate", ["status"], role=role, member=str(membership.uuid))
    return mandate


def _facilitators_exist(assembly: Assembly) -> bool:
    from django.db.models import Q

    now = timezone.now()
    this_assembly = Q(scope_kind=Mandate.ScopeKind.OBJECT, object_uuid=assembly.uuid)
    if assembly.organization_id is not None:
        covers = Q(
            Q(scope_kind=Mandate.ScopeKind.ORGANIZATION) | this_assembly,
            membership__organization_id=assembly.organization_id,
        )
    else:
        covers = Q(
            scope_kind=Mandate.ScopeKind.FEDERATION, federation_id=assembly.federation_id
        ) | Q(this_assembly, source_decision__federation_id=assembly.federation_id)
    return Mandate.objects.filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=now),
        covers,
        role=Mandate.Role.FACILITATOR,
        membership__status=Membership.Status.ACTIVE,
        starts_at__lte=now,
        ends_at__gt=now,
    ).exists()


# --- Agenda ---------------------------------------------------------------------------------


@transaction.atomic
def agenda_item_propose(
    *,
    actor: Any,
    assembly: Assembly,
    title: str,
    kind: str = AgendaItem.Kind.DISCUSSION,
    description: str = "",
    time_box_minutes: int | None = None,
    attachment: dict[str, Any] | None = None,
) -> AgendaItem:
    """Any member may put an item on the agenda before or during the assembly."""
    membership = _participant(actor, assembly)
    _not_closed(assembly)
    if kind not in AgendaItem.Kind.values:
        raise ValidationError({"kind": _("Choose information, discussion or decision.")})
    if time_box_minutes is not None and not 1 <= int(time_box_minutes) <= 600:
        raise ValidationError({"time_box_minutes": _("Give between 1 and 600 minutes.")})
    clean_attachment: dict[str, Any] = {}
    if attachment:
        key = str(attachment.get("kind", ""))
        spec = attachments.get(key)
        if spec is None:
            raise ValidationError({"attachment": _("Unknown kind of attachment.")})
        if assembly.organization is None:
            raise ValidationError({"attachment": _("Attachments belong to an organisation.")})
        params = {k: v for k, v in attachment.items() if k != "kind"}
        clean_attachment = {"kind": key, **spec.clean(assembly.organization, params)}
    Assembly.objects.select_for_update().filter(pk=assembly.pk).first()
    last = AgendaItem.objects.filter(assembly=assembly).aggregate(m=Max("order"))["m"] or 0
    item = AgendaItem.objects.create(
        assembly=assembly,
        order=last + 1,
        kind=kind,
        title=_clean_text(title, field="title", limit=200),
        description=_clean_text(description, field="description", required=False),
        time_box_minutes=time_box_minutes,
        proposed_by=membership,
        attachment=clean_attachment,
    )
    _audit(actor, assembly, "agenda.propose", obj=item, title=item.title)
    _emit(assembly, "agenda.propose", ["agenda"], item=str(item.uuid))
    return item


@transaction.atomic
def agenda_reorder(*, actor: Any, assembly: Assembly, items: list[Any]) -> list[AgendaItem]:
    """Put the agenda in the given order (a list of item uuids, every item once)."""
    _facilitate(actor, assembly)
    _not_closed(assembly)
    current = {
        str(i.uuid): i for i in AgendaItem.objects.select_for_update().filter(assembly=assembly)
    }
    wanted = [str(u) for u in items]
    if sorted(wanted) != sorted(current) or len(set(wanted)) != len(wanted):
        raise ValidationError({"items": _("List every agenda item exactly once.")})
    # Two steps so the unique (assembly, order) constraint holds at every statement.
    offset = len(current) + 1000
    for pos, key in enumerate(wanted, start=1):
        AgendaItem.objects.filter(pk=current[key].pk).update(order=offset + pos)
    for pos, key in enumerate(wanted, start=1):
        AgendaItem.objects.filter(pk=current[key].pk).update(order=pos)
    _audit(actor, assembly, "agenda.reorder", order=wanted)
    _emit(assembly, "agenda.reorder", ["agenda", "status"])
    return list(AgendaItem.objects.filter(assembly=assembly).order_by("order"))


@transaction.atomic
def agenda_item_update(
    *,
    actor: Any,
    item: AgendaItem,
    title: str | None = None,
    description: str | None = None,
    time_box_minutes: int | None | bool = False,
    kind: str | None = None,
) -> AgendaItem:
    assembly = item.assembly
    _facilitate(actor, assembly)
    _not_closed(assembly)
    if title is not None:
        item.title = _clean_text(title, field="title", limit=200)
    if description is not None:
        item.description = _clean_text(description, field="description", required=False)
    if kind is not None:
        if kind not in AgendaItem.Kind.values:
            raise ValidationError({"kind": _("Choose information, discussion or decision.")})
        item.kind = kind
    if time_box_minutes is not False:
        if time_box_minutes is not None and not 1 <= int(time_box_minutes) <= 600:
            raise ValidationError({"time_box_minutes": _("Give between 1 and 600 minutes.")})
        item.time_box_minutes = time_box_minutes  # type: ignore[assignment]
    item.save(update_fields=["title", "description", "kind", "time_box_minutes"])
    _audit(actor, assembly, "agenda.update", obj=item)
    _emit(assembly, "agenda.update", ["agenda", "status"], item=str(item.uuid))
    return item


@transaction.atomic
def agenda_item_set_current(*, actor: Any, item: AgendaItem) -> AgendaItem:
    """Move the assembly to this item: every screen follows."""
    assembly = item.assembly
    _facilitate(actor, assembly)
    _must_be_open(assembly)
    if item.status == AgendaItem.Status.CURRENT:
        raise ValidationError(_("This item is already under discussion."))
    if selectors.open_round(assembly=assembly) or selectors.open_vote(assembly=assembly):
        raise ValidationError(_("Close the open round or vote first."))
    now = timezone.now()
    previous = AgendaItem.objects.filter(assembly=assembly, status=AgendaItem.Status.CURRENT)
    SpeakingRequest.objects.filter(item__in=previous, state=SpeakingRequest.State.SPEAKING).update(
        state=SpeakingRequest.State.DONE, ended_at=now
    )
    previous.update(status=AgendaItem.Status.DONE, ended_at=now)
    item.status = AgendaItem.Status.CURRENT
    item.started_at = item.started_at or now
    item.ended_at = None
    item.save(update_fields=["status", "started_at", "ended_at"])
    assembly.current_item = item
    assembly.save(update_fields=["current_item"])
    _audit(actor, assembly, "agenda.current", obj=item)
    _emit(
        assembly,
        "agenda.current",
        ["status", "agenda", "queue", "proposals", "round"],
        item=str(item.uuid),
    )
    return item


# --- Attendance -----------------------------------------------------------------------------


def _check_in(*, actor: Any, assembly: Assembly, membership: Membership, method: str) -> Attendance:
    if assembly.status not in (Assembly.Status.CONVENED, Assembly.Status.OPEN):
        raise ValidationError(_("Check-in opens when the assembly is convened."))
    already = _("%(name)s is already checked in.") % {"name": membership.display_name}
    if selectors.is_present(assembly=assembly, membership=membership):
        raise ValidationError(already)
    try:
        # The open-attendance constraint is the real guard when two check-ins race.
        with transaction.atomic():
            attendance = Attendance.objects.create(
                assembly=assembly,
                membership=membership,
                method=method,
                checked_in_by=actor,
            )
    except IntegrityError as exc:
        raise ValidationError(already) from exc
    _audit(
        actor,
        assembly,
        "attendance.check_in",
        obj=attendance,
        member=membership.member_number,
        method=method,
    )
    _emit(assembly, "attendance.check_in", ["attendance"], member=str(membership.uuid))
    return attendance


@transaction.atomic
def attendance_check_in(*, actor: Any, assembly: Assembly, code: str = "") -> Attendance:
    """Check myself in from my phone, with the room code when the assembly asks for it."""
    membership = _participant(actor, assembly)
    if not membership.is_active:
        raise ValidationError(_("Members on leave do not take part in assemblies."))
    code = (code or "").strip().upper()
    if assembly.require_code and not secrets.compare_digest(code, assembly.code):
        raise ValidationError(
            {"code": _("That is not the room code. Look at the screen or ask the facilitator.")}
        )
    method = Attendance.Method.CODE if assembly.require_code else Attendance.Method.SELF
    return _check_in(actor=actor, assembly=assembly, membership=membership, method=method)


@transaction.atomic
def attendance_check_in_member(
    *, actor: Any, assembly: Assembly, membership: Membership
) -> Attendance:
    """The facilitator checks in someone without a phone."""
    _facilitate(actor, assembly)
    if not selectors.eligible_memberships(assembly=assembly).filter(pk=membership.pk).exists():
        raise ValidationError(_("Only members can take part in this assembly."))
    if not membership.is_active:
        raise ValidationError(_("Members on leave do not take part in assemblies."))
    return _check_in(
        actor=actor,
        assembly=assembly,
        membership=membership,
        method=Attendance.Method.FACILITATOR,
    )


@transaction.atomic
def attendance_check_out(
    *, actor: Any, assembly: Assembly, membership: Membership | None = None
) -> Attendance:
    """Check out myself, or (facilitator) someone else. Raised hands are withdrawn."""
    own = selectors.membership_for(user=actor, assembly=assembly)
    if membership is None or (own is not None and membership.pk == own.pk):
        membership = _participant(actor, assembly)
    else:
        _facilitate(actor, assembly)
    attendance = (
        Attendance.objects.select_for_update()
        .filter(assembly=assembly, membership=membership, checked_out_at__isnull=True)
        .first()
    )
    if attendance is None:
        raise ValidationError(_("%(name)s is not checked in.") % {"name": membership.display_name})
    now = timezone.now()
    attendance.checked_out_at = now
    attendance.save(update_fields=["checked_out_at"])
    SpeakingRequest.objects.filter(
        assembly=assembly, membership=membership, state=SpeakingRequest.State.WAITING
    ).update(state=SpeakingRequest.State.WITHDRAWN)
    SpeakingRequest.objects.filter(
        assembly=assembly, membership=membership, state=SpeakingRequest.State.SPEAKING
    ).update(state=SpeakingRequest.State.DONE, ended_at=now)
    _audit(actor, assembly, "attendance.check_out", obj=attendance, member=membership.member_number)
    _emit(assembly, "attendance.check_out", ["attendance", "queue"], member=str(membership.uuid))
    return attendance


# --- Speaking queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    request: SpeakingRequest
    place: int | None
    reason: str


@transaction.atomic
def speaker_add(
    *, actor: Any, assembly: Assembly, kind: str = SpeakingRequest.Kind.NORMAL
) -> Place:
    """Raise my hand on the current item. A point of process or clarification jumps the
    queue; anyone present may raise one."""
    membership = _present(actor, assembly)
    _must_be_open(assembly)
    if kind not in SpeakingRequest.Kind.values:
        raise ValidationError({"kind": _("Unknown kind of request to speak.")})
    if assembly.current_item_id is None:
        raise ValidationError(_("No agenda item is under discussion yet."))
    exists = _("Your hand is already raised.")
    if SpeakingRequest.objects.filter(
        item_id=assembly.current_item_id,
        membership=membership,
        kind=kind,
        state=SpeakingRequest.State.WAITING,
    ).exists():
        raise ValidationError(exists)
    try:
        with transaction.atomic():
            request = SpeakingRequest.objects.create(
                assembly=assembly,
                item_id=assembly.current_item_id,
                membership=membership,
                kind=kind,
            )
    except IntegrityError as exc:
        raise ValidationError(exists) from exc
    _audit(actor, assembly, "speaker.add", obj=request, kind=kind)
    _emit(assembly, "queue.add", ["queue"], member=str(membership.uuid), kind=kind)
    return _place_of(assembly, request)


def _place_of(assembly: Assembly, request: SpeakingRequest) -> Place:
    for entry in selectors.queue(assembly=assembly):
        if entry.request.pk == request.pk:
            return Place(request=request, place=entry.place, reason=entry.reason)
    return Place(request=request, place=None, reason="")


@transaction.atomic
def speaker_withdraw(*, actor: Any, request: SpeakingRequest) -> SpeakingRequest:
    """Lower my hand (or the facilitator lowers someone's)."""
    assembly = request.assembly
    own = selectors.membership_for(user=actor, assembly=assembly)
    if own is None or own.pk != request.membership_id:
        _facilitate(actor, assembly)
    if request.state != SpeakingRequest.State.WAITING:
        raise ValidationError(_("This hand is no longer raised."))
    request.state = SpeakingRequest.State.WITHDRAWN
    request.save(update_fields=["state"])
    _audit(actor, assembly, "speaker.withdraw", obj=request)
    _emit(assembly, "queue.withdraw", ["queue"], member=str(request.membership.uuid))
    return request


def _end_current_turn(assembly: Assembly, now: datetime) -> SpeakingRequest | None:
    current = (
        SpeakingRequest.objects.select_for_update()
        .filter(item_id=assembly.current_item_id, state=SpeakingRequest.State.SPEAKING)
        .first()
    )
    if current is not None:
        current.state = SpeakingRequest.State.DONE
        current.ended_at = now
        current.save(update_fields=["state", "ended_at"])
    return current


def _give_floor(actor: Any, assembly: Assembly, request: SpeakingRequest) -> SpeakingRequest:
    now = timezone.now()
    _end_current_turn(assembly, now)
    request.state = SpeakingRequest.State.SPEAKING
    request.started_at = now
    request.limit_seconds = assembly.speaking_limit_seconds
    request.save(update_fields=["state", "started_at", "limit_seconds"])
    _audit(actor, assembly, "speaker.call", obj=request, member=request.membership.member_number)
    _emit(
        assembly,
        "queue.call",
        ["queue"],
        member=str(request.membership.uuid),
        started_at=now.isoformat(),
        limit=request.limit_seconds,
    )
    return request


@transaction.atomic
def speaker_next(*, actor: Any, assembly: Assembly) -> SpeakingRequest | None:
    """End the current turn and give the floor to the first in the queue (None: empty)."""
    _facilitate(actor, assembly)
    _must_be_open(assembly)
    Assembly.objects.select_for_update().filter(pk=assembly.pk).first()
    entries = selectors.queue(assembly=assembly)
    if not entries:
        ended = _end_current_turn(assembly, timezone.now())
        if ended is not None:
            _audit(actor, assembly, "speaker.finish", obj=ended)
            _emit(assembly, "queue.finish", ["queue"])
        return None
    return _give_floor(actor, assembly, entries[0].request)


@transaction.atomic
def speaker_call(*, actor: Any, request: SpeakingRequest) -> SpeakingRequest:
    """Give the floor to this person (out of order, by the facilitator's judgement)."""
    assembly = request.assembly
    _facilitate(actor, assembly)
    _must_be_open(assembly)
    request = SpeakingRequest.objects.select_for_update().get(pk=request.pk)
    if (
        request.state != SpeakingRequest.State.WAITING
        or request.item_id != assembly.current_item_id
    ):
        raise ValidationError(_("This person is not waiting to speak on the current item."))
    return _give_floor(actor, assembly, request)


@transaction.atomic
def speaker_finish(*, actor: Any, assembly: Assembly) -> SpeakingRequest:
    _facilitate(actor, assembly)
    ended = _end_current_turn(assembly, timezone.now())
    if ended is None:
        raise ValidationError(_("Nobody is speaking."))
    _audit(actor, assembly, "speaker.finish", obj=ended)
    _emit(assembly, "queue.finish", ["queue"], member=str(ended.membership.uuid))
    return ended


# --- Proposals ------------------------------------------------------------------------------


@transaction.atomic
def proposal_create(
    *, actor: Any, assembly: Assembly, title: str, text: str, item: AgendaItem | None = None
) -> Proposal:
    """Any participant present puts a proposal on an item (by default the current one)."""
    membership = _present(actor, assembly)
    _must_be_open(assembly)
    item = item or assembly.current_item
    if item is None or item.assembly_id != assembly.pk:
        raise ValidationError(_("Choose the agenda item the proposal is about."))
    proposal = Proposal.objects.create(
        assembly=assembly,
        item=item,
        proposed_by=membership,
        title=_clean_text(title, field="title", limit=200),
    )
    ProposalVersion.objects.create(
        proposal=proposal,
        number=1,
        text=_clean_text(text, field="text"),
        author=membership,
    )
    _audit(actor, assembly, "proposal.create", obj=proposal, title=proposal.title)
    _emit(assembly, "proposal.create", ["proposals"], proposal=str(proposal.uuid))
    return proposal


def _editable(proposal: Proposal) -> None:
    if proposal.status not in (Proposal.Status.OPEN, Proposal.Status.HELD):
        raise ValidationError(_("This proposal was already decided or withdrawn."))
    if (
        proposal.rounds.filter(closed_at__isnull=True).exists()
        or proposal.votes.filter(closed_at__isnull=True).exists()
    ):
        raise ValidationError(_("Wait until the open round or vote is closed."))


@transaction.atomic
def proposal_amend(*, actor: Any, proposal: Proposal, text: str, note: str = "") -> ProposalVersion:
    """A new version of the text; the earlier versions stay. A held proposal may come back
    to a new round after changes."""
    assembly = proposal.assembly
    membership = _present(actor, assembly)
    _must_be_open(assembly)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    _editable(proposal)
    last = proposal.versions.aggregate(n=Max("number"))["n"] or 0
    version = ProposalVersion.objects.create(
        proposal=proposal,
        number=last + 1,
        text=_clean_text(text, field="text"),
        note=_clean_text(note, field="note", required=False, limit=1000),
        author=membership,
    )
    if proposal.status == Proposal.Status.HELD:
        proposal.status = Proposal.Status.OPEN
        proposal.save(update_fields=["status"])
    _audit(actor, assembly, "proposal.amend", obj=proposal, version=version.number)
    _emit(
        assembly,
        "proposal.amend",
        ["proposals"],
        proposal=str(proposal.uuid),
        version=version.number,
    )
    return version


@transaction.atomic
def proposal_withdraw(*, actor: Any, proposal: Proposal) -> Proposal:
    assembly = proposal.assembly
    own = selectors.membership_for(user=actor, assembly=assembly)
    if own is None or own.pk != proposal.proposed_by_id:
        _facilitate(actor, assembly)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    _editable(proposal)
    proposal.status = Proposal.Status.WITHDRAWN
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_at"])
    _audit(actor, assembly, "proposal.withdraw", obj=proposal)
    _emit(assembly, "proposal.withdraw", ["proposals"], proposal=str(proposal.uuid))
    return proposal


def _require_quorum(assembly: Assembly) -> selectors.AttendanceSummary:
    summary = selectors.attendance_summary(assembly=assembly)
    if not summary.quorum_met:
        raise ValidationError(
            _("No quorum: %(present)d present, %(quorum)d needed. Nothing can be decided.")
            % {"present": summary.present, "quorum": summary.quorum}
        )
    return summary


def _adopt(
    *,
    actor: Any,
    proposal: Proposal,
    version: ProposalVersion,
    how: dict[str, Any],
    attendance: dict[str, Any],
) -> Decision:
    assembly = proposal.assembly
    decision = gov.decision_record(
        actor=actor,
        organization=assembly.organization,
        federation=assembly.federation,
        title=proposal.title,
        text=version.text,
        body=assembly.title,
        attendance=attendance,
        links=[f"/assemblies/{assembly.uuid}/"],
        check_permission=False,
    )
    proposal.status = Proposal.Status.ADOPTED
    proposal.decision = decision
    proposal.decided_at = decision.decided_at
    proposal.outcome = how | {"version": version.number, "decision": str(decision.uuid)}
    proposal.save(update_fields=["status", "decision", "decided_at", "outcome"])
    # What another app attached to the item (an income split, a loan) takes effect with the
    # decision, in this same transaction.
    attachments.adopted(
        item_attachment=proposal.item.attachment,
        organization=assembly.organization,
        decision=decision,
        actor=actor,
    )
    return decision


# --- Consensus rounds -----------------------------------------------------------------------


@transaction.atomic
def round_open(*, actor: Any, proposal: Proposal) -> ConsensusRound:
    assembly = proposal.assembly
    _facilitate(actor, assembly)
    _must_be_open(assembly)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    _editable(proposal)
    if selectors.open_round(assembly=assembly) or selectors.open_vote(assembly=assembly):
        raise ValidationError(_("Another round or vote is still open."))
    version = proposal.versions.order_by("-number").first()
    if version is None:  # pragma: no cover - every proposal is created with its first version
        raise ValidationError(_("This proposal has no text."))
    number = (proposal.rounds.aggregate(n=Max("number"))["n"] or 0) + 1
    rnd = ConsensusRound.objects.create(
        proposal=proposal,
        version=version,
        number=number,
        opened_by=actor,
    )
    _audit(actor, assembly, "round.open", obj=rnd, proposal=str(proposal.uuid), number=number)
    _emit(assembly, "round.open", ["round", "proposals"], round=str(rnd.uuid), number=number)
    return rnd


@dataclass(frozen=True)
class PositionResult:
    position: Position
    replaced: Position | None


def position_state(
    *, actor: Any, round: ConsensusRound, stance: str, text: str = ""
) -> PositionResult:
    """State my position. A second one replaces the first; the change is kept."""
    with bursts.gate.answering(("round", round.pk), partial(_round_tally_catch_up, round.pk)) as b:
        return _position_state(actor=actor, round=round, stance=stance, text=text, burst=b)


@transaction.atomic
def _round_tally_catch_up(round_pk: int) -> None:
    """The tally event a burst of positions skipped (see `assemblies.bursts`)."""
    rnd = (
        ConsensusRound.objects.select_for_update()
        .select_related("proposal__assembly")
        .get(pk=round_pk)
    )
    if rnd.closed_at is not None:
        return  # closing the round rendered it with its final tally
    tally = selectors.round_tally(round=rnd)
    _emit(
        rnd.proposal.assembly,
        "round.position",
        ["round_tally"],
        hints={"round": rnd, "tally": tally},
        round=str(rnd.uuid),
        tally=tally,
    )


@transaction.atomic
def _position_state(
    *, actor: Any, round: ConsensusRound, stance: str, text: str, burst: bursts.Burst
) -> PositionResult:
    assembly = round.proposal.assembly
    membership = _participant(actor, assembly)
    if stance not in Position.Stance.values:
        raise ValidationError({"stance": _("Choose agree, concern, stand aside or block.")})
    text = _clean_text(text, field="text", required=False, limit=2000)
    if stance != Position.Stance.AGREE and not text:
        messages = {
            Position.Stance.CONCERN: _("Say what your concern is."),
            Position.Stance.STAND_ASIDE: _("Say why you stand aside."),
            Position.Stance.BLOCK: _("Say why you block: a block needs a reason."),
        }
        raise ValidationError({"text": messages[stance]})  # type: ignore[index]
    # Lock the round so a close and a late position cannot interleave.
    rnd = ConsensusRound.objects.select_for_update().get(pk=round.pk)
    if rnd.closed_at is not None:
        raise ValidationError(_("This round is closed: positions can no longer be stated."))
    if not selectors.is_present(assembly=assembly, membership=membership):
        raise ValidationError(_("Check in first: only people present state a position."))
    now = timezone.now()
    previous: Position | None = selectors.only_row(
        Position.objects.select_for_update().filter(
            round=rnd, membership=membership, superseded_at__isnull=True
        )
    )
    if previous is not None:
        if previous.stance == stance and previous.text == text:
            return PositionResult(position=previous, replaced=None)
        previous.superseded_at = now
        previous.save(update_fields=["superseded_at"])
    try:
        with transaction.atomic():
            position = Position.objects.create(
                round=rnd,
                membership=membership,
                stance=stance,
                text=text,
                stated_at=now,
            )
    except IntegrityError as exc:
        raise ValidationError(_("Your position was just recorded: try again.")) from exc
    _audit(
        actor,
        assembly,
        "position.state",
        obj=position,
        round=str(rnd.uuid),
        stance=stance,
        replaced=getattr(previous, "stance", None),
    )
    if burst.emit_now():
        tally = selectors.round_tally(round=rnd)
        _emit(
            assembly,
            "round.position",
            ["round_tally"],
            hints={"round": rnd, "tally": tally},
            round=str(rnd.uuid),
            tally=tally,
        )
    return PositionResult(position=position, replaced=previous)


@transaction.atomic
def concern_address(*, actor: Any, position: Position, note: str = "") -> Position:
    assembly = position.round.proposal.assembly
    _facilitate(actor, assembly)
    if position.stance != Position.Stance.CONCERN or position.superseded_at is not None:
        raise ValidationError(_("Only a current concern can be marked as addressed."))
    if position.addressed_at is not None:
        raise ValidationError(_("This concern was already addressed."))
    position.addressed_at = timezone.now()
    position.addressed_note = _clean_text(note, field="note", required=False, limit=1000)
    position.save(update_fields=["addressed_at", "addressed_note"])
    _audit(actor, assembly, "concern.address", obj=position)
    _emit(assembly, "round.concern", ["round_tally"], position=str(position.uuid))
    return position


@transaction.atomic
def round_close(*, actor: Any, round: ConsensusRound, cancel: bool = False) -> ConsensusRound:
    """Close the round. No block: consensus, the proposal is adopted and recorded. A block
    holds the proposal; only an explicitly applied fallback of the rules can move it on."""
    proposal = round.proposal
    assembly = proposal.assembly
    _facilitate(actor, assembly)
    rnd = ConsensusRound.objects.select_for_update().get(pk=round.pk)
    if rnd.closed_at is not None:
        raise ValidationError(_("This round is already closed."))
    now = timezone.now()
    positions = selectors.current_positions(round=rnd)
    tally = selectors.round_tally(round=rnd, positions=positions)
    if cancel:
        outcome = ConsensusRound.Outcome.CANCELLED
        summary = selectors.attendance_summary(assembly=assembly)
    else:
        if not positions:
            raise ValidationError(_("Nobody has stated a position in this round yet."))
        summary = _require_quorum(assembly)
        outcome = (
            ConsensusRound.Outcome.BLOCKED if tally["block"] else ConsensusRound.Outcome.CONSENSUS
        )
    attendance = selectors.attendance_snapshot(assembly=assembly, at=now) | {
        "round": str(rnd.uuid),
        "round_number": rnd.number,
        "tally": tally,
    }
    rnd.closed_at = now
    rnd.outcome = outcome
    rnd.attendance = attendance
    rnd.save(update_fields=["closed_at", "outcome", "attendance"])
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    decision = None
    if outcome == ConsensusRound.Outcome.CONSENSUS:
        decision = _adopt(
            actor=actor,
            proposal=proposal,
            version=rnd.version,
            how={"how": "consensus", "round": str(rnd.uuid), "tally": tally},
            attendance=attendance,
        )
    elif outcome == ConsensusRound.Outcome.BLOCKED:
        proposal.status = Proposal.Status.HELD
        proposal.outcome = {"how": "blocked", "round": str(rnd.uuid), "tally": tally}
        proposal.save(update_fields=["status", "outcome"])
    _audit(
        actor,
        assembly,
        "round.close",
        obj=rnd,
        outcome=outcome,
        tally=tally,
        present=summary.present,
        quorum=summary.quorum,
        decision=getattr(decision, "uuid", None),
    )
    _emit(
        assembly,
        "round.close",
        ["round", "proposals"],
        round=str(rnd.uuid),
        outcome=outcome,
        tally=tally,
    )
    return rnd


# --- Votes ----------------------------------------------------------------------------------


def _vote_rule(
    assembly: Assembly, proposal: Proposal, fallback: bool
) -> tuple[str, int, ConsensusRound | None]:
    rules = selectors.rules_of(assembly)
    if fallback:
        if proposal.status != Proposal.Status.HELD:
            raise ValidationError(_("The fallback applies only to a proposal held by a block."))
        if rules.fallback == RuleSet.Fallback.NONE:
            raise ValidationError(
                _(
                    "The rules in force have no fallback: a block holds the proposal. Amend it "
                    "and hold a new round."
                )
            )
        closed = list(proposal.rounds.filter(closed_at__isnull=False).order_by("number"))
        if len([r for r in closed if r.outcome == ConsensusRound.Outcome.BLOCKED]) < 2:
            raise ValidationError(
                _("The fallback applies after a second round: hold another round first.")
            )
        last = closed[-1]
        if rules.fallback == RuleSet.Fallback.SUPERMAJORITY_AFTER_SECOND_ROUND:
            return Vote.Rule.SUPERMAJORITY, rules.supermajority_percent, last
        return Vote.Rule.MAJORITY, 50, last
    if proposal.status == Proposal.Status.HELD:
        raise ValidationError(
            _(
                "A block holds this proposal: amend it for a new round, or apply the fallback "
                "of the rules explicitly."
            )
        )
    if rules.decision_rule == RuleSet.DecisionRule.CONSENSUS:
        raise ValidationError(
            _("The rules in force decide by consensus: open a consensus round instead.")
        )
    if rules.decision_rule == RuleSet.DecisionRule.SUPERMAJORITY:
        return Vote.Rule.SUPERMAJORITY, rules.supermajority_percent, None
    return Vote.Rule.MAJORITY, 50, None


@transaction.atomic
def vote_open(
    *, actor: Any, proposal: Proposal, secret: bool = False, fallback: bool = False
) -> Vote:
    """Open a vote by the rule in force, or (explicitly) the fallback after a block."""
    assembly = proposal.assembly
    _facilitate(actor, assembly)
    _must_be_open(assembly)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status not in (Proposal.Status.OPEN, Proposal.Status.HELD):
        raise ValidationError(_("This proposal was already decided or withdrawn."))
    if selectors.open_round(assembly=assembly) or selectors.open_vote(assembly=assembly):
        raise ValidationError(_("Another round or vote is still open."))
    rule, threshold, fallback_for = _vote_rule(assembly, proposal, fallback)
    version = proposal.versions.order_by("-number").first()
    if version is None:  # pragma: no cover - every proposal is created with its first version
        raise ValidationError(_("This proposal has no text."))
    number = (proposal.votes.aggregate(n=Max("number"))["n"] or 0) + 1
    vote = Vote.objects.create(
        proposal=proposal,
        version=version,
        number=number,
        secret=secret,
        rule=rule,
        threshold_percent=threshold,
        fallback_for=fallback_for,
        opened_by=actor,
    )
    _audit(
        actor,
        assembly,
        "vote.open",
        obj=vote,
        secret=secret,
        rule=rule,
        threshold=threshold,
        fallback=fallback_for is not None,
    )
    if fallback_for is not None:
        _audit(
            actor,
            assembly,
            "proposal.fallback_applied",
            obj=proposal,
            round=str(fallback_for.uuid),
            rule=rule,
            threshold=threshold,
        )
    _emit(
        assembly,
        "vote.open",
        ["round", "proposals"],
        vote=str(vote.uuid),
        secret=secret,
        fallback=fallback_for is not None,
    )
    return vote


def ballot_cast(*, actor: Any, vote: Vote, choice: str) -> VoteParticipation:
    """One phone ballot per person. In a secret vote the ballot carries no name; only the
    fact of having voted is kept with the person."""
    with bursts.gate.answering(("vote", vote.pk), partial(_vote_tally_catch_up, vote.pk)) as b:
        return _ballot_cast(actor=actor, vote=vote, choice=choice, burst=b)


@transaction.atomic
def _vote_tally_catch_up(vote_pk: int) -> None:
    """The tally event a burst of ballots skipped (see `assemblies.bursts`)."""
    v = Vote.objects.select_for_update().select_related("proposal__assembly").get(pk=vote_pk)
    if v.closed_at is not None:
        return  # closing the vote rendered it with its result
    _emit(v.proposal.assembly, "vote.ballot", ["vote_tally"], hints={"vote": v}, vote=str(v.uuid))


@transaction.atomic
def _ballot_cast(*, actor: Any, vote: Vote, choice: str, burst: bursts.Burst) -> VoteParticipation:
    assembly = vote.proposal.assembly
    membership = _participant(actor, assembly)
    if choice not in ("yes", "no", "abstain"):
        raise ValidationError({"choice": _("Choose yes, no or abstain.")})
    v = Vote.objects.select_for_update().get(pk=vote.pk)
    if v.closed_at is not None:
        raise ValidationError(_("This vote is closed."))
    if not selectors.is_present(assembly=assembly, membership=membership):
        raise ValidationError(_("Check in first: only people present vote."))
    voted = _("You have already voted.")
    if VoteParticipation.objects.filter(vote=v, membership=membership).exists():
        raise ValidationError(voted)
    try:
        with transaction.atomic():
            participation = VoteParticipation.objects.create(vote=v, membership=membership)
            if v.secret:
                # A counter, not a row: nothing ordered to line up with the participations.
                field = f"secret_{choice}"
                Vote.objects.filter(pk=v.pk).update(**{field: F(field) + 1})
            else:
                Ballot.objects.create(vote=v, choice=choice, membership=membership)
    except IntegrityError as exc:
        raise ValidationError(voted) from exc
    # The audit names who voted, never the choice of a secret ballot.
    _audit(actor, assembly, "vote.ballot", obj=v, **({} if v.secret else {"choice": choice}))
    if burst.emit_now():
        _emit(assembly, "vote.ballot", ["vote_tally"], hints={"vote": v}, vote=str(v.uuid))
    return participation


@transaction.atomic
def vote_count_enter(
    *, actor: Any, vote: Vote, source: str, yes: int, no: int, abstain: int, note: str = ""
) -> VoteCount:
    """Hands or paper counted in the room, added to the phone ballots."""
    assembly = vote.proposal.assembly
    _facilitate(actor, assembly)
    if source not in VoteCount.Source.values:
        raise ValidationError({"source": _("Choose show of hands or paper ballots.")})
    counts = {"yes": yes, "no": no, "abstain": abstain}
    for key, value in counts.items():
        if value is None or int(value) < 0:
            raise ValidationError({key: _("Counts cannot be negative.")})
    v = Vote.objects.select_for_update().get(pk=vote.pk)
    if v.closed_at is not None:
        raise ValidationError(_("This vote is closed."))
    if sum(int(x) for x in counts.values()) == 0:
        raise ValidationError(_("Enter at least one counted vote."))
    present = selectors.attendance_summary(assembly=assembly).present
    already = selectors.vote_tally(vote=v)
    counted = sum(already["total"].values())
    if counted + sum(int(x) for x in counts.values()) > present:
        raise ValidationError(
            _("More votes (%(n)d) than people present (%(present)d): check the count.")
            % {"n": counted + sum(int(x) for x in counts.values()), "present": present}
        )
    count = VoteCount.objects.create(
        vote=v,
        source=source,
        yes=int(yes),
        no=int(no),
        abstain=int(abstain),
        note=_clean_text(note, field="note", required=False, limit=200),
        entered_by=actor,
    )
    _audit(actor, assembly, "vote.count", obj=v, source=source, yes=yes, no=no, abstain=abstain)
    _emit(assembly, "vote.count", ["vote_tally"], hints={"vote": v}, vote=str(v.uuid))
    return count


@transaction.atomic
def vote_close(*, actor: Any, vote: Vote) -> Vote:
    assembly = vote.proposal.assembly
    _facilitate(actor, assembly)
    v = Vote.objects.select_for_update().get(pk=vote.pk)
    if v.closed_at is not None:
        raise ValidationError(_("This vote is already closed."))
    summary = _require_quorum(assembly)
    now = timezone.now()
    tally = selectors.vote_tally(vote=v) | {"hidden": False}  # revealed once closed
    adopted = selectors.vote_result(vote=v, tally=tally)
    attendance = selectors.attendance_snapshot(assembly=assembly, at=now) | {
        "vote": str(v.uuid),
        "tally": tally["total"],
        "secret": v.secret,
        "rule": v.rule,
        "threshold_percent": v.threshold_percent,
    }
    v.closed_at = now
    v.outcome = Vote.Outcome.ADOPTED if adopted else Vote.Outcome.REJECTED
    v.tally = tally
    v.attendance = attendance
    v.save(update_fields=["closed_at", "outcome", "tally", "attendance"])
    proposal = Proposal.objects.select_for_update().get(pk=v.proposal_id)
    how = {
        "how": "fallback_vote" if v.fallback_for_id else "vote",
        "vote": str(v.uuid),
        "tally": tally["total"],
    }
    if adopted:
        _adopt(actor=actor, proposal=proposal, version=v.version, how=how, attendance=attendance)
    else:
        proposal.status = Proposal.Status.REJECTED
        proposal.decided_at = now
        proposal.outcome = how
        proposal.save(update_fields=["status", "decided_at", "outcome"])
    _audit(
        actor,
        assembly,
        "vote.close",
        obj=v,
        outcome=v.outcome,
        tally=tally["total"],
        present=summary.present,
        quorum=summary.quorum,
    )
    _emit(
        assembly,
        "vote.close",
        ["round", "proposals"],
        vote=str(v.uuid),
        outcome=v.outcome,
        tally=tally["total"],
    )
    return v
