"""Builders for test data, going through the real services where a service exists."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from governance import services
from governance.models import Decision, Federation, Mandate, Membership, Organization

User = get_user_model()
PASSWORD = "correct-horse-battery"


def _password_hash() -> str:
    # Hashing costs ~0.3 s per user (PBKDF2 at Django's work factor); one shared salted hash
    # keeps real password checks while fixtures with many members stay fast. Keyed by the
    # hashers in force: a test that switches them must not leave a hash the next can't read.
    return _hash_with(tuple(settings.PASSWORD_HASHERS))


@cache
def _hash_with(hashers: tuple[str, ...]) -> str:
    return make_password(PASSWORD)


def make_user(username: str, first_name: str = "", **extra: Any) -> Any:
    user = User.objects.create_user(
        username=username,
        password=None,
        first_name=first_name or username.capitalize(),
        **extra,
    )
    user.password = _password_hash()
    user.save(update_fields=["password"])
    return user


def found_org(
    name: str, founders: list[Any], facilitators: list[Any] | None = None, **kw: Any
) -> Organization:  # type: ignore[assignment]
    mandates = [
        services.FoundingMandate(person=p, role=Mandate.Role.FACILITATOR)
        for p in facilitators or []
    ]
    kw.setdefault("founded_at", timezone.now() - timedelta(days=30))
    return services.organization_found(name=name, founders=founders, mandates=mandates, **kw)


def founding_decision(org: Organization) -> Decision:
    return Decision.objects.get(organization=org, number=1)


def grant(
    membership: Membership, role: str, *, days: int = 90, start_days_ago: int = 1, **kw: Any
) -> Mandate:
    """A mandate sourced from the organisation's founding decision (no permission check:
    test set-up plays the founding assembly)."""
    now = timezone.now()
    decision = kw.pop("decision", None)
    if decision is None and kw.get("federation") is not None:
        fed = kw["federation"]
        decision = Decision.objects.create(
            federation=fed,
            number=Decision.objects.filter(federation=fed).count() + 1,
            title="Mandate",
            text="Federation assembly grants a mandate.",
            body="Federation",
        )
    if decision is None:
        decision = (
            Decision.objects.filter(organization=membership.organization).order_by("number").first()
        )
    # No mandate starts before the decision that grants it.
    starts_at = max(now - timedelta(days=start_days_ago), decision.decided_at) if decision else now
    return services.mandate_grant(
        actor=membership.person,
        membership=membership,
        role=role,
        starts_at=starts_at,
        ends_at=now + timedelta(days=days),
        decision=decision,
        check_permission=False,
        **kw,
    )


def add_member(org: Organization, user: Any, **kw: Any) -> Membership:
    n = Membership.objects.filter(organization=org).count() + 1
    return Membership.objects.create(
        organization=org,
        person=user,
        member_number=str(n + 100),
        joined_on=kw.pop("joined_on", date(2024, 1, 1)),
        **kw,
    )


def make_federation(name: str, orgs: list[Organization]) -> Federation:
    fed = Federation.objects.create(name=name, slug=name.lower().replace(" ", "-"))
    for org in orgs:
        fed.affiliations.create(organization=org, start=date(2020, 1, 1))
    return fed
