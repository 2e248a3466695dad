from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from governance import services
from governance.models import Mandate
from governance.permissions import may, require


def test_member_may_view_but_not_facilitate_without_mandate(world):
    assert may(world.bob, "organization.view", world.org)
    assert not may(world.bob, "assembly.facilitate", world.org)
    assert may(world.alice, "assembly.facilitate", world.org)


def test_other_organisation_member_may_do_nothing(world):
    assert not may(world.charlie, "organization.view", world.org)
    assert not may(world.charlie, "assembly.facilitate", world.org)


def test_expired_mandate_grants_nothing(world):
    m = world.alice_facilitator
    Mandate.objects.filter(pk=m.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert not may(world.alice, "assembly.facilitate", world.org)


def test_revoked_mandate_grants_nothing(world):
    services.mandate_revoke(
        actor=world.alice,
        mandate=world.alice_facilitator,
        reason="Rotation",
        check_permission=False,
    )
    assert not may(world.alice, "assembly.facilitate", world.org)
    with pytest.raises(PermissionDenied):
        require(world.alice, "assembly.facilitate", world.org)


def test_past_mandate_is_answered_for_its_time(world):
    past = timezone.now() - timedelta(hours=1)
    services.mandate_revoke(
        actor=world.alice,
        mandate=world.alice_facilitator,
        reason="Rotation",
        check_permission=False,
    )
    assert may(world.alice, "assembly.facilitate", world.org, at=past)


def test_federation_reviewer_reviews_only_through_federation_mandate(world):
    assert may(world.rosa, "federation.review", world.federation)
    assert not may(world.alice, "federation.review", world.federation)
    assert not may(world.rosa, "organization.view", world.org)


def test_unknown_action_is_a_programming_error(world):
    with pytest.raises(KeyError):
        may(world.alice, "nonsense", world.org)
