"""The live websocket through the real ASGI stack (Origin check, session auth, routing).

Every test runs on the in-memory channel layer and, when REDIS_URL is set (CI), again on
channels_redis.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from assemblies import consumers, events, fragments
from assemblies.models import Assembly, AssemblyEvent
from assemblies.realtime import hub as hub_module
from assemblies.realtime import sync
from config.asgi import application
from governance import services as governance_services
from governance.models import Decision, Membership

pytestmark = pytest.mark.django_db(transaction=True)


class WebsocketCommunicator(ApplicationCommunicator):  # type: ignore[misc]
    """channels.testing's communicator, minus its package import of daphne."""

    def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        parsed = urlparse(path)
        scope = {
            "type": "websocket",
            "path": unquote(parsed.path),
            "query_string": parsed.query.encode(),
            "headers": headers,
            "subprotocols": [],
        }
        super().__init__(app, scope)

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept"
        return True, None

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data: Any) -> None:
        await self.send_to(text_data=json.dumps(data))

    async def receive_json_from(self, timeout: float = 1) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


LAYERS = ["memory"] + (["redis"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture(params=LAYERS)
def layer(request: Any, settings: Any) -> str:
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": os.environ["REDIS_URL"], "max_connections": 200}],
                    "group_expiry": 300,
                    "prefix": f"test-live-{os.getpid()}",
                },
            }
        }
    return str(request.param)


@pytest.fixture
async def live(layer: str) -> AsyncIterator[str]:
    """A clean hub and layer per test (each test runs its own event loop)."""
    consumers._recent_connects.clear()
    yield layer
    consumers._recent_connects.clear()
    await hub_module.reset_hub()
    channel_layer = get_channel_layer()
    await channel_layer.flush()
    if hasattr(channel_layer, "close_pools"):
        await channel_layer.close_pools()
    # The ORM thread's persistent connection would keep PostgreSQL's test database busy.
    await sync_to_async(connections.close_all, thread_sensitive=True)()


def _cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def cookies(world: Any) -> dict[str, str]:
    return {name: _cookie(getattr(world, name)) for name in ("alice", "bob", "charlie")}


def _assembly(org: Any, title: str = "Asamblea de noviembre") -> Assembly:
    return Assembly.objects.create(
        organization=org, title=title, starts_at=timezone.now(), status=Assembly.Status.OPEN
    )


@pytest.fixture
def assembly(world: Any) -> Assembly:
    return _assembly(world.org)


