"""Who may do what: the one place that answers it.

`may(user, action, target)` looks at the person's membership of the organisation (or of a
federation's member organisations) and at the mandates active *now*. Nothing else grants
power: there is no admin flag, and Django's superuser is the server operator, not a member.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.models import FederationMembership, Mandate, Membership, Scope

R = Mandate.Role


class Governed(Protocol):
    def governance_scope(self) -> Scope: ...


# action -> roles that grant it. `None` means: any participating member of the scope.
# Roles scoped to the whole organisation cover every object inside it; a workgroup mandate
# covers that workgroup's objects; an object mandate covers that one roster or assembly.
ACTIONS: dict[str, frozenset[str] | None] = {
    # governance
    "organization.view": None,
    "decision.record": frozenset({R.FACILITATOR, R.MINUTE_TAKER}),
    "decision.change_status": frozenset({R.FACILITATOR, R.MINUTE_TAKER}),
    "mandate.grant": frozenset({R.FACILITATOR, R.MINUTE_TAKER}),
    "mandate.revoke": frozenset({R.FACILITATOR, R.MINUTE_TAKER}),
    "rules.adopt": frozenset({R.FACILITATOR, R.MINUTE_TAKER}),
    "membership.manage": frozenset({R.MEMBERSHIP_SECRETARY, R.FACILITATOR}),
    "workgroup.manage": frozenset({R.MEMBERSHIP_SECRETARY, R.FACILITATOR}),
    "federation.view": None,
    "federation.review": frozenset({R.FEDERATION_REVIEWER}),
    # assemblies
    "assembly.view": None,
    "assembly.participate": None,
    "assembly.propose_item": None,
    "assembly.create": None,
    "assembly.facilitate": frozenset({R.FACILITATOR}),
    "assembly.take_minutes": frozenset({R.MINUTE_TAKER}),
    "minutes.approve": None,
    "minutes.publish": frozenset({R.FACILITATOR, R.MINUTE_TAKER}),
    "minutes.answer_question": frozenset({R.FACILITATOR, R.MINUTE_TAKER, R.DELEGATE}),
    # rotation
    "rotation.view": None,
    "rotation.swap": None,
    "rotation.coordinate": frozenset({R.ROSTER_COORDINATOR}),
    "rotation.publish": frozenset({R.ROSTER_COORDINATOR}),
    # production
    "production.view": None,
    "production.record": None,
    "production.configure": frozenset({R.LINE_COORDINATOR, R.ROSTER_COORDINATOR}),
    # Recording a target the assembly adopted, like recording any other decision's effect.
    "production.target": frozenset({R.FACILITATOR, R.MINUTE_TAKER, R.LINE_COORDINATOR}),
    # programmes
    "programmes.view": None,
    "programmes.record": None,
    "programmes.configure": frozenset({R.PROGRAMME_COORDINATOR, R.PILLAR_LEAD}),
    "programmes.publish": frozenset({R.PROGRAMME_COORDINATOR, R.PILLAR_LEAD}),
    # Community translators edit the catalogues in the browser (the server operator too).
    "translations.edit": frozenset({R.TRANSLATOR}),
    # economy: every member sees the books; the treasurer records what decisions allowed.
    "economy.view": None,
    "economy.apply": None,
    "economy.record": frozenset({R.TREASURER}),
    "economy.configure": frozenset({R.TREASURER, R.FACILITATOR, R.MINUTE_TAKER}),
}


def _membership_filter(scope: Scope, at: datetime) -> Q | None:
    if scope.organization_id is not None:
        return Q(organization_id=scope.organization_id)
    if scope.federation_id is not None:
        on = timezone.localdate(at)
        org_ids = FederationMembership.objects.filter(
            Q(end__isnull=True) | Q(end__gte=on), federation_id=scope.federation_id, start__lte=on
        ).values("organization_id")
        return Q(organization_id__in=org_ids)
    return None


def memberships_for(user: Any, scope: Scope, at: datetime | None = None) -> list[Membership]:
    """The person's participating memberships that give them a place in `scope`."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return []
    at = at or timezone.now()
    q = _membership_filter(scope, at)
    if q is None:
        return []
    # Ordered by keys, in Python: the model's default ordering (names of the organisation
    # and person) joins two tables, and even a key ordering in SQL cost a quarter of this
    # lookup's CPU; it runs on every request that checks a permission, for one to a few rows.
    found = Membership.objects.filter(q, person=user).exclude(status=Membership.Status.LEFT)
    return sorted(found.order_by(), key=lambda m: (m.organization_id, m.pk))


