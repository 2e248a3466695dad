"""One channel-layer subscription per process per assembly, and local fan-out.

Why not a channel-layer message per socket: measured on the 2-core target machine with 1,300
sockets, Channels' per-consumer dispatch costs 285-500 us per delivered message against ~27 us
for a local loop over the sockets, and the in-memory layer scans every channel on each send.
So the hub subscribes its own channel to `assembly.<uuid>` when the first local socket of that
assembly arrives, receives each event once, and hands one pre-encoded frame to each local
socket.

The hub also guarantees what the sockets see:
- events in strictly increasing `seq`, without gaps: an event that arrives ahead of a missing
  one waits briefly, then the gap is read back from the log (a publish can be lost: crash
  between commit and broadcast, Redis hiccup, a full channel);
- bursts coalesced: at most one frame per `COALESCE_SECONDS` per assembly; a lone event goes
  out at once; inside a batch, an event whose regions are all re-rendered by a later event
  of the batch is dropped (its HTML is stale anyway);
- a periodic check against the log's `last_seq`, which also renews the group membership
  (channels_redis expires it after `group_expiry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.layers import get_channel_layer

from assemblies.realtime import (
    ACCESS_GROUP,
    ACCESS_MESSAGE,
    COALESCE_SECONDS,
    EVENT_MESSAGE,
    frames,
    group_name,
)

logger = logging.getLogger(__name__)


class Subscriber(Protocol):
    def deliver(self, frame: str, first: int, last: int) -> None:
        """Queue `frame` (covering seq first..last) for this socket; must not block."""


class Store(Protocol):
    """The hub's only reads of the event log (a fake in unit tests)."""

    async def last_seqs(self, uuids: Sequence[str]) -> dict[str, int]: ...

    async def events_after(self, uuid: str, after: int, upto: int) -> list[tuple[int, str]]: ...


@dataclass
class _Pending:
    seq: int
    regions: frozenset[str] | None  # None: unknown (read back from the log)
    html: str


@dataclass(eq=False)
class Room:
    """The hub's state for one assembly with local sockets."""

    uuid: str
    subscribers: set[Subscriber] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    failed: BaseException | None = None
    delivered: int = 0  # highest seq accepted (sent or in `pending`)
    pending: list[_Pending] = field(default_factory=list)
    pending_from: int | None = None
    early: dict[int, tuple[frozenset[str] | None, str]] = field(default_factory=dict)
    last_flush: float = float("-inf")
    flush_handle: asyncio.TimerHandle | None = None
    gap_task: asyncio.Task[None] | None = None
    linger_handle: asyncio.TimerHandle | None = None
    frames_sent: int = 0


