"""A closed assembly of alice's organisation with a full record, and its minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from assemblies import services as live
from assemblies.minutes import services
from assemblies.models import Assembly, Minutes, Proposal
from governance.models import Mandate
from tests import factories
from tests.assemblies.helpers import everyone_in, open_assembly, with_item

BLOCK_REASON = "Pone en riesgo el turno de noche"


@pytest.fixture(autouse=True)
def _no_worker_spawn(settings: Any, tmp_path: Any) -> None:
    """Tests play the worker themselves (worker.run_pending) and write into a temp media."""
    settings.MINUTES_WORKER = "external"
    settings.MEDIA_ROOT = tmp_path / "media"


@dataclass
class Record:
    assembly: Assembly
    minutes: Minutes
    adopted: Proposal
    held: Proposal


def hold_assembly(world: Any, *, title: str = "Asamblea de noviembre", days_ago: int = 2) -> Record:
    """An assembly that ran: attendance, two items, a proposal adopted by consensus with a
    concern, one held by bob's block, notes, a task; then closed."""
    factories.grant(world.alice_m, Mandate.Role.MINUTE_TAKER)
    a = open_assembly(world)
    Assembly.objects.filter(pk=a.pk).update(
        starts_at=timezone.now() - timedelta(days=days_ago), title=title
    )
    a.refresh_from_db()
    everyone_in(world, a)
    item1 = with_item(world, a, title="Horario de diciembre")
    p1 = live.proposal_create(actor=world.bob, assembly=a, title="Horario", text="Abrimos a las 6.")
    live.proposal_amend(actor=world.bob, proposal=p1, text="Abrimos a las 6:30.", note="más tarde")
    r1 = live.round_open(actor=world.alice, proposal=p1)
    live.position_state(actor=world.alice, round=r1, stance="agree")
    live.position_state(actor=world.bob, round=r1, stance="concern", text="El autobús llega tarde")
    live.round_close(actor=world.alice, round=r1)
    item2 = with_item(world, a, title="Compra del horno")
    p2 = live.proposal_create(actor=world.alice, assembly=a, title="Horno nuevo", text="Compramos.")
    r2 = live.round_open(actor=world.alice, proposal=p2)
    live.position_state(actor=world.alice, round=r2, stance="agree")
    live.position_state(actor=world.bob, round=r2, stance="block", text=BLOCK_REASON)
    live.round_close(actor=world.alice, round=r2)
    minutes = services.minutes_start(actor=world.alice, assembly=a)
    services.minutes_notes_set(
        actor=world.alice, minutes=minutes, item=item1, text="Se habló del bus."
    )
    services.minutes_notes_set(
        actor=world.alice, minutes=minutes, item=item2, text="Falta presupuesto."
    )
    services.minutes_task_add(
        actor=world.alice,
        minutes=minutes,
        item=item1,
        text="Avisar a la línea de bus",
        responsible=world.bob_m,
        due_on=timezone.localdate() + timedelta(days=7),
    )
    live.assembly_close(actor=world.alice, assembly=a)
    a.refresh_from_db()
    minutes.refresh_from_db()
    p1.refresh_from_db()
    p2.refresh_from_db()
    return Record(assembly=a, minutes=minutes, adopted=p1, held=p2)


@pytest.fixture
def record(world: Any) -> Record:
    return hold_assembly(world)


def end_amendment_window(minutes: Minutes) -> None:
    """As if the days attendees had to propose corrections went by."""
    Minutes.objects.filter(pk=minutes.pk).update(
        amendment_until=timezone.now() - timedelta(seconds=1)
    )
    minutes.refresh_from_db()


def approve_by_signatures(world: Any, minutes: Minutes) -> Any:
    """The organisation adopts signature approval (2 signatures) and alice and bob sign."""
    from governance import services as gov

    decision = gov.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Actas por firmas",
        text="Firmas",
        body="Asamblea",
    )
    if gov.rules_in_force(organization=world.org).minutes_approval != "signatures":
        gov.rules_adopt(
            actor=world.alice,
            organization=world.org,
            decision=decision,
            valid_from=timezone.now() - timedelta(seconds=1),
            minutes_approval="signatures",
            minutes_signatures_required=2,
        )
    minutes.refresh_from_db()
    if minutes.status == Minutes.Status.DRAFT:
        services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    assert services.minutes_sign(actor=world.alice, minutes=minutes) is None
    version = services.minutes_sign(actor=world.bob, minutes=minutes)
    assert version is not None
    return version
