"""The "notes" live region: participants follow the minute-taker's notes as they change.

Registered with the assemblies fragment registry on import. Imported by the snapshot code
(`assemblies.realtime.sync`, loaded with the websocket routing when the ASGI application
starts), by the minutes URLconf and by the minutes services: a process that has served no
page yet (just restarted, every client reconnecting) still puts the notes in its snapshots."""

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
