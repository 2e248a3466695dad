"""The websocket of a live assembly: push only (writes go over HTTP).

Route: `ws/assemblies/<uuid>/?seq=<last seq the client applied>`.

Admission: the session must be authenticated and the person may view the assembly
(`governance.permissions.may(user, "assembly.view", assembly)`); otherwise the handshake is
refused (close 4403 before accept, an HTTP 403 to the client). A foreign `Origin` is refused
earlier by `config.asgi`'s OriginValidator. Run uvicorn with `--ws-per-message-deflate false`
(memory per socket, compression side channel) and `--ws-max-size 65536`.

Frame protocol (JSON text frames)
---------------------------------
Server -> client:
- `{"type": "events", "from": F, "to": T, "html": H}`: events F..T of the log. `H` is htmx
  out-of-band HTML (elements with `hx-swap-oob`), the same bytes for every viewer. Apply it
  when `F <= seq + 1` and `T > seq`, then `seq = T`. A burst may be coalesced into one frame
  whose HTML holds only the latest fragment of each region, so `H` may hold fewer fragments
  than T - F + 1 events. Frames arrive in order and without gaps; a client that still sees
  `F > seq + 1` should send `resync`.
- `{"type": "snapshot", "seq": S, "html": H}`: every region at once (sent instead of a replay
  when the client is far behind, gave no seq, or is ahead of the server); apply, `seq = S`.
- `{"type": "sync", "seq": S}`: you are up to date at S (answer to a connect or resync with
  nothing to replay).
- `{"type": "pong", "seq": S}`: answer to `ping`; S is the last seq sent on this socket.
- `{"type": "error", "code": C, "message": M}`: a frame from the client was not understood
  (`bad_json`, `bad_frame`, `unknown_type`, `binary`); the connection stays open.
Every socket gets `events` of its own assembly only; right after connecting it gets exactly
one of `events` (replay), `snapshot` or `sync`.

Client -> server:
- `{"type": "resync", "seq": N}`: send me what follows N (replay, snapshot or sync);
- `{"type": "ping"}`.
Frames above 64 KB close the connection with 1009. A socket that falls far behind (its
outgoing queue fills) is closed with 1013 and should reconnect with its seq.

Limits and access (close codes the client acts on):
- more than `LIVE_MAX_MESSAGES_PER_MINUTE` frames a minute get a `throttled` error and are
  ignored; `LIVE_THROTTLE_CLOSE_AFTER` more and the socket is closed with 1008;
- one person may hold `LIVE_MAX_SOCKETS_PER_USER` sockets and open
  `LIVE_MAX_CONNECTS_PER_MINUTE` per minute in one process; beyond that: 4429 (retry later);
- logging out closes that session's sockets (4401); leaving the organisation or otherwise
  losing the right to follow the assembly closes them with 4403 (do not reconnect); a change
  in the person's mandates (granted, revoked, ended, started) closes them with 4205: reload
  the page, whose facilitator controls depend on them. Changes are announced by
  `assemblies.realtime.access` within a second; every socket also re-checks its session and
  access on its own every `LIVE_REVALIDATE_SECONDS` (30 minutes) and when a mandate ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.utils import timezone

from assemblies.realtime import MAX_FRAME_BYTES, frames, hub, sync

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

CLOSE_RELOAD = 4205
CLOSE_LOGGED_OUT = 4401
CLOSE_REFUSED = 4403
CLOSE_TOO_MANY = 4429
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_UNAVAILABLE = 1011
CLOSE_TOO_SLOW = 1013
# Frames queued for one socket before it counts as stuck (about 30 s of frames).
MAX_OUTBOX = 100
MAX_SEQ = 2**63 - 1


def parse_seq(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdecimal() and len(value) <= 19:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_SEQ:
        return value
    return None


def _query_seq(scope: Scope) -> int | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("seq")
    return parse_seq(values[0]) if values else None


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# user id -> times of recent connects in this process (the per-person connect rate). Per
# process on purpose: a shared counter would cost every connect of a reconnect storm a trip
# to Redis; with N processes the cap is N times as loose, which is still a cap.
_recent_connects: defaultdict[int, deque[float]] = defaultdict(deque)


def _connect_allowed(user_id: int) -> bool:
    now = time.monotonic()
    recent = _recent_connects[user_id]
    while recent and recent[0] <= now - 60:
        recent.popleft()
    if len(recent) >= _limit("LIVE_MAX_CONNECTS_PER_MINUTE", 30):
        return False
    recent.append(now)
    if len(_recent_connects) > 10_000:  # forget people who have not connected for a minute
        for key in [k for k, v in _recent_connects.items() if not v or v[-1] <= now - 60]:
            del _recent_connects[key]
    return True


# The server's own `send`, kept in the scope by `with_direct_send` (config.asgi): frames of
# the fan-out go straight to it, not through the session and auth middleware's wrappers.
DIRECT_SEND_KEY = "autogestion.direct_send"


def with_direct_send(app: Any) -> Any:
    """Outermost websocket middleware: remember the server's `send` for the consumer."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> Any:
        return await app({**scope, DIRECT_SEND_KEY: send}, receive, send)

    return middleware


