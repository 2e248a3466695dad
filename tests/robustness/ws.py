"""In-process websocket clients against the real ASGI application (Origin check, session
auth, routing, the live consumer), without a network."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlparse

from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections
from django.test import Client


class Communicator(ApplicationCommunicator):  # type: ignore[misc]
    """channels.testing.WebsocketCommunicator without its package import of daphne."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        from config.asgi import application

        parsed = urlparse(path)
        scope = {
            "type": "websocket",
            "path": unquote(parsed.path),
            "query_string": parsed.query.encode(),
            "headers": headers,
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 5) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return response["type"] == "websocket.accept", None

    async def send_frame(self, text: str | None = None, data: bytes | None = None) -> None:
        if text is not None:
            await self.send_input({"type": "websocket.receive", "text": text})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": data})

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        """The next message from the server: a decoded frame, or the close message."""
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.send":
            return dict(json.loads(response["text"]))
        return dict(response)

    async def disconnect(self, code: int = 1000, timeout: float = 5) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def _cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


async def communicator(
    path: str, user: Any | None, origin: str = "http://testserver"
) -> Communicator:
    headers = [(b"origin", origin.encode())]
    if user is not None:
        cookie = await database_sync_to_async(_cookie)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return Communicator(path, headers)


async def cleanup() -> None:
    from assemblies.realtime import hub

    await hub.reset_hub()
    await sync_to_async(connections.close_all, thread_sensitive=True)()


async def connect_as(path: str, user: Any | None) -> bool:
    """Whether the handshake is accepted for this person (closing right after)."""
    comm = await communicator(path, user)
    try:
        accepted, _ = await comm.connect()
        if accepted:
            await comm.receive()  # the catch-up frame every new socket gets
            await comm.disconnect()
        return accepted
    finally:
        await cleanup()