def connect(
    assembly: Assembly,
    cookie: str | None,
    *,
    seq: int | None = None,
    origin: str = "http://testserver",
) -> WebsocketCommunicator:
    path = f"/ws/assemblies/{assembly.uuid}/"
    if seq is not None:
        path += f"?seq={seq}"
    headers = [(b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def _emit_now(assembly: Assembly, kind: str, regions: list[str]) -> int:
    with transaction.atomic():
        return events.emit(assembly=assembly, kind=kind, data={}, regions=regions).seq


async def emit(
    assembly: Assembly, kind: str = "queue.add", regions: list[str] | None = None
) -> int:
    return int(await database_sync_to_async(_emit_now)(assembly, kind, regions or ["queue"]))


async def opened(comm: WebsocketCommunicator) -> dict[str, Any]:
    connected, code = await comm.connect(timeout=5)
    assert connected, f"refused with {code}"
    return await comm.receive_json_from(timeout=5)


async def frames_until(comm: WebsocketCommunicator, seq: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while not got or int(got[-1].get("to", got[-1].get("seq", 0))) < seq:
        got.append(await comm.receive_json_from(timeout=5))
    return got


def assert_contiguous(frames: list[dict[str, Any]], start: int, end: int) -> None:
    """Frames cover start..end exactly once, in order."""
    expected = start
    for frame in frames:
        assert frame["type"] == "events"
        assert frame["from"] == expected, frames
        assert frame["to"] >= frame["from"]
        expected = frame["to"] + 1
    assert expected == end + 1


# --- admission -------------------------------------------------------------------------------


async def test_member_connects_and_is_told_the_current_seq(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    seq = await emit(assembly)
    comm = connect(assembly, cookies["bob"], seq=seq)
    assert await opened(comm) == {"type": "sync", "seq": seq}
    await comm.disconnect()


async def test_foreign_origin_is_refused(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["alice"], seq=0, origin="http://evil.example")
    connected, _ = await comm.connect(timeout=5)
    assert not connected


async def test_member_of_another_organisation_is_refused(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["charlie"], seq=0)
    connected, code = await comm.connect(timeout=5)
    assert not connected
    assert code == 4403


async def test_anonymous_visitor_is_refused(live: str, assembly: Assembly) -> None:
    comm = connect(assembly, None, seq=0)
    connected, code = await comm.connect(timeout=5)
    assert not connected
    assert code == 4403


async def test_unknown_assembly_is_refused_like_a_foreign_one(
    live: str, world: Any, cookies: dict[str, str]
) -> None:
    ghost = Assembly(uuid="00000000-0000-4000-8000-000000000000")
    comm = connect(ghost, cookies["alice"], seq=0)
    connected, code = await comm.connect(timeout=5)
    assert not connected
    assert code == 4403


async def test_federation_assembly_admits_members_of_its_organisations(
    live: str, world: Any, cookies: dict[str, str]
) -> None:
    fed_assembly = await database_sync_to_async(Assembly.objects.create)(
        federation=world.federation, title="Red", starts_at=timezone.now(), status="open"
    )
    comm = connect(fed_assembly, cookies["charlie"], seq=0)
    assert (await opened(comm))["type"] == "sync"
    await comm.disconnect()


# --- broadcast -------------------------------------------------------------------------------


async def test_events_of_every_kind_reach_every_member_in_seq_order(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    alice = connect(assembly, cookies["alice"], seq=0)
    bob = connect(assembly, cookies["bob"], seq=0)
    await opened(alice)
    await opened(bob)
    kinds = [
        ("attendance.check_in", ["attendance"]),
        ("queue.add", ["queue"]),
        ("agenda.set_current", ["agenda", "status"]),
        ("round.open", ["round", "proposals"]),
        ("position.state", ["round"]),
    ]
    last = 0
    for kind, regions in kinds:
        last = await emit(assembly, kind, regions)
    for comm in (alice, bob):
        got = await frames_until(comm, last)
        assert_contiguous(got, 1, last)
        html = "".join(f["html"] for f in got)
        for region in ("attendance", "queue", "status", "round", "proposals"):
            assert f'id="live-{region}"' in html
        await comm.disconnect()


async def test_a_socket_never_receives_another_assemblys_events(
    live: str, world: Any, assembly: Assembly, cookies: dict[str, str]
) -> None:
    other = await database_sync_to_async(_assembly)(world.org, "Otra asamblea")
    mine = connect(assembly, cookies["bob"], seq=0)
    theirs = connect(other, cookies["alice"], seq=0)
    await opened(mine)
    await opened(theirs)
    for _ in range(3):
        await emit(other)
    assert (await frames_until(theirs, 3))[-1]["to"] == 3
    assert await mine.receive_nothing(timeout=0.5)
    seq = await emit(assembly)
    frame = await mine.receive_json_from(timeout=5)
    assert (frame["from"], frame["to"]) == (seq, seq) == (1, 1)
    await mine.disconnect()
    await theirs.disconnect()


async def test_one_layer_subscription_per_process_whatever_the_socket_count(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comms = [connect(assembly, cookies[n], seq=0) for n in ("alice", "bob") * 4]
    for comm in comms:
        await opened(comm)
    the_hub = hub_module.get_hub()
    room = the_hub.rooms[str(assembly.uuid)]
    assert len(room.subscribers) == 8
    channel_layer = get_channel_layer()
    group = f"assembly.{assembly.uuid}"
    if live == "memory":
        assert list(channel_layer.groups[group]) == [the_hub.channel]
    else:
        conn = channel_layer.connection(channel_layer.consistent_hash(group))
        assert await conn.zcard(channel_layer._group_key(group)) == 1
    seq = await emit(assembly)
    for comm in comms:
        assert (await comm.receive_json_from(timeout=5))["to"] == seq
        await comm.disconnect()


async def test_a_burst_is_coalesced_into_few_frames_with_the_latest_fragment(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["bob"], seq=0)
    await opened(comm)
    seen: list[int] = []

    def counting(a: Assembly) -> str:
        seen.append(a.last_seq)
        return f"<p>tally at {a.last_seq}</p>"

    fragments.register_region("tally-test", counting)
    try:
        last = 0
        for _ in range(30):
            last = await emit(assembly, "position.state", ["tally-test"])
        got = await frames_until(comm, last)
    finally:
        fragments._REGIONS.pop("tally-test", None)
    assert_contiguous(got, 1, last)
    assert len(got) < 30
    # Each frame carries one fragment of the region: the newest of its batch.
    for frame in got:
        assert frame["html"].count('id="live-tally-test"') == 1
        assert f"tally at {frame['to']}<" in frame["html"]
    assert seen == list(range(1, 31)), "rendered once per event, not per socket"
    await comm.disconnect()


async def test_a_lost_broadcast_is_read_back_from_the_log(
    live: str, assembly: Assembly, cookies: dict[str, str], monkeypatch: Any
) -> None:
    comm = connect(assembly, cookies["bob"], seq=0)
    await opened(comm)
    monkeypatch.setattr(events, "publish", lambda message: None)
    lost = await emit(assembly, "queue.add")
    monkeypatch.undo()
    arrived = await emit(assembly, "queue.call")
    got = await frames_until(comm, arrived)
    assert_contiguous(got, lost, arrived)
    await comm.disconnect()


# --- catching up -----------------------------------------------------------------------------


async def test_reconnect_with_last_seq_replays_the_missed_events(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["bob"], seq=0)
    await opened(comm)
    first = await emit(assembly, "attendance.check_in", ["attendance"])
    assert (await comm.receive_json_from(timeout=5))["to"] == first
    await comm.disconnect()
    missed = [await emit(assembly, "queue.add", ["queue"]) for _ in range(3)]
    back = connect(assembly, cookies["bob"], seq=first)
    replay = await opened(back)
    assert replay["type"] == "events"
    assert (replay["from"], replay["to"]) == (missed[0], missed[-1])
    stored = await database_sync_to_async(
        lambda: "".join(e.html for e in AssemblyEvent.objects.filter(seq__in=missed))
    )()
    assert replay["html"] == stored
    live_seq = await emit(assembly, "queue.call")
    frame = await back.receive_json_from(timeout=5)
    # A batch may start before the replay's end; the client applies it since it ends later.
    assert frame["from"] <= live_seq == frame["to"]
    await back.disconnect()


async def test_resync_frame_replays_what_follows_the_given_seq(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    for _ in range(4):
        await emit(assembly)
    comm = connect(assembly, cookies["bob"], seq=4)
    assert (await opened(comm))["type"] == "sync"
    await comm.send_json_to({"type": "resync", "seq": 2})
    frame = await comm.receive_json_from(timeout=5)
    assert (frame["type"], frame["from"], frame["to"]) == ("events", 3, 4)
    await comm.disconnect()


async def test_far_behind_clients_get_one_snapshot_rendered_once(
    live: str, assembly: Assembly, cookies: dict[str, str], monkeypatch: Any
) -> None:
    monkeypatch.setattr(sync, "REPLAY_MAX_EVENTS", 5)
    renders: list[int] = []
    real: Callable[[Assembly], str] = fragments.render_snapshot

    def counted(a: Assembly) -> str:
        renders.append(a.pk)
        return real(a)

    monkeypatch.setattr(fragments, "render_snapshot", counted)
    last = 0
    for _ in range(12):
        last = await emit(assembly)
    comms = [connect(assembly, cookies[n], seq=s) for n in ("alice", "bob") for s in (0, 1, 2)]
    comms += [connect(assembly, cookies["bob"]) for _ in range(4)]  # no seq at all
    first = await asyncio.gather(*(opened(c) for c in comms))
    for frame in first:
        assert frame["type"] == "snapshot"
        assert frame["seq"] == last
        assert 'id="live-queue"' in frame["html"]
    assert renders == [assembly.pk]
    nxt = await emit(assembly)
    for comm in comms:
        assert (await comm.receive_json_from(timeout=5))["from"] == nxt
        await comm.disconnect()


async def test_client_ahead_of_the_server_is_reset_by_a_snapshot(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    await emit(assembly)
    comm = connect(assembly, cookies["bob"], seq=99)
    frame = await opened(comm)
    assert (frame["type"], frame["seq"]) == ("snapshot", 1)
    await comm.disconnect()


# --- bad input -------------------------------------------------------------------------------


async def test_malformed_frames_get_an_error_and_the_connection_stays(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["bob"], seq=0)
    await opened(comm)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"text_data": "{not json"}, "bad_json"),
        ({"text_data": "[1, 2]"}, "bad_frame"),
        ({"text_data": json.dumps({"seq": 3})}, "bad_frame"),
        ({"text_data": json.dumps({"type": "vote", "choice": "yes"})}, "unknown_type"),
        ({"text_data": json.dumps({"type": "resync", "seq": "-1"})}, "bad_frame"),
        ({"text_data": json.dumps({"type": "resync", "seq": True})}, "bad_frame"),
        ({"bytes_data": b"\x00\x01"}, "binary"),
    ]
    for kwargs, code in cases:
        await comm.send_to(**kwargs)
        frame = await comm.receive_json_from(timeout=5)
        assert (frame["type"], frame["code"]) == ("error", code)
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=5) == {"type": "pong", "seq": 0}
    seq = await emit(assembly)
    assert (await comm.receive_json_from(timeout=5))["to"] == seq
    await comm.disconnect()


async def test_an_oversized_frame_closes_the_connection_with_1009(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["bob"], seq=0)
    await opened(comm)
    await comm.send_to(text_data=json.dumps({"type": "ping", "pad": "é" * 40_000}))
    closed = await comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 1009}
    await comm.wait(timeout=5)
    assert not hub_module.get_hub().rooms[str(assembly.uuid)].subscribers


async def test_a_frame_just_under_the_cap_is_answered(
    live: str, assembly: Assembly, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["bob"], seq=0)
    await opened(comm)
    await comm.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 60_000}))
    assert (await comm.receive_json_from(timeout=5))["type"] == "pong"
    await comm.disconnect()