def _too_big(message: dict[str, Any]) -> bool:
    text, data = message.get("text"), message.get("bytes")
    if text is not None:
        # Characters never outnumber UTF-8 bytes: only encode when it could matter.
        return len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES
    return data is not None and len(data) > MAX_FRAME_BYTES


class LiveConsumer:
    """One socket. A plain ASGI app rather than a Channels consumer: it needs no channel of
    its own (the process hub holds the subscription), which is what makes it cheap."""

    @classmethod
    def as_asgi(cls) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await cls(scope, receive, send).run()

        return app

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self._send_frame: Send = send
        self.seq = 0
        self.admission: sync.Plan | None = None
        self._outbox: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._syncing = False
        self._held: list[tuple[str, int, int]] = []
        self._resync_task: asyncio.Task[None] | None = None
        self.user_id: int | None = None
        self.session_key: str | None = None
        self.assembly_uuid = ""
        self._standing: sync.Standing | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._recheck_task: asyncio.Task[None] | None = None
        self._window_start = 0.0
        self._window_count = 0

    async def run(self) -> None:
        if (await self.receive())["type"] != "websocket.connect":
            return
        user = self.scope.get("user")
        assembly_uuid = str(self.scope.get("url_route", {}).get("kwargs", {}).get("assembly_uuid"))
        if user is None or not user.is_authenticated:
            await self.send({"type": "websocket.close", "code": CLOSE_REFUSED})
            return
        the_hub = hub.get_hub()
        self.user_id = user.pk
        self.assembly_uuid = assembly_uuid
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        if the_hub.sockets_of(user.pk) >= _limit(
            "LIVE_MAX_SOCKETS_PER_USER", 10
        ) or not _connect_allowed(user.pk):
            await self.send({"type": "websocket.close", "code": CLOSE_TOO_MANY})
            return
        # Subscribe before reading the log (whatever commits after the read reaches us), and
        # hold what arrives until the catch-up frames are queued.
        self._syncing = True
        try:
            await the_hub.join(assembly_uuid, self)
        except RuntimeError:
            await self.send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
            return
        writer: asyncio.Task[None] | None = None
        try:
            plan = await sync.admit(user, assembly_uuid, _query_seq(self.scope))
            if plan is None:
                await self.send({"type": "websocket.close", "code": CLOSE_REFUSED})
                return
            self.admission = plan
            self._standing = plan.standing
            await self.send({"type": "websocket.accept"})
            # Frames skip Channels' session wrapper (it acts on HTTP responses only): a third
            # of the fan-out's CPU went through it with 1,300 sockets.
            self._send_frame = self.scope.get(DIRECT_SEND_KEY) or self.send
            writer = asyncio.create_task(self._write())
            self._watch_task = asyncio.create_task(self._watch())
            await self._apply_plan(plan)
            while not self._closing:
                message = await self.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message["type"] == "websocket.receive":
                    self._on_frame(message)
            if self._closing:
                # Let the writer deliver what is queued, the close frame last.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(writer), timeout=5)
        finally:
            the_hub.leave(assembly_uuid, self)
            for task in (self._resync_task, self._watch_task, self._recheck_task):
                if task is not None:
                    task.cancel()
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer

    # --- from the hub ---------------------------------------------------------------------

    def deliver(self, frame: str, first: int, last: int) -> None:
        if self._closing:
            return
        if self._syncing:
            self._held.append((frame, first, last))
            return
        if last <= self.seq:
            return  # already covered by the replay or snapshot
        if first > self.seq + 1:
            # Cannot happen while the hub keeps order; recover rather than show a gap.
            self._start_resync(self.seq)
            self._held.append((frame, first, last))
            return
        self.seq = last
        self._push(frame)

    def access_changed(self, session_key: str | None) -> None:
        """The hub heard that this person's access may have changed."""
        if self._closing:
            return
        if session_key is not None:
            # A logout: only the sockets of that session (their other phone stays).
            if session_key == self.session_key:
                self._close(CLOSE_LOGGED_OUT)
            return
        if self._recheck_task is None or self._recheck_task.done():
            self._recheck_task = asyncio.get_running_loop().create_task(self._recheck())

    # --- access ---------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Re-check on a timer: sessions expire and mandates end without any event."""
        every = _limit("LIVE_REVALIDATE_SECONDS", 30 * 60)
        while not self._closing:
            # Jitter, so sockets that connected together do not all re-check together.
            delay = every * random.uniform(0.8, 1.0)
            changes_at = self._standing.changes_at if self._standing else None
            if changes_at is not None:
                delay = min(delay, max(0.0, (changes_at - timezone.now()).total_seconds()))
            await asyncio.sleep(delay + 0.05)
            await self._recheck()

    async def _recheck(self) -> None:
        if self._closing or self.user_id is None:
            return
        try:
            result = await sync.recheck(self.user_id, self.session_key, self.assembly_uuid)
        except Exception:  # noqa: BLE001 - keep the socket; the next check tries again
            logger.exception("Re-checking a live socket failed")
            return
        if result == "logged_out":
            self._close(CLOSE_LOGGED_OUT)
        elif result == "refused":
            self._close(CLOSE_REFUSED)
        elif isinstance(result, sync.Standing):
            if self._standing is not None and result.powers != self._standing.powers:
                self._close(CLOSE_RELOAD)
            self._standing = result

    # --- catching up ----------------------------------------------------------------------

    async def _apply_plan(self, plan: sync.Plan) -> None:
        try:
            out = await sync.frames_for(plan)
        except Exception:
            logger.exception("Catching up assembly %s failed", plan.uuid)
            self._syncing = False
            self._close(CLOSE_UNAVAILABLE)
            return
        for frame in out:
            self._push(frame)
        self.seq = plan.seq
        self._syncing = False
        held, self._held = self._held, []
        for frame, first, last in held:
            self.deliver(frame, first, last)

    async def _catch_up(self, since: int | None) -> None:
        assert self.admission is not None
        try:
            plan = await sync.plan(self.admission.pk, self.admission.uuid, since)
        except Exception:
            logger.exception("Catching up assembly %s failed", self.admission.uuid)
            self._syncing = False
            self._close(CLOSE_UNAVAILABLE)
            return
        await self._apply_plan(plan)

    def _start_resync(self, since: int | None) -> None:
        if self._syncing:
            return
        self._syncing = True
        self._resync_task = asyncio.get_running_loop().create_task(self._catch_up(since))

    # --- from the client ------------------------------------------------------------------

    def _on_frame(self, message: dict[str, Any]) -> None:
        if _too_big(message):
            self._close(CLOSE_TOO_BIG)
            return
        if self._throttled():
            return
        text = message.get("text")
        if text is None:
            self._error("binary", "Only JSON text frames are understood.")
            return
        try:
            data = json.loads(text)
        except ValueError:
            self._error("bad_json", "The frame is not valid JSON.")
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self._error("bad_frame", 'Expected a JSON object with a "type".')
            return
        kind = data["type"]
        if kind == "ping":
            self._push(frames.pong(self.seq))
        elif kind == "resync":
            since = parse_seq(data.get("seq"))
            if since is None and data.get("seq") is not None:
                self._error("bad_frame", '"seq" must be a non-negative integer.')
            else:
                self._start_resync(since)
        else:
            self._error("unknown_type", f"Unknown frame type {kind[:40]!r}.")

    def _throttled(self) -> bool:
        """A fixed one-minute window: over the limit frames are ignored (one error says
        so), and a client that keeps going is closed with 1008."""
        now = time.monotonic()
        if now - self._window_start >= 60:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        over = self._window_count - _limit("LIVE_MAX_MESSAGES_PER_MINUTE", 100)
        if over <= 0:
            return False
        if over > _limit("LIVE_THROTTLE_CLOSE_AFTER", 20):
            self._close(CLOSE_POLICY)
        elif over == 1:
            self._error("throttled", "Too many messages: wait a minute.")
        return True

    def _error(self, code: str, message: str) -> None:
        self._push(frames.error(code, message))

    # --- to the client --------------------------------------------------------------------

    def _push(self, frame: str) -> None:
        if self._closing:
            return
        if len(self._outbox) >= MAX_OUTBOX:
            # A client this far behind is better served by reconnecting with its seq.
            self._close(CLOSE_TOO_SLOW)
            return
        self._outbox.append({"type": "websocket.send", "text": frame})
        self._wake.set()

    def _close(self, code: int) -> None:
        if self._closing:
            return
        self._closing = True
        if code == CLOSE_TOO_SLOW:
            self._outbox.clear()
        self._outbox.append({"type": "websocket.close", "code": code})
        self._wake.set()

    async def _write(self) -> None:
        """The only sender on this socket, so one slow client never holds up the fan-out."""
        while True:
            while not self._outbox:
                self._wake.clear()
                await self._wake.wait()
            message = self._outbox.popleft()
            if message["type"] == "websocket.send":
                await self._send_frame(message)
            else:
                await self.send(message)
            if message["type"] == "websocket.close":
                return
