"""Rotation fixtures: alice coordinates rosters (by mandate), bob holds none, six more
workers make the bakery big enough to rotate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.models import Mandate, Membership
from rotation import services
from rotation.models import Post
from tests import factories


@dataclass
class Bakery:
    world: Any
    coordinator: Mandate
    members: list[Membership]
    monday: date

    def post(self, name: str, **kw: Any) -> Post:
        data = services.PostData(name=name, **kw)
        return services.post_create(actor=self.world.alice, organization=self.world.org, data=data)


def next_monday(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


@pytest.fixture
def bakery(world: Any) -> Bakery:
    coordinator = factories.grant(world.alice_m, Mandate.Role.ROSTER_COORDINATOR, days=365)
    extra = [
        factories.add_member(world.org, factories.make_user(name))
        for name in ("dina", "eva", "fabio", "gabi", "hugo", "ines")
    ]
    return Bakery(
        world=world,
        coordinator=coordinator,
        members=[world.alice_m, world.bob_m, *extra],
        monday=next_monday(),
    )


NIGHT = time(22, 0)
