"""The writer of the live event log: the only way a state change reaches the screens.

Services call `emit(...)` inside their own transaction, right after the state change. The
event gets the next `seq` of the assembly under a row lock, its shared HTML is rendered once
(the same fragment for every viewer), and it is broadcast only after the transaction
commits: a screen never shows what the database might still roll back, and a crash after
commit loses nothing (the hubs read missed events back from the log).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import transaction

from assemblies.fragments import render_regions
from assemblies.models import Assembly, AssemblyEvent
from assemblies.realtime import event_message, publish


def emit(
    *,
    assembly: Assembly,
    kind: str,
    data: dict[str, Any] | None = None,
    regions: Sequence[str] = (),
) -> AssemblyEvent:
    """Append an event to `assembly`'s log and broadcast it when the transaction commits."""
    region_list = list(dict.fromkeys(regions))
    with transaction.atomic(savepoint=False):
        # The row lock (a no-op on SQLite, whose IMMEDIATE transactions already serialize
        # writers) makes `seq` strictly increasing and the rendered HTML match that seq.
        last = (
            Assembly.objects.select_for_update()
            .values_list("last_seq", flat=True)
            .get(pk=assembly.pk)
        )
        seq = last + 1
        Assembly.objects.filter(pk=assembly.pk).update(last_seq=seq)
        assembly.last_seq = seq
        html = render_regions(assembly, region_list) if region_list else ""
        event = AssemblyEvent.objects.create(
            assembly=assembly, seq=seq, kind=kind, data=data or {}, html=html
        )
        message = event_message(
            assembly_uuid=assembly.uuid, seq=seq, regions=region_list, html=html
        )
        transaction.on_commit(partial(publish, message), robust=True)
    return event
