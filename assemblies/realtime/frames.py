"""Server-to-client frames, encoded once and shared by every socket that gets them."""

from __future__ import annotations

import json
from typing import Any


def _encode(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def events(first: int, last: int, html: str) -> str:
    return _encode({"type": "events", "from": first, "to": last, "html": html})


def snapshot(seq: int, html: str) -> str:
    return _encode({"type": "snapshot", "seq": seq, "html": html})


def in_sync(seq: int) -> str:
    return _encode({"type": "sync", "seq": seq})


def pong(seq: int) -> str:
    return _encode({"type": "pong", "seq": seq})


def error(code: str, message: str) -> str:
    return _encode({"type": "error", "code": code, "message": message})
