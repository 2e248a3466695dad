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
# At most one frame per assembly per this many seconds (~3 frames/s); a lone event goes out
# at once, a burst is batched into the next frame.
COALESCE_SECONDS = 0.3
# Layer message type the hub listens for.
EVENT_MESSAGE = "assembly.event"


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
    layer = get_channel_layer()
    if layer is None:
        return
    group = group_name(message["assembly"])
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            async_to_sync(layer.group_send)(group, message)
        else:
            # Called from code running on the event loop itself (management code, scripts):
            # hand the send to the loop instead of blocking it.
            task = loop.create_task(layer.group_send(group, message))
            _background.add(task)
            task.add_done_callback(_background.discard)
    except Exception:  # noqa: BLE001 - see docstring
        logger.exception("Broadcast of assembly event %s failed", message.get("seq"))


_background: set[asyncio.Task[None]] = set()