def active_mandates(
    memberships: Iterable[Membership], roles: Iterable[str], at: datetime | None = None
) -> Any:
    at = at or timezone.now()
    return Mandate.objects.filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=at),
        membership__in=list(memberships),
        role__in=list(roles),
        starts_at__lte=at,
        ends_at__gt=at,
    )


def _covers(scope: Scope) -> Q:
    """Mandate scopes that cover an object living in `scope`."""
    covers = Q()
    if scope.organization_id is not None:
        covers |= Q(scope_kind=Mandate.ScopeKind.ORGANIZATION)
    if scope.workgroup_id is not None:
        covers |= Q(scope_kind=Mandate.ScopeKind.WORKGROUP, workgroup_id=scope.workgroup_id)
    if scope.federation_id is not None:
        covers |= Q(scope_kind=Mandate.ScopeKind.FEDERATION, federation_id=scope.federation_id)
    if scope.object_uuid is not None:
        covers |= Q(scope_kind=Mandate.ScopeKind.OBJECT, object_uuid=scope.object_uuid)
    return covers


def may(user: Any, action: str, target: Governed, at: datetime | None = None) -> bool:
    """May this person do `action` to `target` at `at` (default: now)?"""
    if action not in ACTIONS:
        raise KeyError(f"Unknown action {action!r}: add it to governance.permissions.ACTIONS")
    at = at or timezone.now()
    scope = target.governance_scope()
    memberships = memberships_for(user, scope, at)
    if not memberships:
        return False
    roles = ACTIONS[action]
    if roles is None:
        return True
    # Members on leave keep reading rights but do not exercise mandates meanwhile.
    active = [m for m in memberships if m.is_active]
    if not active:
        return False
    mandates = active_mandates(active, roles, at)
    if scope.federation_id is not None and scope.organization_id is None:
        # A federation-level power must come from the federation: a federation-scoped
        # mandate, or one over this very object granted by a decision of the federation.
        from_federation = Q(
            scope_kind=Mandate.ScopeKind.FEDERATION, federation_id=scope.federation_id
        )
        if scope.object_uuid is not None:
            from_federation |= Q(
                scope_kind=Mandate.ScopeKind.OBJECT,
                object_uuid=scope.object_uuid,
                source_decision__federation_id=scope.federation_id,
            )
        return mandates.filter(from_federation).exists()
    # A mandate over one object counts here only if the organisation's own decision (or its
    # rotation) granted it: a federation's decision governs federation objects only.
    own = (
        ~Q(scope_kind=Mandate.ScopeKind.OBJECT)
        | Q(source_decision__isnull=True)
        | Q(source_decision__organization_id=scope.organization_id)
    )
    return mandates.filter(
        _covers(scope), own, membership__organization_id=scope.organization_id
    ).exists()


def require(user: Any, action: str, target: Governed, at: datetime | None = None) -> None:
    """Raise PermissionDenied with a message a worker understands."""
    if not may(user, action, target, at):
        roles = ACTIONS.get(action)
        if roles:
            names = ", ".join(str(R(r).label) for r in sorted(roles))
            raise PermissionDenied(
                _("You need a current mandate to do this (one of: %(roles)s).") % {"roles": names}
            )
        raise PermissionDenied(_("Only members can do this."))
