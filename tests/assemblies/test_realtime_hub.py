"""The process hub on its own: a fake channel layer and a fake event log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from assemblies.consumers import CLOSE_TOO_SLOW, MAX_OUTBOX, LiveConsumer
from assemblies.realtime import event_message
from assemblies.realtime.hub import Hub

A = "5b2f4a34-3f0e-4c57-9a4f-1f3f2b7c9a10"
B = "0c8e3d1e-8f6a-4d21-b5a0-7d6c5e4f3a21"


class FakeLayer:
    def __init__(self) -> None:
        self.groups: dict[str, set[str]] = {}
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.discarded: list[str] = []

    async def new_channel(self) -> str:
        return "specific.hub!1"

    async def group_add(self, group: str, channel: str) -> None:
        self.groups.setdefault(group, set()).add(channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.groups.get(group, set()).discard(channel)
        self.discarded.append(group)

    async def receive(self, channel: str) -> dict[str, Any]:
        return await self.queue.get()

    def publish(self, uuid: str, seq: int, regions: list[str], html: str | None = None) -> None:
        html = html if html is not None else f"<p>{uuid[:1]}{seq}</p>"
        self.queue.put_nowait(
            event_message(assembly_uuid=uuid, seq=seq, regions=regions, html=html)
        )


class FakeStore:
    def __init__(self) -> None:
        self.log: dict[str, list[tuple[int, str]]] = {A: [], B: []}

    def append(self, uuid: str, html: str) -> int:
        seq = len(self.log[uuid]) + 1
        self.log[uuid].append((seq, html))
        return seq

    async def last_seqs(self, uuids: Sequence[str]) -> dict[str, int]:
        return {u: len(self.log[u]) for u in uuids}

    async def events_after(self, uuid: str, after: int, upto: int) -> list[tuple[int, str]]:
        return [(s, h) for s, h in self.log[uuid] if after < s <= upto]


class Socket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.arrived = asyncio.Event()

    def deliver(self, frame: str, first: int, last: int) -> None:
        self.raw.append(frame)
        data = json.loads(frame)
        assert (data["from"], data["to"]) == (first, last)
        self.frames.append(data)
        self.arrived.set()

    async def until(self, seq: int, timeout: float = 3) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while not self.frames or self.frames[-1]["to"] < seq:
                self.arrived.clear()
                await self.arrived.wait()
        return self.frames


def make_hub(**kw: Any) -> tuple[Hub, FakeLayer, FakeStore]:
    layer, store = FakeLayer(), FakeStore()
    options = {"coalesce_seconds": 0.0, "gap_wait": 0.05, "check_every": 60, "linger": 60}
    options.update(kw)
    return Hub(layer, store, **options), layer, store


def covered(frames: list[dict[str, Any]]) -> list[int]:
    return [s for f in frames for s in range(f["from"], f["to"] + 1)]


async def test_every_local_socket_shares_one_group_subscription() -> None:
    hub, layer, _ = make_hub()
    sockets = [Socket() for _ in range(50)]
    for s in sockets:
        await hub.join(A, s)
    # One subscription for the assembly, plus the process's one for access changes.
    assert layer.groups == {f"assembly.{A}": {"specific.hub!1"}, "live.access": {"specific.hub!1"}}
    layer.publish(A, 1, ["queue"])
    for s in sockets:
        assert covered(await s.until(1)) == [1]
    # The very same string goes to every socket: rendered and encoded once.
    assert all(s.raw[0] is sockets[0].raw[0] for s in sockets)
    await hub.close()


async def test_events_arriving_out_of_order_are_delivered_in_seq_order() -> None:
    hub, layer, store = make_hub(gap_wait=5)
    sock = Socket()
    await hub.join(A, sock)
    for html in ("a", "b", "c"):
        store.append(A, html)
    layer.publish(A, 3, ["queue"])
    layer.publish(A, 1, ["status"])
    layer.publish(A, 2, ["agenda"])
    frames = await sock.until(3)
    assert covered(frames) == [1, 2, 3]
    await hub.close()


async def test_a_missing_event_is_read_back_from_the_log() -> None:
    hub, layer, store = make_hub()
    sock = Socket()
    await hub.join(A, sock)
    for html in ("<p>one</p>", "<p>lost</p>", "<p>three</p>"):
        store.append(A, html)
    layer.publish(A, 1, ["queue"], "<p>one</p>")
    layer.publish(A, 3, ["queue"], "<p>three</p>")  # 2 was never broadcast
    frames = await sock.until(3)
    assert covered(frames) == [1, 2, 3]
    assert "<p>lost</p>" in "".join(f["html"] for f in frames)
    await hub.close()


async def test_duplicate_broadcasts_are_delivered_once() -> None:
    hub, layer, _ = make_hub()
    sock = Socket()
    await hub.join(A, sock)
    for seq in (1, 1, 2, 1, 2):
        layer.publish(A, seq, ["queue"])
    frames = await sock.until(2)
    await asyncio.sleep(0.05)
    assert covered(frames) == [1, 2]
    await hub.close()


async def test_a_burst_becomes_few_frames_holding_the_latest_fragment_per_region() -> None:
    hub, layer, _ = make_hub(coalesce_seconds=0.2)
    sock = Socket()
    await hub.join(A, sock)
    layer.publish(A, 1, ["round"], "<r1>")
    await sock.until(1)
    layer.publish(A, 2, ["round"], "<r2>")
    layer.publish(A, 3, ["queue"], "<q3>")
    layer.publish(A, 4, ["round"], "<r4>")
    frames = await sock.until(4)
    assert [(f["from"], f["to"]) for f in frames] == [(1, 1), (2, 4)]
    # r2 is stale once r4 exists; q3 stays, in seq order.
    assert frames[1]["html"] == "<q3><r4>"
    await hub.close()


async def test_a_lost_broadcast_with_no_event_after_it_is_found_by_the_periodic_check() -> None:
    hub, _, store = make_hub(check_every=0.05)
    sock = Socket()
    await hub.join(A, sock)
    store.append(A, "<p>never broadcast</p>")
    frames = await sock.until(1)
    assert frames[0]["html"] == "<p>never broadcast</p>"
    await hub.close()


async def test_sockets_only_get_their_own_assemblys_events() -> None:
    hub, layer, _ = make_hub()
    a, b = Socket(), Socket()
    await hub.join(A, a)
    await hub.join(B, b)
    layer.publish(B, 1, ["queue"])
    layer.publish(A, 1, ["queue"])
    await a.until(1)
    await b.until(1)
    assert a.frames[0]["html"].startswith(f"<p>{A[:1]}")
    assert b.frames[0]["html"].startswith(f"<p>{B[:1]}")
    assert len(a.frames) == len(b.frames) == 1
    await hub.close()


async def test_the_subscription_ends_a_while_after_the_last_socket_leaves() -> None:
    hub, layer, _ = make_hub(linger=0.05)
    sock = Socket()
    await hub.join(A, sock)
    hub.leave(A, sock)
    assert A in hub.rooms  # phones drop and come back: keep it a moment
    await asyncio.sleep(0.2)
    assert A not in hub.rooms
    assert layer.discarded == [f"assembly.{A}"]
    await hub.close()


async def test_a_socket_that_stops_reading_is_closed_instead_of_holding_anyone_up() -> None:
    blocked = asyncio.Event()

    async def never_returns(message: dict[str, Any]) -> None:
        await blocked.wait()

    async def nothing() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    consumer = LiveConsumer({"type": "websocket"}, nothing, never_returns)
    consumer._syncing = False
    for seq in range(1, MAX_OUTBOX + 20):
        consumer.deliver(f'{{"type":"events","from":{seq},"to":{seq},"html":""}}', seq, seq)
    assert consumer._closing
    assert list(consumer._outbox) == [{"type": "websocket.close", "code": CLOSE_TOO_SLOW}]
