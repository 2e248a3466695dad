"""Every write in governance: keyword-only, transactional, permission-checked, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from governance.audit import audit
from governance.models import (
    Decision,
    Federation,
    FederationMembership,
    Mandate,
    Membership,
    Organization,
    RuleSet,
    Workgroup,
    WorkgroupMember,
)
from governance.permissions import require

User = get_user_model()


def _unique_slug(model: Any, name: str) -> str:
    base = slugify(name)[:40] or "org"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _next_decision_number(
    *, organization: Organization | None, federation: Federation | None
) -> int:
    qs = Decision.objects.filter(organization=organization, federation=federation)
    return (qs.aggregate(n=Max("number"))["n"] or 0) + 1


# --- Founding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundingMandate:
    person: Any
    role: str
    days: int | None = None


@transaction.atomic
def organization_found(
    *,
    name: str,
    founders: list[Any],
    mandates: list[FoundingMandate],
    kind: str = Organization.Kind.COOPERATIVE,
    time_zone: str = "America/Caracas",
    language: str = "es",
    founded_at: datetime | None = None,
    rules: dict[str, Any] | None = None,
    decision_text: str = "",
) -> Organization:
    """Found an organisation: its founding assembly's decision records the founders, the
    first rules and the first mandates. There is no one above the founders to ask."""
    if not founders:
        raise ValidationError(_("An organisation needs at least one founding member."))
    founded_at = founded_at or timezone.now()
    org = Organization.objects.create(
        name=name,
        slug=_unique_slug(Organization, name),
        kind=kind,
        time_zone=time_zone,
        language=language,
        created_at=founded_at,
    )
    founder_ids = {p.pk for p in founders}
    for m in mandates:
        if m.person.pk not in founder_ids:
            raise ValidationError(_("Founding mandates can only go to founding members."))
    names = ", ".join(p.get_full_name() or p.username for p in founders)
    decision = Decision.objects.create(
        organization=org,
        number=1,
        title=_("Founding of %(name)s") % {"name": name},
        text=decision_text
        or _(
            "The founding assembly constitutes %(name)s with the founding members %(names)s, "
            "adopts its first rules and grants its first mandates."
        )
        % {"name": name, "names": names},
        decided_at=founded_at,
        body=_("Founding assembly"),
        recorded_by=founders[0],
    )
    RuleSet.objects.create(
        organization=org, version=1, adopted_by=decision, valid_from=founded_at, **(rules or {})
    )
    memberships = {}
    for i, person in enumerate(founders, start=1):
        memberships[person.pk] = Membership.objects.create(
            person=person,
            organization=org,
            member_number=str(i),
            joined_on=timezone.localdate(founded_at),
            status_since=timezone.localdate(founded_at),
        )
    term = org.rulesets.get().default_term_days
    for m in mandates:
        Mandate.objects.create(
            membership=memberships[m.person.pk],
            role=m.role,
            scope_kind=Mandate.ScopeKind.ORGANIZATION,
            starts_at=founded_at,
            ends_at=founded_at + timedelta(days=m.days or term),
            source_decision=decision,
        )
    audit(
        actor=founders[0],
        action="organization.found",
        organization=org,
        obj=org,
        founders=[p.username for p in founders],
    )
    return org


@transaction.atomic
def federation_create(*, name: str, actor: Any, description: str = "") -> Federation:
    fed = Federation.objects.create(
        name=name, slug=_unique_slug(Federation, name), description=description
    )
    audit(actor=actor, action="federation.create", federation=fed, obj=fed)
    return fed


@transaction.atomic
def federation_join(
    *,
    federation: Federation,
    organization: Organization,
    start: date,
    actor: Any,
    decision: Decision | None = None,
) -> FederationMembership:
    """An organisation joins a federation; the organisation's own decision is the record."""
    if decision is not None and decision.organization_id != organization.pk:
        raise ValidationError(_("The decision must be the organisation's own."))
    affiliation = FederationMembership.objects.create(
        federation=federation, organization=organization, start=start
    )
    audit(
        actor=actor,
        action="federation.join",
        organization=organization,
        federation=federation,
        obj=affiliation,
        decision=getattr(decision, "uuid", None),
    )
    return affiliation


# --- Decisions and rules --------------------------------------------------------------------


