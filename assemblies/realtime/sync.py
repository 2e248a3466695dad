"""Admit a socket and bring it to the assembly's current `seq`.

The client says which `seq` it has applied. If it is a little behind, the missing events are
replayed from the log as one `events` frame; if it is far behind (or says nothing, or claims
a `seq` the server never reached), it gets one `snapshot` frame of every region instead.

A server restart makes every client reconnect within seconds, all at the same `seq`: the
snapshot is cached per `(assembly, seq)` (in-process, single-flight, and in Django's cache so
other processes reuse it) and so rendered once, not 1,300 times.

Admission and the replay plan are one trip to the database thread: after a restart 1,300
sockets connect at once, and every hop through that single thread costs them all.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from assemblies import fragments
from assemblies.minutes import live as _notes_region  # noqa: F401  (registers "notes")
from assemblies.models import Assembly
from assemblies.realtime import MAX_FRAME_BYTES, REPLAY_MAX_EVENTS, frames
from assemblies.realtime.store import events_after
from governance.models import Mandate
from governance.permissions import may

SNAPSHOT_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Standing:
    """What a socket's admission rested on, re-checked when the person's access may change."""

    powers: frozenset[int]  # the person's mandates in force
    # When the set of mandates in force changes by itself (one ends or starts): expiry
    # sends no event, so the socket re-checks at that moment.
    changes_at: datetime | None


@dataclass(frozen=True)
class Plan:
    """Where the server's log stands, and what a client at `since` is missing."""

    pk: int
    uuid: str
    seq: int
    replay: list[tuple[int, str]] | None  # None: send a snapshot
    standing: Standing | None = None


def _standing(user_id: int) -> Standing:
    now = timezone.now()
    rows = Mandate.objects.filter(
        membership__person_id=user_id, revoked_at__isnull=True, ends_at__gt=now
    ).values_list("pk", "starts_at", "ends_at")
    powers = frozenset(pk for pk, starts, _ in rows if starts <= now)
    moments = [starts if starts > now else ends for _, starts, ends in rows]
    return Standing(powers, min(moments) if moments else None)


def _plan_rows(uuid: str, last: int, since: int | None) -> list[tuple[int, str]] | None:
    if since is None or since < 0 or since > last or last - since > REPLAY_MAX_EVENTS:
        return None
    if since == last:
        return []
    rows = events_after(uuid, since, last)
    if len(rows) != last - since or sum(len(html) for _, html in rows) > MAX_FRAME_BYTES:
        return None
    return rows


# uuid -> the assembly's identity (pk, organisation, federation), which never changes: a
# reconnect storm then costs one query for the membership and one for the log's position.
_identities: OrderedDict[str, Assembly] = OrderedDict()


def _identity(assembly_uuid: str) -> Assembly | None:
    found = _identities.get(assembly_uuid)
    if found is None:
        found = (
            Assembly.objects.filter(uuid=assembly_uuid)
            .only("pk", "uuid", "organization_id", "federation_id")
            .first()
        )
        if found is None:
            return None
        _identities[assembly_uuid] = found
        while len(_identities) > 256:
            _identities.popitem(last=False)
    return found


@database_sync_to_async
def admit(user: Any, assembly_uuid: str, since: int | None) -> Plan | None:
    """The plan if this person may follow the assembly; None for unknown or foreign alike."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    assembly = _identity(assembly_uuid)
    if assembly is None or not may(user, "assembly.view", assembly):
        return None
    last = Assembly.objects.filter(pk=assembly.pk).values_list("last_seq", flat=True).first()
    if last is None:  # deleted meanwhile
        _identities.pop(assembly_uuid, None)
        return None
    return Plan(
        assembly.pk,
        assembly_uuid,
        last,
        _plan_rows(assembly_uuid, last, since),
        _standing(user.pk),
    )


@database_sync_to_async
def recheck(user_id: int, session_key: str | None, assembly_uuid: str) -> Standing | str:
    """Re-check a live socket: "logged_out" when its session no longer holds this person,
    "refused" when they may no longer follow the assembly, else their current standing."""
    engine = import_module(settings.SESSION_ENGINE)
    data = engine.SessionStore(session_key).load() if session_key else {}
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if (
        user is None
        or str(data.get(SESSION_KEY)) != str(user_id)
        or not constant_time_compare(
            str(data.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash()
        )
    ):
        return "logged_out"
    assembly = _identity(assembly_uuid)
    if assembly is None or not may(user, "assembly.view", assembly):
        return "refused"
    return _standing(user_id)


@database_sync_to_async
def plan(pk: int, uuid: str, since: int | None) -> Plan:
    last = Assembly.objects.values_list("last_seq", flat=True).get(pk=pk)
    return Plan(pk, uuid, last, _plan_rows(uuid, last, since))


def _render_snapshot(pk: int, seq: int, key: str) -> str:
    html = cache.get(key)
    if html is None:
        # Rendering may see state newer than `seq` (a write landing meanwhile): harmless,
        # the events after `seq` that follow carry whole regions and converge.
        assembly = Assembly.objects.select_related("organization", "current_item").get(pk=pk)
        html = fragments.render_snapshot(assembly)
        cache.set(key, html, SNAPSHOT_CACHE_SECONDS)
    return frames.snapshot(seq, html)


class SnapshotCache:
    """Per event loop: recent snapshot frames, and renders in flight (single-flight)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._frames: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._inflight: dict[tuple[int, int], asyncio.Future[str]] = {}

    async def frame(self, pk: int, uuid: str, seq: int) -> str:
        key = (pk, seq)
        hit = self._frames.get(key)
        if hit is not None:
            self._frames.move_to_end(key)
            return hit
        waiting = self._inflight.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            frame = await database_sync_to_async(_render_snapshot)(
                pk, seq, f"live-snapshot:{uuid}:{seq}"
            )
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(frame)
        self._frames[key] = frame
        while len(self._frames) > self.size:
            self._frames.popitem(last=False)
        return frame


_caches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SnapshotCache] = (
    weakref.WeakKeyDictionary()
)


def snapshot_cache() -> SnapshotCache:
    loop = asyncio.get_running_loop()
    found = _caches.get(loop)
    if found is None:
        found = _caches[loop] = SnapshotCache()
    return found


async def frames_for(p: Plan) -> list[str]:
    """The frames that take a client from the plan's `since` to `p.seq`."""
    if p.replay is None:
        return [await snapshot_cache().frame(p.pk, p.uuid, p.seq)]
    if not p.replay:
        return [frames.in_sync(p.seq)]
    return [frames.events(p.replay[0][0], p.seq, "".join(html for _, html in p.replay))]
