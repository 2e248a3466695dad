"""The "notes" live region: participants follow the minute-taker's notes as they change.

Registered with the assemblies fragment registry on import (the minutes URLconf and the
minutes services import this module)."""

from __future__ import annotations

from django.template.loader import render_to_string

from assemblies.fragments import register_region
from assemblies.models import Assembly, Minutes


def render_notes(assembly: Assembly) -> str:
    minutes = (
        Minutes.objects.filter(assembly=assembly)
        .prefetch_related("item_notes__item", "tasks__responsible__person")
        .first()
    )
    notes = []
    tasks = []
    if minutes is not None:
        notes = sorted(
            (n for n in minutes.item_notes.all() if n.text),
            key=lambda n: (n.item.order, n.item_id),
        )
        tasks = list(minutes.tasks.all())
    return render_to_string(
        "assemblies/minutes/_notes_region.html",
        {"assembly": assembly, "minutes": minutes, "notes": notes, "tasks": tasks},
    )


register_region("notes", render_notes)
