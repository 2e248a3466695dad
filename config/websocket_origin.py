"""Refuse websockets from foreign origins (a page elsewhere riding on the session cookie)."""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator as _ChannelsOriginValidator
from django.conf import settings


def OriginValidator(application: Any) -> Any:  # noqa: N802 - mirrors channels' factory name
    allowed = list(settings.ALLOWED_HOSTS) + list(settings.WEBSOCKET_ALLOWED_ORIGINS)
    if settings.DEBUG:
        allowed += [".localhost", "127.0.0.1", "[::1]"]
    return _ChannelsOriginValidator(application, allowed)
