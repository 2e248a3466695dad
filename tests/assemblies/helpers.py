"""Shared set-up for assembly tests: an open assembly of alice's organisation."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from assemblies import services
from assemblies.models import AgendaItem, Assembly


def open_assembly(world: Any, **kw: Any) -> Assembly:
    assembly = services.assembly_create(
        actor=world.alice,
        organization=world.org,
        title="Asamblea de noviembre",
        starts_at=timezone.now(),
        place="Horno 2",
        **kw,
    )
    services.assembly_open(actor=world.alice, assembly=assembly)
    return assembly


def with_item(
    world: Any, assembly: Assembly, title: str = "Horario de diciembre", kind: str = "decision"
) -> AgendaItem:
    item = services.agenda_item_propose(actor=world.bob, assembly=assembly, title=title, kind=kind)
    services.agenda_item_set_current(actor=world.alice, item=item)
    assembly.refresh_from_db()
    return item


def everyone_in(world: Any, assembly: Assembly) -> None:
    services.attendance_check_in(actor=world.alice, assembly=assembly, code=assembly.code)
    services.attendance_check_in(actor=world.bob, assembly=assembly, code=assembly.code)