# --- sessions, access and limits ---------------------------------------------------------------


async def closed_with(comm: WebsocketCommunicator, timeout: float = 5) -> int:
    """The close code the server sends next, skipping frames that come before it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, "the socket was not closed in time"
        out = await comm.receive_output(timeout=left)
        if out["type"] == "websocket.close":
            return int(out["code"])


def _session_client(user: Any) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


async def test_logging_out_closes_that_sessions_sockets_within_5_s(
    live: str, assembly: Assembly, world: Any
) -> None:
    phone, phone_cookie = await database_sync_to_async(_session_client)(world.bob)
    _, kiosk_cookie = await database_sync_to_async(_session_client)(world.bob)
    on_phone, on_kiosk = connect(assembly, phone_cookie), connect(assembly, kiosk_cookie)
    await opened(on_phone)
    await opened(on_kiosk)
    started = asyncio.get_running_loop().time()
    logout = await database_sync_to_async(phone.post)("/accounts/logout/")
    assert logout.status_code == 302
    assert await closed_with(on_phone) == consumers.CLOSE_LOGGED_OUT
    assert asyncio.get_running_loop().time() - started < 5
    # The same person's other session is not logged out and keeps following.
    seq = await emit(assembly)
    assert (await on_kiosk.receive_json_from(timeout=5))["to"] == seq
    await on_kiosk.disconnect()


async def test_leaving_the_organisation_closes_the_persons_sockets(
    live: str, assembly: Assembly, world: Any, cookies: dict[str, str]
) -> None:
    comm = connect(assembly, cookies["bob"])
    await opened(comm)
    await database_sync_to_async(governance_services.membership_set_status)(
        actor=world.bob, membership=world.bob_m, status=Membership.Status.LEFT
    )
    assert await closed_with(comm) == consumers.CLOSE_REFUSED
    # And cannot come back.
    again = connect(assembly, cookies["bob"])
    assert await again.connect(timeout=5) == (False, consumers.CLOSE_REFUSED)


async def test_losing_a_mandate_makes_the_page_reload(
    live: str, assembly: Assembly, world: Any, cookies: dict[str, str]
) -> None:
    facilitator, worker = connect(assembly, cookies["alice"]), connect(assembly, cookies["bob"])
    await opened(facilitator)
    await opened(worker)
    await database_sync_to_async(governance_services.mandate_revoke)(
        actor=world.alice,
        mandate=world.alice_facilitator,
        reason="Rotación",
        check_permission=False,
    )
    assert await closed_with(facilitator) == consumers.CLOSE_RELOAD
    # Bob's powers did not change: his socket stays.
    seq = await emit(assembly)
    assert (await worker.receive_json_from(timeout=5))["to"] == seq
    await worker.disconnect()


def _grant_for_seconds(world: Any, seconds: float) -> None:
    now = timezone.now()
    decision = Decision.objects.filter(organization=world.org).order_by("number").first()
    governance_services.mandate_grant(
        actor=world.bob,
        membership=world.bob_m,
        role="minute_taker",
        starts_at=max(now, decision.decided_at) if decision else now,
        ends_at=now + timedelta(seconds=seconds),
        decision=decision,
        check_permission=False,
    )


async def test_a_mandate_that_ends_by_itself_makes_the_page_reload(
    live: str, assembly: Assembly, world: Any, cookies: dict[str, str]
) -> None:
    await database_sync_to_async(_grant_for_seconds)(world, 1.5)
    comm = connect(assembly, cookies["bob"])
    await opened(comm)
    # No event announces an expiry: the socket re-checks when the mandate ends.
    assert await closed_with(comm, timeout=6) == consumers.CLOSE_RELOAD


async def test_idle_sockets_re_check_their_session(
    live: str, assembly: Assembly, cookies: dict[str, str], settings: Any
) -> None:
    settings.LIVE_REVALIDATE_SECONDS = 1
    comm = connect(assembly, cookies["bob"])
    await opened(comm)
    # The session disappears without any logout signal (expired, cleared by the operator).
    from django.contrib.sessions.models import Session

    await database_sync_to_async(Session.objects.filter(session_key=cookies["bob"]).delete)()
    assert await closed_with(comm, timeout=5) == consumers.CLOSE_LOGGED_OUT


async def test_a_flood_of_frames_is_throttled_then_closed_with_1008(
    live: str, assembly: Assembly, cookies: dict[str, str], settings: Any
) -> None:
    settings.LIVE_MAX_MESSAGES_PER_MINUTE = 5
    settings.LIVE_THROTTLE_CLOSE_AFTER = 3
    comm = connect(assembly, cookies["bob"], seq=0)
    await opened(comm)
    for _ in range(5):
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=5))["type"] == "pong"
    await comm.send_json_to({"type": "ping"})
    throttled = await comm.receive_json_from(timeout=5)
    assert throttled == {
        "type": "error",
        "code": "throttled",
        "message": "Too many messages: wait a minute.",
    }
    for _ in range(3):
        await comm.send_json_to({"type": "ping"})  # ignored, no answer
    await comm.send_json_to({"type": "ping"})
    assert await closed_with(comm) == consumers.CLOSE_POLICY


async def test_one_person_may_hold_only_so_many_sockets(
    live: str, assembly: Assembly, cookies: dict[str, str], settings: Any
) -> None:
    settings.LIVE_MAX_SOCKETS_PER_USER = 2
    first, second = connect(assembly, cookies["bob"]), connect(assembly, cookies["bob"])
    await opened(first)
    await opened(second)
    third = connect(assembly, cookies["bob"])
    assert await third.connect(timeout=5) == (False, consumers.CLOSE_TOO_MANY)
    # Someone else is not affected.
    await opened(connect(assembly, cookies["alice"]))
    await first.disconnect()
    await opened(connect(assembly, cookies["bob"]))


async def test_connects_per_minute_are_limited(
    live: str, assembly: Assembly, cookies: dict[str, str], settings: Any
) -> None:
    settings.LIVE_MAX_CONNECTS_PER_MINUTE = 3
    for _ in range(3):
        comm = connect(assembly, cookies["bob"])
        await opened(comm)
        await comm.disconnect()
    refused = connect(assembly, cookies["bob"])
    assert await refused.connect(timeout=5) == (False, consumers.CLOSE_TOO_MANY)