@transaction.atomic
def decision_record(
    *,
    actor: Any,
    organization: Organization | None = None,
    federation: Federation | None = None,
    title: str,
    text: str,
    body: str,
    decided_at: datetime | None = None,
    review_on: date | None = None,
    supersedes: Decision | None = None,
    links: list[str] | None = None,
    attendance: dict[str, Any] | None = None,
    check_permission: bool = True,
) -> Decision:
    target: Any = organization or federation
    if target is None:
        raise ValidationError(_("A decision belongs to an organisation or a federation."))
    if check_permission:
        require(actor, "decision.record", target)
    if supersedes is not None:
        if (supersedes.organization_id, supersedes.federation_id) != (
            getattr(organization, "pk", None),
            getattr(federation, "pk", None),
        ):
            raise ValidationError(_("A decision can only supersede one of the same body."))
        if supersedes.status != Decision.Status.IN_FORCE:
            raise ValidationError(_("Only a decision in force can be superseded."))
    # Lock the body's register so two concurrent recordings get distinct numbers.
    if organization is not None:
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
    else:
        Federation.objects.select_for_update().filter(pk=federation.pk).first()  # type: ignore[union-attr]
    decision = Decision.objects.create(
        organization=organization,
        federation=federation,
        number=_next_decision_number(organization=organization, federation=federation),
        title=title,
        text=text,
        body=body,
        decided_at=decided_at or timezone.now(),
        review_on=review_on,
        supersedes=supersedes,
        links=links or [],
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        attendance=attendance or {},
    )
    if supersedes is not None:
        Decision.objects.filter(pk=supersedes.pk).update(status=Decision.Status.SUPERSEDED)
    audit(
        actor=actor,
        action="decision.record",
        organization=organization,
        federation=federation,
        obj=decision,
        number=decision.number,
        title=title,
    )
    return decision


@transaction.atomic
def decision_revoke(*, actor: Any, decision: Decision, revoking: Decision) -> Decision:
    """A decision is revoked only by a later decision of the same body."""
    require(actor, "decision.change_status", decision)
    if revoking.pk == decision.pk or (revoking.organization_id, revoking.federation_id) != (
        decision.organization_id,
        decision.federation_id,
    ):
        raise ValidationError(_("A decision is revoked by another decision of the same body."))
    decision.status = Decision.Status.REVOKED
    decision.save(update_fields=["status"])
    decision.related.add(revoking)
    audit(
        actor=actor,
        action="decision.revoke",
        organization=decision.organization,
        federation=decision.federation,
        obj=decision,
        by=revoking.uuid,
    )
    return decision


def rules_in_force(*, organization: Organization, at: datetime | None = None) -> RuleSet:
    at = at or timezone.now()
    ruleset = (
        RuleSet.objects.filter(organization=organization, valid_from__lte=at)
        .order_by("-valid_from", "-version")
        .first()
    )
    if ruleset is None:
        raise RuleSet.DoesNotExist(_("No rules were in force at that date."))
    return ruleset