class Hub:
    def __init__(
        self,
        layer: Any,
        store: Store,
        *,
        coalesce_seconds: float = COALESCE_SECONDS,
        gap_wait: float = 0.5,
        check_every: float = 10.0,
        linger: float = 30.0,
    ) -> None:
        self.layer = layer
        self.store = store
        self.coalesce_seconds = coalesce_seconds
        self.gap_wait = gap_wait
        self.check_every = check_every
        self.linger = linger
        self.rooms: dict[str, Room] = {}
        self.channel: str | None = None
        self._group_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._checker: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()

    # --- sockets --------------------------------------------------------------------------

    async def join(self, assembly_uuid: Any, subscriber: Subscriber) -> Room:
        """Subscribe a local socket; returns once the room follows the log.

        Everything committed after this returns reaches `subscriber.deliver`, so a socket
        that reads the log *after* joining misses nothing.
        """
        key = str(assembly_uuid)
        room = self.rooms.get(key)
        if room is None:
            room = Room(uuid=key)
            self.rooms[key] = room
            self._loop.create_task(self._open(room))
        if room.linger_handle is not None:
            room.linger_handle.cancel()
            room.linger_handle = None
        room.subscribers.add(subscriber)
        await room.ready.wait()
        if room.failed is not None:
            room.subscribers.discard(subscriber)
            raise RuntimeError("live updates are unavailable") from room.failed
        return room

    def leave(self, assembly_uuid: Any, subscriber: Subscriber) -> None:
        room = self.rooms.get(str(assembly_uuid))
        if room is None:
            return
        room.subscribers.discard(subscriber)
        if not room.subscribers and room.linger_handle is None:
            # Keep the subscription a while: phones drop and come back in seconds.
            room.linger_handle = self._loop.call_later(self.linger, self._close_if_idle, room)

    # --- subscription ---------------------------------------------------------------------

    async def _open(self, room: Room) -> None:
        try:
            async with self._group_lock:
                if self.channel is None:
                    self.channel = await self.layer.new_channel()
                    await self.layer.group_add(ACCESS_GROUP, self.channel)
                await self.layer.group_add(group_name(room.uuid), self.channel)
            self._ensure_tasks()
            # Read the log's position only after subscribing: every later event reaches us.
            seqs = await self.store.last_seqs([room.uuid])
            room.delivered = seqs.get(room.uuid, 0)
        except Exception as exc:  # noqa: BLE001 - reported to every waiting socket
            logger.exception("Could not subscribe to assembly %s", room.uuid)
            room.failed = exc
            if self.rooms.get(room.uuid) is room:
                del self.rooms[room.uuid]
            room.ready.set()
            return
        room.ready.set()
        early, room.early = room.early, {}
        for seq in sorted(early):
            regions, html = early[seq]
            self._receive(room, seq, regions, html)

    def _close_if_idle(self, room: Room) -> None:
        room.linger_handle = None
        if room.subscribers or self.rooms.get(room.uuid) is not room:
            return
        del self.rooms[room.uuid]
        if room.flush_handle is not None:
            room.flush_handle.cancel()
        if room.gap_task is not None:
            room.gap_task.cancel()
        self._loop.create_task(self._discard(room.uuid))

    async def _discard(self, key: str) -> None:
        async with self._group_lock:
            if key in self.rooms or self.channel is None:
                return  # someone joined again meanwhile: keep the subscription
            try:
                await self.layer.group_discard(group_name(key), self.channel)
            except Exception:  # noqa: BLE001 - an expired membership is harmless
                logger.warning("group_discard failed for assembly %s", key, exc_info=True)
            if not self.rooms:
                self._stop_tasks()

    def _ensure_tasks(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = self._loop.create_task(self._read())
        if self._checker is None or self._checker.done():
            self._checker = self._loop.create_task(self._check())

    def _stop_tasks(self) -> None:
        for task in (self._reader, self._checker):
            if task is not None:
                task.cancel()
        self._reader = self._checker = None

    async def close(self) -> None:
        """Drop every subscription (server shutdown, end of a test)."""
        for room in list(self.rooms.values()):
            room.subscribers.clear()
            if room.linger_handle is not None:
                room.linger_handle.cancel()
            room.linger_handle = None
            self._close_if_idle(room)
        async with self._group_lock:
            self._stop_tasks()

    # --- receiving ------------------------------------------------------------------------

    async def _read(self) -> None:
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a layer outage must not kill the hub
                logger.exception("Channel layer receive failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if message.get("type") == ACCESS_MESSAGE:
                self._access_changed(message)
                continue
            if message.get("type") != EVENT_MESSAGE:
                continue
            room = self.rooms.get(message.get("assembly", ""))
            if room is None:
                continue
            try:
                regions = frozenset(message["regions"])
                self._receive(room, int(message["seq"]), regions, str(message["html"]))
            except (KeyError, TypeError, ValueError):
                logger.warning("Malformed assembly event on the layer: %r", message)

    def _receive(self, room: Room, seq: int, regions: frozenset[str] | None, html: str) -> None:
        if not room.ready.is_set():
            room.early[seq] = (regions, html)
            return
        if seq <= room.delivered:
            return  # already delivered (duplicate publish, or read back from the log)
        if seq != room.delivered + 1:
            room.early[seq] = (regions, html)
            self._watch_gap(room)
            return
        self._accept(room, seq, regions, html)
        while room.delivered + 1 in room.early:
            nxt = room.delivered + 1
            r, h = room.early.pop(nxt)
            self._accept(room, nxt, r, h)
        # Anything left in `early` is behind another gap; its timer is still running.
        if room.early:
            self._watch_gap(room)
        self._schedule_flush(room)

    def _accept(self, room: Room, seq: int, regions: frozenset[str] | None, html: str) -> None:
        if regions is not None:
            # A later fragment for the same regions replaces the earlier one.
            room.pending = [
                p for p in room.pending if p.regions is None or not p.regions <= regions
            ]
        room.pending.append(_Pending(seq, regions, html))
        if room.pending_from is None:
            room.pending_from = seq
        room.delivered = seq

    def _access_changed(self, message: dict[str, Any]) -> None:
        user, session = message.get("user"), message.get("session") or None
        for room in list(self.rooms.values()):
            for subscriber in list(room.subscribers):
                if getattr(subscriber, "user_id", None) != user:
                    continue
                try:
                    subscriber.access_changed(session)  # type: ignore[attr-defined]
                except Exception:  # noqa: BLE001 - one broken socket must not stop the rest
                    logger.exception("Re-checking a socket's access failed")

    def sockets_of(self, user_id: int) -> int:
        """How many local sockets this person has open (the per-person connection cap)."""
        return sum(
            1
            for room in self.rooms.values()
            for subscriber in room.subscribers
            if getattr(subscriber, "user_id", None) == user_id
        )

    # --- gaps -----------------------------------------------------------------------------

    def _watch_gap(self, room: Room) -> None:
        if room.gap_task is None or room.gap_task.done():
            room.gap_task = self._loop.create_task(self._fill_gap(room, self.gap_wait))

    async def _fill_gap(self, room: Room, wait: float, upto: int | None = None) -> None:
        await asyncio.sleep(wait)
        target = max([*room.early, upto or 0])
        if target <= room.delivered:
            return
        try:
            rows = await self.store.events_after(room.uuid, room.delivered, target)
        except Exception:  # noqa: BLE001 - the next check retries
            logger.exception("Reading back events of assembly %s failed", room.uuid)
            return
        room.gap_task = None
        for seq, html in rows:
            # Prefer the broadcast copy when there is one: it knows its regions.
            regions, html = room.early.pop(seq, (None, html))
            self._receive(room, seq, regions, html)

    async def _check(self) -> None:
        """Catch events whose broadcast was lost, and renew group memberships."""
        while True:
            await asyncio.sleep(self.check_every)
            rooms = [r for r in self.rooms.values() if r.ready.is_set() and r.failed is None]
            if not rooms:
                continue
            try:
                async with self._group_lock:
                    if self.channel is not None:
                        await self.layer.group_add(ACCESS_GROUP, self.channel)
                    for room in rooms:
                        if self.channel is not None and self.rooms.get(room.uuid) is room:
                            await self.layer.group_add(group_name(room.uuid), self.channel)
                seqs = await self.store.last_seqs([r.uuid for r in rooms])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - try again next round
                logger.exception("Periodic live check failed")
                continue
            for room in rooms:
                latest = seqs.get(room.uuid, 0)
                if latest > room.delivered and (room.gap_task is None or room.gap_task.done()):
                    room.gap_task = self._loop.create_task(self._fill_gap(room, 0, latest))

    # --- sending --------------------------------------------------------------------------

    def _schedule_flush(self, room: Room) -> None:
        if not room.pending or room.flush_handle is not None:
            return
        due = room.last_flush + self.coalesce_seconds
        now = self._loop.time()
        if now >= due:
            self._flush(room)
        else:
            room.flush_handle = self._loop.call_at(due, self._flush, room)

    def _flush(self, room: Room) -> None:
        room.flush_handle = None
        if not room.pending or room.pending_from is None:
            return
        first, last = room.pending_from, room.delivered
        frame = frames.events(first, last, "".join(p.html for p in room.pending))
        room.pending = []
        room.pending_from = None
        room.last_flush = self._loop.time()
        room.frames_sent += 1
        for subscriber in list(room.subscribers):
            try:
                subscriber.deliver(frame, first, last)
            except Exception:  # noqa: BLE001 - one broken socket must not starve the rest
                logger.exception("Delivering a frame to a socket failed")


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of this process (one per event loop: tests run a loop per test)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        from assemblies.realtime.store import DatabaseStore

        hub = Hub(get_channel_layer(), DatabaseStore())
        _hubs[loop] = hub
    return hub


async def reset_hub() -> None:
    """Close this loop's hub (tests; server shutdown)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.pop(loop, None)
    if hub is not None:
        with contextlib.suppress(Exception):
            await hub.close()
