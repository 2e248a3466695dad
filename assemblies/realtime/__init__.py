"""Realtime transport of live assemblies.

The pieces, from write to screen:

- `assemblies.events.emit` appends an event to the assembly's log inside the writer's
  transaction and, on commit, `publish`es one message to the channel-layer group of that
  assembly;
- each server process runs one `Hub` (`hub.get_hub()`): it holds ONE group subscription per
  assembly that has local sockets, puts events back in `seq` order, coalesces bursts and hands
  the same encoded frame to every local socket;
- `sync.catch_up` brings a (re)connecting socket to the current `seq` with a replay from the
  log or one snapshot cached per `(assembly, seq)`.

The frame protocol is documented in `assemblies/consumers.py`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# Incoming frames above this close the socket with 1009 (also enforced by uvicorn's
# --ws-max-size); replays above it become a snapshot instead.
MAX_FRAME_BYTES = 64 * 1024
# A socket further behind than this gets a snapshot instead of a replay.
REPLAY_MAX_EVENTS = 200
# At most one frame per assembly per this many seconds (4 frames/s); a lone event goes out
# at once, a burst is batched into the next frame.
COALESCE_SECONDS = 0.25
# Layer message type the hub listens for.
EVENT_MESSAGE = "assembly.event"
# Someone's access may have changed (logout, membership, mandates): every process's hub
# listens on one group for these and re-checks that person's local sockets.
ACCESS_GROUP = "live.access"
ACCESS_MESSAGE = "access.changed"


def group_name(assembly_uuid: Any) -> str:
    return f"assembly.{assembly_uuid}"


def event_message(*, assembly_uuid: Any, seq: int, regions: list[str], html: str) -> dict[str, Any]:
    return {
        "type": EVENT_MESSAGE,
        "assembly": str(assembly_uuid),
        "seq": seq,
        "regions": list(regions),
        "html": html,
    }


def publish(message: dict[str, Any]) -> None:
    """Send one event to every process subscribed to its assembly (call after commit).

    A failure here must not turn an acknowledged write into an error: the event is already
    in the log, and the hubs notice the missing `seq` (next event or periodic check) and
    read it back from the database.
    """
    try:
        _group_send(group_name(message["assembly"]), message)
    except Exception:  # noqa: BLE001 - see docstring
        logger.exception("Broadcast of assembly event %s failed", message.get("seq"))


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        async_to_sync(layer.group_send)(group, message)
    else:
        # Called from code running on the event loop itself (management code, scripts):
        # hand the send to the loop instead of blocking it.
        task = loop.create_task(layer.group_send(group, message))
        _background.add(task)
        task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()


def access_changed(*, user_id: int, session_key: str | None = None) -> None:
    """Tell every process that `user_id`'s access may have changed (call after commit).

    With `session_key` (a logout) only that session's sockets close; without it, each of the
    person's sockets is re-checked: closed when they may no longer follow the assembly, or
    told to reload when their powers changed (facilitator controls appear or go).
    """
    message = {"type": ACCESS_MESSAGE, "user": user_id, "session": session_key or ""}
    try:
        _group_send(ACCESS_GROUP, message)
    except Exception:  # noqa: BLE001 - the periodic re-check still catches it
        logger.exception("Broadcast of an access change for user %s failed", user_id)
