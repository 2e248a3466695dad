"""Reads with access rules. What a person may not see is a 404, never a 403."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.models import (
    Decision,
    Federation,
    FederationMembership,
    Mandate,
    Membership,
    Organization,
    RuleSet,
    Workgroup,
)


def memberships_of(user: Any) -> QuerySet[Membership]:
    """The person's memberships that still let them see their organisation."""
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return (
        Membership.objects.filter(person=user)
        .exclude(status=Membership.Status.LEFT)
        .select_related("organization")
        .order_by("organization__name")
    )


def organizations_of(user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(
        pk__in=memberships_of(user).values("organization_id")
    ).order_by("name")


def _clean(text: str) -> str:
    # PostgreSQL refuses NUL in text parameters (a 500); no slug or word contains one.
    return text.replace("\x00", "")


def organization_get_for_member(*, user: Any, slug: str) -> Organization:
    org = organizations_of(user).filter(slug=_clean(slug)).first()
    if org is None:
        raise Http404(_("No such organisation."))
    return org


def membership_get(*, user: Any, organization: Organization) -> Membership:
    m = memberships_of(user).filter(organization=organization).first()
    if m is None:
        raise Http404(_("No such organisation."))
    return m


def federations_of(user: Any, on: datetime | None = None) -> QuerySet[Federation]:
    on_date = timezone.localdate(on or timezone.now())
    org_ids = memberships_of(user).values("organization_id")
    fed_ids = FederationMembership.objects.filter(
        Q(end__isnull=True) | Q(end__gte=on_date),
        organization_id__in=org_ids,
        start__lte=on_date,
    ).values("federation_id")
    return Federation.objects.filter(pk__in=fed_ids).order_by("name")


def federation_get_for_member(*, user: Any, slug: str) -> Federation:
    fed = federations_of(user).filter(slug=_clean(slug)).first()
    if fed is None:
        raise Http404(_("No such federation."))
    return fed


def federation_organizations(*, federation: Federation) -> QuerySet[Organization]:
    today = timezone.localdate()
    return Organization.objects.filter(
        Q(affiliations__end__isnull=True) | Q(affiliations__end__gte=today),
        affiliations__federation=federation,
        affiliations__start__lte=today,
    ).distinct()


def members_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .exclude(status=Membership.Status.LEFT)
        .select_related("person")
    )


def workgroups_list(*, organization: Organization) -> QuerySet[Workgroup]:
    return Workgroup.objects.filter(organization=organization).prefetch_related(
        Prefetch("members", queryset=Membership.objects.select_related("person"))
    )


def mandates_current(
    *,
    organization: Organization | None = None,
    federation: Federation | None = None,
    at: datetime | None = None,
) -> QuerySet[Mandate]:
    at = at or timezone.now()
    qs = Mandate.objects.filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=at), starts_at__lte=at, ends_at__gt=at
    ).select_related(
        "membership__person",
        "membership__organization",
        "workgroup",
        "federation",
        "source_decision",
    )
    if organization is not None:
        qs = qs.filter(membership__organization=organization)
    if federation is not None:
        qs = qs.filter(federation=federation)
    return qs.order_by("role", "ends_at")


def mandates_of(*, membership: Membership, at: datetime | None = None) -> QuerySet[Mandate]:
    return mandates_current(at=at).filter(membership=membership)


def decisions_search(
    *,
    organization: Organization | None = None,
    federation: Federation | None = None,
    query: str = "",
    status: str = "",
) -> QuerySet[Decision]:
    qs = Decision.objects.all()
    if organization is not None:
        qs = qs.filter(organization=organization)
    if federation is not None:
        qs = qs.filter(federation=federation)
    if status:
        qs = qs.filter(status=status)
    for word in _clean(query).split()[:8]:
        qs = qs.filter(Q(title__icontains=word) | Q(text__icontains=word) | Q(body__icontains=word))
    return qs.order_by("-decided_at", "-number")


def decision_get_for_member(*, user: Any, uuid: Any) -> Decision:
    org_ids = memberships_of(user).values("organization_id")
    fed_ids = federations_of(user).values("pk")
    d = Decision.objects.filter(
        Q(organization_id__in=org_ids) | Q(federation_id__in=fed_ids), uuid=uuid
    ).first()
    if d is None:
        raise Http404(_("No such decision."))
    return d


# --- Lookups inside one organisation the caller already may see ---------------------------


def _get_or_404(qs: QuerySet[Any], message: str, **lookup: Any) -> Any:
    try:
        obj = qs.filter(**lookup).first()
    except (ValueError, ValidationError):
        obj = None  # a malformed UUID in the URL is simply not found
    if obj is None:
        raise Http404(message)
    return obj


def organization_get_by_uuid_for_member(*, user: Any, uuid: Any) -> Organization:
    return _get_or_404(organizations_of(user), _("No such organisation."), uuid=uuid)  # type: ignore[no-any-return]


def federation_get_by_uuid_for_member(*, user: Any, uuid: Any) -> Federation:
    return _get_or_404(federations_of(user), _("No such federation."), uuid=uuid)  # type: ignore[no-any-return]


def decision_get_in(*, organization: Organization, uuid: Any) -> Decision:
    return _get_or_404(  # type: ignore[no-any-return]
        Decision.objects.filter(organization=organization), _("No such decision."), uuid=uuid
    )


def mandate_get_in(*, organization: Organization, uuid: Any) -> Mandate:
    return _get_or_404(  # type: ignore[no-any-return]
        Mandate.objects.filter(membership__organization=organization).select_related(
            "membership__person", "membership__organization", "workgroup", "source_decision"
        ),
        _("No such mandate."),
        uuid=uuid,
    )


def workgroup_get_in(*, organization: Organization, uuid: Any) -> Workgroup:
    return _get_or_404(  # type: ignore[no-any-return]
        Workgroup.objects.filter(organization=organization), _("No such workgroup."), uuid=uuid
    )


def membership_get_in(*, organization: Organization, uuid: Any) -> Membership:
    return _get_or_404(  # type: ignore[no-any-return]
        members_list(organization=organization), _("No such member."), uuid=uuid
    )


def rules_history(*, organization: Organization) -> QuerySet[RuleSet]:
    return (
        RuleSet.objects.filter(organization=organization)
        .select_related("adopted_by")
        .order_by("-valid_from", "-version")
    )


def decisions_in_force(*, organization: Organization) -> QuerySet[Decision]:
    return decisions_search(organization=organization, status=Decision.Status.IN_FORCE)