@transaction.atomic
def rules_adopt(
    *,
    actor: Any,
    organization: Organization,
    decision: Decision,
    valid_from: datetime | None = None,
    **changes: Any,
) -> RuleSet:
    """A new version of the rules, only together with the decision that adopted it."""
    require(actor, "rules.adopt", organization)
    if decision.organization_id != organization.pk:
        raise ValidationError(_("The rules must be adopted by a decision of this organisation."))
    if decision.status != Decision.Status.IN_FORCE:
        raise ValidationError(_("Only a decision in force can adopt rules."))
    if RuleSet.objects.filter(adopted_by=decision).exists():
        raise ValidationError(_("This decision already adopted a version of the rules."))
    # The rules in force at a past date are what past assemblies counted their quorum and
    # votes by: a new version may start on the decision's day or later, never before
    # today, so a decision recorded late (or backdated) cannot rewrite what applied then.
    # Whole days in the organisation's time zone, because that is how members read dates.
    now = timezone.now()
    decided_on = organization.local_date(decision.decided_at)
    today = organization.local_date(now)
    if valid_from is None:
        # A decision recorded days after it was taken applies from now, not from its date.
        valid_from = decision.decided_at if decided_on >= today else now
    starts_on = organization.local_date(valid_from)
    if starts_on < decided_on:
        raise ValidationError(
            {"valid_from": _("Rules cannot be in force before the decision that adopts them.")}
        )
    if starts_on < today:
        raise ValidationError({"valid_from": _("Rules cannot be put in force in the past.")})
    current = rules_in_force(organization=organization)
    allowed = {f.name for f in RuleSet._meta.get_fields()} - {
        "id",
        "organization",
        "version",
        "adopted_by",
        "valid_from",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(_("Unknown rule: %(names)s") % {"names": ", ".join(sorted(unknown))})
    values = current.snapshot()
    values.pop("version")
    values.update(changes)
    last = RuleSet.objects.filter(organization=organization).aggregate(v=Max("version"))["v"] or 0
    ruleset = RuleSet(
        organization=organization,
        version=last + 1,
        adopted_by=decision,
        valid_from=valid_from,
        **values,
    )
    ruleset.full_clean()
    ruleset.save()
    audit(
        actor=actor,
        action="rules.adopt",
        organization=organization,
        obj=ruleset,
        version=ruleset.version,
        changes=changes,
    )
    return ruleset


# --- Members and workgroups -----------------------------------------------------------------


@transaction.atomic
def membership_add(
    *,
    actor: Any,
    organization: Organization,
    person: Any,
    member_number: str = "",
    joined_on: date | None = None,
    attributes: dict[str, str] | None = None,
) -> Membership:
    require(actor, "membership.manage", organization)
    if Membership.objects.filter(organization=organization, person=person).exists():
        raise ValidationError(_("This person is already a member."))
    if not member_number:
        numbers = Membership.objects.filter(organization=organization).values_list(
            "member_number", flat=True
        )
        member_number = str(max((int(n) for n in numbers if n.isdigit()), default=0) + 1)
    membership = Membership.objects.create(
        organization=organization,
        person=person,
        member_number=member_number,
        joined_on=joined_on or timezone.localdate(),
        attributes=attributes or {},
    )
    audit(
        actor=actor,
        action="membership.add",
        organization=organization,
        obj=membership,
        person=person.username,
    )
    return membership


@transaction.atomic
def membership_set_status(
    *, actor: Any, membership: Membership, status: str, on: date | None = None
) -> Membership:
    """Leave, take leave or come back. Leaving ends the person's mandates at once.

    A person changes their own status while they belong; once they have left, coming back
    is a re-admission, which someone mandated for membership records (not the person)."""
    if actor != membership.person or membership.status == Membership.Status.LEFT:
        require(actor, "membership.manage", membership.organization)
    if status not in Membership.Status.values:
        raise ValidationError(_("Unknown membership status."))
    on = on or timezone.localdate()
    membership.status = status
    membership.status_since = on
    membership.left_on = on if status == Membership.Status.LEFT else None
    membership.save(update_fields=["status", "status_since", "left_on"])
    if status == Membership.Status.LEFT:
        now = timezone.now()
        Mandate.objects.filter(
            membership=membership, revoked_at__isnull=True, ends_at__gt=now
        ).update(revoked_at=now, revoked_reason=_("The member left the organisation."))
    audit(
        actor=actor,
        action="membership.set_status",
        organization=membership.organization,
        obj=membership,
        status=status,
    )
    return membership


def membership_set_attributes(
    *, actor: Any, membership: Membership, attributes: dict[str, str]
) -> Membership:
    """Self-declared attributes: only the person themself may set them."""
    if actor != membership.person:
        raise ValidationError(_("Only you can declare your own attributes."))
    with transaction.atomic():
        membership.attributes = {k: v for k, v in attributes.items() if v}
        membership.save(update_fields=["attributes"])
        audit(
            actor=actor,
            action="membership.set_attributes",
            organization=membership.organization,
            obj=membership,
        )
    return membership


@transaction.atomic
def workgroup_create(
    *, actor: Any, organization: Organization, name: str, description: str = ""
) -> Workgroup:
    require(actor, "workgroup.manage", organization)
    if Workgroup.objects.filter(organization=organization, name=name).exists():
        raise ValidationError(_("A workgroup with this name already exists."))
    wg = Workgroup.objects.create(organization=organization, name=name, description=description)
    audit(actor=actor, action="workgroup.create", organization=organization, obj=wg, name=name)
    return wg


@transaction.atomic
def workgroup_member_add(*, actor: Any, workgroup: Workgroup, membership: Membership) -> None:
    require(actor, "workgroup.manage", workgroup)
    if membership.organization_id != workgroup.organization_id:
        raise ValidationError(_("Only members of the organisation can join its workgroups."))
    _member, created = WorkgroupMember.objects.get_or_create(
        workgroup=workgroup, membership=membership
    )
    if created:
        audit(
            actor=actor,
            action="workgroup.member_add",
            organization=workgroup.organization,
            obj=workgroup,
            member=membership.member_number,
        )


# --- Mandates -------------------------------------------------------------------------------


@transaction.atomic
def mandate_grant(
    *,
    actor: Any,
    membership: Membership,
    role: str,
    ends_at: datetime,
    starts_at: datetime | None = None,
    decision: Decision | None = None,
    rotation_assignment: Any = None,
    workgroup: Workgroup | None = None,
    federation: Federation | None = None,
    object_kind: str = "",
    object_uuid: Any = None,
    check_permission: bool = True,
) -> Mandate:
    """Grant a mandate from a recorded decision or a rotation assignment, never from nothing.

    `check_permission=False` is for other apps' services that already checked their own
    permission (publishing a roster by a rotating coordinator's mandate)."""
    if (decision is None) == (rotation_assignment is None):
        raise ValidationError(_("A mandate comes from exactly one decision or one rotation."))
    if role not in Mandate.Role.values:
        raise ValidationError(_("Unknown role."))
    if not membership.is_participating:
        raise ValidationError(_("Only current members can hold a mandate."))
    org = membership.organization
    if sum(x is not None for x in (workgroup, federation, object_uuid)) > 1:
        raise ValidationError(_("A mandate covers one workgroup, federation or object."))
    if workgroup is not None and workgroup.organization_id != org.pk:
        raise ValidationError(_("The workgroup must be of the member's organisation."))
    starts_at = starts_at or timezone.now()
    # A federation's decision may also grant a mandate over one of its objects (a federation
    # assembly agreeing its facilitator): the holder answers to the federation.
    granting_federation = federation
    if (
        federation is None
        and object_uuid is not None
        and decision is not None
        and decision.federation_id is not None
    ):
        granting_federation = decision.federation
    if granting_federation is not None:
        # Power over a federation comes from the federation's own register: one member
        # organisation's assembly cannot hand out authority over its sister organisations.
        if check_permission:
            require(actor, "mandate.grant", granting_federation)
        if decision is None or decision.federation_id != granting_federation.pk:
            raise ValidationError(
                _("A federation mandate comes from a decision of that federation.")
            )
        if not FederationMembership.objects.filter(
            Q(end__isnull=True) | Q(end__gte=org.local_date(starts_at)),
            federation=granting_federation,
            organization=org,
            start__lte=org.local_date(starts_at),
        ).exists():
            raise ValidationError(
                _("Only members of the federation's organisations can hold its mandates.")
            )
    else:
        if check_permission:
            require(actor, "mandate.grant", org)
        if decision is not None and decision.organization_id != org.pk:
            raise ValidationError(_("The decision must be of the body granting the mandate."))
    # No power before the decision that grants it: otherwise a late decision could make
    # acts done before it look authorised.
    if decision is not None and starts_at < decision.decided_at:
        raise ValidationError(_("A mandate cannot start before the decision that grants it."))
    if ends_at <= starts_at:
        raise ValidationError(_("A mandate must end after it starts."))
    if workgroup is not None:
        scope = Mandate.ScopeKind.WORKGROUP
    elif federation is not None:
        scope = Mandate.ScopeKind.FEDERATION
    elif object_uuid is not None:
        scope = Mandate.ScopeKind.OBJECT
    else:
        scope = Mandate.ScopeKind.ORGANIZATION
    mandate = Mandate.objects.create(
        membership=membership,
        role=role,
        scope_kind=scope,
        workgroup=workgroup,
        federation=federation,
        object_kind=object_kind,
        object_uuid=object_uuid,
        starts_at=starts_at,
        ends_at=ends_at,
        source_decision=decision,
        source_rotation=getattr(rotation_assignment, "uuid", rotation_assignment),
    )
    audit(
        actor=actor,
        action="mandate.grant",
        organization=org,
        federation=federation,
        obj=mandate,
        role=role,
        member=membership.member_number,
        ends_at=ends_at,
    )
    return mandate


@transaction.atomic
def mandate_revoke(
    *,
    actor: Any,
    mandate: Mandate,
    reason: str,
    decision: Decision | None = None,
    check_permission: bool = True,
) -> Mandate:
    # A mandate granted by a federation's decision answers to that federation.
    body: Organization | Federation = mandate.membership.organization
    if mandate.federation_id is not None:
        body = mandate.federation  # type: ignore[assignment]
    elif mandate.source_decision_id is not None and mandate.source_decision.federation_id:  # type: ignore[union-attr]
        body = mandate.source_decision.federation  # type: ignore[union-attr,assignment]
    if check_permission:
        require(actor, "mandate.revoke", body)
    if not reason.strip():
        raise ValidationError(_("Say why the mandate is revoked."))
    if mandate.revoked_at is not None:
        raise ValidationError(_("This mandate was already revoked."))
    mandate.revoked_at = timezone.now()
    mandate.revoked_reason = reason
    mandate.revoked_by_decision = decision
    mandate.save(update_fields=["revoked_at", "revoked_reason", "revoked_by_decision"])
    audit(
        actor=actor,
        action="mandate.revoke",
        organization=mandate.membership.organization,
        obj=mandate,
        reason=reason,
    )
    return mandate


@transaction.atomic
def membership_add_new_person(
    *,
    actor: Any,
    organization: Organization,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
) -> Membership:
    """A new worker joins: their account and their membership are recorded together."""
    require(actor, "membership.manage", organization)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is already taken.")})
    person = User.objects.create_user(
        username=username, password=password, first_name=first_name, last_name=last_name
    )
    return membership_add(actor=actor, organization=organization, person=person)
