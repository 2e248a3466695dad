"""Reads of the event log for the realtime transport (sync ORM wrapped for the event loop)."""

from __future__ import annotations

from collections.abc import Sequence

from channels.db import database_sync_to_async

from assemblies.models import Assembly, AssemblyEvent


def last_seqs(uuids: Sequence[str]) -> dict[str, int]:
    rows = Assembly.objects.filter(uuid__in=list(uuids)).values_list("uuid", "last_seq")
    return {str(uuid): seq for uuid, seq in rows}


def events_after(uuid: str, after: int, upto: int) -> list[tuple[int, str]]:
    return list(
        AssemblyEvent.objects.filter(assembly__uuid=uuid, seq__gt=after, seq__lte=upto)
        .order_by("seq")
        .values_list("seq", "html")
    )


class DatabaseStore:
    async def last_seqs(self, uuids: Sequence[str]) -> dict[str, int]:
        return await database_sync_to_async(last_seqs)(uuids)

    async def events_after(self, uuid: str, after: int, upto: int) -> list[tuple[int, str]]:
        return await database_sync_to_async(events_after)(uuid, after, upto)
