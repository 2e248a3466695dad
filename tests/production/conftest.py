"""A bakery line in alice's organisation: one work centre, a product with a one-minute ideal
cycle, a day shift of 480 minutes and a night shift across midnight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest

from governance.models import Mandate
from production import services
from production.models import LogEntry, Product, Shift, WorkCentre
from tests import factories
from tests.conftest import World

DAY = date(2025, 3, 10)


@dataclass
class Line:
    world: World
    oven: WorkCentre
    mixer: WorkCentre
    bread: Product
    rolls: Product
    day: Shift
    night: Shift

    def data(self, **kw: Any) -> services.EntryData:
        kw.setdefault("work_centre", self.oven)
        kw.setdefault("shift", self.day)
        kw.setdefault("product", self.bread)
        kw.setdefault("shift_date", DAY)
        return services.EntryData(**kw)

    def submit(self, actor: Any = None, **kw: Any) -> LogEntry:
        return services.entry_submit(
            actor=actor or self.world.alice,
            organization=self.world.org,
            data=self.data(**kw),
            idempotency_key=kw.pop("key", None) or uuid.uuid4(),
        ).entry


@pytest.fixture
def line(world: World) -> Line:
    coordinator = factories.grant(world.alice_m, Mandate.Role.LINE_COORDINATOR)
    assert coordinator.is_active()
    org, alice = world.org, world.alice
    oven = services.work_centre_create(actor=alice, organization=org, code="oven", name="Horno 1")
    mixer = services.work_centre_create(
        actor=alice, organization=org, code="mixer", name="Amasadora"
    )
    bread = services.product_create(
        actor=alice,
        organization=org,
        code="bread",
        name="Pan",
        unit="piece",
        ideal_cycle_seconds=Decimal(60),
    )
    rolls = services.product_create(
        actor=alice,
        organization=org,
        code="rolls",
        name="Bollos",
        unit="piece",
        ideal_cycle_seconds=Decimal(30),
    )
    day = services.shift_create(
        actor=alice, organization=org, code="day", name="Mañana", start=time(6), end=time(14)
    )
    night = services.shift_create(
        actor=alice, organization=org, code="night", name="Noche", start=time(22), end=time(6)
    )
    return Line(world, oven, mixer, bread, rolls, day, night)


@pytest.fixture(autouse=True)
def english(settings: Any) -> Any:
    """Assertions below read English messages; the Spanish ones are checked where it matters."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
