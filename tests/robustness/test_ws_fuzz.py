"""Random and malformed frames against the real live consumer (through config.asgi).

The protocol (assemblies/consumers.py): a frame that is not understood gets an `error` frame
and the connection stays (`binary`, `bad_json`, `bad_frame`, `unknown_type`); `ping` gets
`pong`; `resync` gets exactly one catch-up frame (`events`, `snapshot` or `sync`); a frame
over 64 KB closes the socket with 1009. After every frame the socket must still answer a
ping, unless it was closed as the protocol says.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.assemblies.helpers import open_assembly
from tests.robustness.ws import cleanup, communicator

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 64 * 1024
CATCH_UP = {"events", "snapshot", "sync"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
seqs = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=25),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=2),
)
frames = st.one_of(
    st.builds(lambda t: ("text", t), st.text(max_size=200)),
    st.builds(lambda b: ("bytes", b), st.binary(max_size=200)),
    st.builds(lambda v: ("text", json.dumps(v)), json_values),
    st.builds(
        lambda k, v: ("text", json.dumps({"type": k, "seq": v})),
        st.sampled_from(["resync", "ping", "Ping", "events", "", "x" * 100]),
        seqs,
    ),
    st.builds(lambda s: ("text", json.dumps({"type": "resync", "seq": s})), st.integers(0, 5)),
    st.just(("text", json.dumps({"type": "ping"}))),
    st.just(("text", '{"type": "ping"')),
    st.just(("text", "\x00\ud7ff\ue000")),
)
huge = st.one_of(
    st.integers(LIMIT + 1, 3 * LIMIT).map(lambda n: ("text", "a" * n)),
    st.integers(LIMIT + 1, 3 * LIMIT).map(lambda n: ("bytes", b"\xff" * n)),
    # Fewer characters than the limit, more bytes: the limit is on bytes.
    st.just(("text", "é" * (LIMIT // 2 + 1))),
)


def _parse_seq(value: Any) -> int | None | str:
    from assemblies.consumers import parse_seq

    return parse_seq(value)


def expected(kind: str, payload: Any) -> str:
    """What the protocol says the server answers to one frame."""
    size = len(payload) if kind == "bytes" else len(payload.encode())
    if size > LIMIT:
        return "close:1009"
    if kind == "bytes":
        return "error:binary"
    try:
        data = json.loads(payload)
    except ValueError:
        return "error:bad_json"
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return "error:bad_frame"
    if data["type"] == "ping":
        return "pong"
    if data["type"] == "resync":
        seq = data.get("seq")
        if seq is not None and _parse_seq(seq) is None:
            return "error:bad_frame"
        return "catch-up"
    return "error:unknown_type"


def answer(message: dict[str, Any]) -> str:
    if message.get("type") == "websocket.close":
        return f"close:{message.get('code')}"
    kind = message.get("type")
    if kind == "error":
        return f"error:{message['code']}"
    if kind in CATCH_UP:
        return "catch-up"
    return str(kind)


async def _exchange(path: str, user: Any, sent: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Send each frame; collect (expected, got). Stop at the first close."""
    comm = await communicator(path, user)
    out: list[tuple[str, str]] = []
    try:
        accepted, code = await comm.connect()
        assert accepted, code
        assert (await comm.receive())["type"] in CATCH_UP
        for kind, payload in sent:
            await comm.send_frame(**({"text": payload} if kind == "text" else {"data": payload}))
            want = expected(kind, payload)
            got = answer(await comm.receive())
            out.append((want, got))
            if got.startswith("close"):
                return out
            # Still alive and in order: a ping is answered right after.
            await comm.send_frame(text='{"type":"ping"}')
            out.append(("pong", answer(await comm.receive())))
        await comm.disconnect()
        return out
    finally:
        await cleanup()


@pytest.fixture
def live_path(world: Any, settings: Any) -> tuple[str, Any]:
    # Every generated example opens a socket as bob: far more than a person's connects a
    # minute, which has its own test (tests/assemblies/test_consumer_live.py).
    settings.LIVE_MAX_CONNECTS_PER_MINUTE = 100_000
    assembly = open_assembly(world)
    return f"/ws/assemblies/{assembly.uuid}/?seq=0", world.bob


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sent=st.lists(frames, min_size=1, max_size=8))
def test_malformed_frames_get_an_error_frame_and_the_socket_stays(
    live_path: tuple[str, Any], sent: list[tuple[str, Any]]
) -> None:
    path, user = live_path
    exchanges = async_to_sync(_exchange)(path, user, sent)
    assert [want for want, _ in exchanges] == [got for _, got in exchanges], (sent, exchanges)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=st.lists(frames, max_size=3), big=huge)
def test_an_oversized_frame_closes_the_socket_with_1009(
    live_path: tuple[str, Any], before: list[tuple[str, Any]], big: tuple[str, Any]
) -> None:
    path, user = live_path
    exchanges = async_to_sync(_exchange)(path, user, [*before, big])
    assert exchanges[-1] == ("close:1009", "close:1009"), exchanges
    assert [want for want, _ in exchanges] == [got for _, got in exchanges], exchanges
