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

from django.db import connection, transaction

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
        # One statement takes the next `seq` and locks the assembly row until commit (on
        # SQLite the IMMEDIATE transaction already serializes writers), so `seq` is strictly
        # increasing and the rendered HTML matches it. Both engines speak RETURNING.
        table = connection.ops.quote_name(Assembly._meta.db_table)
        sql = f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq"
        with connection.cursor() as cursor:
            cursor.execute(sql, [assembly.pk])
            row = cursor.fetchone()
        if row is None:
            raise Assembly.DoesNotExist(f"assembly {assembly.pk} is gone")
        seq = int(row[0])
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
