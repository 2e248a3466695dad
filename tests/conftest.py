"""Personas: alice and bob in one organisation (alice facilitates, bob holds no mandate),
charlie in another organisation who must get 404 for everything of alice's; rosa reviews
for the federation both organisations belong to; an anonymous visitor has nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from governance.models import Federation, Mandate, Membership, Organization
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters and cached snapshots must not leak from one test to the next."""
    from django.core.cache import cache

    from assemblies import consumers

    cache.clear()
    # The per-person socket connect counter lives in the process (user ids repeat from
    # one test database to the next).
    consumers._recent_connects.clear()


@dataclass
class World:
    alice: Any
    bob: Any
    charlie: Any
    rosa: Any
    org: Organization
    other_org: Organization
    reviewer_org: Organization
    federation: Federation
    alice_m: Membership
    bob_m: Membership
    charlie_m: Membership
    rosa_m: Membership
    alice_facilitator: Mandate
    rosa_reviewer: Mandate


@pytest.fixture
def world(db: Any) -> World:
    alice = factories.make_user("alice", "Alice", last_name="Aponte")
    bob = factories.make_user("bob", "Bob", last_name="Blanco")
    charlie = factories.make_user("charlie", "Charlie", last_name="Castillo")
    rosa = factories.make_user("rosa", "Rosa", last_name="Rivas")
    org = factories.found_org("Panadería La Alba", [alice, bob], facilitators=[alice])
    other = factories.found_org("Taller Ceiba", [charlie], facilitators=[charlie])
    rev_org = factories.found_org("Cooperativa Delta", [rosa])
    fed = factories.make_federation("Red Central", [org, other, rev_org])
    rosa_m = Membership.objects.get(person=rosa)
    reviewer = factories.grant(rosa_m, Mandate.Role.FEDERATION_REVIEWER, federation=fed)
    return World(
        alice=alice,
        bob=bob,
        charlie=charlie,
        rosa=rosa,
        org=org,
        other_org=other,
        reviewer_org=rev_org,
        federation=fed,
        alice_m=Membership.objects.get(person=alice),
        bob_m=Membership.objects.get(person=bob),
        charlie_m=Membership.objects.get(person=charlie),
        rosa_m=rosa_m,
        alice_facilitator=Mandate.objects.get(membership__person=alice),
        rosa_reviewer=reviewer,
    )


def _client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def alice_client(world: World) -> Client:
    return _client_for(world.alice)


@pytest.fixture
def bob_client(world: World) -> Client:
    return _client_for(world.bob)


@pytest.fixture
def charlie_client(world: World) -> Client:
    return _client_for(world.charlie)


@pytest.fixture
def rosa_client(world: World) -> Client:
    return _client_for(world.rosa)
